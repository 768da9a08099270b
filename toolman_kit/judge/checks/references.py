"""References that point nowhere: Secrets, ConfigMaps and ServiceAccounts a pod needs that the
manifests do not contain, and environment variables set twice.

A missing object may well be created outside the chart (a Secret from a vault, a ServiceAccount
with `serviceAccount.create: false`), so these are worth knowing, not errors: the message says
what must exist before the pods can start. References marked `optional: true` are not needed.
"""

from __future__ import annotations

from toolman_kit.judge.profiles import Profile
from toolman_kit.judge.registry import Area, Outcome, Severity, Violation, check
from toolman_kit.read.index import Index
from toolman_kit.read.manifests import RELEASE_NAMESPACE
from toolman_kit.read.model import Reference, Workload, as_dict, as_list


def _where(w: Workload) -> str:
    return "the release namespace" if w.namespace == RELEASE_NAMESPACE else \
        f"namespace {w.namespace}"


def _missing(w: Workload, idx: Index, kind: str) -> Outcome:
    missing: dict[str, list[Reference]] = {}
    for ref in w.references[kind]:
        if not idx.provides(kind, w.namespace, ref.name):
            missing.setdefault(ref.name, []).append(ref)
    for name, refs in missing.items():
        yield Violation(f"{kind} {name} ({', '.join(dict.fromkeys(r.what for r in refs))}) is "
                        f"not in the manifests: it must exist in {_where(w)} before the pods "
                        "can start (created outside the chart?)", path=refs[0].path)


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


@check(id="env-duplicate", area=Area.VALIDITY, severity=Severity.WARNING,
       title="Environment variable set twice in one container",
       remediation="Remove the duplicate entry (check which value the chart meant).")
def env_duplicate(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """When a container's env lists a name twice the last entry silently wins: the value a
    reviewer reads first (often the one a values override set) may not be the one in effect."""
    for c in w.containers:
        seen: dict[str, int] = {}
        for i, env in enumerate(as_list(c.raw.get("env"))):
            name = as_dict(env).get("name")
            if not isinstance(name, str):
                continue
            if name in seen:
                yield Violation(f"{c.name}: env {name} is set at env[{seen[name]}] and again at "
                                f"env[{i}]; the last one wins", path=f"{c.path}.env[{i}]",
                                container=c.name)
            seen[name] = i
