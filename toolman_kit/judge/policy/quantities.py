"""The Kubernetes quantity library (apiserver library/quantity.go): quantity, isQuantity, and on
a quantity sign, isInteger, asInteger, asApproximateFloat, add, sub (a quantity or an int),
isLessThan, isGreaterThan, compareTo. Parsing is toolman_kit.read.quantity's (apimachinery's
grammar), exact: quantity('1') == quantity('1000m').

    quantity('1.5Gi').asInteger()                 1610612736
    quantity('1m').asInteger()                    error (not an integer)
    quantity('50k').add(quantity('20k')) == quantity('70k')
    quantity('1').compareTo(quantity('2m'))       1

Deviations: below a nano a value is rounded up to it (as ParseQuantity does) but kept otherwise
exact, beyond int64 too (apimachinery's inf.Dec is as well); input over 64 characters or with an
exponent beyond ±64 is refused (toolman_kit.read.quantity's guard).
"""

from __future__ import annotations

from decimal import ROUND_UP, Context, Decimal
from typing import Any

from cel_expr_python import cel

from toolman_kit.judge.policy import opaque
from toolman_kit.read.quantity import QuantityError, parse_quantity

T = cel.Type
KIND = "Quantity"
_NANO = Decimal("1e-9")
_EXACT = Context(prec=200)  # enough digits for any quantity the parser admits (±64 exponent)
_INT64 = range(-2**63, 2**63)
_FORMAT = ("quantities must match the regular expression "
           "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")


def _parse(text: str) -> Decimal:
    if text != text.strip():  # the shared parser forgives spaces, apimachinery does not
        raise QuantityError(text)
    value = parse_quantity(text)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -9:
        value = value.quantize(_NANO, rounding=ROUND_UP, context=_EXACT)
    return value


def _canonical(value: Decimal) -> str:
    return "0" if value == 0 else f"{value.normalize(_EXACT):f}"


def _value(quantity: Any) -> Decimal:
    return Decimal(opaque.unwrap(quantity, KIND))


def _wrap(value: Decimal) -> dict[str, str]:
    return opaque.wrap(KIND, _canonical(value))


def to_quantity(text: str) -> dict[str, str]:
    try:
        return _wrap(_parse(text))
    except QuantityError:
        raise ValueError(_FORMAT) from None


def is_quantity(text: str) -> bool:
    try:
        _parse(text)
    except QuantityError:
        return False
    return True


def _sign(quantity: Any) -> int:
    value = _value(quantity)
    return (value > 0) - (value < 0)


def _is_integer(value: Decimal) -> bool:
    return value == value.to_integral_value(context=_EXACT) and int(value) in _INT64


def as_integer(quantity: Any) -> int:
    value = _value(quantity)
    if not _is_integer(value):
        raise ValueError("cannot convert value to integer")
    return int(value)


def _operand(other: Any) -> Decimal:
    return Decimal(other) if isinstance(other, int) else _value(other)


def _compare(left: str, right: str) -> int:
    a, b = Decimal(left), Decimal(right)
    return (a > b) - (a < b)


COMPARE = {KIND: _compare}


def declarations() -> list[cel.FunctionDecl]:
    member, function = opaque.member, opaque.function
    add = lambda q, other: _wrap(_EXACT.add(_value(q), _operand(other)))  # noqa: E731
    sub = lambda q, other: _wrap(_EXACT.subtract(_value(q), _operand(other)))  # noqa: E731
    return [
        function("quantity", [cel.Overload("string_to_quantity", T.DYN, [T.STRING],
                                           impl=to_quantity)]),
        function("isQuantity", [cel.Overload("is_quantity_string", T.BOOL, [T.STRING],
                                             impl=is_quantity)]),
        function("sign", [member("sign", _sign, T.INT)]),
        function("isInteger", [member("isInteger", lambda q: _is_integer(_value(q)), T.BOOL)]),
        function("asInteger", [member("asInteger", as_integer, T.INT)]),
        function("asApproximateFloat", [member("asApproximateFloat",
                                               lambda q: float(_value(q)), T.DOUBLE)]),
        function("add", [member("add", add, T.DYN, (opaque.MAP,)),
                         member("add", add, T.DYN, (T.INT,), overload="_int")]),
        function("sub", [member("sub", sub, T.DYN, (opaque.MAP,)),
                         member("sub", sub, T.DYN, (T.INT,), overload="_int")]),
    ]
