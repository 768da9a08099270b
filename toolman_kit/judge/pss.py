"""Pod Security Standards: the highest level (privileged < baseline < restricted) each pod meets.

The controls are those of https://kubernetes.io/docs/concepts/security/pod-security-standards/
(latest). Values are compared exactly as the Pod Security admission controller compares them, so
the level says what a namespace labelled `pod-security.kubernetes.io/enforce: <level>` admits:
`CAP_NET_BIND_SERVICE` or `drop: [all]` run, but admission does not accept them as written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from toolman_kit.read.index import Index
from toolman_kit.read.model import INHERITED_SECURITY, Workload, as_dict, as_list

if TYPE_CHECKING:
    import pandas as pd

LEVELS = ("privileged", "baseline", "restricted")
BASELINE_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})
SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"})
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t",
                           "container_engine_t"})
RESTRICTED_VOLUMES = frozenset({"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                                "persistentVolumeClaim", "projected", "secret"})
CONFINED_TYPES = ("RuntimeDefault", "Localhost")  # seccomp and AppArmor profiles
CONFINED = (None, *CONFINED_TYPES)  # baseline also accepts leaving it to the runtime
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"


Level = Literal["privileged", "baseline", "restricted"]


@dataclass
class PodSecurity:
    kind: str
    namespace: str
    name: str
    level: Level  # the highest the pod satisfies
    violations: list[dict[str, str]] = field(default_factory=list)  # control, level, detail


@dataclass(frozen=True)
class _Container:
    name: str
    raw: dict[str, Any]
    security: dict[str, Any]  # its own securityContext
    effective: dict[str, Any]  # the pod's inheritable fields, overridden by its own


@dataclass(frozen=True)
class _Pod:
    spec: dict[str, Any]
    security: dict[str, Any]  # the pod's securityContext
    annotations: dict[str, str]
    containers: list[_Container]
    linux: bool  # restricted's privilege, seccomp and capability controls are Linux only


def _pod(w: Workload) -> _Pod:
    sc = w.pod_security
    inherited = {k: sc[k] for k in INHERITED_SECURITY if k in sc}
    containers = []
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for raw in as_list(w.pod.get(key)):
            raw = as_dict(raw)
            own = as_dict(raw.get("securityContext"))
            containers.append(_Container(str(raw.get("name", "?")), raw, own, {**inherited, **own}))
    linux = as_dict(w.pod.get("os")).get("name") != "windows"
    return _Pod(w.pod, sc, w.pod_annotations, containers, linux)


def _contexts(p: _Pod) -> Iterator[tuple[str, dict[str, Any]]]:
    """The pod's securityContext and each container's own, with whose it is."""
    yield "pod", p.security
    for c in p.containers:
        yield f"container {c.name}", c.security


def _profile_type(sc: dict[str, Any], key: str) -> Any:
    """The type of a security context's seccomp or AppArmor profile (`key`)."""
    return as_dict(sc.get(key)).get("type")


def _capabilities(c: _Container, key: str) -> list[Any]:
    return as_list(as_dict(c.security.get("capabilities")).get(key))


def _host_process(p: _Pod) -> Iterator[str]:
    for who, sc in _contexts(p):
        if as_dict(sc.get("windowsOptions")).get("hostProcess") is True:
            yield f"{who}: windowsOptions.hostProcess: true"


def _host_namespaces(p: _Pod) -> Iterator[str]:
    yield from (f"{flag}: true" for flag in ("hostNetwork", "hostPID", "hostIPC")
                if p.spec.get(flag) is True)


def _privileged(p: _Pod) -> Iterator[str]:
    yield from (f"container {c.name}: privileged: true" for c in p.containers
                if c.security.get("privileged") is True)


def _capabilities_baseline(p: _Pod) -> Iterator[str]:
    for c in p.containers:
        extra = [str(x) for x in _capabilities(c, "add") if str(x) not in BASELINE_CAPABILITIES]
        if extra:
            yield f"container {c.name}: adds {', '.join(extra)}"


def _host_path(p: _Pod) -> Iterator[str]:
    for v in as_list(p.spec.get("volumes")):
        v = as_dict(v)
        if "hostPath" in v:
            yield f"volume {v.get('name')}: hostPath {as_dict(v['hostPath']).get('path')}"


def _host_ports(p: _Pod) -> Iterator[str]:
    for c in p.containers:
        for port in as_list(c.raw.get("ports")):
            if as_dict(port).get("hostPort") not in (None, 0):
                yield f"container {c.name}: hostPort {as_dict(port)['hostPort']}"


def _apparmor(p: _Pod) -> Iterator[str]:
    for who, sc in _contexts(p):
        if _profile_type(sc, "appArmorProfile") not in CONFINED:
            yield f"{who}: appArmorProfile.type {_profile_type(sc, 'appArmorProfile')}"
    for key, value in p.annotations.items():
        if key.startswith(APPARMOR_ANNOTATION) and value != "runtime/default" \
                and not value.startswith("localhost/"):
            yield f"annotation {key}: {value}"


