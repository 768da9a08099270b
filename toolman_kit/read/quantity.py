"""Kubernetes resource quantities ("500m", "2Gi", "1e3", "1.5E-3") as exact Decimals, and a
PodDisruptionBudget's int-or-percent ("25%") as a number of pods.

The grammar is apimachinery's: a signed decimal number followed by a binary-SI suffix
(Ki…Ei), a decimal-SI suffix (n u m "" k M G T P E) or a decimal exponent (e3, E-2).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
            "k": Decimal("1e3"), "M": Decimal("1e6"), "G": Decimal("1e9"), "T": Decimal("1e12"),
            "P": Decimal("1e15"), "E": Decimal("1e18")}
_QUANTITY = re.compile(r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
                       r"(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+|[numkMGTPE]?)")


class QuantityError(ValueError):
    """Not a Kubernetes quantity."""


def parse_quantity(value: str | int | float) -> Decimal:
    """Exact value of a quantity; ints and floats (YAML `cpu: 1`) are taken as plain numbers."""
    if isinstance(value, str):
        return _parse_text(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise QuantityError(f"not a quantity: {value!r}")
    return Decimal(str(value))


@lru_cache(maxsize=1024)  # a pure function of a few distinct strings ("100m", "128Mi") per run
def _parse_text(value: str) -> Decimal:
    match = _QUANTITY.fullmatch(value.strip())
    if not match or len(value) > 64:
        raise QuantityError(f"not a quantity: {value!r}")
    number, suffix = match.groups()
    try:
        base = Decimal(number)
        if suffix in _BINARY:
            return base * _BINARY[suffix]
        if suffix[:1] in ("e", "E") and len(suffix) > 1:
            exponent = int(suffix[1:])
            if abs(exponent) > 64:  # beyond any real resource; keeps Decimal from huge work
                raise QuantityError(f"exponent out of range: {value!r}")
            return base.scaleb(exponent)
        return base * _DECIMAL[suffix]
    except InvalidOperation as exc:
        raise QuantityError(f"not a quantity: {value!r}") from exc


def format_cpu(cores: Decimal | None) -> str:
    """Cores as Kubernetes writes them: whole cores plainly, the rest in millicores."""
    if cores is None:
        return "none"
    if cores == cores.to_integral_value():
        return str(int(cores))
    return f"{(cores * 1000).normalize():f}m"


def format_memory(num_bytes: Decimal | None) -> str:
    """Bytes in the largest binary unit that divides them exactly (128Mi, 2Gi), else plain."""
    if num_bytes is None:
        return "none"
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        unit = _BINARY[suffix]
        if num_bytes >= unit and num_bytes % unit == 0:
            return f"{int(num_bytes // unit)}{suffix}"
    for suffix in ("E", "P", "T", "G", "M", "k"):
        unit = _DECIMAL[suffix]
        if num_bytes >= unit and num_bytes % unit == 0:
            return f"{int(num_bytes // unit)}{suffix}"
    return f"{num_bytes.normalize():f}"


def pdb_budget(value: Any, replicas: int) -> int | None:
    """A PDB int-or-percent against a replica count (percentages round up, as Kubernetes does)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        return -(-int(value[:-1]) * replicas // 100)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
