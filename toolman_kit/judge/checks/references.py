"""References that point nowhere: Secrets, ConfigMaps and ServiceAccounts a pod needs that the
manifests do not contain, and environment variables set twice.

A missing object may well be created outside the chart (a Secret from a vault, a ServiceAccount
with `serviceAccount.create: false`), so these are worth knowing, not errors: the message says
what must exist before the pods can start. References marked `optional: true` are not needed.
"""

from __future__ import annotations

from collections.abc import Iterator

from toolman_kit.judge.profiles import Profile
from toolman_kit.judge.registry import Area, Outcome, Scope, Severity, Violation, check
from toolman_kit.read.index import Index
from toolman_kit.read.manifests import RELEASE_NAMESPACE
from toolman_kit.read.model import Container, Workload, as_dict, as_list

# Where a pod names an object of each kind: (env valueFrom key, envFrom key, volume type and the
# field that holds the name, projected source key).
REFERENCE_FIELDS = {
    "Secret": ("secretKeyRef", "secretRef", "secret", "secretName"),
    "ConfigMap": ("configMapKeyRef", "configMapRef", "configMap", "name"),
}


def _references(w: Workload, kind: str) -> Iterator[tuple[str, str, str]]:
    """(name, what refers to it, path) of every required reference to a `kind` object."""
    key_ref, env_from, volume_type, name_field = REFERENCE_FIELDS[kind]
    for c in w.containers:
        for i, env in enumerate(as_list(c.raw.get("env"))):
            ref = as_dict(as_dict(as_dict(env).get("valueFrom")).get(key_ref))
            if ref.get("name") and ref.get("optional") is not True:
                yield str(ref["name"]), f"env {as_dict(env).get('name')} of {c.name}", \
                    f"{c.path}.env[{i}].valueFrom.{key_ref}.name"
        for i, source in enumerate(as_list(c.raw.get("envFrom"))):
            ref = as_dict(as_dict(source).get(env_from))
            if ref.get("name") and ref.get("optional") is not True:
                yield str(ref["name"]), f"envFrom of {c.name}", \
                    f"{c.path}.envFrom[{i}].{env_from}.name"
    for v in w.volumes:
        if v.type == volume_type and v.source.get(name_field) and \
                v.source.get("optional") is not True:
            yield str(v.source[name_field]), f"volume {v.name}", f"{v.path}.{volume_type}"
        elif v.type == "projected":
            for j, source in enumerate(as_list(v.source.get("sources"))):
                ref = as_dict(as_dict(source).get(volume_type))
                if ref.get("name") and ref.get("optional") is not True:
                    yield str(ref["name"]), f"volume {v.name}", \
                        f"{v.path}.projected.sources[{j}].{volume_type}"
    if kind == "Secret":
        for i, ref in enumerate(as_list(w.pod.get("imagePullSecrets"))):
            if as_dict(ref).get("name"):
                yield str(as_dict(ref)["name"]), "imagePullSecrets", \
                    f"{w.pod_path}.imagePullSecrets[{i}]"


def _where(w: Workload) -> str:
    return "the release namespace" if w.namespace == RELEASE_NAMESPACE else \
        f"namespace {w.namespace}"


def _missing(w: Workload, idx: Index, kind: str) -> Outcome:
    uses: dict[str, list[tuple[str, str]]] = {}
    for name, what, path in _references(w, kind):
        if not idx.provides(kind, w.namespace, name):
            uses.setdefault(name, []).append((what, path))
    for name, refs in uses.items():
        yield Violation(f"{kind} {name} ({', '.join(dict.fromkeys(w for w, _ in refs))}) is not "
                        f"in the manifests: it must exist in {_where(w)} before the pods can "
                        "start (created outside the chart?)", path=refs[0][1])


@check(id="secret-not-in-manifests", area=Area.VALIDITY, severity=Severity.INFO,
       title="Pod needs a Secret the manifests do not contain",
       remediation="Create the Secret before installing and document it, or template it into "
                   "the chart (or mark the reference optional).")
def secret_not_in_manifests(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """A Secret named in env, envFrom, a volume or imagePullSecrets that the chart does not
    render (nor a cert-manager Certificate, SealedSecret or ExternalSecret) must exist before
    install: until then the pods stay in ContainerCreating or CreateContainerConfigError (or
    fail to pull). It is an undocumented prerequisite of the release."""
    yield from _missing(w, idx, "Secret")


@check(id="configmap-not-in-manifests", area=Area.VALIDITY, severity=Severity.INFO,
       title="Pod needs a ConfigMap the manifests do not contain",
       remediation="Create the ConfigMap before installing and document it, or template it into "
                   "the chart (or mark the reference optional).")
def configmap_not_in_manifests(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """A ConfigMap named in env, envFrom or a volume that the chart does not render must exist
    before install, or the pods do not start."""
    yield from _missing(w, idx, "ConfigMap")


@check(id="service-account-not-in-manifests", area=Area.VALIDITY, severity=Severity.INFO,
       title="Pod runs as a ServiceAccount the manifests do not contain",
       remediation="Render the ServiceAccount (serviceAccount.create: true), or document that "
                   "it must exist before install.",
       differs="kube-linter (non-existent-service-account) fails it; we only inform, since "
               "charts are often told to use a ServiceAccount made outside them.")
def service_account_not_in_manifests(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """The API server refuses pods whose ServiceAccount does not exist: the workload's
    controller retries and no pod appears. `default` exists in every namespace."""
    name = w.service_account
    if name != "default" and (w.namespace, name) not in idx.service_accounts:
        yield Violation(f"ServiceAccount {name} is not in the manifests: it must exist in "
                        f"{_where(w)} before the pods can be created (created outside the "
                        "chart?)", path=f"{w.pod_path}.serviceAccountName")


@check(id="env-duplicate", area=Area.VALIDITY, severity=Severity.WARNING, scope=Scope.CONTAINER,
       title="Environment variable set twice in one container",
       remediation="Remove the duplicate entry (check which value the chart meant).")
def env_duplicate(c: Container, w: Workload, idx: Index, profile: Profile) -> Outcome:
    """When a container's env lists a name twice the last entry silently wins: the value a
    reviewer reads first (often the one a values override set) may not be the one in effect."""
    seen: dict[str, int] = {}
    for i, env in enumerate(as_list(c.raw.get("env"))):
        name = as_dict(env).get("name")
        if not isinstance(name, str):
            continue
        if name in seen:
            yield Violation(f"{c.name}: env {name} is set at env[{seen[name]}] and again at "
                            f"env[{i}]; the last one wins", path=f"{c.path}.env[{i}]")
        seen[name] = i
