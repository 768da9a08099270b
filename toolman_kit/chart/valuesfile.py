"""Values files as data with a line for every key, the blocks a values.yaml holds commented out,
and the key-path helpers the values analysis shares.

A key is a tuple of map keys, ("podDisruptionBudget", "enabled"), shown dotted as Helm's --set
writes it (a dot inside a key escaped: `podAnnotations.prometheus\\.io/scrape`). Values are read
by Helm's own parser (what a render sees); lines come from a second, safe parse of the same text.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from toolman_kit.chart.render import parse_values
from toolman_kit.errors import RenderError
from toolman_kit.read import yamlsafe

Key = tuple[str, ...]
MISSING = object()  # a key that is not there (None is YAML's null, a value of its own)
_COMMENTED_KEY = re.compile(r"^[A-Za-z_][\w.-]*:(\s|$)")


def show(key: Key) -> str:
    return ".".join(part.replace(".", "\\.") for part in key)


def get_in(data: Any, key: Key) -> Any:
    for part in key:
        if not isinstance(data, Mapping) or part not in data:
            return MISSING
        data = data[part]
    return data


def set_in(data: dict[str, Any], key: Key, value: Any) -> dict[str, Any]:
    """A copy of `data` with `key` set (maps on the way copied, created when missing)."""
    out = dict(data)
    if len(key) == 1:
        out[key[0]] = value
    else:
        inner = out.get(key[0])
        out[key[0]] = set_in(inner if isinstance(inner, dict) else {}, key[1:], value)
    return out


def without(data: dict[str, Any], key: Key) -> dict[str, Any]:
    """A copy of `data` without `key` (maps left empty by the removal are removed too)."""
    if get_in(data, key) is MISSING:
        return data
    out = dict(data)
    if len(key) == 1:
        del out[key[0]]
    else:
        inner = without(out[key[0]], key[1:])
        if inner:
            out[key[0]] = inner
        else:
            del out[key[0]]
    return out


def paths(data: Any, prefix: Key = ()) -> Iterator[Key]:
    """Every key of nested maps, parents before children."""
    if isinstance(data, Mapping):
        for k, v in data.items():
            yield (*prefix, str(k))
            yield from paths(v, (*prefix, str(k)))


def truthy(value: Any) -> bool:
    """Go templates' truth: false, 0, nil and empty strings, maps and lists are false."""
    return value is not MISSING and bool(value)


@dataclass
class ValuesFile:
    path: str
    data: dict[str, Any]
    lines: dict[Key, int] = field(default_factory=dict)  # 1-based line of every key

    def line(self, key: Key) -> int | None:
        """The line of `key`, or of its deepest ancestor the file writes."""
        for n in range(len(key), 0, -1):
            if key[:n] in self.lines:
                return self.lines[key[:n]]
        return None


def read_values_file(path: str | Path) -> ValuesFile:
    """A `-f` file: a mapping (or empty), else a RenderError naming the file and line."""
    path = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise RenderError(f"cannot read values file: {getattr(e, 'strerror', None) or e}",
                          file=path) from None
    try:
        parsed = yamlsafe.parse(text)
    except yamlsafe.YAMLInputError as e:
        raise RenderError(f"invalid values file: {e.message}", file=path,
                          line=None if e.line is None else e.line + 1) from None
    if parsed.data is not None and not isinstance(parsed.data, dict):
        kind = type(parsed.data).__name__.replace("str", "string").replace("NoneType", "null")
        first = next((n for n, t in enumerate(text.splitlines(), 1)
                      if t.strip() and not t.lstrip().startswith("#")), 1)
        raise RenderError(f"a values file must be a mapping of keys, not a {kind}", file=path,
                          line=first)
    data = parse_values(text, path) if parsed.data else {}
    return ValuesFile(path, data, dict(_lines(parsed.data, parsed.lines)))


def _lines(node: Any, lines: dict[int, Any], prefix: Key = ()) -> Iterator[tuple[Key, int]]:
    where = lines.get(id(node))
    if isinstance(node, dict) and isinstance(where, dict):
        for k, v in node.items():
            key = (*prefix, str(k))
            if k in where:
                yield key, where[k] + 1
            yield from _lines(v, lines, key)


@dataclass(frozen=True)
class Commented:
    """A block of values.yaml that is commented out: where it sits, and what it would set."""

    key: Key
    line: int
    value: Any


