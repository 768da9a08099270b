"""Value sets and what they really do: values that do nothing, keys nobody reads, schema errors,
and what the templates read that the chart's defaults leave unset.

Every "does nothing" is backed by a render: the key is reverted to its chart default while every
other override of its set is kept (in context: `podDisruptionBudget.minAvailable` alone changes
nothing, together with `enabled: true` everything), and the rendered objects are compared as
data. The reason is then read from the templates (chart/templates.py).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from toolman_kit.chart.batch import Output, Renderer
from toolman_kit.chart.merging import merge_values
from toolman_kit.chart.redact import redact_set, schema_rule
from toolman_kit.chart.render import load_chart_sdk, parse_set
from toolman_kit.chart.templates import Read, Reads, scan_chart
from toolman_kit.chart.valuesfile import (
    MISSING,
    Commented,
    Key,
    ValuesFile,
    commented_blocks,
    get_in,
    paths,
    read_values_file,
    show,
    truthy,
    without,
)
from toolman_kit.errors import RenderError

DEFAULTS = "defaults"
Named = tuple[str, Sequence[str]] | tuple[str, Sequence[str], Sequence[str]]  # name, files[, sets]


@dataclass
class Source:
    """One values file of a set, or one shared `--set` expression."""

    name: str  # the path as given, or "--set KEY=<redacted>"
    data: dict[str, Any]
    lines: dict[Key, int] = field(default_factory=dict)

    def line(self, key: Key) -> int | None:
        for n in range(len(key), 0, -1):
            if key[:n] in self.lines:
                return self.lines[key[:n]]
        return None


@dataclass
class ValueSet:
    name: str
    files: list[str]  # its own files, then the shared -f files
    sources: list[Source] = field(default_factory=list)  # files, then --set expressions
    overrides: dict[str, Any] = field(default_factory=dict)  # all of them merged, in order
    error: RenderError | None = None  # a file of the set that cannot be read


def build_sets(named: Sequence[Named], shared_files: Sequence[str] = (),
               set_values: Sequence[str] = (),
               reference: Named = (DEFAULTS, ())) -> list[ValueSet]:
    """The reference first (by default the chart's own defaults, named `defaults`), then each
    named set: (name, files) or (name, files, its own --set expressions). The shared -f files and
    --set expressions apply to every set: its files, the shared files, its expressions, the
    shared ones. A file may be a path or a ValuesFile already read. A shared file that cannot
    be read is an error for the whole comparison; a set's own, an error of that set."""
    shared = [_source(f) for f in shared_files]
    expressions = [_expression(e) for e in set_values]
    out = []
    for name, files, *own in [reference, *named]:
        vs = ValueSet(name, [*map(_file_name, files), *map(_file_name, shared_files)])
        try:
            vs.sources = [*(_source(f) for f in files), *shared,
                          *(_expression(e) for e in (own[0] if own else ())), *expressions]
        except RenderError as e:
            vs.error = e
        for s in vs.sources:
            vs.overrides = merge_values(vs.overrides, s.data)
        out.append(vs)
    return out


def _expression(expr: str) -> Source:
    return Source(f"--set {redact_set(expr)}", parse_set(expr))


def _source(file: str | Path | ValuesFile) -> Source:
    f = file if isinstance(file, ValuesFile) else read_values_file(file)
    return Source(_file_name(file), f.data, f.lines)


def _file_name(file: str | Path | ValuesFile) -> str:
    return file.path if isinstance(file, ValuesFile) else str(file)


# --- the chart ---------------------------------------------------------------------------------

@dataclass
class ChartFacts:
    """What the values analysis needs to know about a chart, read once."""

    path: Path
    name: str
    version: str
    defaults: dict[str, Any]  # values.yaml as Helm reads it
    values_file: ValuesFile  # values.yaml with its lines
    reads: Reads
    commented: dict[Key, Commented]
    schema: dict[str, Any] | None
    subcharts: set[str]  # dependency names and aliases: their keys are theirs
    app_version: str = ""  # Chart.yaml appVersion

    def known(self, key: Key) -> bool:
        return (get_in(self.defaults, key) is not MISSING or self.reads.known(key)
                or key[0] in self.subcharts or key[0] == "global" or self.documented(key))

    def documented(self, key: Key) -> bool:
        """In a block values.yaml holds commented out (`# maxUnavailable: 1` under
        `podDisruptionBudget:`), or inside an empty map such a block documents (`# labels: {}`)."""
        return any(c[:len(key)] == key or (key[:len(c)] == c and b.value == {})
                   for c, b in self.commented.items())

    def values_path(self) -> str:
        return str(self.path / "values.yaml")


def chart_facts(chart: str | Path) -> ChartFacts:
    root = Path(chart)
    if not (root / "Chart.yaml").is_file():
        raise RenderError("not a Helm chart directory (no Chart.yaml)", file=str(chart))
    with load_chart_sdk(root) as loaded:
        meta, defaults, schema = loaded.metadata, loaded.values, loaded.schema
    values_yaml = root / "values.yaml"
    values_file = read_values_file(values_yaml) if values_yaml.is_file() else \
        ValuesFile(str(values_yaml), {})
    subcharts = {str(d.get(k)) for d in meta.get("dependencies") or () for k in ("name", "alias")
                 if d.get(k)}
    return ChartFacts(root, str(meta.get("name", root.name)), str(meta.get("version", "")),
                      defaults, values_file, scan_chart(root), commented_blocks(values_yaml),
                      schema, subcharts, str(meta.get("appVersion") or ""))


def units(data: dict[str, Any], reads: Reads, prefix: Key = ()) -> list[Key]:
    """The keys of a values tree as the templates consume them: a map is entered only while
    some template reads a key inside it (`toYaml .Values.affinity` makes `affinity` one key; a
    map no template reads is one key too); lists are always one key. When the templates use
    `.Values` in ways that cannot be seen, every map is entered."""
    out = []
    for k, v in data.items():
        key = (*prefix, str(k))
        if isinstance(v, dict) and v and (reads.dynamic or reads.below(key)):
            out += units(v, reads, key)
        else:
            out.append(key)
    return out


# --- values that do nothing --------------------------------------------------------------------

IneffectiveReason = Literal["not-read", "condition-off", "equal-to-default", "overridden",
                           "no-effect"]


@dataclass(frozen=True)
class Ineffective:
    key: Key
    file: str
    line: int | None
    reason: IneffectiveReason
    detail: str  # the reason in words
    condition: str = ""  # condition-off: the key whose value switches the reads off
    by: str = ""  # overridden: the later file (or --set) whose value wins
    subkeys: tuple[str, ...] = ()  # a map's own keys (names only: values may be secrets)


def ineffective_values(vs: ValueSet, facts: ChartFacts, renderer: Renderer, base: Output,
                       budget: Budget, merged: dict[str, Any]) -> list[Ineffective]:
    """Every key the set's files set that changes nothing in the rendered objects (`merged`:
    the chart defaults coalesced with the set, as the templates see them)."""
    found: list[Ineffective] = []
    candidates: list[tuple[Key, Source]] = []
    for unit in units(vs.overrides, facts.reads):
        writers = [s for s in vs.sources if get_in(s.data, unit) is not MISSING]
        if not writers:
            continue
        last = writers[-1]
        for earlier in writers[:-1]:
            if _overridden(earlier, unit, vs):
                found.append(Ineffective(unit, earlier.name, earlier.line(unit), "overridden",
                                         f"overridden by {_where(last, unit)}", by=last.name))
        if _same(get_in(vs.overrides, unit), get_in(facts.defaults, unit)):
            found.append(Ineffective(unit, last.name, last.line(unit), "equal-to-default",
                                     "equal to the chart default"))
        else:
            candidates.append((unit, last))
    candidates = budget.take(candidates, f"{vs.name}: leave-one-out")
    reverted = renderer.render_many([without(vs.overrides, unit) for unit, _ in candidates],
                                    f"{vs.name}: leave-one-out")
    for (unit, source), out in zip(candidates, reverted, strict=True):
        if out.error is None and out.objects == base.objects:
            reason, detail, condition = _why(unit, merged, facts)
            value = get_in(vs.overrides, unit)
            found.append(Ineffective(unit, source.name, source.line(unit), reason, detail,
                                     condition=condition, subkeys=tuple(
                                         map(str, value)) if isinstance(value, dict) else ()))
    return sorted(found, key=lambda i: (i.file, i.line or 0, i.key))


def _overridden(source: Source, unit: Key, vs: ValueSet) -> bool:
    """Whether nothing `source` sets at or under `unit` survives the later sources."""
    mine = get_in(source.data, unit)
    leaves = [p for p in paths(mine) if not isinstance(get_in(mine, p), dict)] \
        if isinstance(mine, dict) and mine else [()]
    return all(not _same(get_in(mine, p), get_in(vs.overrides, (*unit, *p))) for p in leaves)


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def _where(source: Source, key: Key) -> str:
    line = source.line(key)
    return f"{source.name}:{line}" if line else source.name


def _why(unit: Key, merged: dict[str, Any], facts: ChartFacts) -> tuple[str, str, str]:
    """(reason, words, condition key) for a key whose revert rendered the same objects."""
    reads = facts.reads.of(unit)
    if unit[0] in facts.subcharts:
        return "no-effect", f"its revert renders the same objects (subchart {unit[0]})", ""
    if not reads and not facts.reads.dynamic:
        return "not-read", "no template reads it", ""
    off = [_switched_off_by(r, merged) for r in reads]
    if reads and all(off):
        conditions = list(dict.fromkeys(c for c in off if c))
        shown = ", ".join(f"`{c}`" for c in conditions)
        return ("condition-off", f"read only under {shown}, which is off in this set",
                conditions[0].removeprefix("not "))
    return "no-effect", "read by templates, but its revert renders the same objects", ""


def _switched_off_by(read: Read, merged: dict[str, Any]) -> str:
    """The first condition of `read` that the merged values switch off ("" if none)."""
    for key, positive in read.conditions:
        if truthy(get_in(merged, key)) != positive:
            return show(key) if positive else f"not {show(key)}"
    return ""


def sdk_merged(facts: ChartFacts, vs: ValueSet) -> dict[str, Any]:
    """The chart defaults coalesced with the set's overrides, as Helm does at render."""
    with load_chart_sdk(facts.path) as loaded:
        return loaded.merge_values(vs.overrides)


# --- keys nobody reads, schema errors -----------------------------------------------------------

@dataclass(frozen=True)
class Unknown:
    key: Key
    file: str
    line: int | None
    closest: Key | None


def unknown_keys(vs: ValueSet, facts: ChartFacts) -> list[Unknown]:
    """Keys the set's files define that neither values.yaml nor any template knows (typos), at
    the first unknown part of their path, with the closest known key beside it."""
    found: dict[tuple[str, Key], Unknown] = {}
    for source in vs.sources:
        for key in paths(source.data):
            if facts.known(key):
                continue
            first = next(key[:n] for n in range(1, len(key) + 1) if not facts.known(key[:n]))
            if (source.name, first) not in found:
                found[(source.name, first)] = Unknown(first, source.name, source.line(first),
                                                      _closest(first, facts))
    return list(found.values())


def _closest(key: Key, facts: ChartFacts) -> Key | None:
    parent = key[:-1]
    siblings = {p[-1] for p in paths(facts.defaults) if p[:-1] == parent}
    siblings |= {r.key[len(parent)] for r in facts.reads.reads
                 if len(r.key) > len(parent) and r.key[:len(parent)] == parent}
    by_case = {s.lower(): s for s in siblings}
    if key[-1].lower() in by_case:
        return (*parent, by_case[key[-1].lower()])
    match = difflib.get_close_matches(key[-1], sorted(siblings), n=1, cutoff=0.75)
    return (*parent, match[0]) if match else None


@dataclass(frozen=True)
class SchemaError:
    key: Key
    message: str
    file: str
    line: int | None


def schema_errors(vs: ValueSet, facts: ChartFacts, merged: dict[str, Any]) -> list[SchemaError]:
    """The set's merged values against the chart's values.schema.json (what helm enforces)."""
    if not facts.schema:
        return []
    import jsonschema  # heavy: only for charts that ship a schema
    from referencing.exceptions import Unresolvable

    cls = jsonschema.validators.validator_for(facts.schema, jsonschema.Draft7Validator)
    try:
        errors = sorted(cls(facts.schema).iter_errors(merged), key=lambda e: list(e.absolute_path))
    except RecursionError:  # `"$ref": "#"` and the like (Helm: "causing reference cycle")
        return [SchemaError((), "values.schema.json cannot be applied: its $refs form a cycle",
                            str(facts.path / "values.schema.json"), None)]
    except Unresolvable as e:  # only `#…` refs get here (chart/untrusted.py)
        return [SchemaError((), f"values.schema.json cannot be applied: {e}",
                            str(facts.path / "values.schema.json"), None)]
    found = []
    for e in errors:
        key = tuple(str(p) for p in e.absolute_path)
        if e.validator == "required" and isinstance(e.instance, dict):
            missing = [r for r in e.validator_value if r not in e.instance]
            key = (*key, *missing[:1])
        where = next((s for s in reversed(vs.sources) if get_in(s.data, key) is not MISSING),
                     None)
        file, line = (where.name, where.line(key)) if where else (
            facts.values_path(), facts.values_file.line(key))
        found.append(SchemaError(key, schema_rule(e), file, line))  # e.message quotes the value
    return found


# --- what the defaults leave unset --------------------------------------------------------------

@dataclass(frozen=True)
class UnsetRead:
    key: Key
    reads: tuple[Read, ...]
    commented: Commented | None
    values_file: str

    @property
    def guarded(self) -> bool:
        """Every read handles the key being unset (default, hasKey, or under `if`/`with` it)."""
        return all(r.guarded or any(positive and r.key[:len(k)] == k
                                    for k, positive in r.conditions) for r in self.reads)


def unset_reads(facts: ChartFacts) -> list[UnsetRead]:
    """Keys the templates read that values.yaml does not define (the shallowest of each), with
    the commented-out block that holds them, if any."""
    by_key: dict[Key, list[Read]] = {}
    for r in facts.reads.reads:
        if r.key[0] in facts.subcharts or r.key[0] == "global":
            continue
        first = next((r.key[:n] for n in range(1, len(r.key) + 1)
                      if get_in(facts.defaults, r.key[:n]) is MISSING), None)
        if first is None or _inside_value(facts.defaults, first):
            continue
        by_key.setdefault(first, []).append(r)
    return [UnsetRead(k, tuple(v), facts.commented.get(k), facts.values_path())
            for k, v in sorted(by_key.items(), key=lambda kv: (kv[1][0].file, kv[1][0].line))]


def _inside_value(defaults: dict[str, Any], key: Key) -> bool:
    """A key below a default that is not a map (a string, a list …): not a values key."""
    parent = get_in(defaults, key[:-1]) if len(key) > 1 else defaults
    return parent is not MISSING and not isinstance(parent, dict)


# --- the render budget --------------------------------------------------------------------------

DEFAULT_MAX_RENDERS = 1000  # a values comparison's or a suggestion's, unless told otherwise


@dataclass
class Budget:
    """At most `limit` exploratory renders; what did not fit is said, not silently dropped."""

    limit: int
    used: int = 0
    skipped: list[str] = field(default_factory=list)  # "production: provenance of 12 keys"

    def take(self, items: list, what: str) -> list:
        room = max(0, self.limit - self.used)
        if len(items) > room:
            self.skipped.append(f"{what}: {len(items) - room} of {len(items)} keys not "
                                "explored (--max-renders)")
        self.used += min(room, len(items))
        return items[:room]
