"""The Kubernetes list library: isSorted, sum, min, max, indexOf, lastIndexOf.

As in apiserver's library/lists.go: sum only over numbers, the ordering functions
over comparable elements; min/max of an empty list is an error; indexOf/lastIndexOf use CEL's
equality (-1 when absent). indexOf and lastIndexOf are also the strings extension's: declared in
the environment's extension after it (cel.py), cel-cpp adds these list overloads to its string
ones. Deviation: their element is dyn, so [1].indexOf('a') compiles (-1) where cel-go's list(T), T
would not.
"""

from __future__ import annotations

from typing import Any

from cel_expr_python import cel

from toolman_kit.judge.policy.sets import cel_equal

T = cel.Type
# Durations and timestamps are left out: cel-expr-python 0.1.3 cannot return them from a Python
# function declared dyn, so [duration('1s')].sum() is a compile error here (cel-go allows it).
_SUMMABLE = (T.INT, T.UINT, T.DOUBLE)
_COMPARABLE = (T.INT, T.UINT, T.DOUBLE, T.BOOL, T.STRING, T.BYTES)


def _numbers(items: list[Any]) -> list[Any]:
    if any(isinstance(item, bool) or not isinstance(item, int | float)
           for item in items):
        raise ValueError("sum: the list holds other than numbers")
    return items


def list_sum(items: list[Any]) -> Any:
    items = _numbers(items)
    if not items:
        return 0
    return sum(items[1:], items[0])


def _ordered(items: list[Any], name: str) -> list[Any]:
    kinds = {type(item) for item in items}
    if len(kinds) > 1 and not kinds <= {int, float}:
        raise ValueError(f"{name}: the list mixes types that do not compare")
    if dict in kinds or list in kinds:
        raise ValueError(f"{name}: lists and maps do not compare")
    return items


def list_min(items: list[Any]) -> Any:
    if not items:
        raise ValueError("min called on an empty list")
    return min(_ordered(items, "min"))


def list_max(items: list[Any]) -> Any:
    if not items:
        raise ValueError("max called on an empty list")
    return max(_ordered(items, "max"))


def is_sorted(items: list[Any]) -> bool:
    items = _ordered(items, "isSorted")
    return all(a <= b for a, b in zip(items, items[1:], strict=False))


def _overloads(name: str, impl: Any, element_types: tuple[Any, ...], returns_element: bool,
               extra: tuple[Any, ...] = (), result: Any = None) -> cel.FunctionDecl:
    """One declaration per element type (so the checker rejects ['a'].sum() as cel-go does); the
    runtime keys functions by kind, not element type, so only the first carries the implementation,
    with a dyn result that lets it return any of the element types."""
    overloads = []
    for position, element in enumerate(element_types):
        params = [T.List(element), *(element for _ in extra)]
        returns = element if returns_element else result
        first = position == 0
        overloads.append(cel.Overload(
            f"list_{element.name()}_{name}", T.DYN if first else returns, params,
            is_member=True, **({"impl": impl} if first else {})))
    return cel.FunctionDecl(name, overloads)


def index_of(items: list[Any], value: Any) -> int:
    return next((i for i, item in enumerate(items) if cel_equal(item, value)), -1)


def last_index_of(items: list[Any], value: Any) -> int:
    found = index_of(items[::-1], value)
    return -1 if found < 0 else len(items) - 1 - found


def declarations() -> list[cel.FunctionDecl]:
    """indexOf and lastIndexOf: given to the environment as an extension (see above)."""
    return [cel.FunctionDecl(name, [cel.Overload(
        f"list_{name}", T.INT, [T.List(T.DYN), T.DYN], is_member=True, impl=impl)])
        for name, impl in (("indexOf", index_of), ("lastIndexOf", last_index_of))]


def typed_declarations() -> list[cel.FunctionDecl]:
    """sum, min, max, isSorted: given to the environment as plain functions, where only the first
    overload of each, the one with an implementation, is registered for evaluation (in an
    extension cel-cpp would register each overload and refuse the same list kind twice)."""
    return [
        _overloads("sum", list_sum, _SUMMABLE, returns_element=True),
        _overloads("min", list_min, _COMPARABLE, returns_element=True),
        _overloads("max", list_max, _COMPARABLE, returns_element=True),
        _overloads("isSorted", is_sorted, _COMPARABLE, returns_element=False, result=T.BOOL),
    ]