def _selinux(p: _Pod) -> Iterator[str]:
    for who, sc in _contexts(p):
        options = as_dict(sc.get("seLinuxOptions"))
        if str(options.get("type") or "") not in SELINUX_TYPES:
            yield f"{who}: seLinuxOptions.type {options['type']}"
        yield from (f"{who}: seLinuxOptions.{key} {options[key]}" for key in ("user", "role")
                    if options.get(key))


def _proc_mount(p: _Pod) -> Iterator[str]:
    yield from (f"container {c.name}: procMount {c.security['procMount']}" for c in p.containers
                if c.security.get("procMount") not in (None, "Default"))


def _seccomp_baseline(p: _Pod) -> Iterator[str]:
    yield from (f"{who}: seccompProfile.type Unconfined" for who, sc in _contexts(p)
                if _profile_type(sc, "seccompProfile") == "Unconfined")


def _sysctls(p: _Pod) -> Iterator[str]:
    for sysctl in as_list(p.security.get("sysctls")):
        if str(as_dict(sysctl).get("name")) not in SAFE_SYSCTLS:
            yield f"sysctl {as_dict(sysctl).get('name')}"


def _volume_types(p: _Pod) -> Iterator[str]:
    for v in as_list(p.spec.get("volumes")):
        kinds = [k for k in as_dict(v) if k != "name" and k not in RESTRICTED_VOLUMES]
        if kinds:
            yield f"volume {as_dict(v).get('name')}: {kinds[0]}"


def _privilege_escalation(p: _Pod) -> Iterator[str]:
    for c in p.containers if p.linux else ():
        if c.security.get("allowPrivilegeEscalation") is not False:
            yield f"container {c.name}: allowPrivilegeEscalation is not false"


def _run_as_non_root(p: _Pod) -> Iterator[str]:
    if p.security.get("runAsNonRoot") is False:
        yield "pod: runAsNonRoot: false"
    for c in p.containers:
        value = c.effective.get("runAsNonRoot")
        if value is not True:
            yield f"container {c.name}: runAsNonRoot " + ("false" if value is False else "not set")


def _run_as_user(p: _Pod) -> Iterator[str]:
    yield from (f"{who}: runAsUser 0" for who, sc in _contexts(p)
                if sc.get("runAsUser") == 0 and not isinstance(sc.get("runAsUser"), bool))


def _seccomp_restricted(p: _Pod) -> Iterator[str]:
    if not p.linux:
        return
    if _profile_type(p.security, "seccompProfile") not in CONFINED:
        yield f"pod: seccompProfile.type {_profile_type(p.security, 'seccompProfile')}"
    for c in p.containers:
        kind = _profile_type(c.effective, "seccompProfile")
        if kind not in CONFINED_TYPES:
            yield f"container {c.name}: seccompProfile.type {kind or 'not set'}"


def _capabilities_restricted(p: _Pod) -> Iterator[str]:
    for c in p.containers if p.linux else ():
        if "ALL" not in _capabilities(c, "drop"):
            yield f"container {c.name}: capabilities.drop lacks ALL"
        extra = [str(x) for x in _capabilities(c, "add") if x != "NET_BIND_SERVICE"]
        if extra:
            yield f"container {c.name}: adds {', '.join(extra)} (only NET_BIND_SERVICE allowed)"


CONTROLS: tuple[tuple[str, str, Callable[[_Pod], Iterator[str]]], ...] = (
    ("baseline", "HostProcess", _host_process),
    ("baseline", "Host Namespaces", _host_namespaces),
    ("baseline", "Privileged Containers", _privileged),
    ("baseline", "Capabilities", _capabilities_baseline),
    ("baseline", "HostPath Volumes", _host_path),
    ("baseline", "Host Ports", _host_ports),
    ("baseline", "AppArmor", _apparmor),
    ("baseline", "SELinux", _selinux),
    ("baseline", "/proc Mount Type", _proc_mount),
    ("baseline", "Seccomp", _seccomp_baseline),
    ("baseline", "Sysctls", _sysctls),
    ("restricted", "Volume Types", _volume_types),
    ("restricted", "Privilege Escalation", _privilege_escalation),
    ("restricted", "Running as Non-root", _run_as_non_root),
    ("restricted", "Running as Non-root user", _run_as_user),
    ("restricted", "Seccomp", _seccomp_restricted),
    ("restricted", "Capabilities", _capabilities_restricted),
)


def assess(w: Workload) -> PodSecurity:
    """The Pod Security Standards level of one workload's pod, and what keeps it from more."""
    pod = _pod(w)
    violations = [{"control": name, "level": level, "detail": detail}
                  for level, name, control in CONTROLS for detail in control(pod)]
    failed = {v["level"] for v in violations}
    level = "privileged" if "baseline" in failed else \
        "baseline" if "restricted" in failed else "restricted"
    return PodSecurity(w.kind, w.namespace, w.name, level, violations)


def pod_security(index: Index) -> list[PodSecurity]:
    """The highest Pod Security Standards level each workload's pod satisfies."""
    return [assess(w) for w in index.workloads]


def pod_security_frame(index: Index) -> pd.DataFrame:
    """pod_security as a table: kind, namespace, name, level, violations (list of dicts)."""
    import pandas as pd

    return pd.DataFrame([asdict(p) for p in pod_security(index)],
                        columns=["kind", "namespace", "name", "level", "violations"])
