"""The Kubernetes CEL environment on cel-expr-python (the CEL team's engine, wrapping cel-cpp).

`compile_expression(text, kube_version)` checks an expression against the environment the API
server of that version offers (standard macros, has(), the strings extension at its version,
optional types from 1.28, and the Kubernetes libraries this package implements); `evaluate` runs
it over plain dicts and lists (the manifests as loaded) and turns CEL error values into
`CelEvaluationError`. A value of a library type (a quantity…) comes back as CEL holds it, so it
can be the value of a variable of the next evaluation; `plain` shows it as its canonical form.
Evaluation is bounded by the engine: more than 10,000 comprehension iterations in one evaluation
stop it with a clear error instead of hanging the check.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from cel_expr_python import cel
from cel_expr_python.ext import ext_optional, ext_strings

from toolman_kit.judge.policy import (
    formats,
    kyverno_libraries,
    lists,
    net,
    opaque,
    quantities,
    regex,
    semver,
    sets,
    urls,
)

# Which parts exist from which Kubernetes minor version, as in apiserver's
# staging/src/k8s.io/apiserver/pkg/cel/environment/base.go: its first entry (1.0, so all versions
# modelled here) has ext.Strings(0), library.URLs(), Regex(), Lists(); 1.27 library.Authz() (not
# implemented here: it asks the cluster); 1.28 cel.OptionalTypes(); 1.29 ext.Sets(),
# library.Quantity() and ext.Strings(2); 1.30 library.IP() and library.CIDR() ("net"); 1.31
# library.Format(); 1.33 library.SemverLib(). A library the version lacks is undeclared: using
# it is a compile error.
OLDEST = (1, 25)
LIBRARIES: dict[str, tuple[int, int]] = {
    "lists": (1, 25), "regex": (1, 25), "urls": (1, 25), "quantity": (1, 29), "sets": (1, 29),
    "net": (1, 30), "format": (1, 31), "semver": (1, 33)}
OPTIONAL_TYPES_FROM = (1, 28)
STRINGS_V2_FROM = (1, 29)  # before it the strings extension is version 0 (no format, join...)
ITERATION_BUDGET = 10_000  # cel-cpp's comprehension budget per evaluation, fixed in the binding

_MODULES = {"lists": lists, "regex": regex, "urls": urls, "quantity": quantities, "sets": sets,
            "net": net, "format": formats, "semver": semver}
_ERROR = cel.Type.ERROR
_POSITION = re.compile(r"<input>:(\d+):(\d+): (.*)")


class CelCompileError(ValueError):
    """An expression that does not parse or type-check: the expression, where, and why."""

    def __init__(self, expression: str, line: int, column: int, reason: str):
        self.expression, self.line, self.column, self.reason = expression, line, column, reason
        where = f"column {column}" if line == 1 else f"line {line}, column {column}"
        super().__init__(f"CEL expression {expression!r} does not compile at {where}: {reason}")


class CelEvaluationError(ValueError):
    """An evaluation that ended in a CEL error (no such key, no overload, budget exceeded…)."""


@dataclass(frozen=True)
class Program:
    expression: str
    compiled: cel.Expression
    kube_version: str = ""
    variables: tuple[str, ...] = ("object",)
    kyverno: bool = False

    def __reduce__(self) -> tuple[Any, ...]:
        # cel-cpp's compiled expression does not pickle: a report's kernels, which receive the
        # analyses as a pickle, compile it again (it compiled here, so it compiles there)
        return compile_expression, (self.expression, self.kube_version, self.variables,
                                    self.kyverno)

    @cached_property  # asked at every evaluation
    def environment(self) -> tuple[str, tuple[str, ...], bool]:
        return self.kube_version, self.variables, self.kyverno


def parse_kube_version(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", text.strip())
    if not match:
        raise ValueError(f"not a Kubernetes version: {text!r} (expected e.g. 1.31)")
    version = (int(match[1]), int(match[2]))
    if version < OLDEST:
        raise ValueError(f"Kubernetes {text} predates the CEL environment modelled here "
                         f"(from {OLDEST[0]}.{OLDEST[1]})")
    return version


def libraries(kube_version: str) -> list[str]:
    """The Kubernetes CEL libraries an API server of this version offers (of those implemented)."""
    version = parse_kube_version(kube_version)
    return [name for name, since in LIBRARIES.items() if version >= since]


@lru_cache(maxsize=16)  # one environment per version per run
def environment(kube_version: str, variables: tuple[str, ...] = ("object",),
                kyverno: bool = False) -> cel.Env:
    """`kyverno`: with Kyverno's offline libraries (image, user), which Kyverno's policies have
    and an API server does not."""
    version = parse_kube_version(kube_version)
    extensions = [ext_strings.ExtStrings(version=2 if version >= STRINGS_V2_FROM else 0)]
    if version >= OPTIONAL_TYPES_FROM:
        extensions.append(ext_optional.ExtOptional())
    modules = [_MODULES[name] for name in libraries(kube_version)]
    functions = [decl for module in modules for decl in module.declarations()]
    if kyverno:
        functions += kyverno_libraries.declarations()
    compare = {k: fn for module in modules for k, fn in getattr(module, "COMPARE", {}).items()}
    strings = {k: fn for module in modules for k, fn in getattr(module, "STRING", {}).items()}
    functions += (opaque.comparisons(compare) if compare else []) + (
        opaque.strings(strings) if strings else [])
    # After the standard extensions, as one extension: cel-cpp then adds our overloads to their
    # functions (indexOf on lists beside the strings extension's, string() of an IP) where
    # NewEnv(functions=...) would refuse a name declared twice.
    extensions.append(cel.CelExtension("kubernetes", functions))
    typed = [decl for module in modules for decl in getattr(module, "typed_declarations", list)()]
    return cel.NewEnv(variables={name: cel.Type.DYN for name in variables},
                      extensions=extensions, functions=typed)


def compile_expression(expression: str, kube_version: str,
                       variables: tuple[str, ...] = ("object",), kyverno: bool = False) -> Program:
    try:
        return Program(expression, environment(kube_version, variables, kyverno).compile(
            expression), kube_version, variables, kyverno)
    except RuntimeError as exc:
        # cel-cpp: "INVALID_ARGUMENT: ERROR: <input>:1:4: Syntax error: …\n | expr\n | ...^"
        match = _POSITION.search(str(exc))
        if not match:
            raise CelCompileError(expression, 1, 1, str(exc).splitlines()[0]) from None
        reason = match[3].removesuffix(" [INVALID_ARGUMENT]").strip()
        raise CelCompileError(expression, int(match[1]), int(match[2]), reason) from None


class Bindings:
    """The variables of evaluations that share them (the validations of a policy on one object):
    handed to the engine as one activation per environment, not converted again each time
    (that conversion took two thirds of an evaluation)."""

    def __init__(self, variables: Mapping[str, Any]):
        self.variables = dict(variables)
        self._activations: dict[tuple[str, tuple[str, ...], bool], cel.Activation] = {}

    def __getstate__(self) -> dict[str, Any]:  # activations do not pickle: made again
        return {"variables": self.variables, "_activations": {}}

    def activation(self, program: Program) -> cel.Activation:
        key = program.environment
        activation = self._activations.get(key)
        if activation is None:
            activation = self._activations[key] = environment(*key).Activation(self.variables)
        return activation


def evaluate(program: Program, variables: Mapping[str, Any] | Bindings) -> Any:
    """The expression's value as plain Python (bool, int, str, list, dict…); values of library
    types as opaque.py holds them (pass them to `plain` to show them)."""
    if not isinstance(variables, Bindings):
        variables = Bindings(variables)
    try:
        value = program.compiled.eval(variables.activation(program))
    except RuntimeError as exc:
        if "Iteration budget exceeded" in str(exc):
            raise CelEvaluationError(
                f"{program.expression!r} stopped: more than {ITERATION_BUDGET:,} iterations in "
                "one evaluation (a runaway all()/exists()/map()?)") from None
        raise CelEvaluationError(f"{program.expression!r}: {exc}") from None
    result = value.plain_value()  # an error's is its message: told apart by its type
    if result.__class__ is bool:  # what nearly every evaluation yields: no need to ask
        return result
    if value.type() == _ERROR:
        raise CelEvaluationError(f"{program.expression!r}: {_reason(result)}")
    return result


def plain(value: Any) -> Any:
    """A value `evaluate` returned, library values shown as their canonical form ('1500m' is
    '1.5', a URL its text, an optional its value or None)."""
    return opaque.plain(value)


def _reason(status: str) -> str:
    # "INVALID_ARGUMENT: divide by zero" → "divide by zero"; the code says nothing to a user
    code, _, reason = status.partition(": ")
    return reason if code.isupper() and reason else status
