"""The tables the notebooks show: every number and verdict of a report comes from here.

Each view reads one Analysis (model, index, findings, checklist); none re-parses YAML or re-decides
a check. Manifest strings are returned as plain data (escaping is the renderer's job), except
Secret values, which no view reads, and plain env values of secret-like names, shown as REDACTED.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from decimal import Decimal
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import pandas as pd

from toolman_kit.analysis import Analysis
from toolman_kit.judge.checks.pod_admission import describe, namespace_modes
from toolman_kit.judge.findings import Row
from toolman_kit.judge.profiles import SECRET_ENV_PATTERN
from toolman_kit.read.index import Index
from toolman_kit.read.model import Container, Volume, Workload, as_dict, as_int, as_list
from toolman_kit.read.quantity import format_cpu, format_memory, pdb_budget
from toolman_kit.text import plural

REDACTED = "‹redacted›"
# Values hidden in reports whatever the profile says: wider than what the check calls an error.
ALWAYS_SECRET = re.compile(SECRET_ENV_PATTERN + r"|auth|cert|dsn|session|signing|access[_-]?key",
                           re.IGNORECASE)
URL_CREDENTIALS = re.compile(r"(://)[^/@\s]+@")
URL_MASK = r"\g<1>" + REDACTED + "@"
FAILED = ("fail", "exempt")  # an exempt failure is an accepted risk, still a fact about the object
# Kubernetes' probe defaults, filled in where the manifest leaves a field out.
PROBE_DEFAULTS = {"initial_delay": ("initialDelaySeconds", 0), "period": ("periodSeconds", 10),
                  "timeout": ("timeoutSeconds", 1), "failure_threshold": ("failureThreshold", 3),
                  "success_threshold": ("successThreshold", 1)}
# What a privileged container can do on its node, whatever else the pod says.
PRIVILEGED_REACH = "all host devices; can load kernel modules; can mount host filesystems"
HANDFUL = 5  # names a sentence lists before "+N more"
_UNITS = {"cpu": (format_cpu, Decimal(1)), "memory": (format_memory, Decimal(2**20))}  # cores, MiB


def _key(w: Workload, container: str = "") -> tuple[str, str, str, str]:
    return (w.kind, w.namespace, w.name, container)


def _keys(df: pd.DataFrame) -> set[tuple[str, str, str, str]]:
    return set(zip(df["kind"], df["namespace"].fillna(""), df["name"], df["container"].fillna(""),
                   strict=True))


# The kubelet mounts these read-only whatever the mount says (readOnly: false is ignored).
READ_ONLY_TYPES = ("secret", "configMap", "downwardAPI", "projected")


def _mode(w: Workload, m: Any) -> str:
    v = w.volume(m.volume)
    return "ro" if m.read_only or (v is not None and v.type in READ_ONLY_TYPES) else "rw"


def _env(c: Container, a: Analysis) -> str:
    shown = []
    for e in c.env:
        name = str(e.get("name", ""))
        source = as_dict(e.get("valueFrom"))
        if source:
            kind, ref = next(iter(source.items()))
            ref = as_dict(ref)
            where = "/".join(str(ref[k]) for k in ("name", "key", "fieldPath", "resource")
                             if ref.get(k) is not None)
            shown.append(f"{name} ← {kind} {where}")
        elif a.profile.secret_env.search(name) or ALWAYS_SECRET.search(name):
            shown.append(f"{name}={REDACTED}")  # a literal credential must not reach a report
        else:  # and neither may the user:password part of a URL in an innocent-looking name
            value = "" if e.get("value") is None else str(e.get("value"))
            shown.append(f"{name}={URL_CREDENTIALS.sub(URL_MASK, value)}")
    return ", ".join(shown)


def _env_from_refs(c: Container) -> list[tuple[str, str]]:
    """(secretRef | configMapRef, name) of each envFrom source."""
    return [(kind, str(as_dict(as_dict(source)[kind]).get("name", "")))
            for source in as_list(c.raw.get("envFrom"))
            for kind in ("secretRef", "configMapRef") if kind in as_dict(source)]


def _env_from(c: Container) -> str:
    return ", ".join(f"{kind} {name}" for kind, name in _env_from_refs(c))


def _pull_policy(c: Container) -> str:
    if c.pull_policy:
        return c.pull_policy
    # Kubernetes' default: Always for a latest (or missing) tag without digest, else IfNotPresent.
    moving = c.image is not None and c.image.digest is None and c.image.tag in (None, "latest")
    return f"{'Always' if moving else 'IfNotPresent'} (default)"


def containers(a: Analysis) -> pd.DataFrame:
    """One row per container of every workload: image, security context, resources, mounts."""
    rows = []
    for w in a.index.workloads:
        for c in w.containers:
            sec, image = c.security, c.image
            caps = as_dict(sec.get("capabilities"))
            rows.append({
                "workload": a.index.label(w), "namespace": w.namespace, "container": c.name,
                "role": c.role, "image": image.ref if image else "",
                "tag": (image.tag or "") if image else "",
                "pinned": bool(image and image.pinned(a.profile.mutable_tags)),
                "pull_policy": _pull_policy(c),
                "ports": ", ".join(f"{p.get('containerPort')}/{p.get('protocol', 'TCP')}"
                                   + (f" {p['name']}" if p.get("name") else "") for p in c.ports),
                "run_as_user": as_int(sec.get("runAsUser")),
                "run_as_group": as_int(sec.get("runAsGroup")),
                "run_as_non_root": sec.get("runAsNonRoot")
                if isinstance(sec.get("runAsNonRoot"), bool) else None,
                "read_only_root": sec.get("readOnlyRootFilesystem") is True,
                "privileged": sec.get("privileged") is True,
                # Kubernetes allows escalation unless it is explicitly turned off.
                "allow_privilege_escalation": sec.get("allowPrivilegeEscalation") is not False,
                "capabilities_drop": ", ".join(map(str, as_list(caps.get("drop")))),
                "capabilities_add": ", ".join(map(str, as_list(caps.get("add")))),
                "seccomp": str(as_dict(sec.get("seccompProfile")).get("type") or ""),
                "cpu_request": format_cpu(c.requests.get("cpu")),
                "memory_request": format_memory(c.requests.get("memory")),
                "cpu_limit": format_cpu(c.limits.get("cpu")),
                "memory_limit": format_memory(c.limits.get("memory")),
                "mounts": ", ".join(f"{m.volume}:{m.mount_path} ({_mode(w, m)})"
                                    + (f" subPath {m.sub_path}" if m.sub_path else "")
                                    for m in c.mounts),
                "env_from": _env_from(c), "env": _env(c, a),
                "file": w.resource.source.file, "line": w.resource.source.line})
    columns = ["workload", "namespace", "container", "role", "image", "tag", "pinned",
               "pull_policy", "ports", "run_as_user", "run_as_group", "run_as_non_root",
               "read_only_root", "privileged", "allow_privilege_escalation", "capabilities_drop",
               "capabilities_add", "seccomp", "cpu_request", "memory_request", "cpu_limit",
               "memory_limit", "mounts", "env_from", "env", "file", "line"]
    df = pd.DataFrame(rows, columns=columns)
    return df.astype({"run_as_user": "Int64", "run_as_group": "Int64",
                      "run_as_non_root": "boolean", "line": "Int64"})


def resources(a: Analysis) -> pd.DataFrame:
    """Per container × requests/limits × cpu/memory: current value against the profile's floor."""
    rows = []
    for w in a.index.workloads:
        for c in w.containers:
            sizing = a.profile.sizing_for(c.name, c.role)
            for kind, have in (("requests", c.requests), ("limits", c.limits)):
                for resource, (show, unit) in _UNITS.items():
                    current, floor = have.get(resource), sizing.get(kind, {}).get(resource)
                    status = "missing" if current is None else \
                        "below profile" if floor is not None and current < floor else "ok"
                    rows.append((a.index.label(w), w.namespace, c.name, c.role, kind, resource,
                                 show(current), "" if floor is None else show(floor), status,
                                 float(current / unit) if current is not None else float("nan"),
                                 float(floor / unit) if floor is not None else float("nan")))
    return pd.DataFrame(rows, columns=["workload", "namespace", "container", "role", "kind",
                                       "resource", "current", "profile", "status",
                                       "current_value", "profile_value"])


