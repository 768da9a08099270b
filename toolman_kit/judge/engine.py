"""Run the catalogue over an Index → findings rows.

The engine, not the checks, adds the check metadata, the object and where it came from, and the
exemption state: a check only says what is wrong. What a row needs from a check or an object is
worked out once per check and once per object, not once per row: runs have 100,000s of rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from toolman_kit.errors import ToolmanKitError
from toolman_kit.judge import peer_exemptions
from toolman_kit.judge.findings import RANKS, Findings, Status, rank
from toolman_kit.judge.profiles import Profile
from toolman_kit.judge.registry import (
    CUSTOM_KINDS,
    Check,
    Scope,
    Severity,
    Skip,
    Violation,
    catalogue,
    is_custom,
)
from toolman_kit.read.index import Index
from toolman_kit.read.manifests import LoadError, Resource
from toolman_kit.read.model import Container, Workload

IGNORE_ANNOTATION = "toolman-kit.io/ignore"
NOT_ALLOWED = "exemption by annotation not allowed here"
# The admission policies the kit evaluates, by API group prefix and kind: found among the
# manifests, they are evaluated too (judge/policy, imported only when there are policies).
POLICY_KINDS = (("admissionregistration.k8s.io/", ("ValidatingAdmissionPolicy",
                                                   "ValidatingAdmissionPolicyBinding")),
                ("policies.kyverno.io/", ("ValidatingPolicy",)),
                ("kyverno.io/", ("ClusterPolicy", "Policy")))
POLICY_EXTRA = "policies and rules need the CEL engine: pip install 'toolman-kit[policy]'"


def is_policy(resource: Resource) -> bool:
    """A policy or binding the kit evaluates (judge/policy/load.py reads it)."""
    return any(resource.api_version.startswith(group) and resource.kind in kinds
               for group, kinds in POLICY_KINDS)


def policy_checks(index: Index, profile: Profile) -> tuple[dict[str, Check], list[LoadError]]:
    """The checks of the profile's policies and rules and of the policies shipped in the
    manifests, and the errors of those that could not be loaded; ({}, []) without any, importing
    nothing of judge/policy (its CEL engine is the optional extra `policy`)."""
    shipped = [r for r in index.manifests.resources if is_policy(r)]
    if not profile.policies and not profile.rules and not shipped:
        return {}, []
    try:
        from toolman_kit.judge.policy.checks import policy_checks as checks_of
    except ImportError as exc:
        if profile.policies or profile.rules:
            raise ToolmanKitError(f"{POLICY_EXTRA} ({exc})") from None
        index.manifests.warnings.append(LoadError(
            shipped[0].source.file, shipped[0].source.line,
            f"the policies in the manifests are not evaluated: {POLICY_EXTRA}"))
        return {}, []
    return checks_of(index, profile, shipped)


def run(index: Index, profile: Profile, values_set: str = "",
        policies: Mapping[str, Check] | None = None) -> tuple[Findings, list[LoadError]]:
    """Every enabled check over every object it applies to: (findings, check errors).
    `policies`: the checks of admission policies and rules (policy_checks), run on every object
    of a kind they can match (a rule of scope container on every container of a workload)."""
    by_scope: dict[Scope, dict[str, list[Check]]] = {s: defaultdict(list) for s in Scope}
    for c in catalogue().values():
        if profile.enabled(c.id):
            for kind in c.kinds:
                by_scope[c.scope][kind].append(c)
    runner = _Runner(profile, values_set)
    every_kind = by_scope[Scope.OBJECT]["*"]
    custom_kind = by_scope[Scope.OBJECT][CUSTOM_KINDS]
    admission: list[Check] = []
    container_rules: list[Check] = []
    for c in (policies or {}).values():
        if profile.enabled(c.id):
            (container_rules if c.scope == Scope.CONTAINER else admission).append(c)
    admission_of: dict[tuple[str, bool], list[Check]] = {}  # (kind, workload?) → its policies
    for resource in index.manifests.resources:
        w = index.workload_of.get(resource)
        key = (resource.kind, w is not None)
        if key not in admission_of:  # asked once per kind, not per (object, policy)
            admission_of[key] = [c for c in admission if _applies(c, *key)]
        target = _Target(resource, w, profile.peer_exemptions)
        own: Iterable[Check] = by_scope[Scope.OBJECT].get(resource.kind, ())
        if w is not None and w.spec_kind.custom:
            own = ()  # a custom workload named like a core kind (Knative's Service) is not one
        elif w is None and is_custom(resource):
            own = (*own, *custom_kind)
        for c in (*own, *every_kind):
            runner.run(c, target, "", None, c.fn(resource, index, profile))
        for c in admission_of[key]:
            runner.admission(c, target, index)
    for w in index.workloads:
        target = _Target(w.resource, w, profile.peer_exemptions)
        # a custom kind (an Argo Rollout) gets the checks of the built-in kind it behaves like
        for c in by_scope[Scope.WORKLOAD].get(w.like, ()):
            runner.run(c, target, "", None, c.fn(w, index, profile))
        container_checks = by_scope[Scope.CONTAINER].get(w.like, ())
        for container in w.containers:
            for c in container_checks:
                if container.role in c.roles:
                    runner.run(c, target, container.name, container.path,
                               c.fn(container, w, index, profile))
            for c in container_rules:
                runner.admission(c, target, index, container, w)
    return Findings(row for part in runner.ranked for row in part), runner.errors


def _applies(c: Check, kind: str, workload: bool) -> bool:
    """Whether a policy's check can match an object of `kind` (a workload: or the pods its
    controller creates); a check function without `applies` is asked about every object."""
    applies = getattr(c.fn, "applies", None)
    return applies is None or applies(kind, workload)


class _Target:
    """An object as the rows about it need it: its columns and its exemption annotations (ours,
    and with `peers` those of Polaris, kube-score, checkov and kube-linter)."""

    __slots__ = ("resource", "columns", "source", "ignored")

    def __init__(self, resource: Resource, w: Workload | None, peers: bool = False):
        self.resource = resource
        self.columns = (resource.kind, resource.namespace, resource.name)
        self.source = resource.source
        self.ignored: dict[tuple[str, str], str] = {}  # (check id, container or "") → annotation
        for where in (resource.annotations, w.pod_annotations if w else {}):
            if not where:
                continue
            for entry in where.get(IGNORE_ANNOTATION, "").split(","):
                check_id, _, container = entry.strip().partition("/")
                if check_id == "policy":  # policy/<name>[/<container>]: the id has a slash
                    name, _, container = container.partition("/")
                    check_id = f"policy/{name}"
                if check_id:
                    self.ignored[(check_id, container)] = \
                        f"annotation {IGNORE_ANNOTATION}: {entry.strip()}"
            if peers:
                for check_id, annotation in peer_exemptions.exempted(where):
                    self.ignored.setdefault((check_id, ""), annotation)


class _Runner:
    def __init__(self, profile: Profile, values_set: str):
        self.profile, self.values_set = profile, values_set
        self.ranked: list[list[tuple]] = [[] for _ in range(RANKS)]  # one list per rank: the
        # findings' order (problems first, most severe first) without sorting 100,000s of rows
        self.errors: list[LoadError] = []
        self._meta: dict[str, tuple[tuple[str, str, str], str]] = {}

    def run(self, c: Check, target: _Target, container: str, container_path: str | None,
            outcomes: Iterable[Violation | Skip]) -> None:
        try:
            results = list(outcomes)
        except Exception as exc:  # a check bug must not cost the user the other findings
            source = target.source
            self.errors.append(LoadError(source.file, source.line,
                                         f"check {c.id} failed on {target.resource.ref}: {exc!r}"))
            return
        if not results:
            self._row(c, target, container, Status.PASS)
        for result in results:
            if isinstance(result, Skip):
                self._row(c, target, container, Status.SKIP, message=result.reason)
                continue
            blamed = result.container or container
            reason, refused = self._exempt_reason(c, target, blamed)
            path = result.path or container_path or ""
            self._row(c, target, blamed, Status.EXEMPT if reason else Status.FAIL,
                      message=f"{result.message} ({NOT_ALLOWED}: {refused})" if refused
                      else result.message,
                      remediation=result.remediation or self._metadata(c)[1], path=path,
                      line=result.line or (target.resource.line_of(path) if path else None),
                      exempt_reason=reason, severity=result.severity)

    def admission(self, c: Check, target: _Target, index: Index,
                  container: Container | None = None, w: Workload | None = None) -> None:
        """A policy's or rule's check: no row where it does not match the object (fn → None);
        with `container`, a rule of scope container on that container of the workload `w`."""
        try:
            outcomes = c.fn(target.resource, index, self.profile) if container is None \
                else c.fn(container, w, index, self.profile)
        except Exception as exc:  # as in run: a bug of ours costs one policy, not the run
            source = target.source
            self.errors.append(LoadError(source.file, source.line,
                                         f"check {c.id} failed on {target.resource.ref}: {exc!r}"))
            return
        if outcomes is not None:
            self.run(c, target, container.name if container else "",
                     container.path if container else None, outcomes)

    def _metadata(self, c: Check) -> tuple[tuple[str, str, str], str]:
        """(id, area, severity) as the profile grades it, and the remediation it words."""
        if c.id not in self._meta:
            self._meta[c.id] = ((c.id, c.area.value, self.profile.severity(c.id, c.severity.value)),
                                c.fix(self.profile))
        return self._meta[c.id]

    def _exempt_reason(self, c: Check, target: _Target, container: str) -> tuple[str, str]:
        """(why the failure is exempt, or ""; the annotation a profile that allows none refused,
        or ""). The profile's own exemptions hold either way."""
        annotation = ""
        if target.ignored:
            annotation = (target.ignored.get((c.id, container))
                          or target.ignored.get((c.id, ""), ""))
            if annotation and self.profile.allow_annotation_exemptions:
                return annotation, ""
        if self.profile.exemptions:
            kind, namespace, name = target.columns
            exemption = self.profile.exemption(c.id, kind, namespace, name, container)
            if exemption:
                return f"profile {self.profile.name}: {exemption.reason}", ""
        return "", annotation

    def _row(self, c: Check, target: _Target, container: str, status: Status, *,
             message: str = "", remediation: str = "", path: str = "", line: int | None = None,
             exempt_reason: str = "", severity: Severity | None = None) -> None:
        """One findings row (in COLUMNS order); problems point at their field's line, passes at
        the object's. A problem graded apart from its check keeps its grade unless the profile
        re-grades."""
        source = target.source
        meta = self._metadata(c)[0]
        if severity:
            meta = (c.id, c.area.value, self.profile.severity(c.id, str(severity)))
        self.ranked[rank(status, meta[2])].append((
            *meta, status.value, *target.columns, container, message,
            remediation, path, source.file, line or source.line, source.template or "",
            self.values_set, exempt_reason, ""))  # values: values/provenance.py fills it
