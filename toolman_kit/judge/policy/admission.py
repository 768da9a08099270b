"""One policy on one CREATE request, as the API server evaluates a ValidatingAdmissionPolicy
(and Kyverno a ValidatingPolicy): matchConditions, variables, validations, messageExpression,
validationActions and failurePolicy.

`admit` returns what the engine makes rows of: nothing (admitted), `Violation`s (graded by the
binding's actions: Deny → error, Warn → warning, Audit → info) or `Skip`s that say why an
expression could not be evaluated here (the authorizer, a Kyverno library that needs a cluster,
an error under failurePolicy Ignore). Nothing is ever a silent pass.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from toolman_kit.judge.policy import cel
from toolman_kit.judge.policy.match import Target, matches
from toolman_kit.judge.registry import Severity, Skip, Violation
from toolman_kit.read.model import as_dict, as_list

VARIABLES = ("object", "oldObject", "params", "namespaceObject", "request", "variables",
             "authorizer")
# Kyverno's CEL libraries that need a cluster or the network: the variable each is reached by.
CLUSTER_LIBRARIES = {"resource": "resource", "http": "http", "globalContext": "globalContext",
                     "imagedata": "imagedata", "generator": "generator"}
SEVERITY = {"Deny": Severity.ERROR, "Warn": Severity.WARNING, "Audit": Severity.INFO}
_STRINGS = re.compile(r"'''.*?'''|\"\"\".*?\"\"\"|'(?:\\.|[^'\\])*'|\"(?:\\.|[^\"\\])*\"", re.S)
_ROOT = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\s*\.\s*([A-Za-z_]\w*)?")
_VARIABLE = re.compile(r"(?<![\w.])variables\s*(?:\.\s*(\w+)|\[\s*['\"](\w+)['\"]\s*\])")


@dataclass(frozen=True)
class Expr:
    text: str
    program: cel.Program | None  # None: it cannot be evaluated here (`offline` says why)
    line: int | None
    offline: str = ""
    uses: frozenset[str] = frozenset()  # the variables.<name> it reads


def compile_expr(text: str, kube_version: str, line: int | None,
                 kyverno: bool = False, bound: tuple[str, ...] = ()) -> Expr:
    """Compile once per run; CelCompileError when it does not compile. `bound`: variables
    besides admission's (a profile rule's `container`)."""
    code = _STRINGS.sub("''", text)
    roots = {m[1] for m in _ROOT.finditer(code)}
    uses = frozenset(a or b for a, b in _VARIABLE.findall(code))
    extra = (*bound, *CLUSTER_LIBRARIES) if kyverno else bound
    offline = ""
    if re.search(r"(?<![\w.])authorizer\b", code):
        offline = "authorizer cannot be evaluated offline (it asks the cluster's RBAC)"
    elif library := next((lib for root, lib in CLUSTER_LIBRARIES.items()
                          if kyverno and root in roots), ""):
        offline = f"Kyverno's {library} library needs a cluster or the network"
    elif kyverno and re.search(r"(?<![\w.])image\s*\.\s*GetMetadata\b", code):
        offline = "Kyverno's imagedata library (image.GetMetadata) needs the registry"
    try:
        program = cel.compile_expression(text, kube_version, (*VARIABLES, *extra), kyverno)
    except cel.CelCompileError as exc:
        # The functions of those libraries are not declared here: only a syntax error counts.
        if not offline or "undeclared reference" not in exc.reason:
            raise
        program = None
    return Expr(text, program, line, offline, uses)


@dataclass(frozen=True)
class Validation:
    expr: Expr
    message: str = ""
    message_expr: Expr | None = None
    reason: str = ""


@dataclass
class Policy:
    """A policy as evaluated: a VAP, a Kyverno ValidatingPolicy, or one CEL rule of a Kyverno
    ClusterPolicy/Policy (or its autogen rule for pod controllers), all in VAP terms."""

    name: str  # metadata.name: the check id is policy/<name>
    kind: str
    file: str
    line: int | None
    match_any: tuple[dict[str, Any], ...]  # matchConstraints (Kyverno: any of the blocks…)
    match_all: tuple[dict[str, Any], ...] = ()
    exclude_any: tuple[dict[str, Any], ...] = ()
    exclude_all: tuple[dict[str, Any], ...] = ()
    conditions: tuple[tuple[str, Expr], ...] = ()
    variables: tuple[tuple[str, Expr], ...] = ()
    validations: tuple[Validation, ...] = ()
    failure_policy: str = "Fail"
    param_kind: dict[str, Any] | None = None
    param_ref: dict[str, Any] | None = None  # Kyverno's validate.cel.paramRef (a VAP: bindings')
    actions: tuple[str, ...] = ("Deny",)  # Kyverno's own; a VAP's come from its bindings
    shipped: bool = False  # found among the analyzed manifests
    title: str = ""
    unsupported: str = ""  # matched objects get a skip with this reason
    rule: str = ""  # a Kyverno rule's name, or "autogen" of which controllers
    terse: bool = False  # a profile's rule: a denial is its message alone (the check names it)
    autogen: tuple[str, ...] = ()  # Kyverno: the controller kinds its pod rules also apply to
    extra: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def resources(self) -> frozenset[str] | None:
        """The resources its matchConstraints can select (None: any, or a Kyverno block), so
        that most objects are turned away without matching each rule: a run asks for every
        (object, policy)."""
        if not self.match_any or any("kyverno" in m for m in self.match_any):
            return None
        names = {str(r) for m in self.match_any for rule in as_list(m.get("resourceRules"))
                 for r in as_list(as_dict(rule).get("resources"))}
        if names & {"*", "*/*"}:
            return None
        return frozenset(n for n in names if "/" not in n)  # subresources: never a CREATE

    @cached_property
    def together(self) -> tuple[cel.Program, tuple[int, ...]] | None:
        """The validations that read no `variables` compiled as one list expression, with
        their indices (None: fewer than two): one evaluation per object instead of one each,
        as each evaluation costs the engine several times what an expression of a validation
        does. Compiled once per run, at the policy's first object."""
        alone = [(i, v.expr.program) for i, v in enumerate(self.validations)
                 if v.expr.program is not None and not v.expr.offline and not v.expr.uses]
        if len(alone) < 2 or len({p.environment for _, p in alone}) > 1:
            return None
        first = alone[0][1]
        # each on lines of its own: a `// comment` ends at the line's end, not the list's
        text = "[\n" + ",\n".join(f"({p.expression}\n)" for _, p in alone) + "\n]"
        try:
            program = cel.compile_expression(text, *first.environment)
        except cel.CelCompileError:
            return None
        return program, tuple(i for i, _ in alone)

    @cached_property
    def offline(self) -> tuple[str, ...]:
        """Why each validation cannot be evaluated here ("": it can): its expression's reason,
        or that of a variable it reads."""
        exprs = self.variable_exprs
        return tuple(v.expr.offline or next((exprs[n].offline for n in self.closure(
            v.expr.uses) if exprs[n].offline), "") for v in self.validations)

    @cached_property  # the same for every object: not made again at each evaluation
    def variable_exprs(self) -> dict[str, Expr]:
        return dict(self.variables)

    def closure(self, names: frozenset[str]) -> list[str]:
        """The variables `names` read, with those they read, in declaration order (once per
        set of names)."""
        known = self.__dict__.setdefault("_closures", {})
        if names not in known:
            exprs = self.variable_exprs
            wanted, todo = set(), [n for n in names if n in exprs]
            while todo:
                name = todo.pop()
                if name not in wanted:
                    wanted.add(name)
                    todo.extend(n for n in exprs[name].uses if n in exprs)
            known[names] = [n for n, _ in self.variables if n in wanted]
        return known[names]

    @cached_property
    def _selected(self) -> dict[tuple[str, str, str, bool], bool] | None:
        """selects' answers by the request's group, version, resource and whether it is
        namespaced, when nothing else decides (no selector, resourceNames nor Kyverno block);
        None otherwise. Objects of one kind are many: their rules are matched once."""
        for m in map(as_dict, (*self.match_any, *self.match_all, *self.exclude_any,
                               *self.exclude_all)):
            if "kyverno" in m or as_dict(m.get("namespaceSelector")) or \
                    as_dict(m.get("objectSelector")) or any(
                        as_list(as_dict(r).get("resourceNames")) for key in (
                            "resourceRules", "excludeResourceRules")
                        for r in as_list(m.get(key))):
                return None
        return {}

    def selects(self, t: Target) -> bool:
        if self.resources is not None and t.resource not in self.resources:
            return False
        known = self._selected
        if known is None:
            return self._selects(t)
        key = (t.group, t.version, t.resource, bool(t.namespace))
        if key not in known:
            known[key] = self._selects(t)
        return known[key]

    def _selects(self, t: Target) -> bool:
        if self.match_all and not all(matches(m, t) for m in self.match_all):
            return False
        if self.match_any and not any(matches(m, t) for m in self.match_any):
            return False
        if any(matches(m, t) for m in self.exclude_any):
            return False
        return not (self.exclude_all and all(matches(m, t) for m in self.exclude_all))