def _volume_source(v: Volume, w: Workload, idx: Index) -> str:
    s = v.source
    if v.type == "persistentVolumeClaim":
        claim = str(s.get("claimName", ""))
        pvc = idx.pvcs.get((w.namespace, claim))
        if pvc is None:
            return f"{claim} (not in manifests)"
        size = as_dict(as_dict(pvc.spec.get("resources")).get("requests")).get("storage")
        details = [", ".join(map(str, as_list(pvc.spec.get("accessModes")))), str(size or ""),
                   str(pvc.spec.get("storageClassName") or "")]
        return f"{claim} ({', '.join(d for d in details if d)})"
    if v.type == "emptyDir":
        medium = "memory (tmpfs)" if s.get("medium") == "Memory" else "node disk"
        limit = s.get("sizeLimit")
        return f"{medium}, " + (f"sizeLimit {limit}" if limit is not None else "no sizeLimit")
    if v.type == "projected":
        parts = []
        for source in as_list(s.get("sources")):
            for kind, ref in as_dict(source).items():
                parts.append(f"{kind} {as_dict(ref).get('name', '')}".strip())
        return ", ".join(parts)
    if v.type == "hostPath":
        return str(s.get("path", "")) + (f" ({s['type']})" if s.get("type") else "")
    if v.type == "nfs":
        return f"{s.get('server', '')}:{s.get('path', '')}"
    for field in ("name", "secretName", "driver", "claimName"):  # configMap, secret, csi …
        if s.get(field):
            return str(s[field])
    return ""


