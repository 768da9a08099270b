"""The CEL sets extension the API server adds at 1.29 (cel-go ext.Sets): sets.contains,
sets.equivalent, sets.intersects over lists, with CEL's equality (1 == 1.0 == 1u, true != 1,
lists and maps element by element).

    sets.contains([1, 2, 3, 4], [2, 3])      true
    sets.equivalent([1, 2, 3], [3u, 2.0, 1]) true
    sets.intersects([1], [])                 false

Deviation: the lists are list(dyn), so sets.contains([1], ['a']) compiles (false), where cel-go's
list(T) parameters would not unify.
"""

from __future__ import annotations

from typing import Any

from cel_expr_python import cel

T = cel.Type


def cel_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(cel_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return len(a) == len(b) and all(
            any(cel_equal(key, other) and cel_equal(value, b[other]) for other in b)
            for key, value in a.items())
    return type(a) is type(b) and a == b


def _has(items: list[Any], value: Any) -> bool:
    return any(cel_equal(item, value) for item in items)


def contains(items: list[Any], sub: list[Any]) -> bool:
    return all(_has(items, value) for value in sub)


def equivalent(a: list[Any], b: list[Any]) -> bool:
    return contains(a, b) and contains(b, a)


def intersects(a: list[Any], b: list[Any]) -> bool:
    return any(_has(a, value) for value in b)


def declarations() -> list[cel.FunctionDecl]:
    lists = [T.List(T.DYN), T.List(T.DYN)]
    return [cel.FunctionDecl(f"sets.{name}", [cel.Overload(
        f"sets_{name}_list_list", T.BOOL, lists, impl=impl)])
        for name, impl in (("contains", contains), ("equivalent", equivalent),
                           ("intersects", intersects))]
