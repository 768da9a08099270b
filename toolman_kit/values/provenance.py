"""Where each failing setting comes from, by perturbation: change one values key to a probe
value, re-render, and see which fields move.

A key controls a field when, with the key probed and its object still rendered (a switch that
removes the object controls nothing of it),
  * the field's value changes (or the field appears or disappears), or
  * the probe's map lands on the field's path (`securityContext` rendered whole where
    `…securityContext.seccompProfile` is missing: the key can set it), or
  * another object changes and the checks, re-run, no longer fail the finding (a PDB that
    `podDisruptionBudget.enabled` creates fixes the Deployment's pdb-missing).
Objects are matched by (template, kind, n-th of that kind in it) and containers by their place
in the pod, so renaming keys (`nameOverride`, `fullnameOverride`) do not pass for controlling
every field, nor for fixing the findings of a container they rename. Fields that failing
findings and the checklist's container rows depend on, which no key moves, are hard-coded: the
template line that writes them is found by matching the rendered lines against the template
source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from toolman_kit.analysis import Analysis
from toolman_kit.chart.batch import Ident, Output, Renderer
from toolman_kit.chart.templates import Reads
from toolman_kit.chart.values import Budget, ChartFacts, ValueSet, units, unset_reads
from toolman_kit.chart.valuesfile import MISSING, Key, get_in, set_in, show
from toolman_kit.judge.findings import Findings, Row
from toolman_kit.judge.profiles import Profile
from toolman_kit.judge.registry import catalogue
from toolman_kit.read.manifests import Manifests, Resource, Source, place

MARK = "tk-probe"
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
# The checklist rows whose container fields are tracked even when nothing fails on them.
CONTAINER_ROWS = (("resources.requests", "Resource Requests"),
                  ("resources.limits", "Resource Limits"),
                  ("livenessProbe", "Health Probes"), ("readinessProbe", "Health Probes"),
                  ("securityContext.privileged", "Privileged Containers"),
                  ("image", "Image Tag"), ("imagePullPolicy", "Image Pull Policy"))


@dataclass(frozen=True)
class Field:
    """A field of a rendered object that something depends on ('' path: the whole object)."""

    ident: Ident
    path: str
    kind: str
    namespace: str
    name: str
    container: str
    check: str = ""  # for a whole-object field: the one check about it (pdb-missing …)


@dataclass
class Tracked:
    field: Field
    because: list[str]  # check ids (failing) and checklist rows that depend on the field
    failing: list[str]  # the check ids of the failing findings about it


@dataclass
class Provenance:
    """One set's answer: the keys that control each tracked field."""

    tracked: dict[Field, Tracked] = field(default_factory=dict)
    controls: dict[Field, list[Key]] = field(default_factory=dict)
    fixes: dict[tuple[Field, Key], Any] = field(default_factory=dict)  # the probe that fixed it
    explored: int = 0  # keys probed
    unexplored: list[str] = field(default_factory=list)  # "key: why" of probes that failed
    complete: bool = True  # every candidate key was probed
    unprobed: list[Key] = field(default_factory=list)  # keys the budget or a failed probe left
    reads: Reads | None = None  # the chart's template reads: what an unprobed key can reach

    def field_of(self, check_id: str, kind: str, namespace: str, name: str, container: str,
                 path: str) -> Field | None:
        """The tracked field a failing finding points at."""
        return next((f for f, t in self.tracked.items()
                     if (f.kind, f.namespace, f.name, f.container, f.path) == (
                         kind, namespace, name, container, path)
                     and f.check in ("", check_id) and check_id in t.failing), None)


def identify(resources: list[Resource]) -> dict[Resource, Ident]:
    """(template, kind, n) for each rendered object, as batch.Output keys them."""
    seen: dict[tuple[str, str], int] = {}
    out = {}
    for r in resources:
        template = r.source.template or ""
        n = seen[(template, r.kind)] = seen.get((template, r.kind), -1) + 1
        out[r] = (template, r.kind, n)
    return out


def track(a: Analysis) -> dict[Field, Tracked]:
    """The fields failing findings point at, and the checklist's container fields."""
    idents = identify(a.manifests.resources)
    by_name = {(r.kind, r.namespace, r.name): r for r in a.manifests.resources}
    tracked: dict[Field, Tracked] = {}

    def add(r: Resource, path: str, container: str, because: str, failing: bool) -> None:
        f = Field(idents[r], path, r.kind, r.namespace, r.name, container,
                  "" if path else because)
        t = tracked.setdefault(f, Tracked(f, [], []))
        if because not in t.because:
            t.because.append(because)
        if failing and because not in t.failing:
            t.failing.append(because)

    for row in map(Row._make, a.rows.failed()):
        r = by_name.get((row.kind, row.namespace, row.name))
        if r is not None:
            add(r, row.path, row.container, row.check_id, True)
    for w in a.index.workloads:
        for c in w.containers:
            for part, row_name in CONTAINER_ROWS:
                if value_at(c.raw, part) is not MISSING:
                    add(w.resource, f"{c.path}.{part}", c.name, row_name, False)
    return tracked


