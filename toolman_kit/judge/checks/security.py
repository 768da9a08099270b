"""Security: privileges, host access, capabilities, seccomp, API tokens and runtime sockets."""

from __future__ import annotations

import posixpath

from toolman_kit.judge.profiles import Profile
from toolman_kit.judge.pss import (
    BASELINE_CAPABILITIES,  # what the PSS baseline lets a container add
)
from toolman_kit.judge.registry import Area, Outcome, Scope, Severity, Violation, check
from toolman_kit.read.index import Index, role_key
from toolman_kit.read.model import Container, Mount, Workload, as_dict, as_int, as_list

SECCOMP_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_ANNOTATION = "container.seccomp.security.alpha.kubernetes.io/"
# Where container runtimes listen, and whose socket it is (/var/run is read as /run, its target).
RUNTIME_SOCKETS = {
    "/run/docker.sock": "Docker", "/run/docker": "Docker",
    "/run/containerd/containerd.sock": "containerd",
    "/run/k3s/containerd/containerd.sock": "containerd", "/run/crio/crio.sock": "CRI-O",
    "/run/cri-dockerd.sock": "cri-dockerd", "/run/podman/podman.sock": "Podman",
}
SOCKET_ENV = ("DOCKER_HOST", "CONTAINER_HOST")


def _security_context(c: Container) -> str:
    """The path of the container's securityContext, where its findings point."""
    return f"{c.path}.securityContext"


def _capability(name: str) -> str:
    """A capability's name as Kubernetes compares them: "cap_sys_admin" is SYS_ADMIN."""
    name = name.upper()
    return name[4:] if name.startswith("CAP_") else name


def _capabilities(c: Container, key: str) -> list[str]:
    """The capabilities the container adds or drops (`key`), as written."""
    return [x for x in as_list(as_dict(c.security.get("capabilities")).get(key))
            if isinstance(x, str)]


def _non_root(c: Container) -> bool:
    user = as_int(c.security.get("runAsUser"))
    return user > 0 if user is not None else c.security.get("runAsNonRoot") is True


def _groups(c: Container, w: Workload) -> list[int] | None:
    """The container's group ids (primary, fsGroup, supplemental), or None when the primary one
    is not set: the runtime then takes the image's, often root."""
    primary = as_int(c.security.get("runAsGroup"))
    if primary is None:
        return None
    pod = w.pod_security
    extra = [as_int(g) for g in (pod.get("fsGroup"), *as_list(pod.get("supplementalGroups")))]
    return list(dict.fromkeys([primary, *(g for g in extra if g is not None)]))


@check(id="privileged-container", area=Area.SECURITY, severity=Severity.ERROR,
       scope=Scope.CONTAINER, title="Container runs privileged",
       remediation="Remove securityContext.privileged; add only the capabilities it needs.")
def privileged_container(c: Container, w: Workload, idx: Index, profile: Profile) -> Outcome:
    """A privileged container has every capability and every host device: escaping to the node
    is a matter of mounting its disk."""
    if c.security.get("privileged") is True:
        yield Violation(f"{c.name} runs privileged", path=f"{_security_context(c)}.privileged")


@check(id="privilege-escalation-allowed", area=Area.SECURITY, severity=Severity.WARNING,
       scope=Scope.CONTAINER, title="Container may gain more privileges than it starts with",
       remediation="Set securityContext.allowPrivilegeEscalation: false.")
def privilege_escalation_allowed(c: Container, w: Workload, idx: Index,
                                 profile: Profile) -> Outcome:
    """Unless allowPrivilegeEscalation is false, a setuid binary or file capability can raise a
    process's privileges beyond the container's (privileged or CAP_SYS_ADMIN always can)."""
    reasons = []
    if c.security.get("privileged") is True:
        reasons.append("it is privileged")
    if "SYS_ADMIN" in {_capability(x) for x in _capabilities(c, "add")}:
        reasons.append("it adds SYS_ADMIN")
    if c.security.get("allowPrivilegeEscalation") is not False:
        reasons.append("allowPrivilegeEscalation is not false")
    if reasons:
        yield Violation(f"{c.name} can escalate privileges: {', '.join(reasons)}",
                        path=f"{_security_context(c)}.allowPrivilegeEscalation")


