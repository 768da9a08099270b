"""Run the catalogue over an Index → findings rows.

The engine, not the checks, adds the check metadata, the object and where it came from, and the
exemption state: a check only says what is wrong.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import pandas as pd

from .findings import Status, frame
from .index import Index
from .manifests import LoadError, Resource
from .model import Container, Workload
from .profiles import Profile
from .registry import Check, Scope, Skip, Violation, catalogue

IGNORE_ANNOTATION = "toolman-kit.io/ignore"


def run(index: Index, profile: Profile,
        values_set: str = "") -> tuple[pd.DataFrame, list[LoadError]]:
    """Every enabled check over every object it applies to: (findings frame, check errors)."""
    checks = [c for c in catalogue().values() if profile.enabled(c.id)]
    by_scope: dict[Scope, dict[str, list[Check]]] = {s: defaultdict(list) for s in Scope}
    for c in checks:
        for kind in c.kinds:
            by_scope[c.scope][kind].append(c)
    rows: list[tuple] = []
    errors: list[LoadError] = []
    run_one = _Runner(profile, values_set, rows, errors).run
    for resource in index.manifests.resources:
        for c in (*by_scope[Scope.OBJECT].get(resource.kind, ()), *by_scope[Scope.OBJECT]["*"]):
            run_one(c, resource, None, c.fn(resource, index, profile))
    for w in index.workloads:
        for c in by_scope[Scope.WORKLOAD].get(w.kind, ()):
            run_one(c, w.resource, None, c.fn(w, index, profile), w)
        container_checks = by_scope[Scope.CONTAINER].get(w.kind, ())
        for container in w.containers:
            for c in container_checks:
                if container.role in c.roles:
                    run_one(c, w.resource, container, c.fn(container, w, index, profile), w)
    return frame(rows), errors


class _Runner:
    def __init__(self, profile: Profile, values_set: str, rows: list[tuple],
                 errors: list[LoadError]):
        self.profile, self.values_set, self.rows, self.errors = profile, values_set, rows, errors

    def run(self, c: Check, resource: Resource, container: Container | None,
            outcomes: Iterable[Violation | Skip], w: Workload | None = None) -> None:
        try:
            results = list(outcomes)
        except Exception as exc:  # a check bug must not cost the user the other findings
            self.errors.append(LoadError(resource.source.file, resource.source.line,
                                         f"check {c.id} failed on {resource.ref}: {exc!r}"))
            return
        name = container.name if container else ""
        if not results:
            self._row(c, resource, name, Status.PASS, "", None, "")
        for result in results:
            if isinstance(result, Skip):
                self._row(c, resource, name, Status.SKIP, result.reason, None, "")
                continue
            blamed = result.container or name
            reason = self._exempt_reason(c, resource, w, blamed)
            self._row(c, resource, blamed, Status.EXEMPT if reason else Status.FAIL,
                      result.message, result, reason,
                      result.path or (container.path if container else None))

    def _exempt_reason(self, c: Check, resource: Resource, w: Workload | None,
                       container: str) -> str:
        annotations = [resource.annotations, w.pod_annotations if w else {}]
        for annotation in annotations:
            for entry in annotation.get(IGNORE_ANNOTATION, "").split(","):
                check_id, _, only = entry.strip().partition("/")
                if check_id == c.id and (not only or only == container):
                    return f"annotation {IGNORE_ANNOTATION}: {entry.strip()}"
        exemption = self.profile.exemption(c.id, resource.kind, resource.namespace, resource.name,
                                           container)
        return f"profile {self.profile.name}: {exemption.reason}" if exemption else ""

    def _row(self, c: Check, resource: Resource, container: str, status: Status, message: str,
             violation: Violation | None, exempt_reason: str, path: str | None = None) -> None:
        failed = violation is not None
        remediation = (violation.remediation or c.remediation.format(**self.profile.params)) \
            if failed else ""
        source = resource.source
        line = source.line
        if failed:  # point problems at their field; passes need no line of their own
            line = violation.line or (resource.line_of(path) if path else None) or line
        self.rows.append((
            c.id, c.area.value, self.profile.severity(c.id, c.severity.value), status.value,
            resource.kind, resource.namespace, resource.name, container, message, remediation,
            path or "", source.file, line, source.template or "", self.values_set,
            exempt_reason))