@dataclass(frozen=True)
class Binding:
    name: str
    policy: str
    match: dict[str, Any] | None
    param_ref: dict[str, Any] | None
    actions: tuple[str, ...]
    file: str
    line: int | None


Compile = Callable[[str, str], Expr]  # (expression, its path in the object) → Expr


def spec_expressions(spec: dict[str, Any], at: str, compile_at: Compile) -> tuple[
        tuple[tuple[str, Expr], ...], tuple[tuple[str, Expr], ...], tuple[Validation, ...]]:
    """matchConditions, variables and validations of a VAP-shaped spec (at path `at`)."""
    return (named_expressions(spec.get("matchConditions"), f"{at}.matchConditions", compile_at),
            named_expressions(spec.get("variables"), f"{at}.variables", compile_at),
            validations(spec.get("validations"), f"{at}.validations", compile_at))


def named_expressions(items: Any, at: str, compile_at: Compile) -> tuple[tuple[str, Expr], ...]:
    """(name, compiled expression) of a list of {name, expression} at path `at`."""
    return tuple((str(item.get("name", i)), compile_at(item.get("expression", ""),
                                                        f"{at}[{i}].expression"))
                 for i, item in enumerate(map(as_dict, as_list(items))))


def validations(items: Any, at: str, compile_at: Compile,
                default_message: str = "") -> tuple[Validation, ...]:
    """The validations at path `at`: expression, message (else `default_message`),
    messageExpression and reason."""
    out = []
    for i, v in enumerate(map(as_dict, as_list(items))):
        path = f"{at}[{i}]"
        message_expr = compile_at(v["messageExpression"], f"{path}.messageExpression") \
            if v.get("messageExpression") else None
        out.append(Validation(compile_at(v.get("expression", ""), f"{path}.expression"),
                              str(v.get("message") or default_message), message_expr,
                              str(v.get("reason") or "")))
    return tuple(out)


