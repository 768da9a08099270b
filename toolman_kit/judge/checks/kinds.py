"""Objects of custom kinds that hold pods the kit does not know how to find."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from toolman_kit.judge.profiles import Profile
from toolman_kit.judge.registry import (
    CUSTOM_KINDS,
    Area,
    Outcome,
    Scope,
    Severity,
    Violation,
    check,
)
from toolman_kit.read.index import Index
from toolman_kit.read.manifests import Resource

MAX_DEPTH = 12  # pod specs sit a few levels down; a bound keeps hostile nesting cheap


def pod_specs(value: Any, path: str = "", depth: int = 0) -> Iterator[str]:
    """Paths of the mappings that look like a pod spec: a `containers` list of mappings, one
    with an `image`."""
    if depth > MAX_DEPTH:
        return
    if isinstance(value, dict):
        containers = value.get("containers")
        if isinstance(containers, list) and any(isinstance(c, dict) and "image" in c
                                                for c in containers):
            yield path
            return
        for key, child in value.items():
            yield from pod_specs(child, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from pod_specs(child, f"{path}[{i}]", depth + 1)


@check(id="unknown-workload-kind", area=Area.VALIDITY, severity=Severity.INFO,
       scope=Scope.OBJECT, kinds=(CUSTOM_KINDS,),
       title="Object of a custom kind holds a pod spec the kit does not check",
       remediation="Add the kind to the profile's workload_kinds (apiVersion, kind, template, "
                   "replicas) so its pods get every check.")
def unknown_workload_kind(resource: Resource, idx: Index, profile: Profile) -> Outcome:
    """An object of a custom kind (not in the package's table of workload kinds, nor the
    profile's `workload_kinds`) that holds something shaped like a pod spec runs containers the
    checks never see: it is reported so that nothing is silently skipped."""
    for path in pod_specs(resource.obj.get("spec"), "spec"):
        template = path.removesuffix(".spec")
        hint = f"template: {template}" if template != path else 'template: ""'
        yield Violation(f"{resource.api_version} {resource.kind} holds a pod spec at {path} "
                        f"that no check examines ({hint})", path=path)
