"""What a chart's templates read from `.Values`, found by reading the template source.

Go templates are scanned action by action (`{{ … }}`), tracking the blocks they open: `with` and
`range` change what `.` means (`{{ with .Values.affinity }}{{ toYaml . }}` reads `affinity`
whole), `if`/`with`/`range` put the reads inside them under a condition (`if
.Values.autoscaling.enabled`), `$var := .Values.x` names a key. Reads through `default`, `hasKey`,
`if` and `with` are "guarded" (an unset key is handled), `required` ones are required; `omit
.Values.m "k"` passes the rest of `m` on, whole.

This is a reading aid, not an interpreter: what it cannot see (`.Values` passed whole to a helper
or to `toYaml`, keys computed at render time) marks the chart `dynamic`, and callers then stop
using these reads to rule keys out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from toolman_kit.chart.valuesfile import Key

Condition = tuple[Key, bool]  # (key, True: needs it truthy | False: needs it falsy)
ROOT: Key = ("$",)  # `.` is the root context (.Values, .Release …)
OPAQUE: Key = ("?",)  # `.` is something we cannot name

_ACTION = re.compile(r"\{\{-?\s*(/\*.*?\*/)?(.*?)\s*-?\}\}", re.S)
_VALUES = re.compile(r"(?<![\w)\]])\$?\.Values((?:\.[A-Za-z_]\w*)*)")
_FIELD = re.compile(r"(?<![\w$)\]\.\"])\.([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)")
_BARE_DOT = re.compile(r"(?<![\w$)\]\.\"])\.(?![\w.])")
_VAR = re.compile(r"\$([A-Za-z_]\w*)((?:\.[A-Za-z_]\w*)*)")
_ASSIGN = re.compile(r"^\$([A-Za-z_]\w*)\s*:?=\s*(.+)$", re.S)
_INDEX = re.compile(r"index\s+(\$?\.Values(?:\.[A-Za-z_]\w*)*)((?:\s+\"[^\"]*\")+)")
_HASKEY = re.compile(r"hasKey\s+(\$?\.Values(?:\.[A-Za-z_]\w*)*)\s+\"([^\"]+)\"")
# `omit m "a"` passes the rest of m on (every key of it is read); `pick m "a"` only "a"
_OMIT = re.compile(r"\b(omit|pick)\s+(\$?\.Values(?:\.[A-Za-z_]\w*)*)((?:\s+\"[^\"]*\")+)")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`')
_INCLUDE = re.compile(r'\b(?:include|template)\s+(?:"([^"]+)"|\(print\s+\$?\.Template\.BasePath\s+'
                      r'"(/[^"]+)"\)|(\S+))')
BUILTINS = frozenset({"Values", "Release", "Chart", "Capabilities", "Template", "Files",
                      "Subcharts"})


@dataclass(frozen=True)
class Read:
    key: Key
    file: str  # relative to the chart, e.g. templates/deployment.yaml
    line: int
    conditions: tuple[Condition, ...] = ()  # all must hold for the read to happen
    guarded: bool = False  # an unset key is handled (default, hasKey, if, with)
    required: bool = False  # `required`: rendering fails without it
    whole: bool = False  # the value is consumed as a whole (toYaml, a bare `.`)
    entered: bool = False  # the subject of a `with`/`range`: a map or a list, by its use


@dataclass
class Reads:
    """Every read of `.Values` in a chart's templates."""

    reads: list[Read] = field(default_factory=list)
    dynamic: list[str] = field(default_factory=list)  # "file:line" where .Values escapes us
    files: dict[str, str] = field(default_factory=dict)  # template source by chart-relative path
    defines: dict[str, tuple[str, int, int]] = field(default_factory=dict)  # name → file, lines
    includes: list[Include] = field(default_factory=list)

    def of(self, key: Key) -> list[Read]:
        """Reads of `key`, of a part of it, or of a map holding it."""
        return [r for r in self.reads if _related(r.key, key)]

    def below(self, key: Key) -> bool:
        """Whether some template reads a key strictly inside `key`."""
        return any(len(r.key) > len(key) and r.key[:len(key)] == key for r in self.reads)

    def reaching(self, file: str) -> set[Key] | None:
        """The keys whose values can reach what `file` writes: read by its actions or by the
        named templates it includes, transitively (a define's reads count only where it is
        included; an include whose output is hashed, `checksum/config`, writes a digest, not
        a field). None when that cannot be read: a computed include or `.Values` escaping."""
        keys: set[Key] = set()
        todo, seen = [(file, 0, 1 << 30)], set()
        while todo:
            where = todo.pop()
            if where in seen:
                continue
            seen.add(where)
            name, first, last = where
            if any(d.rpartition(":")[0] == name and first <= int(d.rpartition(":")[2]) <= last
                   for d in self.dynamic):
                return None
            keys |= {r.key for r in self.reads if r.file == name and first <= r.line <= last}
            for inc in self.includes:
                if inc.file != name or not first <= inc.line <= last or inc.hashed:
                    continue
                if inc.target is None:
                    return None
                if inc.target.startswith("/"):  # a whole template file
                    todo.append((f"templates{inc.target}", 0, 1 << 30))
                elif inc.target in self.defines:
                    todo.append(self.defines[inc.target])
        return keys

    def known(self, key: Key) -> bool:
        """Read by a template: the key, a part of it, or a map that is used whole."""
        return any(r.key[:len(key)] == key or (r.whole and key[:len(r.key)] == r.key)
                   for r in self.reads)