class _Failed(Exception):
    """An expression that failed: its error, for failurePolicy to judge."""


def admit(policy: Policy, t: Target, params: Any, actions: tuple[str, ...],
          who: str, bound: Mapping[str, Any] | None = None) -> list[Violation | Skip]:
    """The outcomes of one policy (under one binding: `who` names them) on one request;
    `bound`: variables besides admission's (a profile rule's `container`)."""
    values = _Variables(policy, t, params, bound)
    try:
        for name, expr in policy.conditions:  # any false: not evaluated, errors or not
            if expr.offline:
                return [Skip(f"{who}: matchCondition {name!r}: {expr.offline}")]
        results = [_run(expr, values) for _, expr in policy.conditions]
    except _Failed as exc:
        return [_failure(policy, who, f"matchCondition: {exc}", actions)]
    for (name, _), result in zip(policy.conditions, results, strict=True):
        if result is False:
            return [Skip(f"{who}: not evaluated: matchCondition {name!r} is false")]
    outcomes: list[Violation | Skip] = []
    together = _together(policy, values)
    for i, (v, offline) in enumerate(zip(policy.validations, policy.offline, strict=True)):
        if offline:
            outcomes.append(Skip(f"{who}: {offline}: {v.expr.text}"))
            continue
        try:
            ok = together[i] if i in together else _run(v.expr, values)
            if not isinstance(ok, bool):
                raise _Failed(f"{v.expr.text!r} must evaluate to a bool, not {ok!r}")
        except _Failed as exc:
            outcomes.append(_failure(policy, who, str(exc), actions))
            continue
        if not ok:
            outcomes.append(_denied(policy, who, _message(v, values), actions))
    return outcomes