def value_at(obj: Any, path: str) -> Any:
    node = obj
    for key, index in _STEP.findall(path):
        try:
            node = node[int(index)] if index else node[key]
        except (KeyError, IndexError, TypeError, ValueError):
            return MISSING
    return node


def probe_value(value: Any, entered: bool = False) -> Any:
    """A value distinct from `value` that renders wherever it does: of its type (an int
    another int, a bool its negation), a list with its first element modified."""
    if value is MISSING:
        return {MARK: MARK} if entered else MARK
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 7
    if isinstance(value, float):
        return value + 0.5
    if isinstance(value, str):
        return f"{value}-{MARK}" if value else MARK
    if isinstance(value, list):  # a modified first element: the shape the template expects
        return [_modified(value[0]), *value[1:]] if value else [{MARK: MARK}]
    if isinstance(value, dict):
        return {MARK: MARK}
    return MARK


def _modified(item: Any) -> Any:
    """A copy of a list element with one leaf changed, each value keeping its type (a map's
    first scalar, else its first map or list, changed in turn)."""
    if isinstance(item, dict) and item:
        for k, v in item.items():
            if not isinstance(v, dict | list) or not v:
                return {**item, k: probe_value(v)}
        k = next(iter(item))
        return {**item, k: _modified(item[k]) if isinstance(item[k], dict)
                else probe_value(item[k])}
    return probe_value(item)


def candidates(facts: ChartFacts, merged: dict[str, Any]) -> list[tuple[Key, Any]]:
    """(key, probe value) for every key a rendering template reads: the chart's keys as the
    templates consume them, and the keys they read that nobody sets (a commented-out block is
    the probe: it is what a user would uncomment). Keys that only NOTES.txt reads, or none,
    change no object and are not probed. Any template can matter to a finding: a PDB from
    pdb.yaml fixes the Deployment's pdb-missing."""
    reachable = {r.key for r in facts.reads.reads if not r.file.endswith("NOTES.txt")}

    def reaches(key: Key) -> bool:
        n = len(key)
        return bool(facts.reads.dynamic) or any(r[:n] == key or key[:len(r)] == r
                                                for r in reachable)

    out = [(k, probe_value(get_in(merged, k))) for k in units(merged, facts.reads)]
    for unset in unset_reads(facts):
        if get_in(merged, unset.key) is MISSING:
            value = unset.commented.value if unset.commented else \
                probe_value(MISSING, any(r.entered for r in unset.reads))
            out.append((unset.key, value))
    return [(k, v) for k, v in out if reaches(k)]


def _relative(template: str) -> str:
    """`toolman/templates/x.yaml` (Helm's name) → `templates/x.yaml` (in the chart)."""
    return template.split("/", 1)[1] if "/" in template else template


def provenance(vs: ValueSet, facts: ChartFacts, merged: dict[str, Any], a: Analysis,
               base: Output, renderer: Renderer, budget: Budget) -> Provenance:
    """Which keys of the set's values control the fields its failing findings point at."""
    result = Provenance(tracked=track(a), reads=facts.reads)
    if not result.tracked:
        return result
    probes = candidates(facts, merged)
    todo = budget.take(probes, f"{vs.name}: provenance")
    result.complete = len(todo) == len(probes)
    result.unprobed = [k for k, _ in probes[len(todo):]]
    outputs = renderer.render_many([set_in(vs.overrides, k, v) for k, v in todo],
                                   f"{vs.name}: provenance")
    result.explored = len(todo)
    failing = {f: t for f, t in result.tracked.items() if t.failing}
    checks = {c for t in failing.values() for c in t.failing}
    near = related(a)
    slots = _slots(a, identify(a.manifests.resources))
    for (key, value), out in zip(todo, outputs, strict=True):
        if out.error is not None:  # what this key controls cannot be seen
            result.unexplored.append(f"{vs.name}: {show(key)}: its probe does not render "
                                     f"({out.error.message})")  # the value: maybe a secret
            result.complete = False
            result.unprobed.append(key)
            continue
        others = {i for i in set(base.objects) | set(out.objects)
                  if (old := base.objects.get(i)) is not (new := out.objects.get(i))
                  and old != new}  # unchanged documents share their parse: `is` says it
        moved = [f for f in result.tracked if f.ident in others and f.ident in out.objects
                 and _moves(f, base, out, value)]  # removing the object controls nothing
        for f in moved:
            result.controls.setdefault(f, []).append(key)
        appeared = {i for i in others if i not in base.objects or i not in out.objects}
        rest = [f for f in failing if f not in moved and f.ident in out.objects
                and ((appeared | others & near.get(f.ident, set())) - {f.ident})]
        if rest:
            still = _failing(out, a.profile, a.manifests.namespace, checks, a.manifests.crds)
            for f in rest:  # a container compared by its place: a rename is not a fix
                slot = slots.get((f.ident, f.container), f.container)
                if any((c, f.ident, slot) not in still for c in failing[f].failing):
                    result.controls.setdefault(f, []).append(key)
                    result.fixes[(f, key)] = value
    return result


