"""Value sets side by side: what each set changes against the chart defaults, which of its
values do nothing, which keys nobody reads, and where each failing setting comes from.

`compare_values(chart, [("production", ["values-prod.yaml"])])` → ValuesComparison, data only;
`.document()` is the JSON the CLI prints (present/comparison_doc.py, schema:
toolman_kit/schemas/comparison.schema.json).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from toolman_kit.analysis import Analysis, with_kube_version
from toolman_kit.chart.batch import Output, Renderer
from toolman_kit.chart.lint import LintMessage
from toolman_kit.chart.render import helm_template_command
from toolman_kit.chart.sources import shown
from toolman_kit.chart.values import (
    DEFAULT_MAX_RENDERS,
    DEFAULTS,
    Budget,
    ChartFacts,
    Ineffective,
    Named,
    SchemaError,
    Unknown,
    UnsetRead,
    ValueSet,
    build_sets,
    chart_facts,
    ineffective_values,
    schema_errors,
    sdk_merged,
    unknown_keys,
    unset_reads,
)
from toolman_kit.chart.valuesfile import MISSING
from toolman_kit.comparison import Comparison
from toolman_kit.judge.apis import helm_kube_version
from toolman_kit.judge.profiles import load_profile
from toolman_kit.read.manifests import Resource, Text, load
from toolman_kit.values.provenance import Hardcoded, Provenance, hardcoded, provenance, with_values

# The fields of a finding a set fixes or introduces.
FINDING_FIELDS = ["check_id", "severity", "kind", "namespace", "name", "container", "path"]


@dataclass
class SetResult:
    name: str
    files: list[str]
    analysis: Analysis | None = None
    text: str = ""  # what `helm template` prints for this set
    lint: list[LintMessage] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)  # {file, line, message}
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    fixed: list[dict[str, Any]] = field(default_factory=list)
    introduced: list[dict[str, Any]] = field(default_factory=list)
    ineffective: list[Ineffective] = field(default_factory=list)
    unknown: list[Unknown] = field(default_factory=list)
    schema: list[SchemaError] = field(default_factory=list)
    provenance: Provenance | None = None


@dataclass
class ValuesComparison:
    facts: ChartFacts
    profile: str
    kube_version: str
    release: str
    namespace: str
    sets: list[SetResult]
    unset: list[UnsetRead]
    hardcoded: list[Hardcoded]
    renders: int = 0
    max_renders: int = DEFAULT_MAX_RENDERS
    not_explored: list[str] = field(default_factory=list)
    seconds: float = 0.0
    warnings: list[dict[str, Any]] = field(default_factory=list)  # {file, message}, each once
    api_versions: list[str] = field(default_factory=list)  # served besides built-ins and CRDs

    def set(self, name: str) -> SetResult:
        return next(s for s in self.sets if s.name == name)

    @property
    def errors(self) -> list[str]:
        """One line per error of any set: `set: file:line: message`."""
        return [f"{s.name}: " + ":".join(str(p) for p in (e["file"], e["line"]) if p)
                + (": " if e["file"] else "") + e["message"] for s in self.sets for e in s.errors]

    def document(self) -> dict[str, Any]:
        """comparison.json (schemas/comparison.schema.json): present/comparison_doc.py."""
        from toolman_kit.present.comparison_doc import document  # a view: see test_layers

        return document(self)


def _plain(value: Any) -> Any:
    """A frame's missing value (<NA>, None) as JSON's empty string."""
    return "" if value is None or type(value).__name__ in ("NAType", "float") and str(
        value) in ("<NA>", "nan") else value


def compare_values(chart: str | os.PathLike[str], sets: Sequence[Named] = (),
                   shared_files: Sequence[str] = (), set_values: Sequence[str] = (),
                   release: str = "release-name", namespace: str | None = None,
                   profile: Any = "production", kube_version: str | None = None,
                   max_renders: int = DEFAULT_MAX_RENDERS, jobs: int | None = None,
                   progress: TextIO | None = None,
                   reference: Named = (DEFAULTS, ()),
                   api_versions: Sequence[str] = ()) -> ValuesComparison:
    """The chart's defaults (named `defaults`) and each named set, side by side: what each
    changes, which of its values do nothing, unknown keys, schema errors, what the templates
    read that the defaults leave unset, and which values keys control each failing field.

    Args:
        chart: the Helm chart directory.
        sets: (name, values files) or (name, values files, its own --set expressions) each;
            a name given again is a new set (join its files in one entry).
        shared_files: values files applied to every set (the defaults too), after its own.
        set_values: `--set` expressions applied to every set, last.
        release: the release name.
        namespace: the release namespace (default: "default").
        profile: a built-in profile name, a profile YAML path, or a `Profile`.
        kube_version: the Kubernetes version rendered for and checked against.
        max_renders: bound on exploratory renders; what it leaves out is listed.
        jobs: render processes (None: the CPU count).
        progress: a stream for progress.
        api_versions: served besides the built-ins and the chart's CRDs (`--api-versions`).
        reference: replaces the chart defaults as the first set, which every other is
            compared with.

    Returns:
        A `ValuesComparison`; `.document()` is the JSON of `toolman-kit compare --format json`
        (schemas/comparison.schema.json).

    Example:
        >>> c = tk.compare_values("examples/toolman/chart", [
        ...     ("production", ["examples/toolman/chart/values-production.yaml"])],
        ...     release="toolman", namespace="toolman")
        >>> [(i.key, i.reason) for i in c.set("production").ineffective][-1]
        (('dind',), 'not-read')
    """
    started = time.perf_counter()
    namespace = namespace or "default"
    prof = load_profile(profile)
    prof = with_kube_version(prof, kube_version)
    facts = chart_facts(chart)
    value_sets = build_sets(sets, shared_files, set_values, reference)
    budget = Budget(max_renders)
    results: list[SetResult] = []
    with Renderer(facts.path, release, namespace, helm_kube_version(prof.kube_version),
                  jobs=jobs, progress=progress, api_versions=prof.served(api_versions)) as renderer:
        bases: list[Output | None] = []
        merged: list[dict[str, Any]] = []
        for vs in value_sets:
            result, base = _render_set(vs, facts, renderer, prof, release, namespace)
            results.append(result)
            bases.append(base)
            merged.append(sdk_merged(facts, vs) if vs.error is None else {})
            if vs.error is None:  # values facts need no render: they may say why it failed
                result.unknown = unknown_keys(vs, facts)
                result.schema = schema_errors(vs, facts, merged[-1])
        for vs, result, base, m in zip(value_sets, results, bases, merged, strict=True):
            if base is not None:
                result.ineffective = ineffective_values(vs, facts, renderer, base, budget, m)
        found: list[Hardcoded] = []
        for vs, result, base, m in zip(value_sets, results, bases, merged, strict=True):
            if base is not None and result.analysis is not None:
                result.provenance = provenance(vs, facts, m, result.analysis, base, renderer,
                                               budget)
                result.analysis = with_values(result.analysis, result.provenance)
                found += hardcoded(result.provenance, result.analysis, base, facts.path)
                budget.skipped += result.provenance.unexplored
        renders, warnings = renderer.renders, render_warnings(facts.path, renderer)
    _against_defaults(results)
    return ValuesComparison(facts, prof.name, prof.kube_version, release, namespace, results,
                      unset_reads(facts), _hard_everywhere(found, results), renders, max_renders,
                      budget.skipped, time.perf_counter() - started, warnings,
                      prof.served(api_versions))


def render_warnings(chart: Path, renderer: Renderer) -> list[dict[str, Any]]:
    """What the renders warned of (each once, however many renders said it), on Chart.yaml."""
    return [{"file": shown(chart / "Chart.yaml"), "message": w} for w in renderer.warnings]


def _render_set(vs: ValueSet, facts: ChartFacts, renderer: Renderer, prof: Any, release: str,
                namespace: str) -> tuple[SetResult, Output | None]:
    result = SetResult(vs.name, vs.files)
    if vs.error is not None:
        result.errors.append(_error(vs.error.file, vs.error.line, vs.error.message))
        return result, None
    out = renderer.render(vs.overrides)
    if out.error is not None:
        result.errors.append(_error(out.error.file, out.error.line, out.error.message))
        return result, None
    result.lint = list(renderer.lint(vs.overrides, out.text))
    result.errors += [_error(str(facts.path / m.path) if m.path else None, None,
                             f"helm lint: {m.message}") for m in result.lint
                      if m.severity == "error"]
    manifests = load(Text(f"<rendered {shown(facts.path)} ({vs.name})>", out.text),
                     namespace=namespace)
    manifests.inputs = [helm_template_command(release, facts.path, namespace, vs.files)]
    manifests.crds = list(renderer.crds)
    result.text = out.text
    result.analysis = Analysis.of(manifests, profile=prof, values_set=vs.name)
    result.errors += [_error(e.file, e.line, e.message) for e in manifests.errors]
    return result, out


def _error(file: str | None, line: int | None, message: str) -> dict[str, Any]:
    return {"file": file, "line": line, "message": message}


# --- against the defaults ----------------------------------------------------------------------

def _key(r: Resource) -> tuple[str, str, str, str]:
    """(apiVersion group, kind, namespace, name): how objects are matched between sets."""
    group = r.api_version.split("/")[0] if "/" in r.api_version else ""
    return (group, r.kind, r.namespace, r.name)


def _object(r: Resource) -> dict[str, Any]:
    return {"api_version": r.api_version, "kind": r.kind, "namespace": r.namespace,
            "name": r.name}


def _against_defaults(results: list[SetResult]) -> None:
    defaults = results[0]
    if defaults.analysis is None:
        return
    before = {_key(r): r for r in defaults.analysis.manifests.resources}
    for result in results[1:]:
        if result.analysis is None:
            continue
        after = {_key(r): r for r in result.analysis.manifests.resources}
        result.added = [_object(after[k]) for k in after if k not in before]
        result.removed = [_object(before[k]) for k in before if k not in after]
        result.changed = [{**_object(after[k]), "paths": paths}
                          for k in after if k in before
                          if (paths := diff_paths(before[k].obj, after[k].obj))]
        changes = Comparison(defaults.analysis, result.analysis,
                             (defaults.name, result.name)).findings
        for change, into in (("fixed", result.fixed), ("introduced", result.introduced)):
            rows = changes[changes["change"] == change]
            into += [{**{k: _plain(getattr(r, k)) for k in FINDING_FIELDS},
                      "message": _plain(r.message_baseline if change == "fixed"
                                        else r.message_candidate)}
                     for r in rows.itertuples(index=False)]


def diff_paths(a: Any, b: Any, path: str = "") -> list[str]:
    """The field paths where two parsed objects differ (a whole added/removed subtree is one)."""
    if a == b:
        return []
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in [*a, *(k for k in b if k not in a)]:
            out += diff_paths(a.get(k, MISSING), b.get(k, MISSING), f"{path}.{k}" if path else k)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [p for i, (x, y) in enumerate(zip(a, b, strict=True))
                for p in diff_paths(x, y, f"{path}[{i}]")]
    return [path]


def _hard_everywhere(found: list[Hardcoded], results: list[SetResult]) -> list[Hardcoded]:
    """Fields hard-coded in a set and moved by no key in any other: one entry each."""
    controlled = {(f.ident, f.path, f.container) for r in results if r.provenance
                  for f, keys in r.provenance.controls.items() if keys}
    out: dict[tuple, Hardcoded] = {}
    for h in found:
        key = (h.field.ident, h.field.path, h.field.container)
        if key not in controlled and key not in out:
            out[key] = h
        elif key in out:
            merged = tuple(dict.fromkeys((*out[key].because, *h.because)))
            out[key] = Hardcoded(h.field, merged, h.value, h.template, h.line)
    return sorted(out.values(), key=lambda h: (h.value == "not set", h.template, h.line or 0))


def compare_sets(chart: str | os.PathLike[str], sets: Sequence[Mapping[str, Any]],
                 **options: Any) -> ValuesComparison:
    """`compare_values` for a report's sets (`{"name", "values": files, "set": expressions}`;
    sets of rendered manifests are left out): the first is the reference the others are
    compared with, as on every page of the report (without one, the chart defaults)."""
    charted = [(str(s["name"]), list(s["values"]), list(s.get("set", ()))) for s in sets
               if "values" in s]
    if not charted:
        return compare_values(chart, **options)
    return compare_values(chart, charted[1:], reference=charted[0], **options)
