"""Validity: fields Kubernetes would reject, reported while the rest is still analyzed."""

from __future__ import annotations

from toolman_kit.judge import openapi
from toolman_kit.judge.profiles import Profile
from toolman_kit.judge.registry import Area, Outcome, Scope, Severity, Skip, Violation, check
from toolman_kit.read.index import Index
from toolman_kit.read.manifests import Resource


def _metadata_problems(resource: Resource) -> list[tuple[str, str]]:
    problems = []
    meta = resource.obj.get("metadata")
    for key in ("labels", "annotations"):
        value = meta.get(key) if isinstance(meta, dict) else None
        if value is not None and not isinstance(value, dict):
            problems.append((f"metadata.{key}", "must be a mapping"))
        elif isinstance(value, dict):
            problems += [(f"metadata.{key}.{k}", f"must be a string, not {v!r}")
                         for k, v in value.items() if not isinstance(v, str)]
    if resource.obj.get("spec") is not None and not isinstance(resource.obj["spec"], dict):
        problems.append(("spec", "must be a mapping"))
    return problems


@check(id="invalid-field", area=Area.VALIDITY, severity=Severity.ERROR, scope=Scope.OBJECT,
       kinds=("*",), title="Field has the wrong type, an invalid value or is missing",
       remediation="Fix the field's type or value in the template or values.")
def invalid_field(resource: Resource, idx: Index, profile: Profile) -> Outcome:
    """The API server rejects an object with a wrongly typed field (`replicas: three`,
    `containers` as a map or null, `cpu: lots`), a required field missing or an enum value it
    does not know (`imagePullPolicy: Sometimes`), as the OpenAPI schema of the target version
    (`--kube-version`) or the object's CRD in the manifests says; the rest of the object is
    still analyzed, so one typo does not hide every other finding."""
    problems = _metadata_problems(resource)
    w = idx.workload_of.get(resource)
    if w is not None:
        problems += w.invalid
    found = openapi.validator(idx, profile.kube_version).problems(resource)
    if found is not None and found.invalid:
        seen = {path for path, _ in problems}  # the model's word on a field is the more precise
        problems += [(path, problem) for path, problem in found.invalid if path not in seen]
    for path, problem in problems:
        yield Violation(f"{path}: {problem}" if path else problem, path=path or None)


@check(id="unknown-field", area=Area.VALIDITY, severity=Severity.WARNING, scope=Scope.OBJECT,
       kinds=("*",), title="Field is not in the object's schema: the API server drops it",
       remediation="Fix the field's name (its spelling and case) or remove it.")
def unknown_field(resource: Resource, idx: Index, profile: Profile) -> Outcome:
    """A misspelt field (`imagePulPolicy`, `readinessprobe`) is not an error to the API
    server: it prunes the field and creates the object without it, so the setting silently
    does nothing (kubectl's strict field validation refuses it, Helm does not). Judged against
    the OpenAPI schema of the target version or the object's CRD (which keeps what
    `x-kubernetes-preserve-unknown-fields` allows); objects of kinds with no schema there are
    left to the api-version checks. `status` is not judged: the API server resets it."""
    found = openapi.validator(idx, profile.kube_version).problems(resource)
    if found is None:
        yield Skip(f"no schema for {resource.api_version} {resource.kind} at Kubernetes "
                   f"{profile.kube_version} (nor a CRD in the manifests or the chart's crds/)")
        return
    for path, message in found.unknown:
        yield Violation(message, path=path)


@check(id="duplicate-key", area=Area.VALIDITY, severity=Severity.ERROR, scope=Scope.OBJECT,
       kinds=("*",), title="A mapping repeats a key",
       remediation="Remove the repeated key: Kubernetes' strict field validation rejects it, "
                   "and tools disagree on which value wins.")
def duplicate_key(resource: Resource, idx: Index, profile: Profile) -> Outcome:
    """YAML parsers keep the last of two equal keys without a word, so the value a reviewer
    reads first in the template may not be the one that is deployed."""
    for key, line in resource.duplicates:
        yield Violation(f"key {key!r} appears more than once (the last value wins here)",
                        line=line)