def _mount_paths(w: Workload, volume: str) -> Iterator[tuple[Container, Any, str]]:
    """(container, mount, finding path) of each mount of `volume`, as the checks name them."""
    for c in w.containers:
        for i, m in enumerate(c.mounts):
            if m.volume == volume:
                yield c, m, f"{c.path}.volumeMounts[{i}]"


def _failed_paths(a: Analysis, check_id: str | None = None) -> dict[tuple, list[tuple[str, str]]]:
    """(check id, path) of each failure, by (kind, namespace, name): one pass over the rows."""
    by_object: dict[tuple, list[tuple[str, str]]] = defaultdict(list)
    for r in map(Row._make, a.rows.failed()):
        if check_id is None or r.check_id == check_id:
            by_object[(r.kind, r.namespace, r.name)].append((r.check_id, r.path))
    return by_object


def volumes(a: Analysis) -> pd.DataFrame:
    """One row per pod volume: type, source, who mounts it, and the checks failing on it."""
    failed = _failed_paths(a)
    rows = []
    for w in a.index.workloads:
        mine = failed.get((w.kind, w.namespace, w.name), [])
        for v in w.volumes:
            mounts = list(_mount_paths(w, v.name))
            paths = {p for _, _, p in mounts}
            on_it = [check for check, path in mine
                     if path == v.path or path.startswith(v.path + ".") or path in paths]
            rows.append((a.index.label(w), w.namespace, v.name, v.type or "no source",
                         _volume_source(v, w, a.index),
                         ", ".join(f"{c.name}:{m.mount_path} ({_mode(w, m)})"
                                   for c, m, _ in mounts),
                         ", ".join(dict.fromkeys(on_it))))
    return pd.DataFrame(rows, columns=["workload", "namespace", "volume", "type", "source",
                                       "mounted_by", "findings"])


def _workload(a: Analysis, name: str | None) -> Workload | None:
    if name is None:
        return a.index.workloads[0] if a.index.workloads else None
    for w in a.index.workloads:
        if name in (a.index.label(w), w.name):
            return w
    raise KeyError(f"no workload {name!r}")


def mounts(w: Workload) -> tuple[list[str], list[str], dict[tuple[str, str], str]]:
    """(containers, volumes, {(container, volume): "ro" | "rw"}) of one workload: one writable
    mount makes the volume writable for the container."""
    volumes = list(dict.fromkeys([v.name for v in w.volumes]
                                 + [m.volume for c in w.containers for m in c.mounts]))
    modes: dict[tuple[str, str], str] = {}
    for c in w.containers:
        for m in c.mounts:
            if modes.get((c.name, m.volume)) != "rw":
                modes[(c.name, m.volume)] = _mode(w, m)
    return [c.name for c in w.containers], volumes, modes


def mount_matrix(a: Analysis, workload: str | None = None) -> pd.DataFrame:
    """Containers × volumes of one workload ("Kind/name" or name; default the first): ro/rw/"".
    Secret, ConfigMap, downwardAPI and projected volumes are always ro (the kubelet's rule)."""
    w = _workload(a, workload)
    if w is None:
        return pd.DataFrame()
    containers_, volumes_, modes = mounts(w)
    return pd.DataFrame([[modes.get((c, v), "") for v in volumes_] for c in containers_],
                        index=pd.Index(containers_, name="container"), columns=volumes_)


def _handler(probe: dict[str, Any]) -> str:
    if "httpGet" in probe:
        h = as_dict(probe["httpGet"])
        scheme = " HTTPS" if h.get("scheme") == "HTTPS" else ""
        return f"httpGet {h.get('path', '/')} :{h.get('port', '')}{scheme}"
    if "tcpSocket" in probe:
        return f"tcpSocket :{as_dict(probe['tcpSocket']).get('port', '')}"
    if "grpc" in probe:
        return f"grpc :{as_dict(probe['grpc']).get('port', '')}"
    if "exec" in probe:
        command = " ".join(map(str, as_list(as_dict(probe["exec"]).get("command"))))
        return f"exec {command[:60]}{'…' if len(command) > 60 else ''}".strip()
    return "no handler"


