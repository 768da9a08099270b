"""Validity: fields Kubernetes would reject, reported while the rest is still analyzed."""

from __future__ import annotations

from toolman_kit.judge.profiles import Profile
from toolman_kit.judge.registry import Area, Outcome, Scope, Severity, Violation, check
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
       kinds=("*",), title="Field has the wrong type or an invalid value",
       remediation="Fix the field's type or value in the template or values.")
def invalid_field(resource: Resource, idx: Index, profile: Profile) -> Outcome:
    """The API server rejects an object with a wrongly typed field (`replicas: three`,
    `containers` as a map, `cpu: lots`); the rest of the object is still analyzed, so one typo
    does not hide every other finding."""
    problems = _metadata_problems(resource)
    w = idx.workload_of.get(resource)
    if w is not None:
        problems += w.invalid
    for path, problem in problems:
        yield Violation(f"{path}: {problem}", path=path)


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