@check(id="run-as-root-allowed", area=Area.SECURITY, severity=Severity.WARNING,
       scope=Scope.CONTAINER, title="Container may run as root",
       remediation="Set runAsNonRoot: true and a non-zero runAsUser and runAsGroup (pod or "
                   "container).",
       differs="kube-score (container-security-context-user-group-id) asks for a UID and GID "
               "above 10000; we accept any non-zero id, as the restricted Pod Security Standard "
               "does.")
def run_as_root_allowed(c: Container, w: Workload, idx: Index, profile: Profile) -> Outcome:
    """Root in a container is root on the node's kernel: any escape or writable host mount is
    then owned by uid 0. Group 0 (runAsGroup: 0) is flagged too: files the root group may write
    (on host mounts, shared volumes) are then the container's."""
    user = as_int(c.security.get("runAsUser"))
    if user == 0:
        yield Violation(f"{c.name} runs as root (runAsUser: 0)",
                        path=f"{_security_context(c)}.runAsUser")
    elif c.security.get("runAsNonRoot") is not True and not (user and user > 0):
        yield Violation(f"{c.name} may run as root: neither runAsNonRoot: true nor a non-zero "
                        "runAsUser", path=f"{_security_context(c)}.runAsNonRoot")
    if as_int(c.security.get("runAsGroup")) == 0:
        yield Violation(f"{c.name} runs with the root group (runAsGroup: 0)",
                        path=f"{_security_context(c)}.runAsGroup")


@check(id="root-filesystem-writable", area=Area.SECURITY, severity=Severity.WARNING,
       scope=Scope.CONTAINER, title="Container root filesystem is writable",
       remediation="Set readOnlyRootFilesystem: true; mount an emptyDir where it must write.")
def root_filesystem_writable(c: Container, w: Workload, idx: Index, profile: Profile) -> Outcome:
    """A writable root filesystem lets an intruder drop tools and persist changes to the image's
    binaries for the life of the container."""
    if c.security.get("readOnlyRootFilesystem") is not True:
        yield Violation(f"{c.name} can write to its root filesystem",
                        path=f"{_security_context(c)}.readOnlyRootFilesystem")


@check(id="capabilities-not-dropped", area=Area.SECURITY, severity=Severity.WARNING,
       scope=Scope.CONTAINER, title="Container keeps the runtime's default capabilities",
       remediation="Set capabilities.drop: [ALL] and add back only what the process needs.",
       differs="checkov (CKV_K8S_28) and kube-linter (drop-net-raw-capability) are satisfied "
               "by dropping NET_RAW; we keep requiring drop: [ALL], written in capitals, as the "
               "restricted Pod Security Standard does.")
def capabilities_not_dropped(c: Container, w: Workload, idx: Index, profile: Profile) -> Outcome:
    """The runtime's default set (NET_RAW, SETUID, DAC_OVERRIDE …) is more than most services
    need; dropping ALL leaves an attacker nothing to work with. It must be written `ALL`:
    Pod Security admission compares the value exactly, so `drop: [all]` does not meet the
    restricted level (the runtime may accept it, the namespace's admission does not)."""
    drops = _capabilities(c, "drop")
    if "ALL" in drops:
        return
    spelled = next((x for x in drops if x.upper() == "ALL"), None)
    if spelled:
        yield Violation(f"{c.name} drops {spelled!r}: Pod Security admission only accepts ALL "
                        "in capitals, so a restricted namespace rejects the pod",
                        path=f"{_security_context(c)}.capabilities.drop")
    else:
        yield Violation(f"{c.name} does not drop ALL capabilities",
                        path=f"{_security_context(c)}.capabilities.drop")