def probes(a: Analysis) -> pd.DataFrame:
    """Running container × liveness/readiness/startup: handler and timing, defaults marked."""
    rows = []
    for w in a.index.workloads:
        for c in w.containers:
            if c.role == "init":  # a plain init container runs to completion: it has no probes
                continue
            for kind in ("liveness", "readiness", "startup"):
                probe = c.probes.get(kind)
                timing = {column: "" if probe is None else
                          str(probe[field]) if field in probe else f"{default} (default)"
                          for column, (field, default) in PROBE_DEFAULTS.items()}
                rows.append({"workload": a.index.label(w), "namespace": w.namespace,
                             "container": c.name, "role": c.role, "probe": kind,
                             "handler": "none" if probe is None else _handler(probe), **timing})
    return pd.DataFrame(rows, columns=["workload", "namespace", "container", "role", "probe",
                                       "handler", *PROBE_DEFAULTS])


def _evictable(w: Workload, idx: Index) -> int | None:
    """Pods a drain may evict at once under the workload's PDBs (the strictest wins)."""
    replicas = idx.min_replicas(w)
    allowed = []
    for pdb in idx.pdbs.get(w, []) if replicas is not None else []:
        spec = pdb.spec
        if "maxUnavailable" in spec:
            n = pdb_budget(spec["maxUnavailable"], replicas)
        elif "minAvailable" in spec:
            needed = pdb_budget(spec["minAvailable"], replicas)
            n = None if needed is None else replicas - needed
        else:
            continue
        if n is not None:
            allowed.append(max(n, 0))
    return min(allowed) if allowed else None


def _states(a: Analysis) -> dict[tuple[str, str, str], str]:
    cl = a.checklist
    return dict(zip(zip(cl["workload"], cl["namespace"], cl["component"], strict=True),
                    cl["current_state"], strict=True))


def availability(a: Analysis) -> pd.DataFrame:
    """Per workload: replicas, autoscaling, spreading, disruption budget, strategy, storage."""
    states = _states(a)  # the checklist's reading of the same facts, so the two always agree
    rows = []
    for w in a.index.workloads:
        def state(component: str, w: Workload = w) -> str:
            return states.get((a.index.label(w), w.namespace, component), "")

        hpas = ", ".join(f"{h.name} ({h.spec.get('minReplicas', 1)}–{h.spec.get('maxReplicas')})"
                         for h in a.index.hpas.get(w, []))
        rows.append({
            "workload": a.index.label(w), "namespace": w.namespace, "replicas": w.replicas,
            "hpa": hpas,
            "anti_affinity": state("Pod Anti-Affinity"),
            "topology_spread": state("Topology Spread"), "pdb": state("PDB"),
            "pdb_allows_evictions": _evictable(w, a.index),
            "update_strategy": state("Update Strategy"),
            "priority_class": str(w.pod.get("priorityClassName") or ""),
            "storage_vs_replicas": state("Storage vs Replicas")})
    df = pd.DataFrame(rows, columns=["workload", "namespace", "replicas", "hpa", "anti_affinity",
                                     "topology_spread", "pdb", "pdb_allows_evictions",
                                     "update_strategy", "priority_class", "storage_vs_replicas"])
    return df.astype({"replicas": "Int64", "pdb_allows_evictions": "Int64"})


def capped(names: list[str], n: int = HANDFUL) -> str:
    """At most `n` names, then "+N more" (the tables hold them all)."""
    names = list(dict.fromkeys(names))
    return ", ".join(names[:n]) + (f" +{len(names) - n} more" if len(names) > n else "")


def _who(a: Analysis, keys: list[tuple[str, str, str, str]], image: bool = False) -> str:
    """Containers (or objects) by name, a handful at most; the workload is added when there is
    more than one, and beyond a handful each container is counted ("toolman in 12 workloads")."""
    images = {_key(w, c.name): c.image.ref for w in a.index.workloads for c in w.containers
              if c.image} if image else {}
    total = len(a.index.workloads)
    workload_kinds = {w.kind for w in a.index.workloads}
    by_label: dict[tuple[str, str], list[str]] = {}  # (container (image), Kind) → objects
    for key in dict.fromkeys(keys):
        kind, _, name, container = key
        label = container + (f" ({images[key]})" if key in images else "") if container else ""
        by_label.setdefault((label, kind), []).append(f"{kind}/{name}")
    if len(keys) <= HANDFUL or total <= 1:
        return capped([f"{label} in {obj}" if label and total > 1 else label or obj
                       for (label, _), objects in by_label.items() for obj in objects])
    parts = []
    for (label, kind), objects in by_label.items():
        n = len(objects)
        where = capped(objects) if n <= HANDFUL else f"all {n} workloads" if n == total \
            else f"{n} workloads" if kind in workload_kinds else f"{n} {kind} objects"
        parts.append(f"{label} in {where}" if label else where)
    return "; ".join(parts)