def _together(policy: Policy, values: _Variables) -> dict[int, bool]:
    """The results of the validations evaluated as one list (Policy.together), by index; {}
    when one of them fails or is no bool: each is then evaluated alone, to say which and why
    (an evaluation has no side effects, so alone or together they yield the same)."""
    together = policy.together
    if together is None:
        return {}
    program, indices = together
    try:
        results = cel.evaluate(program, values.activation(frozenset()))
    except cel.CelEvaluationError:
        return {}
    if not all(r.__class__ is bool for r in results):
        return {}
    return dict(zip(indices, results, strict=True))


def _run(expr: Expr, values: _Variables) -> Any:
    assert expr.program is not None
    try:
        return cel.evaluate(expr.program, values.activation(expr.uses))
    except cel.CelEvaluationError as exc:
        raise _Failed(str(exc)) from None


def _message(v: Validation, values: _Variables) -> str:
    # As the API server: messageExpression wins when it yields a non-empty string; an error or
    # anything else falls back to message, then to "failed expression: …".
    if v.message_expr is not None and not v.message_expr.offline:
        try:
            text = _run(v.message_expr, values)
            if isinstance(text, str) and text.strip():
                return text.strip()
        except _Failed:
            pass
    text = v.message or f"failed expression: {v.expr.text}"
    return f"{text} (reason {v.reason})" if v.reason and v.reason != "Invalid" else text


def _severity(actions: tuple[str, ...]) -> Severity:
    graded = [SEVERITY[a] for a in actions if a in SEVERITY] or [Severity.ERROR]
    return min(graded, key=[Severity.ERROR, Severity.WARNING, Severity.INFO].index)


def _denied(policy: Policy, who: str, message: str, actions: tuple[str, ...]) -> Violation:
    if policy.terse:
        return Violation(message, severity=_severity(actions))
    verb = "denied" if "Deny" in actions else "warns" if "Warn" in actions else "audits"
    return Violation(f"{who} {verb}: {message}", severity=_severity(actions))


def _failure(policy: Policy, who: str, error: str, actions: tuple[str, ...]) -> Violation | Skip:
    if policy.failure_policy == "Ignore":
        return Skip(f"{who}: evaluation error ignored (failurePolicy Ignore): {error}")
    if policy.terse:
        return _denied(policy, who, f"{who} could not be evaluated: {error}", actions)
    return _denied(policy, who, f"evaluation error (failurePolicy Fail): {error}", actions)


class _Variables:
    """`variables`, composited as the API server does: each evaluated once, only when an
    expression reads it (a later one may read an earlier one); an error surfaces where read."""

    def __init__(self, policy: Policy, t: Target, params: Any,
                 bound: Mapping[str, Any] | None = None):
        self.policy, self.t, self.params, self.bound = policy, t, params, bound or {}
        self.exprs = policy.variable_exprs
        self.done: dict[str, Any] = {}
        self.failed: dict[str, str] = {}
        self._bindings: tuple[int, cel.Bindings] | None = None  # for len(done) variables

    def closure(self, names: frozenset[str]) -> list[str]:
        """The variables `names` read, with those they read, in declaration order."""
        return self.policy.closure(names) if names else []

    def activation(self, uses: frozenset[str]) -> cel.Bindings:
        if uses:
            self._evaluate(uses)
        if self._bindings is None or self._bindings[0] != len(self.done):
            # without variables (most policies), every policy's evaluations of the object
            # share the target's bindings
            shared = not self.done and self.params is None and not self.bound
            bindings = self.t.bindings(self.params) if shared else cel.Bindings(
                {**self.t.context(self.params), **self.bound, "variables": dict(self.done)})
            self._bindings = (len(self.done), bindings)
        return self._bindings[1]

    def _evaluate(self, uses: frozenset[str]) -> None:
        """The variables `uses` reads, each once; _Failed naming those that failed."""
        for name in self.closure(uses):
            if name in self.done or name in self.failed:
                continue
            expr = self.exprs[name]
            self.failed[name] = "the variables read each other in a cycle"  # until it is done
            try:
                value = _run(expr, self) if not expr.offline else None
            except _Failed as exc:
                self.failed[name] = str(exc)
            else:
                del self.failed[name]
                self.done[name] = value
        errors = [f"variable {n!r}: {self.failed[n]}" for n in uses if n in self.failed]
        if errors:
            raise _Failed("; ".join(errors))
