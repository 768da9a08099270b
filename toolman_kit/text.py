"""The words every output shares: counted nouns, "a, b and c", and Markdown-escaped values.

In the base layer: any module may use it, and it imports nothing of the kit (nor pandas).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from typing import Any

_MD_SPECIAL = re.compile(r"[\\|<>*_`\[\]]")


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 object', '2 objects' (or `many` when the plural is not word + s: 'passes')."""
    return f"{n} {word if n == 1 else many or word + 's'}"


def and_join(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def md_cell(value: Any) -> str:
    """A value as Markdown on one line, fit for a table cell or a sentence: pipes and newlines
    would break a row, and markup in manifest-derived text is neutralised by escaping. A
    missing value (None, NaN, pd.NA) is ""."""
    if type(value) is not str:
        if type(value) is int:  # line numbers: nothing to escape
            return str(value)
        if _missing(value):
            return ""
        value = str(value)
    if _MD_SPECIAL.search(value):  # most values have nothing to escape
        value = _MD_SPECIAL.sub(r"\\\g<0>", value)
    return " ".join(value.split())


def _missing(value: Any) -> bool:
    pandas = sys.modules.get("pandas")  # frames from notebooks hold pd.NA; never import it here
    return value is None or (pandas is not None and value is pandas.NA) or value != value
