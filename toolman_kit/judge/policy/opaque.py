"""Values of the Kubernetes libraries' own types (URL, Quantity, IP, CIDR, Format, Semver, and the
optional a format's validate returns), as cel-expr-python 0.1.3 can carry them.

The binding cannot return an opaque type from Python ("Unimplemented type"), so each value is a
single-key map, {tag: canonical form}. The canonical form makes CEL's structural map equality the
library's own equality (quantity('1') == quantity('1000m'); semver equality ignores build
metadata). The tag carries a per-process random token: a map in a manifest cannot pose as a
quantity. Member functions are declared on map(string, dyn) and check the tag at run time, so a
wrong receiver that cel-go rejects when compiling (`{'a': 1}.getScheme()`, `object.x.sign()` on a
map) is here an evaluation error "no such overload"; a string receiver still does not compile.
Functions two libraries share (isLessThan, compareTo on quantities and semvers; string() of an IP
or a CIDR) are one declaration that dispatches on the tag.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any

from cel_expr_python import cel

T = cel.Type
MAP = T.Map(T.STRING, T.DYN)
_TOKEN = secrets.token_hex(6)
_PREFIX = f"kubernetes-cel-{_TOKEN}:"


def tag(kind: str) -> str:
    return _PREFIX + kind


def wrap(kind: str, value: Any) -> dict[str, Any]:
    return {_PREFIX + kind: value}


def kind_of(value: Any) -> str | None:
    if isinstance(value, Mapping) and len(value) == 1:
        key = next(iter(value))
        if isinstance(key, str) and key.startswith(_PREFIX):
            return key[len(_PREFIX):]
    return None


def unwrap(value: Any, kind: str) -> Any:
    """The canonical form of a value of this kind; anything else is CEL's "no such overload"."""
    if kind_of(value) != kind:
        raise ValueError("no such overload")
    return value[_PREFIX + kind]


def plain(value: Any) -> Any:
    """What `evaluate` returns for a library value: its canonical form (a URL's text, a quantity's
    exact decimal, an IP's address…); an optional is its value or None."""
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        kind = kind_of(value)
        if kind is None:
            return {key: plain(item) for key, item in value.items()}
        return plain(value[_PREFIX + kind])
    return value


def member(name: str, impl: Callable[..., Any], returns: Any = T.DYN,
           params: tuple[Any, ...] = (), overload: str = "") -> cel.Overload:
    """A member function on library values; `overload` tells apart two of one name and arity."""
    return cel.Overload(f"kubernetes_{name}_{len(params)}{overload}", returns, [MAP, *params],
                        is_member=True, impl=impl)


def function(name: str, overloads: list[cel.Overload]) -> cel.FunctionDecl:
    return cel.FunctionDecl(name, overloads)


Compare = Callable[[Any, Any], int]


def comparisons(by_kind: Mapping[str, Compare]) -> list[cel.FunctionDecl]:
    """isLessThan, isGreaterThan, compareTo over the kinds given (both sides of one kind)."""
    def compare(left: Any, right: Any) -> int:
        kind = kind_of(left)
        if kind not in by_kind or kind_of(right) != kind:
            raise ValueError("no such overload")
        return by_kind[kind](unwrap(left, kind), unwrap(right, kind))

    return [
        function("isLessThan", [member("isLessThan", lambda a, b: compare(a, b) < 0, T.BOOL,
                                       (MAP,))]),
        function("isGreaterThan", [member("isGreaterThan", lambda a, b: compare(a, b) > 0,
                                          T.BOOL, (MAP,))]),
        function("compareTo", [member("compareTo", compare, T.INT, (MAP,))]),
    ]


def strings(by_kind: Mapping[str, Callable[[Any], str]]) -> list[cel.FunctionDecl]:
    """string(x) for the kinds given; CEL's own string() overloads stay as they are."""
    def to_string(value: Any) -> str:
        kind = kind_of(value)
        if kind not in by_kind:
            raise ValueError("no such overload")
        return by_kind[kind](unwrap(value, kind))

    return [function("string", [cel.Overload("kubernetes_string", T.STRING, [MAP],
                                             impl=to_string)])]