# (check id, strength it shows when it passes): the seed's "✅ Strengths", from passing checks.
STRENGTHS = (
    ("root-filesystem-writable", "Read-only root filesystem"),
    ("capabilities-not-dropped", "Dropped all capabilities"),
    ("privilege-escalation-allowed", "Privilege escalation disabled"),
    ("seccomp-profile-missing", "Seccomp profile confines system calls"),
    ("host-namespaces", "No host network, PID or IPC namespace"),
    ("host-path-volume", "No hostPath volumes"),
    ("service-account-token-automounted", "No Kubernetes API token mounted"),
    ("network-policy-missing", "NetworkPolicy restricts the pods' traffic"),
)
CONSIDERED_AREAS = ("security", "network")


def security_posture(a: Analysis) -> dict[str, list[str]]:
    """Short sentences, each naming its containers: strengths (passing security checks) and
    considerations (failing or exempt security and network checks)."""
    f = a.findings
    passed = f[f["status"] == "pass"]
    strengths = []
    non_root = _keys(passed[passed["check_id"] == "run-as-root-allowed"])
    by_id: dict[str, list] = {}
    for w in a.index.workloads:
        for c in w.containers:
            if _key(w, c.name) in non_root:
                uid = as_int(c.security.get("runAsUser"))
                gid = as_int(c.security.get("runAsGroup"))
                ids = [f"{what} {n}" for what, n in (("UID", uid), ("GID", gid)) if n is not None]
                by_id.setdefault(", ".join(ids) or "runAsNonRoot", []).append(_key(w, c.name))
    strengths += [f"Non-root execution ({ids}): {_who(a, keys)}" for ids, keys in by_id.items()]
    for check_id, text in STRENGTHS:
        keys = list(_keys(passed[passed["check_id"] == check_id]))
        if keys:
            strengths.append(f"{text}: {_who(a, sorted(keys))}")
    clean_env = _keys(passed[passed["check_id"] == "secret-in-env-value"])
    fs_groups: dict[str, list[str]] = {}  # one sentence per fact, naming its workloads
    secret_refs: list[tuple[str, str, str, str]] = []
    secret_names: list[str] = []
    for w in a.index.workloads:
        group = as_int(w.pod_security.get("fsGroup"))
        if group is not None:
            same = [c.name for c in w.containers if c.security.get("runAsGroup") == group]
            fact = f"fsGroup {group}" + (f" (runAsGroup of {', '.join(same)})" if same else "")
            fs_groups.setdefault(fact, []).append(a.index.label(w))
        for c in w.containers:
            secrets = [name for kind, name in _env_from_refs(c) if kind == "secretRef"]
            secrets += [str(as_dict(as_dict(e.get("valueFrom")).get("secretKeyRef")).get("name"))
                        for e in c.env if "secretKeyRef" in as_dict(e.get("valueFrom"))]
            if secrets and _key(w, c.name) in clean_env:
                secret_refs.append(_key(w, c.name))
                secret_names += secrets
    for fact, workloads in fs_groups.items():
        strengths.append(f"Volumes group-owned by {fact}: " + (
            capped(workloads) if len(workloads) < len(a.index.workloads) or len(workloads) == 1
            else f"all {len(workloads)} workloads"))
    if secret_refs:
        strengths.append(f"Secrets managed via secretRef: {_who(a, secret_refs)} "
                         f"(Secret {capped(secret_names)})")
    considered = f[f["area"].isin(CONSIDERED_AREAS) & f["status"].isin(FAILED)]
    considerations = []
    checks = a.checks  # the run's: policies and profile rules have their titles
    for check_id, rows in considered.groupby("check_id", sort=False):
        title = checks[check_id].title if check_id in checks else check_id
        keys = list(zip(rows["kind"], rows["namespace"].fillna(""), rows["name"],
                        rows["container"].fillna(""), strict=True))
        exempt = rows[rows["status"] == "exempt"]["exempt_reason"]
        note = f" (accepted: {'; '.join(dict.fromkeys(exempt))})" if len(exempt) else ""
        considerations.append(f"{title}: "
                              f"{_who(a, keys, image=check_id == 'privileged-container')}{note}")
    return {"strengths": strengths, "considerations": considerations}


