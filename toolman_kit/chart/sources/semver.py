"""Semantic versions and the ranges Helm reads (Masterminds/semver v3, which `helm pull --version`,
`index.yaml` look-ups and Chart.yaml's dependency versions use).

A range is `||`-separated alternatives, each a list of comparators joined by commas or spaces:
`^1.2` (>=1.2.0 <2.0.0; `^0.2.3` is <0.3.0), `~1.2.3` (<1.3.0), `1.2.x` / `1.2` / `1.2.*`,
`>=1.0 <2`, `1.2 - 1.4.5`, `!=1.3.0`. A version missing parts compares as Masterminds does: `>1.2`
is `>=1.3.0`, `<=1.2` is `<1.3.0`, `=1.2` is `1.2.x`. A prerelease (`2.0.0-rc.1`) matches only
a range whose comparators name a prerelease, as in Helm.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?"
                      r"(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$")
_PARTIAL = re.compile(r"^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?"
                      r"(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")
_OPERATOR = re.compile(r"^(>=|=>|<=|=<|!=|~>|[<>=~^])?\s*(.*)$")


@dataclass(frozen=True, order=False)
class Version:
    major: int
    minor: int
    patch: int
    pre: str = ""
    text: str = ""  # as written in the index or tag

    @classmethod
    def parse(cls, text: str) -> Version | None:
        """A version (`1.2.3`, `v1.2`, `1.0.0-rc.1+build`), or None when it is not one."""
        m = _VERSION.match(text.strip())
        if not m:
            return None
        return cls(int(m[1]), int(m[2] or 0), int(m[3] or 0), m[4] or "", text.strip())

    def key(self) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
        """Precedence (semver §11): a prerelease sorts before its release; numeric
        identifiers before alphanumeric ones."""
        ids = tuple((0, int(p)) if p.isdigit() else (1, p) for p in self.pre.split(".")) \
            if self.pre else ()
        return (self.major, self.minor, self.patch, 0 if self.pre else 1, ids)  # type: ignore


Predicate = Callable[[Version], bool]


class RangeError(ValueError):
    """A version range that cannot be read."""


def matches(text: str) -> Predicate:
    """A predicate for the range `text`; a RangeError when it is not one."""
    alternatives = [_conjunction(part) for part in text.split("||")]
    return lambda v: any(alt(v) for alt in alternatives)


def newest(versions: list[Version], range_text: str) -> Version | None:
    """The highest version matching `range_text` (None: none does)."""
    ok = matches(range_text)
    found = [v for v in versions if ok(v)]
    return max(found, key=Version.key) if found else None


def is_exact(text: str) -> bool:
    """A plain version (all three parts, no operator): a tag to ask for as it is."""
    m = _VERSION.match(text.strip())
    return bool(m and m[3] is not None)


def _conjunction(text: str) -> Predicate:
    text = text.strip()
    if not text:
        raise RangeError("empty version range")
    if m := re.fullmatch(r"(\S+)\s+-\s+(\S+)", text):  # a hyphen range
        preds = [_comparator(">=" + m[1]), _comparator("<=" + m[2])]
        named_pre = any("-" in p for p in (m[1], m[2]))
    else:
        text = re.sub(r"(>=|=>|<=|=<|!=|~>|[<>=~^])\s+", r"\1", text)
        parts = [p for p in re.split(r"[\s,]+", text) if p]
        preds = [_comparator(p) for p in parts]
        named_pre = any(_names_prerelease(p) for p in parts)
    return lambda v: (named_pre or not v.pre) and all(p(v) for p in preds)


def _names_prerelease(comparator: str) -> bool:
    m = _PARTIAL.match(_OPERATOR.match(comparator)[2])  # type: ignore[index]
    return bool(m and m[4])


def _comparator(text: str) -> Predicate:
    op, rest = _OPERATOR.match(text).groups()  # type: ignore[union-attr]
    m = _PARTIAL.match(rest)
    if not m:
        raise RangeError(f"not a version range: {text!r}")
    wild = [g is None or g in "xX*" for g in (m[1], m[2], m[3])]
    major, minor, patch = (0 if w else int(g) for w, g in zip(wild, (m[1], m[2], m[3]),
                                                               strict=True))
    pre = m[4] or ""
    base = Version(major, minor, patch, pre).key()
    op = {"=>": ">=", "=<": "<=", "~>": "~", "": "="}.get(op or "", op or "=")
    if wild[0]:  # `*`, `x`: anything (a `<*` matches nothing)
        return (lambda v: False) if op in ("<", ">", "!=") else (lambda v: True)
    # the first version past what the written parts cover (1.2 → 1.3.0, 1 → 2.0.0)
    bump = ((major + 1, 0, 0) if wild[1] else (major, minor + 1, 0) if wild[2] else None)

    def at_least(v: Version) -> bool:
        return v.key() >= base

    def below(v: Version, limit: tuple[int, int, int]) -> bool:
        return (v.major, v.minor, v.patch) < limit

    if op == "=":
        if bump is None:
            return lambda v: v.key()[:4] == base[:4] and v.pre == pre
        return lambda v: at_least(v) and below(v, bump)
    if op == "!=":
        eq = _comparator("=" + rest)
        return lambda v: not eq(v)
    if op == ">":
        if bump is None:
            return lambda v: v.key() > base
        return lambda v: (v.major, v.minor, v.patch) >= bump
    if op == ">=":
        return at_least
    if op == "<":
        return lambda v: v.key() < base
    if op == "<=":
        if bump is None:
            return lambda v: v.key() <= base
        return lambda v: below(v, bump)
    if op == "~":
        limit = (major + 1, 0, 0) if wild[1] else (major, minor + 1, 0)
        return lambda v: at_least(v) and below(v, limit)
    # ^: the leftmost non-zero part may not change
    if major > 0 or wild[1]:
        limit = (major + 1, 0, 0)
    elif minor > 0 or wild[2]:
        limit = (0, minor + 1, 0)
    else:
        limit = (0, 0, patch + 1)
    return lambda v: at_least(v) and below(v, limit)