def related(a: Analysis) -> dict[Ident, set[Ident]]:
    """The objects each object's checks can depend on: those that select its pods (PDB,
    Service, NetworkPolicy, HPA, monitor), the workloads it selects, the ServiceAccounts,
    ConfigMaps, Secrets and claims its pods name — and theirs in turn (a PDB's verdict depends
    on the HPA of the Deployment it selects). A probe that changes only unrelated objects
    cannot change its findings, so the checks are not re-run for it."""
    idents = identify(a.manifests.resources)
    by_name = {(r.kind, r.namespace, r.name): idents[r] for r in a.manifests.resources}
    near: dict[Ident, set[Ident]] = {}
    for selector, workloads in a.index.selected.items():
        for w in workloads:
            near.setdefault(idents[w.resource], set()).add(idents[selector])
            near.setdefault(idents[selector], set()).add(idents[w.resource])
    for w in a.index.workloads:
        named = set(_strings(w.pod))
        for kind in ("ServiceAccount", "ConfigMap", "Secret", "PersistentVolumeClaim"):
            near.setdefault(idents[w.resource], set()).update(
                i for name in named if (i := by_name.get((kind, w.namespace, name))))
    return {i: set().union(nearby, *(near.get(n, set()) for n in nearby))
            for i, nearby in near.items()}


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return [node] if isinstance(node, str) else []


def _moves(f: Field, base: Output, out: Output, probe: Any) -> bool:
    before, after = base.objects.get(f.ident, MISSING), out.objects.get(f.ident, MISSING)
    if not f.path:  # a whole object, there before and after: moved only through others
        return False
    if MISSING not in (before, after) and \
            value_at(before, "metadata.name") != value_at(after, "metadata.name"):
        return False  # a renaming key (nameOverride) moves names everywhere: not this field
    if value_at(before, f.path) != value_at(after, f.path):
        return True
    if isinstance(probe, dict) and MARK in probe:  # the probe's map written on the path
        return any(isinstance(node := value_at(after, _prefix(f.path, n)), dict) and MARK in node
                   for n in range(1, len(_STEP.findall(f.path)) + 1))
    return False


def _prefix(path: str, n: int) -> str:
    """The first n steps of a field path ("a.b[1].c", 2 → "a.b[1]" counts b and [1])."""
    steps = list(_STEP.finditer(path))
    return path[:steps[n - 1].end()] if n <= len(steps) else path


def _failing(out: Output, profile: Profile, namespace: str, checks: set[str],
             crds: list[Resource]) -> set[tuple[str, Ident, str]]:
    """(check id, object, container) of what fails in a probed render, for `checks` only: the
    render's parsed objects are checked as they are (no second parse), custom resources
    against the chart's crds/ as in the analysis probed (`crds`)."""
    manifests = Manifests(resources=[Resource(obj, Source("<probe>", n, 1, ident[0]))
                                     for n, (ident, obj) in enumerate(out.objects.items())],
                          crds=crds)
    place(manifests, namespace)
    idents = {(r.kind, r.namespace, r.name): ident
              for r, ident in zip(manifests.resources, out.objects, strict=True)}
    only = replace(profile, checks={**profile.checks, **{
        c: {"enabled": False} for c in catalogue() if c not in checks}})
    probed = Analysis.of(manifests, profile=only)
    slots = _slots(probed, {r: ident for r, ident in zip(manifests.resources, out.objects,
                                                         strict=True)})
    out_rows = []
    for row in map(Row._make, probed.rows.failed()):
        ident = idents.get((row.kind, row.namespace, row.name))
        out_rows.append((row.check_id, ident, slots.get((ident, row.container), row.container)))
    return set(out_rows)