def runtime_sockets(a: Analysis) -> pd.DataFrame:
    """Each privileged container: what it reaches on the node, the volumes through which it serves
    a runtime socket, and the other containers mounting them (container-runtime-socket-exposed)."""
    exposed = _failed_paths(a, "container-runtime-socket-exposed")
    rows = []
    for w in a.index.workloads:
        paths = {path for _, path in exposed.get((w.kind, w.namespace, w.name), [])}
        for server in (c for c in w.containers if c.security.get("privileged") is True):
            served = []  # (client, mount) pairs on a volume the privileged container also mounts
            for m in server.mounts:
                v = w.volume(m.volume)
                if v is not None and v.type == "hostPath":
                    continue  # the node's own socket: no container serves it
                served += [(c, cm) for c, cm, p in _mount_paths(w, m.volume)
                           if c is not server and p in paths]
            rows.append((a.index.label(w), w.namespace, server.name,
                         server.image.ref if server.image else "", PRIVILEGED_REACH,
                         ", ".join(dict.fromkeys(cm.volume for _, cm in served)),
                         ", ".join(f"{c.name}:{cm.mount_path} ({_mode(w, cm)})"
                                   for c, cm in served)))
    return pd.DataFrame(rows, columns=["workload", "namespace", "container", "image", "reach",
                                       "socket_volumes", "shared_with"])


def matrix(a: Analysis, components: Sequence[str] | None = None) -> pd.DataFrame:
    """Workloads × checklist components: the status of each row (pass, warning, fail, n/a)."""
    cl = a.checklist
    if components is not None:
        cl = cl[cl["component"].isin(components)]
    table = cl.pivot(index="workload", columns="component", values="status")
    order = [c for c in (components or dict.fromkeys(cl["component"])) if c in table.columns]
    return table.reindex(index=list(dict.fromkeys(cl["workload"])), columns=order)