@dataclass(frozen=True)
class Include:
    """`include "name"` (or `template`) in an action: what it runs, where, and whether its
    output is hashed (`| sha256sum`)."""

    file: str
    line: int
    target: str | None  # a define's name, "/x.yaml" for a template file, None: computed
    hashed: bool = False


def _related(a: Key, b: Key) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def scan_chart(chart: str | Path) -> Reads:
    """The reads of every template of the chart (not of its subcharts)."""
    root = Path(chart)
    out = Reads()
    for path in sorted((root / "templates").rglob("*")):
        if path.is_file() and path.suffix in (".yaml", ".yml", ".tpl", ".txt", ".json"):
            rel = str(path.relative_to(root))
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            out.files[rel] = text
            _scan(text, rel, out)
    return out


BlockKind = Literal["file", "if", "with", "range", "define"]  # a `block` is read as a define


@dataclass
class _Block:
    kind: BlockKind
    dot: Key
    conditions: tuple[Condition, ...]
    own: tuple[Condition, ...] = ()  # what this block's own test required
    name: str = ""  # a define's
    line: int = 0  # where it opens


def _scan(text: str, file: str, out: Reads) -> None:
    stack = [_Block("file", ROOT, ())]
    variables: dict[str, Key] = {}
    for m in _ACTION.finditer(text):
        body = m.group(2).strip()
        if not body:
            continue
        line = text.count("\n", 0, m.start(2)) + 1
        word, _, rest = body.partition(" ")
        rest = rest.strip()
        top = stack[-1]
        for inc in _INCLUDE.finditer(body):
            out.includes.append(Include(file, line, inc.group(1) or inc.group(2),
                                        re.search(r"\|\s*sha(1|256)sum", body) is not None))
        if word == "end":
            if len(stack) > 1:
                done = stack.pop()
                if done.kind == "define" and done.name:
                    out.defines.setdefault(done.name, (file, done.line, line))
            continue
        if word == "else":
            negated = tuple((k, not positive) for k, positive in top.own) \
                if len(top.own) == 1 else ()
            outer = stack[-2].conditions if len(stack) > 1 else ()
            kind, _, test = rest.partition(" ")
            conditions = (*outer, *negated)
            dot = stack[-2].dot if len(stack) > 1 else ROOT
            if kind in ("if", "with"):
                own = _conditions(test, dot, variables)
                _reads(test, file, line, dot, conditions, variables, out, in_test=True,
                       entered=kind == "with")
                if kind == "with":
                    dot = _target(test, dot, variables)
                stack[-1] = _Block(kind, dot, (*conditions, *own), own)
            else:
                stack[-1] = _Block(top.kind, dot, conditions, ())
            continue
        if word in ("define", "block"):
            variables = {}
            named = re.match(r'"([^"]+)"', rest)
            stack.append(_Block("define", ROOT, (), name=named.group(1) if named else "",
                                line=line))
            continue
        if word in ("if", "with", "range"):
            expr = rest
            if word == "range" and ":=" in rest:
                names, _, expr = rest.partition(":=")
                target = _target(expr.strip(), top.dot, variables)
                for name in re.findall(r"\$(\w+)", names):
                    variables[name] = (*target, "*") if target not in (ROOT, OPAQUE) else OPAQUE
            own = _conditions(expr, top.dot, variables)
            _reads(expr, file, line, top.dot, top.conditions, variables, out, in_test=True,
                   entered=word != "if")
            dot = top.dot if word == "if" else _target(expr.strip(), top.dot, variables)
            if word == "range" and dot not in (ROOT, OPAQUE):
                dot = (*dot, "*")  # an element: its fields are read with the list, whole
            stack.append(_Block(word, dot, (*top.conditions, *own), own))
            continue
        if assign := _ASSIGN.match(body):
            variables[assign.group(1)] = _target(assign.group(2).strip(), top.dot, variables)
        _reads(body, file, line, top.dot, top.conditions, variables, out)