def commented_blocks(path: str | Path) -> dict[Key, Commented]:
    """Every key of the YAML blocks that values.yaml holds in comments (`# livenessProbe:` and
    the lines under it), placed under the map the comment is indented in, with its line.

    Prose comments are skipped: a block starts at a `key:` line and must parse as a mapping."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    found: dict[Key, Commented] = {}
    parents: list[tuple[int, str]] = []  # (indent, key) of the live lines above
    run: list[tuple[int, str]] = []  # (line number, uncommented text) of a comment run
    run_indent = 0

    def flush() -> None:
        parent = tuple(k for indent, k in parents if indent < run_indent)
        for block in _blocks(run):
            try:
                value = yaml.safe_load("\n".join(text for _, text in block))
            except yaml.YAMLError:
                continue
            if isinstance(value, dict) and len(value) == 1:
                _record(found, parent, value, block)
        run.clear()

    for number, text in enumerate(lines, 1):
        stripped = text.lstrip()
        indent = len(text) - len(stripped)
        if stripped.startswith("#"):
            if run and indent != run_indent:  # a comment at another depth: another block
                flush()
            if not run:
                run_indent = indent
            body = stripped[1:]
            run.append((number, body[1:] if body.startswith(" ") else body))
            continue
        if run:
            flush()
        if stripped and not stripped.startswith("-") and ":" in stripped:
            while parents and parents[-1][0] >= indent:
                parents.pop()
            parents.append((indent, stripped.split(":", 1)[0].strip().strip("\"'")))
    if run:
        flush()
    return found


def _blocks(run: list[tuple[int, str]]) -> Iterator[list[tuple[int, str]]]:
    """The pieces of a comment run that start with a `key:` line at the run's own indentation,
    each up to the next such line (or a line that is not indented under it)."""
    start = None
    for i, (_, text) in enumerate(run):
        top = bool(_COMMENTED_KEY.match(text))
        if start is not None and (top or (text.strip() and not text.startswith((" ", "-")))):
            yield run[start:i]
            start = None
        if top:
            start = i
    if start is not None:
        yield run[start:]


def _record(found: dict[Key, Commented], parent: Key, value: dict,
            block: list[tuple[int, str]]) -> None:
    """Each key of the block with the line it is written on (list items are values, not keys)."""
    stack: list[tuple[int, str]] = []
    for number, text in block:
        stripped = text.lstrip()
        if not stripped or stripped.startswith("-") or ":" not in stripped:
            continue
        indent = len(text) - len(stripped)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, stripped.split(":", 1)[0].strip().strip("\"'")))
        key = (*parent, *(k for _, k in stack))
        sub = get_in(value, key[len(parent):])
        if sub is not MISSING and key not in found:
            found[key] = Commented(key, number, sub)


# --- writing ------------------------------------------------------------------------------------

def dump_values(values: dict[str, Any], comments: dict[Key, list[str]], leaves: set[Key],
                lines: dict[Key, int], width: int = 100) -> str:
    """A values file: `values` as block YAML, keys in the order of `lines` (their lines in the
    chart's values.yaml; new keys after, as they came), `comments` written above their keys, and
    the maps at `leaves` written whole (a map the templates read as one value)."""
    last = max(lines.values(), default=0) + 1

    def emit(node: dict[str, Any], path: Key, indent: int) -> list[str]:
        pad, out = " " * indent, []
        for k in sorted(node, key=lambda k: (lines.get((*path, k), last), list(node).index(k))):
            here = (*path, k)
            for text in comments.get(here, []):
                out += [f"{pad}# {line}" for line in textwrap.wrap(
                    text, width - indent - 2, break_on_hyphens=False)]
            if isinstance(node[k], dict) and node[k] and here not in leaves:
                out.append(f"{pad}{yaml.dump(k, Dumper=_Dumper).split(chr(10))[0]}:")
                out += emit(node[k], here, indent + 2)
            else:
                dumped = yaml.dump({k: node[k]}, Dumper=_Dumper, default_flow_style=False,
                                   sort_keys=False, allow_unicode=True, width=width)
                out += [pad + line for line in dumped.rstrip("\n").split("\n")]
        return out

    body = emit(values, (), 0)
    return ("\n".join(body) if body else "{}") + "\n"


class _Dumper(yaml.SafeDumper):
    """Every value written out where it is (no &anchors and *aliases)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True