def row_keys(df: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    """One string per row from some columns: rows with equal strings are equal there."""
    return ["\x1f".join(map(str, values))
            for values in zip(*(df[c].tolist() for c in columns), strict=True)]


def grouped(df: pd.DataFrame, keys: Sequence[str], what: str = "workload") -> pd.DataFrame:
    """Rows equal on `keys` as one row: `count` and the list of their `what` values, in order of
    first appearance ("fsGroup 1000: 12 workloads" rather than twelve rows)."""
    if not len(df):
        return df.assign(count=pd.Series(dtype="int64"), **{f"{what}s": pd.Series(dtype=object)})
    keyed = pd.Series(row_keys(df, keys), index=df.index)
    first = ~keyed.duplicated()
    members = df.groupby(keyed, sort=False)[what].agg(lambda v: list(dict.fromkeys(v)))
    out = df[first].reset_index(drop=True)
    out["count"] = [len(members[k]) for k in keyed[first]]
    out[f"{what}s"] = [members[k] for k in keyed[first]]
    return out


def by_component(a: Analysis, components: Sequence[str] | None = None) -> pd.DataFrame:
    """Per checklist component, over every workload: how many are fail / warning / pass / n/a,
    the distinct current states and actions with how many workloads have each."""
    cl = a.checklist
    rows = []
    for component, part in cl.groupby("component", sort=False):
        if components is not None and component not in components:
            continue
        n = part["status"].value_counts()
        states = part["current_state"].value_counts(sort=True)
        actions = part.loc[part["action"] != "—", "action"].value_counts(sort=True)
        rows.append({"component": component, "workloads": len(part),
                     **{s: int(n.get(s, 0)) for s in ("fail", "warning", "pass", "n/a")},
                     "worst": next((s for s in ("fail", "warning", "pass") if n.get(s, 0)),
                                   "n/a"),
                     "states": list(states.items()), "actions": list(actions.items()),
                     "failing": list(dict.fromkeys(part.loc[part["status"].isin(
                         ("fail", "warning")), "workload"]))})
    if components is not None:
        rows.sort(key=lambda r: list(components).index(r["component"]))
    return pd.DataFrame(rows, columns=["component", "workloads", "fail", "warning", "pass",
                                       "n/a", "worst", "states", "actions", "failing"])


def finding_groups(a: Analysis, areas: Sequence[str] | None = None) -> pd.DataFrame:
    """Failing findings grouped by (check, remediation): severity, title, the objects (with
    container), the distinct messages and the sources, most severe first. One row per distinct
    problem, whatever the number of workloads that share it."""
    f = a.findings[a.findings["status"] == "fail"]
    if areas is not None:
        f = f[f["area"].isin(areas)]
    checks = a.checks  # the run's: policies and profile rules have their titles
    rows = []
    for (check_id, remediation), part in f.groupby(["check_id", "remediation"], sort=False):
        objects = [f"{k}/{n}" + (f" [{c}]" if isinstance(c, str) and c else "")
                   for k, n, c in zip(part["kind"], part["name"], part["container"],
                                      strict=True)]
        sources = [f"{file}" + (f":{line}" if pd.notna(line) else "")
                   + (f" ({t})" if isinstance(t, str) and t else "")
                   + (f" {path}" if isinstance(path, str) else "")
                   for file, line, t, path in zip(part["file"], part["line"], part["template"],
                                                  part["path"], strict=True)]
        rows.append({"severity": part["severity"].iloc[0], "check_id": check_id,
                     "title": checks[check_id].title if check_id in checks else check_id,
                     "objects": list(dict.fromkeys(objects)),
                     "messages": list(dict.fromkeys(part["message"])),
                     "remediation": remediation, "sources": list(dict.fromkeys(sources))})
    return pd.DataFrame(rows, columns=["severity", "check_id", "title", "objects", "messages",
                                       "remediation", "sources"])


def checklist_counts(a: Analysis) -> dict[str, Any]:
    """Checklist rows by status ("fail" ❌, "warning" ⚠️, "pass" ✅, "n/a"), plus "findings":
    failures by severity, passes and exemptions (`Findings.counts`)."""
    statuses = a.checklist["status"].value_counts()
    result: dict[str, Any] = {s: int(statuses.get(s, 0)) for s in ("fail", "warning", "pass",
                                                                    "n/a")}
    result["findings"] = a.rows.counts()
    return result


POLICY_COLUMNS = ["policy", "source", "severity", "object", "namespace", "status", "message"]
NO_POLICY = ("No admission policy was given: `--policy FILE` (repeatable; a file or directory "
             "of ValidatingAdmissionPolicies with their bindings, or Kyverno policies) checks "
             "the objects and the pods their controllers will create against them.")


PSA = "pod-security-admission"
PSA_SOURCE = "built in: the namespaces' pod-security.kubernetes.io labels"


def pod_security_admission(a: Analysis) -> dict[str, str]:
    """The namespaces of workloads whose Pod Security labels (the manifests' Namespace or
    --namespace-labels) make the API server's built-in admission judge their pods, each with
    what it does ("namespace prod enforces baseline"); empty when the check is off."""
    if PSA not in set(a.findings["check_id"]):
        return {}
    namespaces = sorted({w.namespace for w in a.index.workloads if w.namespace})
    modes = {ns: namespace_modes(a.index, ns, a.profile) for ns in namespaces}
    return {ns: describe(ns, m) for ns, m in modes.items() if m}


def admission_entries(a: Analysis) -> dict[str, tuple[str, str]]:
    """Every admission policy of the analysis by id, with its title and source: the given and
    shipped policies (`policy/<name>`), then Pod Security admission where namespaces carry its
    labels (the cluster's built-in admission policy)."""
    entries = {check_id: (c.title, c.source) for check_id, c in a.policies.items()}
    if psa := pod_security_admission(a):
        entries[PSA] = (f"Pod Security admission ({'; '.join(psa.values())})", PSA_SOURCE)
    return entries


def admission_policies(a: Analysis) -> pd.DataFrame:
    """What each admission policy of the analysis (`admission_entries`) does with each object it
    matches: one row per outcome, "pods of Kind/name" where it is the pods a workload's
    controller will create; `status` pass (admitted), fail (rejected, warned or audited, as
    `severity` says), exempt or skip (not evaluated here, the message says why; no severity).
    Messages come
    from the policies and the manifests: plain data, for the renderer to escape."""
    from toolman_kit.judge.policy import on_pods  # its package, not its CEL engine

    entries, psa = admission_entries(a), pod_security_admission(a)
    f = a.findings
    f = f[f["check_id"].isin(a.policies) | (f["check_id"] == PSA) & f["namespace"].isin(psa)]
    rows = [(check_id, entries[check_id][1], severity if status in FAILED else "",
             f"pods of {kind}/{name}" if on_pods(message) else f"{kind}/{name}",
             namespace, status, message)
            for check_id, severity, kind, namespace, name, status, message in zip(
                f["check_id"], f["severity"], f["kind"], f["namespace"].fillna(""), f["name"],
                f["status"], f["message"].fillna(""), strict=True)]
    return pd.DataFrame(rows, columns=POLICY_COLUMNS)


def admission_summary(a: Analysis) -> pd.DataFrame:
    """Per admission policy (Pod Security admission included): its title and source, how many
    objects it rejects (errors), warns or audits about, exempts, skips and admits (an object
    counts once, by its worst outcome: a workload whose pods are rejected is rejected), and
    those counts in words ("5 objects matched: 1 rejected, 4 admitted")."""
    df = admission_policies(a)
    df = df.assign(outcome=[("rejected" if sev == "error" else "warned") if st == "fail" else
                            {"exempt": "exempt", "skip": "skipped"}.get(st, "admitted")
                            for st, sev in zip(df["status"], df["severity"], strict=True)])
    rows = []
    for check_id, (title, source) in admission_entries(a).items():
        part = df[df["policy"] == check_id]
        # an object's worst outcome counts: its pods rejected make a workload "rejected"
        worst = part.assign(key=part["object"].str.removeprefix("pods of ") + "\x1f"
                            + part["namespace"]).groupby("key", sort=False)["outcome"].agg(
            lambda v: min(v, key=OUTCOMES.index))
        counts = worst.value_counts()
        n = [int(counts.get(o, 0)) for o in OUTCOMES]
        said = ", ".join(f"{k} {o}" for k, o in zip(n, OUTCOMES, strict=True) if k)
        rows.append((check_id, title, source, *n,
                     f"{plural(sum(n), 'object')} matched: {said}" if said
                     else "matches no object"))
    return pd.DataFrame(rows, columns=["policy", "title", "source", *OUTCOMES, "outcomes"])


OUTCOMES = ("rejected", "warned", "exempt", "skipped", "admitted")  # worst first


def admission_outcomes(a: Analysis, check_id: str) -> pd.DataFrame:
    """What one policy does other than admit, one row per distinct (status, severity, message)
    with the `objects` that share it and their `count`, worst first."""
    df = admission_policies(a)
    df = df[(df["policy"] == check_id) & (df["status"] != "pass")]
    g = grouped(df, ["status", "severity", "message"], what="object")
    order = [("fail", "error"), ("fail", "warning"), ("fail", "info"), ("exempt",), ("skip",)]
    rank = [next(i for i, o in enumerate(order) if (st, sev)[:len(o)] == o)
            for st, sev in zip(g["status"], g["severity"], strict=True)]
    return g.assign(rank=rank).sort_values("rank", kind="stable").drop(columns="rank") \
        .reset_index(drop=True)


class Locations:
    """Where an input line is, as a user can open it. A chart's rendering (`<rendered CHART>`)
    is no file: its lines are named by the template that the `# Source:` comment above them
    names, with the template's line when the alignment is sure, else the template alone."""

    def __init__(self, rendered: Any = None):  # a chart.render.Rendered, or None
        self.label = f"<rendered {rendered.chart}>" if rendered is not None else None
        self.chart = Path(rendered.directory or rendered.chart).resolve() \
            if rendered is not None else None
        self.lines = rendered.text.splitlines() if rendered is not None else []
        self._texts: dict[str, list[str]] = {}

    def __call__(self, file: str, line: Any = None) -> str:
        line = int(line) if line is not None and pd.notna(line) else None
        if file != self.label or not line or not 0 < line <= len(self.lines):
            return f"{file}:{line}" if line else file
        start = next((i for i in range(line - 1, -1, -1)
                      if self.lines[i].startswith("# Source: ")), None)
        if start is None:
            return file
        # chart-relative: the chart's name comes first (subcharts: charts/NAME/templates/…)
        template = self.lines[start].removeprefix("# Source: ").strip().split("/", 1)[-1]
        at = self._template_line(template, start, line)
        return f"{template}:{at}" if at else template

    def _source(self, template: str) -> list[str]:
        """The template's lines, stripped; none for a path outside the chart (a `# Source:`
        comment is the chart's text, not proof of a file)."""
        if template not in self._texts:
            path = (self.chart / template).resolve()
            try:
                ok = path.is_relative_to(self.chart) and path.is_file()
                text = path.read_text(encoding="utf-8") if ok else ""
            except (OSError, UnicodeDecodeError):
                text = ""
            self._texts[template] = [t.strip() for t in text.splitlines()]
        return self._texts[template]

    def _template_line(self, template: str, start: int, line: int) -> int | None:
        """Align the rendered block with the template (longest common runs first): a line a
        value changed, or a helper wrote, matches nowhere. A line is trusted inside a run of at
        least two lines matched together."""
        source, wanted = self._source(template), self.lines[line - 1].strip()
        if not wanted or wanted not in source:
            return None
        end = next((i for i in range(line, len(self.lines))
                    if self.lines[i].startswith(("# Source: ", "---"))), len(self.lines))
        block = [t.strip() for t in self.lines[start + 1:end]]
        at = line - start - 2  # the line's index in the block
        for a, b, size in SequenceMatcher(None, block, source, autojunk=False) \
                .get_matching_blocks():
            if size >= 2 and a <= at < a + size:
                return b + at - a + 1
        return None
