"""Typed views over the raw manifest dicts: Workload, Container, Volume, Mount.

Everything that more than one check needs to interpret (where the pod template lives in each kind,
which container is the main one, the effective security context, parsed resource quantities, image
tag and digest) is worked out here once, so no check gets it wrong on its own. The views tolerate
fields of the wrong type: such a field reads as absent and is recorded in `Workload.invalid`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml

from toolman_kit.read.manifests import Resource
from toolman_kit.read.quantity import QuantityError, parse_quantity

# Where each workload kind keeps its pod template (path of the template, relative to the object).
POD_TEMPLATE = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
    "Pod": (),
}
REPLICATED = ("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController")


@dataclass(frozen=True, slots=True)
class WorkloadKind:
    """Where a kind keeps its pod template, replica count and selector (dotted paths; "" for
    the object itself; None: it has none), and the built-in kind whose checks apply to it."""

    group: str  # API group; "*" for the built-in kinds, matched by kind alone
    kind: str
    template: str
    replicas: str | None
    selector: str | None
    like: str
    source: str = "built-in"

    @property
    def custom(self) -> bool:
        return self.group != "*"

    @classmethod
    def of(cls, entry: dict[str, Any], source: str) -> WorkloadKind:
        """A kind from a table entry: apiVersion (group or group/version), kind, template,
        replicas, selector and like (default Deployment when it has replicas, else Pod)."""
        group = str(entry["apiVersion"])
        group = group.rpartition("/")[0] if "/" in group else group
        replicas = entry.get("replicas")
        like = entry.get("like") or ("Deployment" if replicas else "Pod")
        return cls(group, str(entry["kind"]), str(entry["template"]), replicas,
                   entry.get("selector", "spec.selector" if like != "Pod" else None), like,
                   str(entry.get("source") or source))


BUILT_IN_KINDS = {kind: WorkloadKind(
    "*", kind, ".".join(steps), "spec.replicas" if kind in REPLICATED else None,
    None if kind == "Pod" else "spec.selector", kind) for kind, steps in POD_TEMPLATE.items()}


@cache
def custom_kinds() -> tuple[WorkloadKind, ...]:
    """The package's table of custom workload kinds (read/workload_kinds.yaml)."""
    text = resources.files(__package__).joinpath("workload_kinds.yaml").read_text()
    return tuple(WorkloadKind.of(e, "workload_kinds.yaml") for e in yaml.safe_load(text))


def kinds_table(extra: tuple[WorkloadKind, ...] = ()) -> dict[tuple[str, str], WorkloadKind]:
    """(group, kind) → WorkloadKind: the package's custom kinds, then `extra` (a profile's,
    which win)."""
    return {(k.group, k.kind): k for k in (*custom_kinds(), *extra)}


def workload_kind(resource: Resource,
                  table: dict[tuple[str, str], WorkloadKind] | None = None) -> WorkloadKind | None:
    """The kind's entry: by API group and kind in the custom table, else a built-in by kind."""
    group = resource.api_version.rpartition("/")[0]
    found = (kinds_table() if table is None else table).get((group, resource.kind))
    return found or BUILT_IN_KINDS.get(resource.kind)
# Pod-level securityContext fields that containers inherit unless they set their own.
INHERITED_SECURITY = ("runAsUser", "runAsGroup", "runAsNonRoot", "seLinuxOptions",
                      "seccompProfile", "windowsOptions", "appArmorProfile")
DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"
PROBES = (("liveness", "livenessProbe"), ("readiness", "readinessProbe"),
          ("startup", "startupProbe"))