def _slots(a: Analysis, idents: dict[Resource, Ident]) -> dict[tuple[Ident | None, str], str]:
    """(object, container name) → the container's path: containers are matched across renders
    by their place, as objects are, so a key that renames a container (nameOverride) does not
    pass for fixing the findings that named it."""
    return {(idents.get(w.resource), c.name): c.path for w in a.index.workloads
            for c in w.containers}


def with_values(a: Analysis, prov: Provenance) -> Analysis:
    """The analysis whose failing findings carry `values`: the keys that control their field
    (the findings' `values` column)."""
    def keys(r: Row) -> str:
        return ", ".join(show(k) for k in prov.controls.get(prov.field_of(
            r.check_id, r.kind, r.namespace, r.name, r.container, r.path), []))

    return replace(a, rows=Findings(r._replace(values=keys(r)) if r.status == "fail" else r
                                    for r in map(Row._make, a.rows)))


# --- hard-coded fields -------------------------------------------------------------------------

@dataclass(frozen=True)
class Hardcoded:
    field: Field
    because: tuple[str, ...]
    value: str  # the rendered value, compact
    template: str  # chart-relative, e.g. templates/deployment.yaml
    line: int | None


def hardcoded(prov: Provenance, a: Analysis, base: Output, chart: Path) -> list[Hardcoded]:
    """Tracked fields no probed key moved, with the template line that writes them; when some
    keys could not be probed, only the fields of templates none of those keys can reach (no
    action of the template, or of what it includes, reads them)."""
    resources = {i: r for r, i in identify(a.manifests.resources).items()}
    lines = base.text.splitlines()
    out = []
    for f, t in prov.tracked.items():
        if prov.controls.get(f) or not f.path:
            continue
        resource = resources.get(f.ident)
        if resource is None or not _out_of_reach(prov, f.ident[0]):
            continue
        value = value_at(resource.obj, f.path)
        template = _relative(f.ident[0])
        line = _template_line(chart / template, lines, resource.line_of(f.path),
                              _item_name(resource.obj, f.path), f.kind)
        out.append(Hardcoded(f, tuple(t.because), _compact(value), template, line))
    return out


def _out_of_reach(prov: Provenance, template: str) -> bool:
    """Whether no unprobed key can change what `template` (Helm's name) writes."""
    if not prov.unprobed:
        return True
    relative = _relative(template)
    reaching = prov.reads.reaching(relative) if prov.reads and \
        relative.startswith("templates/") else None  # a subchart's: its reads are not known
    return reaching is not None and not any(
        r[:len(k)] == k or k[:len(r)] == r for r in reaching for k in prov.unprobed)


def _item_name(obj: Any, path: str) -> str:
    """The `name` of the innermost named list item on the path (a container, a volume …)."""
    for match in reversed(list(re.finditer(r"\[\d+\]", path))):
        item = value_at(obj, path[:match.end()])
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            return item["name"]
    return ""


def _compact(value: Any) -> str:
    if value is MISSING:
        return "not set"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_compact(v)}" for k, v in value.items()) or "{}"
    if isinstance(value, list):
        return "[" + ", ".join(_compact(v) for v in value) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _template_line(template: Path, rendered: list[str], line: int | None, item: str,
                   kind: str) -> int | None:
    """The line of `template` that writes the rendered block starting at `line` (1-based): the
    block's lines, stripped, matched as a run in the template source, the first after the line
    naming its list item (`- name: docker-daemon`) when there are several. A block with values
    in it matches nowhere: then the line that names the item, else the object's `kind:` line."""
    try:
        source = template.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    stripped = [s.strip() for s in source]
    fallback = next((i + 1 for i, s in enumerate(stripped)
                     if item and s.removeprefix("- ") == f"name: {item}"), None) or \
        next((i + 1 for i, s in enumerate(stripped) if s == f"kind: {kind}"), None)
    if line is None or not 0 < line <= len(rendered):
        return fallback
    first = rendered[line - 1]
    indent = len(first) - len(first.lstrip())
    block = [first.strip()]
    for text in rendered[line:]:
        if text.strip() and len(text) - len(text.lstrip()) <= indent:
            break
        block.append(text.strip())
    starts = [i for i in range(len(stripped) - len(block) + 1)
              if stripped[i:i + len(block)] == block]
    if not starts:
        return fallback
    names = [i for i, s in enumerate(stripped) if item and s.endswith(f"name: {item}")]
    after = [s for s in starts if any(n <= s for n in names)]
    best = min(after, key=lambda s: s - max(n for n in names if n <= s)) if after else starts[0]
    return best + 1
