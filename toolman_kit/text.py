"""The words every output shares: counted nouns, "a, b and c", Markdown-escaped values, and text
from manifests made safe to show in a terminal.

In the base layer: any module may use it, and it imports nothing of the kit (nor pandas).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from typing import Any

_MD_SPECIAL = re.compile(r"[\\|<>*_`\[\]]")
# What a terminal obeys rather than shows: C0 controls (ESC starts colour, cursor and OSC-8 link
# sequences; CR and BS overwrite what was printed; LF starts a line the reader takes for ours),
# DEL, C1 controls (U+009B is a one-character CSI) and the bidirectional overrides that reorder
# what a reader sees (Trojan Source).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CONTROL_BUT_LF = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 object', '2 objects' (or `many` when the plural is not word + s: 'passes')."""
    return f"{n} {word if n == 1 else many or word + 's'}"


def and_join(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def md_cell(value: Any) -> str:
    """A value as Markdown on one line, fit for a table cell or a sentence: pipes and newlines
    would break a row, and markup in manifest-derived text is neutralised by escaping, control
    characters as in terminal_safe. A missing value (None, NaN, pd.NA) is ""."""
    if type(value) is not str:
        if type(value) is int:  # line numbers: nothing to escape
            return str(value)
        if _missing(value):
            return ""
        value = str(value)
    if _MD_SPECIAL.search(value):  # most values have nothing to escape
        value = _MD_SPECIAL.sub(r"\\\g<0>", value)
    return terminal_safe(" ".join(value.split()))  # Markdown is read in terminals too


def terminal_safe(text: str) -> str:
    """`text` (a name, a message, a key: anything a chart or manifest wrote) as one line that a
    terminal shows rather than obeys: every control character is written as its escape
    (`\\x1b`, `\\n`, `\\u202e`), so nothing clears the screen, moves the cursor, hides a link or
    forges a line of the kit's own output.

    Example:
        >>> print(terminal_safe("web\\x1b[2J\\nOK: all checks passed"))
        web\\x1b[2J\\nOK: all checks passed
    """
    if not _CONTROL.search(text):  # almost always: nothing to do
        return text
    return _CONTROL.sub(_escape, text)


def terminal_lines(lines: Sequence[str]) -> str:
    """The lines joined by newlines, each terminal_safe (a newline inside one is escaped too):
    one search of the whole text when, as nearly always, there is nothing to escape, which
    for the 100,000s of lines of a cluster's table is a third of the cost of a call per line."""
    text = "\n".join(lines)
    if text.count("\n") == len(lines) - 1 and not _CONTROL_BUT_LF.search(text):
        return text
    return "\n".join(map(terminal_safe, lines))


def _escape(match: re.Match[str]) -> str:
    char = match[0]
    code = ord(char)
    return _ESCAPES.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def _missing(value: Any) -> bool:
    pandas = sys.modules.get("pandas")  # frames from notebooks hold pd.NA; never import it here
    return value is None or (pandas is not None and value is pandas.NA) or value != value