def _target(expr: str, dot: Key, variables: dict[str, Key]) -> Key:
    """The key a single-value expression names: `.Values.a.b`, `.x` under a `with`, `$v.y`."""
    expr = expr.strip().strip("()").strip()
    if m := re.fullmatch(r"\$?\.Values((?:\.[A-Za-z_]\w*)*)", expr):
        return tuple(m.group(1).split(".")[1:]) or ROOT
    if expr == "." or expr == "$":
        return dot if expr == "." else ROOT
    if m := re.fullmatch(r"\.([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)", expr):
        if dot == ROOT or dot == OPAQUE:
            return OPAQUE
        return (*dot, *m.group(1).split("."))
    if m := _VAR.fullmatch(expr):
        base = variables.get(m.group(1), OPAQUE)
        if base in (ROOT,) and m.group(2).startswith(".Values"):
            return tuple(m.group(2).split(".")[2:]) or ROOT
        return OPAQUE if base in (ROOT, OPAQUE) else (*base, *m.group(2).split(".")[1:])
    return OPAQUE


def _conditions(expr: str, dot: Key, variables: dict[str, Key]) -> tuple[Condition, ...]:
    """The keys a test needs truthy (or falsy): `x`, `not x`, `hasKey m "k"` (as truthy), and
    each of `and x (not y) …`."""
    if has := _HASKEY.fullmatch(expr.strip()):
        base = _target(has.group(1), dot, variables)
        return () if base == OPAQUE else (((*(() if base == ROOT else base), has.group(2)),
                                           True),)
    expr = _STRING.sub('""', expr.strip())
    single = _target(expr, dot, variables)
    if single not in (ROOT, OPAQUE):
        return ((single, True),)
    if expr.startswith("not "):
        inner = _target(expr[4:], dot, variables)
        return ((inner, False),) if inner not in (ROOT, OPAQUE) else ()

    if expr.startswith("and "):
        found = []
        for part in re.findall(r"\(not\s+([^()]+)\)|\(([^()]*)\)|(\S+)", expr[4:]):
            negated, grouped, plain = part
            key = _target(negated or plain, dot, variables) if (negated or plain) else OPAQUE
            if grouped or key in (ROOT, OPAQUE):
                continue
            found.append((key, not negated))
        return tuple(found)
    return ()


def _reads(body: str, file: str, line: int, dot: Key, conditions: tuple[Condition, ...],
           variables: dict[str, Key], out: Reads, in_test: bool = False,
           entered: bool = False) -> None:
    """Record every `.Values` read in one action's text."""
    text = _STRING.sub(lambda s: '"' + " " * (len(s.group()) - 2) + '"', body)
    guarded = in_test or "default" in text or "hasKey" in text
    required = text.startswith("required") or " required " in text or "| required" in text

    def add(key: Key, at: int, whole_read: bool = False) -> None:
        if key in (ROOT, OPAQUE) or OPAQUE[0] in key:
            return
        key = key[:key.index("*")] if "*" in key else key
        if key:
            out.reads.append(Read(key, file, line + body.count("\n", 0, at), conditions,
                                  guarded, required, whole_read or entered, entered))

    for m in _INDEX.finditer(body):
        base = _target(m.group(1), dot, variables)
        add((*(() if base == ROOT else base), *re.findall(r'"([^"]*)"', m.group(2))), m.start())
    for m in _OMIT.finditer(body):
        base = _target(m.group(2), dot, variables)
        base = () if base == ROOT else base
        if m.group(1) == "omit":
            add(base, m.start(), whole_read=True)
        for name in re.findall(r'"([^"]*)"', m.group(3)):
            add((*base, name), m.start())
    for m in _HASKEY.finditer(body):
        base = _target(m.group(1), dot, variables)
        if base != OPAQUE:
            out.reads.append(Read((*(() if base == ROOT else base), m.group(2)), file, line,
                                  conditions, True, False))
    for m in _VALUES.finditer(text):
        key = tuple(m.group(1).split(".")[1:])
        if key:
            add(key, m.start(), whole_read=_consumed_whole(text, m.end()))
        elif not (text[m.end():].lstrip().startswith('"') and "index" in text[:m.start()]):
            out.dynamic.append(f"{file}:{line + body.count(chr(10), 0, m.start())}")
    for m in _VAR.finditer(text):
        base, rest = variables.get(m.group(1)), m.group(2).split(".")[1:]
        if base == ROOT and rest[:1] == ["Values"]:
            base, rest = (), rest[1:]
        elif base is None or base == ROOT:
            continue
        add((*base, *rest), m.start(), _consumed_whole(text, m.end()))
    if dot not in (ROOT, OPAQUE):
        for m in _FIELD.finditer(text):
            if m.group(1).split(".")[0] not in BUILTINS:
                add((*dot, *m.group(1).split(".")), m.start(), _consumed_whole(text, m.end()))
        for m in _BARE_DOT.finditer(text):
            add(dot, m.start(), whole_read=True)


def _consumed_whole(text: str, end: int) -> bool:
    """A read whose value is used as it is (printed, piped, passed on), not as the map that a
    `hasKey`/`index` call looks inside."""
    after = text[end:].lstrip()
    return not after.startswith('"')
