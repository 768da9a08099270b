"""A team's own rules (a profile's `rules:`) as checks, compiled to the admission policies'
machinery: each rule is a Policy of one validation, matched by a Kyverno-style block (kinds,
namespaces, an objectSelector) and evaluated by `admit` in the same CEL environment, so a rule and
a policy cannot disagree on what an expression means.

A rule's check id is its own `id`. It sees what a policy sees (`object`, `namespaceObject`,
`request`), and with `scope: container` it is evaluated once per container of a workload (init
containers too) with `container` bound: the engine names the container and its line. An
expression that does not compile is a ProfileError: the profile is the gate's own configuration,
and a gate run with part of it missing would pass what it should fail.
"""

from __future__ import annotations

from collections.abc import Callable

from toolman_kit.errors import ProfileError
from toolman_kit.judge.policy.admission import Expr, Policy, Validation, admit, compile_expr
from toolman_kit.judge.policy.cel import CelCompileError
from toolman_kit.judge.policy.match import Target
from toolman_kit.judge.profiles import Profile, Rule, rule_line
from toolman_kit.judge.registry import ALL_ROLES, Area, Check, Scope, Severity, Skip, Violation
from toolman_kit.read.index import Index
from toolman_kit.read.manifests import Resource
from toolman_kit.read.model import Container, Workload

ACTIONS = {"error": ("Deny",), "warning": ("Warn",), "info": ("Audit",)}
REMEDIATION = "Change the object so that the rule {id} holds (profile {source})."

TargetOf = Callable[[Resource], Target]


def rule_checks(profile: Profile, target_of: TargetOf) -> dict[str, Check]:
    """The checks of the profile's rules, by id, compiled once; ProfileError for one that does
    not compile (naming the profile file, the rule and the expression's column)."""
    checks = {}
    for rule in profile.rules:
        per_container = rule.scope == "container"
        compile_at = _compiler(rule, profile.kube_version, per_container)
        policy = Policy(
            rule.id, "rule", rule.source, None,  # rule_line reads the file: for errors only
            ({"objectSelector": rule.labels,
              "kyverno": {"kinds": list(rule.kinds), "namespaces": list(rule.namespaces)}},),
            validations=(Validation(
                compile_at(rule.expression, "expression"), rule.message or rule.title,
                compile_at(rule.message_expression, "messageExpression")
                if rule.message_expression else None),),
            title=rule.title, terse=True)
        evaluate = (_EvaluateContainer if per_container else _Evaluate)(
            policy, ACTIONS[rule.severity], target_of, rule)
        remediation = rule.remediation or REMEDIATION.format(id=rule.id, source=rule.source)
        checks[rule.id] = Check(
            rule.id, Area(rule.area), Severity(rule.severity), rule.title,
            remediation.replace("{", "{{").replace("}", "}}"),  # Check.fix formats it
            Scope.CONTAINER if per_container else Scope.OBJECT, rule.kinds, ALL_ROLES,
            evaluate, source=rule.source, checklist=rule.checklist)
    return checks


def _compiler(rule: Rule, kube_version: str, per_container: bool) -> Callable[[str, str], Expr]:
    def compile_at(text: str, key: str) -> Expr:
        try:
            return compile_expr(text, kube_version, None,
                                bound=("container",) if per_container else ())
        except CelCompileError as exc:
            raise ProfileError(f"rule {rule.id!r}, {key}: {exc}", rule.source,
                               rule_line(rule, key), exc.column) from None

    return compile_at


class _Evaluate:
    """A rule's check function on an object: its outcomes, or None where the rule does not
    match it (no row)."""

    def __init__(self, policy: Policy, actions: tuple[str, ...], target_of: TargetOf,
                 rule: Rule):
        self.policy, self.actions, self.target_of = policy, actions, target_of
        self.who = f"rule {rule.id!r}"
        where = " once per container" if rule.scope == "container" else ""
        self.__doc__ = (f"The rule {rule.id} of profile {rule.source}, evaluated{where} on "
                        f"{', '.join(rule.kinds)}: {rule.expression} (true = compliant).")

    def __call__(self, resource: Resource, index: Index,
                 profile: Profile) -> list[Violation | Skip] | None:
        t = self.target_of(resource)
        return admit(self.policy, t, None, self.actions, self.who) \
            if self.policy.selects(t) else None


class _EvaluateContainer(_Evaluate):
    """The same, once per container of a workload, with `container` bound."""

    _last: tuple[Workload | None, bool] = (None, False)  # the engine asks container by container

    def __call__(self, c: Container, w: Workload, index: Index,  # type: ignore[override]
                 profile: Profile) -> list[Violation | Skip] | None:
        t = self.target_of(w.resource)
        if self._last[0] is not w:
            self._last = (w, self.policy.selects(t))
        return admit(self.policy, t, None, self.actions, f"{self.who} on container {c.name!r}",
                     {"container": c.raw}) if self._last[1] else None