@check(id="dangerous-capabilities", area=Area.SECURITY, severity=Severity.ERROR,
       scope=Scope.CONTAINER, title="Container adds capabilities beyond the PSS baseline",
       remediation="Remove the added capabilities outside the Pod Security baseline list.")
def dangerous_capabilities(c: Container, w: Workload, idx: Index, profile: Profile) -> Outcome:
    """Capabilities such as SYS_ADMIN, NET_ADMIN or SYS_PTRACE are each close to root on the node;
    the Pod Security baseline forbids adding them."""
    extra = [x for x in _capabilities(c, "add") if _capability(x) not in BASELINE_CAPABILITIES]
    if extra:
        yield Violation(f"{c.name} adds {', '.join(extra)}",
                        path=f"{_security_context(c)}.capabilities.add")


@check(id="host-namespaces", area=Area.SECURITY, severity=Severity.ERROR,
       title="Pod shares the node's network, process or IPC namespace",
       remediation="Remove hostNetwork, hostPID and hostIPC from the pod spec.")
def host_namespaces(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """A pod in the node's namespaces sees and reaches what the node does: every process (and
    its environment), every local port, shared memory."""
    for flag, what in (("hostNetwork", "network"), ("hostPID", "process"), ("hostIPC", "IPC")):
        if w.pod.get(flag) is True:
            yield Violation(f"{flag}: the pod shares the node's {what} namespace",
                            path=f"{w.pod_path}.{flag}")


@check(id="host-path-volume", area=Area.SECURITY, severity=Severity.ERROR,
       title="Pod mounts a directory of the node",
       remediation="Use a PersistentVolumeClaim, emptyDir, ConfigMap or Secret, not hostPath.")
def host_path_volume(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """A hostPath volume ties the pod to one node's disk and, writable or read by root, lets it
    read or change the node itself (kubelet config and keys, other pods' data). Mounted
    read-only into non-root containers only (node-exporter's view of `/`), it shows what any
    user on the node may read: a warning."""
    mounted: dict[str, list[tuple[Container, Mount]]] = {}
    for c in w.containers:
        for m in c.mounts:
            mounted.setdefault(m.volume, []).append((c, m))
    for v in w.volumes:
        if v.type != "hostPath":
            continue
        uses = mounted.get(v.name, [])
        gentle = bool(uses) and all(m.read_only and _non_root(c) for c, m in uses)
        how = "; ".join(f"{'read-only' if m.read_only else 'writable'} in {c.name}"
                        f"{'' if _non_root(c) else ' (may run as root)'}" for c, m in uses)
        yield Violation(f"volume {v.name} mounts the node's {v.source.get('path', '?')}"
                        + (f" ({how})" if how else ""), path=f"{v.path}.hostPath",
                        severity=Severity.WARNING if gentle else None)


@check(id="host-port", area=Area.SECURITY, severity=Severity.WARNING, scope=Scope.CONTAINER,
       title="Container binds a port on the node",
       remediation="Drop hostPort; expose the port through a Service.")
def host_port(c: Container, w: Workload, idx: Index, profile: Profile) -> Outcome:
    """A hostPort bypasses NetworkPolicies on some CNIs, exposes the pod on the node's address and
    allows one such pod per node, which blocks scheduling and rollouts."""
    for i, port in enumerate(as_list(c.raw.get("ports"))):
        host = as_int(as_dict(port).get("hostPort"))
        if host:
            yield Violation(f"{c.name} binds host port {host}",
                            path=f"{c.path}.ports[{i}].hostPort")


@check(id="seccomp-profile-missing", area=Area.SECURITY, severity=Severity.WARNING,
       scope=Scope.CONTAINER, title="Container runs without a seccomp profile",
       remediation="Set securityContext.seccompProfile.type: RuntimeDefault on the pod.")
def seccomp_profile_missing(c: Container, w: Workload, idx: Index, profile: Profile) -> Outcome:
    """Without seccomp every system call reaches the kernel, including the rarely used ones most
    container escapes go through; RuntimeDefault blocks them at no cost."""
    kind = as_dict(c.security.get("seccompProfile")).get("type")
    if kind in ("RuntimeDefault", "Localhost"):
        return
    if kind is None:
        legacy = w.pod_annotations.get(SECCOMP_CONTAINER_ANNOTATION + c.name) or \
            w.pod_annotations.get(SECCOMP_ANNOTATION, "")
        if legacy in ("runtime/default", "docker/default") or legacy.startswith("localhost/"):
            return
        kind = "Unconfined" if legacy == "unconfined" else None
    yield Violation(f"{c.name} runs seccomp Unconfined" if kind == "Unconfined" else
                    f"{c.name} sets no seccomp profile",
                    path=f"{_security_context(c)}.seccompProfile.type")


def _has_rights(w: Workload, idx: Index) -> bool:
    """A RoleBinding or ClusterRoleBinding in the manifests gives the pod's ServiceAccount a
    role (one outside the manifests, such as `view`, counts; one without rules does not)."""
    for binding in idx.account_bindings.get((w.namespace, w.service_account), ()):
        role = idx.named(*role_key(binding))
        if role is None or as_list(role.obj.get("rules")) or role.obj.get("aggregationRule"):
            return True
    return False


@check(id="service-account-token-automounted", area=Area.SECURITY, severity=Severity.WARNING,
       title="Pod mounts a Kubernetes API token it has no rights for",
       remediation="Set automountServiceAccountToken: false on the pod or its ServiceAccount.",
       differs="checkov (CKV_K8S_38) flags every pod that mounts a token; we pass pods whose "
               "ServiceAccount a Role or ClusterRole binding in the manifests gives rights, "
               "since they call the API (operators, controllers); the rbac-* checks judge what "
               "those rights are.")
def service_account_token_automounted(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """Every process in the pod can read the mounted token and call the API server as its
    ServiceAccount; most services never need to. Pods whose ServiceAccount a binding in the
    manifests gives a role need their token and pass."""
    own = w.pod.get("automountServiceAccountToken")
    if own is False or _has_rights(w, idx):
        return
    name = w.service_account
    path = f"{w.pod_path}.automountServiceAccountToken"
    if own is True:
        yield Violation(f"the pod mounts the token of ServiceAccount {name}, which no binding in "
                        "the manifests gives a role", path=path)
        return
    sa = idx.service_accounts.get((w.namespace, name))
    if sa is None or sa.obj.get("automountServiceAccountToken") is not False:
        where = "" if sa else " (not in these manifests)"
        yield Violation(f"neither the pod nor ServiceAccount {name}{where} sets "
                        "automountServiceAccountToken: false", path=path)


def _clean(path: str) -> str:
    return "/" + posixpath.normpath("/" + path).lstrip("/")


def _canonical_path(path: str) -> str:
    """A node (or container) path, with /var/run read as /run."""
    path = _clean(path)
    return "/run" + path[8:] if path == "/var/run" or path.startswith("/var/run/") else path


def _under(path: str, targets: list[str] | dict[str, str]) -> list[str]:
    """The targets at or below `path`."""
    base = path.rstrip("/") + "/"
    return [t for t in targets if t == path or t.startswith(base)]


def _socket_env(c: Container, mount_path: str) -> str:
    for env in c.env:
        value = env.get("value")
        if env.get("name") in SOCKET_ENV and isinstance(value, str) and \
                value.startswith("unix://") and \
                _under(_canonical_path(mount_path), [_canonical_path(value[7:])]):
            return f"; its {env['name']}={value} talks to it"
    return ""


@check(id="container-runtime-socket-exposed", area=Area.SECURITY, severity=Severity.ERROR,
       title="Container can talk to a container runtime socket",
       remediation="Do not share a runtime socket with the application: build with a rootless "
                   "builder (BuildKit rootless, Kaniko) or use a remote, isolated builder.")
def container_runtime_socket_exposed(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """Whoever can talk to a Docker or containerd socket can start a privileged container with
    the node's disk mounted: the node's own socket (hostPath) and the socket a privileged
    Docker-in-Docker sidecar serves into a shared volume are both root on the node. Mounting
    read-only does not stop connecting to a socket; its permissions do (root's, mode 0660): a
    container that runs as a non-root uid with non-root gids (and no DOCKER_HOST pointing at
    the socket) cannot connect unless a gid is the socket's group, and gets a warning that
    says so (node-exporter's read-only view of `/`)."""
    found: dict[tuple[str, int], Violation] = {}
    host_paths = {v.name: v for v in w.volumes if v.type == "hostPath"}
    for c in w.containers if host_paths else ():
        for i, m in enumerate(c.mounts):
            v = host_paths.get(m.volume)
            if v is None:
                continue
            host = _canonical_path(f"{v.source.get('path', '')}/{m.sub_path or ''}")
            kinds = {RUNTIME_SOCKETS[s] for s in _under(host, RUNTIME_SOCKETS)}
            if not kinds:
                continue
            what = f"{kinds.pop()} socket" if len(kinds) == 1 else "container runtime sockets"
            where = f"hostPath {v.source.get('path')} at {m.mount_path}" + \
                (", read-only" if m.read_only else "")
            talks, groups = _socket_env(c, m.mount_path), _groups(c, w)
            if talks or not _non_root(c) or groups is None or 0 in groups:
                found[(c.name, i)] = Violation(
                    f"{c.name} mounts the node's {what} ({where}): effectively root on the "
                    f"node{talks}", path=f"{c.path}.volumeMounts[{i}]", container=c.name)
                continue
            user = as_int(c.security.get("runAsUser"))
            found[(c.name, i)] = Violation(
                f"{c.name} mounts the node's {what} ({where}) and runs as "
                f"{f'uid {user}' if user else 'a non-root uid'} with gid "
                f"{', '.join(map(str, groups))}: a read-only mount does not stop connecting to a "
                "socket, its permissions decide; runtime sockets are root's with mode 0660 (group "
                "root, or docker for Docker), so it reaches the runtime only if one of those "
                "gids is the socket's group", path=f"{c.path}.volumeMounts[{i}]",
                container=c.name, severity=Severity.WARNING)
    # A plain init container has finished before the regular containers start: neither side.
    running = [c for c in w.containers if c.role != "init"]
    for server in running:
        if server.security.get("privileged") is not True:
            continue
        for m in server.mounts:
            root = _canonical_path(m.mount_path)
            sockets = _under(root, RUNTIME_SOCKETS)
            if not sockets:
                continue
            # Where the sockets sit inside the volume, which other containers may mount elsewhere
            # (root and the sockets are clean paths, so only the subPath needs cleaning).
            sub, prefix = _clean(m.sub_path) if m.sub_path else "", len(root.rstrip("/"))
            inside = [sub + s[prefix:] for s in sockets]
            for c in running:
                for i, cm in enumerate(c.mounts):
                    if c is server or cm.volume != m.volume or (c.name, i) in found or \
                            not _under(_clean(cm.sub_path) if cm.sub_path else "/", inside):
                        continue
                    found[(c.name, i)] = Violation(
                        f"{c.name} mounts {cm.volume} ({cm.mount_path}), where privileged "
                        f"container {server.name} serves its {RUNTIME_SOCKETS[sockets[0]]} "
                        f"socket: effectively root on the node{_socket_env(c, cm.mount_path)}",
                        path=f"{c.path}.volumeMounts[{i}]", container=c.name)
    yield from found.values()