# A tag naming only a major version, maybe with a variant: 1, v3, 20-alpine, 3-slim-bookworm.
# Longer numbers are build numbers or dates (4512, 20240101), which do not move.
_MAJOR_ONLY = re.compile(r"v?\d{1,2}(-[A-Za-z][\w.-]*)?")


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_int(value: Any) -> int | None:
    """An integer as YAML gives it (a bool is not one), or None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True, slots=True)
class Image:
    ref: str
    repository: str
    tag: str | None
    digest: str | None

    @classmethod
    def parse(cls, ref: str) -> Image:
        rest, _, digest = ref.partition("@")
        slash = rest.rfind("/")
        colon = rest.rfind(":")
        tag = rest[colon + 1:] if colon > slash else None
        repository = rest[:colon] if colon > slash else rest
        return cls(ref, repository, tag or None, digest or None)

    def pinning(self, mutable_tags: tuple[str, ...] = ("latest",)) -> str:
        """How firmly the reference names one image: "digest"; "version" (1.27.3, v2.1, a
        commit such as main-4685f6f); "major" (nginx:1, node:20-alpine: moves with every minor
        release); "floating" (a name without a version: dind, stable, lts, edge, main); "listed"
        (a tag the profile calls mutable, latest included); "missing" (no tag means latest)."""
        if self.digest is not None:
            return "digest"
        if self.tag is None:
            return "missing"
        if self.tag in mutable_tags:
            return "listed"
        if not any(ch.isdigit() for ch in self.tag):
            return "floating"
        return "major" if _MAJOR_ONLY.fullmatch(self.tag) else "version"

    def pinned(self, mutable_tags: tuple[str, ...] = ("latest",)) -> bool:
        """A digest pins; so does a tag with more than a major version in it."""
        return self.pinning(mutable_tags) in ("digest", "version")


@dataclass(frozen=True, slots=True)
class Mount:
    volume: str
    mount_path: str
    read_only: bool
    sub_path: str | None


@dataclass(frozen=True, slots=True)
class Volume:
    name: str
    type: str | None  # configMap, persistentVolumeClaim, emptyDir … ; None = no source given
    raw: dict[str, Any]
    path: str

    @property
    def source(self) -> dict[str, Any]:
        return as_dict(self.raw.get(self.type)) if self.type else {}


Role = Literal["init", "main", "sidecar"]  # native sidecars are init containers that keep running


@dataclass(slots=True)
class Container:
    name: str
    role: Role
    raw: dict[str, Any]
    path: str  # e.g. spec.template.spec.containers[0]
    security: dict[str, Any]  # effective securityContext: the pod's, overridden by the container's
    requests: dict[str, Decimal]  # effective: a missing request is its limit, as Kubernetes sets
    limits: dict[str, Decimal]
    image: Image | None
    mounts: list[Mount]
    probes: dict[str, dict[str, Any]]  # "liveness", "readiness", "startup" → the probe set

    @property
    def ports(self) -> list[dict[str, Any]]:
        return [p for p in as_list(self.raw.get("ports")) if isinstance(p, dict)]

    @property
    def env(self) -> list[dict[str, Any]]:
        return [e for e in as_list(self.raw.get("env")) if isinstance(e, dict)]

    @property
    def pull_policy(self) -> str | None:
        policy = self.raw.get("imagePullPolicy")
        return policy if isinstance(policy, str) else None


@dataclass(frozen=True, slots=True)
class Reference:
    name: str
    what: str  # who refers to it, e.g. "envFrom of web", "volume tls", "imagePullSecrets"
    path: str


@dataclass(slots=True, eq=False)
class Workload:
    resource: Resource
    pod_path: str  # path of the pod spec, e.g. spec.template.spec
    pod: dict[str, Any]
    pod_labels: dict[str, str]
    pod_annotations: dict[str, str]
    containers: list[Container]
    volumes: list[Volume]
    replicas: int | None  # None where the kind has no replica count (DaemonSet, Job …)
    spec_kind: WorkloadKind = field(default=BUILT_IN_KINDS["Pod"])
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (path, problem)
    _references: dict[str, list[Reference]] | None = field(default=None, repr=False)

    kind = property(lambda self: self.resource.kind)
    name = property(lambda self: self.resource.name)
    namespace = property(lambda self: self.resource.namespace)
    like = property(lambda self: self.spec_kind.like)  # the built-in kind whose checks apply

    @property
    def pod_security(self) -> dict[str, Any]:
        return as_dict(self.pod.get("securityContext"))

    @property
    def service_account(self) -> str:
        return str(self.pod.get("serviceAccountName") or self.pod.get("serviceAccount")
                   or "default")

    @property
    def main(self) -> Container | None:
        return next((c for c in self.containers if c.role == "main"), None)

    @property
    def references(self) -> dict[str, list[Reference]]:
        """The Secrets and ConfigMaps the pod cannot start without (optional ones left out):
        "Secret" / "ConfigMap" → references from env, envFrom, volumes and imagePullSecrets."""
        if self._references is None:
            self._references = _pod_references(self)
        return self._references

    def volume(self, name: str) -> Volume | None:
        return next((v for v in self.volumes if v.name == name), None)


def workload(resource: Resource,
             table: dict[tuple[str, str], WorkloadKind] | None = None) -> Workload | None:
    """The workload view of a resource, or None when its kind carries no pod template
    (`table`: the custom kinds, by default the package's; see `kinds_table`)."""
    spec_kind = workload_kind(resource, table)
    if spec_kind is None:
        return None
    template = as_dict(dig(resource.obj, spec_kind.template))
    prefix = spec_kind.template
    pod_path = f"{prefix}.spec" if prefix else "spec"
    pod = as_dict(template.get("spec"))
    meta = as_dict(template.get("metadata"))
    labels = {str(k): str(v) for k, v in as_dict(meta.get("labels")).items()}
    annotations = {str(k): str(v) for k, v in as_dict(meta.get("annotations")).items()}
    w = Workload(resource, pod_path, pod, labels, annotations, [], [], None, spec_kind)
    _check_types(w, pod)
    w.replicas = _replicas(w)
    w.volumes = _volumes(w)
    w.containers = _containers(w, resource)
    return w


# (kind, env valueFrom key, envFrom key) and (volume type, its name field, kind)
_ENV_REFS = (("Secret", "secretKeyRef", "secretRef"), ("ConfigMap", "configMapKeyRef",
                                                         "configMapRef"))
_VOLUME_REFS = {"secret": ("secretName", "Secret"), "configMap": ("name", "ConfigMap")}


def _needed(ref: Any) -> str | None:
    """The name a reference requires, unless it is missing or optional."""
    ref = as_dict(ref)
    name = ref.get("name")
    return str(name) if name and ref.get("optional") is not True else None


def _pod_references(w: Workload) -> dict[str, list[Reference]]:
    found: dict[str, list[Reference]] = {"Secret": [], "ConfigMap": []}
    for c in w.containers:
        for i, env in enumerate(as_list(c.raw.get("env"))):
            source = as_dict(env).get("valueFrom")
            for kind, key, _ in _ENV_REFS if source else ():
                if name := _needed(as_dict(source).get(key)):
                    found[kind].append(Reference(name, f"env {env.get('name')} of {c.name}",
                                                 f"{c.path}.env[{i}].valueFrom.{key}.name"))
        for i, source in enumerate(as_list(c.raw.get("envFrom"))):
            for kind, _, key in _ENV_REFS:
                if name := _needed(as_dict(source).get(key)):
                    found[kind].append(Reference(name, f"envFrom of {c.name}",
                                                 f"{c.path}.envFrom[{i}].{key}.name"))
    for v in w.volumes:
        if v.type in _VOLUME_REFS:
            field_name, kind = _VOLUME_REFS[v.type]
            source = v.source
            if source.get(field_name) and source.get("optional") is not True:
                found[kind].append(Reference(str(source[field_name]), f"volume {v.name}",
                                             f"{v.path}.{v.type}"))
        elif v.type == "projected":
            for j, source in enumerate(as_list(v.source.get("sources"))):
                for key, (_, kind) in _VOLUME_REFS.items():
                    if name := _needed(as_dict(source).get(key)):
                        found[kind].append(Reference(name, f"volume {v.name}",
                                                     f"{v.path}.projected.sources[{j}].{key}"))
    for i, ref in enumerate(as_list(w.pod.get("imagePullSecrets"))):
        if name := _needed(ref):
            found["Secret"].append(Reference(name, "imagePullSecrets",
                                             f"{w.pod_path}.imagePullSecrets[{i}]"))
    return found


def _check_types(w: Workload, pod: dict[str, Any]) -> None:
    for key in ("containers", "initContainers", "volumes"):
        if key in pod and pod[key] is not None and not isinstance(pod[key], list):
            w.invalid.append((f"{w.pod_path}.{key}",
                              f"must be a list, not {type(pod[key]).__name__}"))
    if "securityContext" in pod and not isinstance(pod["securityContext"], (dict, type(None))):
        w.invalid.append((f"{w.pod_path}.securityContext", "must be a mapping"))


def dig(obj: Any, path: str) -> Any:
    """The value at a dotted path ("" is the object itself), or None."""
    for step in path.split(".") if path else ():
        obj = as_dict(obj).get(step)
    return obj


def _replicas(w: Workload) -> int | None:
    path = w.spec_kind.replicas
    if w.like == "Pod":
        return 1
    if path is None:
        return None
    value = dig(w.resource.obj, path)
    if value is None:
        return 1  # the API servers default it to 1
    if isinstance(value, bool) or not isinstance(value, int):
        w.invalid.append((path, f"must be an integer, not {value!r}"))
        return None
    return value


def _volumes(w: Workload) -> list[Volume]:
    volumes = []
    for i, raw in enumerate(as_list(w.pod.get("volumes"))):
        path = f"{w.pod_path}.volumes[{i}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            w.invalid.append((path, "a volume must be a mapping with a name"))
            continue
        kinds = [k for k in raw if k != "name"]
        volumes.append(Volume(raw["name"], kinds[0] if kinds else None, raw, path))
    return volumes


def _main_name(w: Workload, names: list[str], resource: Resource) -> str | None:
    chosen = w.pod_annotations.get(DEFAULT_CONTAINER_ANNOTATION) or \
        resource.annotations.get(DEFAULT_CONTAINER_ANNOTATION)
    if chosen in names:
        return chosen
    for candidate in (resource.name, w.pod_labels.get("app.kubernetes.io/name"),
                      w.pod_labels.get("app")):
        if candidate in names:
            return candidate
    return names[0] if names else None


def _containers(w: Workload, resource: Resource) -> list[Container]:
    pod_security = as_dict(w.pod.get("securityContext"))
    inherited = {k: pod_security[k] for k in INHERITED_SECURITY if k in pod_security}
    regular = [c for c in as_list(w.pod.get("containers")) if isinstance(c, dict)]
    main = _main_name(w, [str(c.get("name", f"#{i}")) for i, c in enumerate(regular)], resource)
    result = []
    for key in ("initContainers", "containers"):
        for i, raw in enumerate(as_list(w.pod.get(key))):
            path = f"{w.pod_path}.{key}[{i}]"
            if not isinstance(raw, dict):
                w.invalid.append((path, "a container must be a mapping"))
                continue
            name = str(raw.get("name", f"#{i}"))
            if key == "initContainers":
                role = "sidecar" if raw.get("restartPolicy") == "Always" else "init"
            else:
                role = "main" if name == main else "sidecar"
            own = raw.get("securityContext")
            if own is not None and not isinstance(own, dict):
                w.invalid.append((f"{path}.securityContext", "must be a mapping"))
            resources = as_dict(raw.get("resources"))
            image = raw.get("image")
            if image is not None and not isinstance(image, str):
                w.invalid.append((f"{path}.image", f"must be a string, not {image!r}"))
            limits = _quantities(w, resources.get("limits"), f"{path}.resources.limits")
            requests = _quantities(w, resources.get("requests"), f"{path}.resources.requests")
            result.append(Container(
                name, role, raw, path, {**inherited, **as_dict(own)},
                {**limits, **requests},  # Kubernetes defaults a missing request to its limit
                limits,
                Image.parse(image) if isinstance(image, str) and image else None,
                _mounts(w, raw, path),
                {kind: as_dict(raw[key]) for kind, key in PROBES if raw.get(key)}))
    return result


def _quantities(w: Workload, raw: Any, path: str) -> dict[str, Decimal]:
    parsed = {}
    for resource_name, value in as_dict(raw).items():
        try:
            parsed[str(resource_name)] = parse_quantity(value)
        except QuantityError as exc:
            w.invalid.append((f"{path}.{resource_name}", str(exc)))
    return parsed


def _mounts(w: Workload, raw: dict[str, Any], path: str) -> list[Mount]:
    mounts = []
    for i, m in enumerate(as_list(raw.get("volumeMounts"))):
        if not isinstance(m, dict) or not isinstance(m.get("name"), str):
            w.invalid.append((f"{path}.volumeMounts[{i}]", "a mount must be a mapping with a name"))
            continue
        mounts.append(Mount(m["name"], str(m.get("mountPath", "")), m.get("readOnly") is True,
                            m.get("subPath") if isinstance(m.get("subPath"), str) else None))
    return mounts
