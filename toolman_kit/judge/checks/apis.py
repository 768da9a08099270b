"""API versions: objects the target Kubernetes version no longer serves, or will stop serving."""

from __future__ import annotations

from toolman_kit.judge.apis import removals
from toolman_kit.judge.profiles import Profile
from toolman_kit.judge.registry import Area, Outcome, Scope, Severity, Violation, check
from toolman_kit.read.index import Index
from toolman_kit.read.manifests import Resource


def _instead(r) -> str:
    if not r.replacement:
        return r.note or "there is no replacement"
    return f"use {r.replacement}" + (f" (served since {r.available_since})"
                                      if r.available_since else "")


@check(id="api-version-removed", area=Area.VALIDITY, severity=Severity.ERROR, scope=Scope.OBJECT,
       kinds=("*",), title="apiVersion is no longer served by the target Kubernetes version",
       remediation="Move the object to the replacement apiVersion (and its schema) before "
                   "upgrading; --kube-version sets the target.")
def api_version_removed(resource: Resource, idx: Index, profile: Profile) -> Outcome:
    """The API server refuses an object whose apiVersion was removed (e.g. policy/v1beta1
    PodDisruptionBudget since 1.25), so the release fails to install or upgrade. Judged against
    the profile's `kube_version` (`--kube-version`), with the removals of the Kubernetes
    Deprecated API Migration Guide (1.16, 1.22, 1.25, 1.26, 1.27, 1.29, 1.32)."""
    r = removals().get((resource.api_version, resource.kind))
    if r is not None and r.removed(profile.kube_version):
        yield Violation(f"{r.api_version} {r.kind} is not served since Kubernetes {r.removed_in} "
                        f"(target {profile.kube_version}): {_instead(r)}", path="apiVersion",
                        remediation=f"Change apiVersion to {r.replacement}." if r.replacement
                        else f"Remove the {r.kind}: {_instead(r)}.")


@check(id="api-version-deprecated", area=Area.VALIDITY, severity=Severity.WARNING,
       scope=Scope.OBJECT, kinds=("*",),
       title="apiVersion is deprecated: a later Kubernetes version removes it",
       remediation="Move the object to the replacement apiVersion while both are served.")
def api_version_deprecated(resource: Resource, idx: Index, profile: Profile) -> Outcome:
    """Still served by the target version, but scheduled for removal while its replacement is
    already served: migrating now makes the next upgrade a non-event."""
    r = removals().get((resource.api_version, resource.kind))
    if r is not None and r.deprecated(profile.kube_version):
        yield Violation(f"{r.api_version} {r.kind} is removed in Kubernetes {r.removed_in} "
                        f"(target {profile.kube_version}): {_instead(r)}", path="apiVersion",
                        remediation=f"Change apiVersion to {r.replacement}." if r.replacement
                        else f"Plan the removal of the {r.kind}: {_instead(r)}.")
