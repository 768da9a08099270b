"""The Kubernetes semver library (apiserver library/semverlib.go, blang/semver's strict parse):
semver and isSemver (optionally normalizing: a leading 'v', a missing minor or patch, leading
zeros), and on a semver major, minor, patch, isLessThan, isGreaterThan, compareTo. Equality and
ordering are semver 2.0's precedence: build metadata does not count.

    isSemver('v1.0.0')                                 false
    isSemver('v1.0.0', true)                           true
    semver('1.2.3').isLessThan(semver('1.3.0'))        true
    semver('1.0.0+build') == semver('1.0.0')           true
"""

from __future__ import annotations

import re
from typing import Any

from cel_expr_python import cel

from toolman_kit.judge.policy import opaque

T = cel.Type
KIND = "Semver"
_NUMBER = r"0|[1-9][0-9]*"
_IDENT = r"[0-9A-Za-z-]+"
_SEMVER = re.compile(rf"({_NUMBER})\.({_NUMBER})\.({_NUMBER})"
                     rf"(?:-({_IDENT}(?:\.{_IDENT})*))?(?:\+({_IDENT}(?:\.{_IDENT})*))?")


def normalize(text: str) -> str:
    """apiserver's normalizeVersion: drop a leading 'v', pad to three numbers, drop leading
    zeros of each; pre-release and build kept as they are."""
    text = text.removeprefix("v")
    cut = min((i for i in (text.find("-"), text.find("+")) if i >= 0), default=len(text))
    core, suffix = text[:cut], text[cut:]
    parts = core.split(".")
    if len(parts) > 3:
        raise ValueError(f"could not normalize version: {text}")
    parts = [part.lstrip("0") or "0" if part else part for part in parts]
    return ".".join(parts + ["0"] * (3 - len(parts))) + suffix


def parse(text: str, normalized: bool = False) -> str:
    """The version without its build metadata (which neither equality nor order sees)."""
    if normalized:
        text = normalize(text)
    match = _SEMVER.fullmatch(text)
    if not match or any(re.fullmatch(r"0[0-9]+", part)
                        for part in (match[4] or "").split(".")):
        raise ValueError(f"invalid semver: {text}")
    return text.partition("+")[0]


def to_semver(text: str, normalized: bool = False) -> dict[str, str]:
    return opaque.wrap(KIND, parse(text, normalized))


def is_semver(text: str, normalized: bool = False) -> bool:
    try:
        parse(text, normalized)
    except ValueError:
        return False
    return True


def _precedence(version: str) -> tuple[Any, ...]:
    core, _, pre = version.partition("-")
    numbers = tuple(int(part) for part in core.split("."))
    if not pre:
        return (numbers, (1,))
    # identifiers compare numerically when numeric, numbers before words; fewer before more
    return (numbers, (0, *((0, int(part), "") if part.isdigit() else (1, 0, part)
                           for part in pre.split("."))))


def compare(left: str, right: str) -> int:
    a, b = _precedence(left), _precedence(right)
    return (a > b) - (a < b)


COMPARE = {KIND: compare}


def _part(index: int) -> Any:
    return lambda value: int(opaque.unwrap(value, KIND).partition("-")[0].split(".")[index])


def declarations() -> list[cel.FunctionDecl]:
    member, function = opaque.member, opaque.function
    return [
        function("semver", [
            cel.Overload("string_to_semver", T.DYN, [T.STRING], impl=to_semver),
            cel.Overload("string_bool_to_semver", T.DYN, [T.STRING, T.BOOL], impl=to_semver)]),
        function("isSemver", [
            cel.Overload("is_semver_string", T.BOOL, [T.STRING], impl=is_semver),
            cel.Overload("is_semver_string_bool", T.BOOL, [T.STRING, T.BOOL], impl=is_semver)]),
        *(function(name, [member(name, _part(index), T.INT)])
          for index, name in enumerate(("major", "minor", "patch"))),
    ]
