"""`toolman-kit compare`: a chart's value sets side by side, as a table, Markdown or JSON.

Exit status: 0 every set rendered and was compared; 2 usage or input error, or a set that does
not render (the other sets are still compared and printed).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

import pandas as pd

from toolman_kit.judge.checklist import SYMBOL

TRUNCATE = 8  # changed field paths shown per object in the table and Markdown


def add_compare_command(subparsers: Any, add_kube_version_option: Callable) -> None:
    p = subparsers.add_parser(
        "compare", help="compare a chart's value sets: what each changes, what does nothing",
        description="Render a chart with its defaults and with each named value set, and "
                    "compare them: the checklist side by side; objects added, removed and "
                    "changed; findings fixed and introduced; values that do nothing (in "
                    "context); keys nobody reads; values.schema.json errors; what the "
                    "templates read that the defaults leave unset; which values keys control "
                    "each failing field, and which failing fields no value can change.")
    p.add_argument("--chart", metavar="DIR", required=True, help="the Helm chart directory")
    p.add_argument("--values", action="append", default=[], metavar="NAME=FILE",
                   help="a named value set (repeat NAME to give a set several files, later "
                        "wins); the chart's defaults are always the first set, `defaults`")
    p.add_argument("-f", dest="shared", action="append", default=[], metavar="FILE",
                   help="a values file applied to every set, after its own files")
    p.add_argument("--set", action="append", default=[], metavar="K=V", dest="set_values",
                   help="a value applied to every set, last (helm --set syntax)")
    p.add_argument("--release", default="release-name", help="release name")
    p.add_argument("-n", "--namespace", help="release namespace (default: default)")
    p.add_argument("--profile", default="production",
                   help="built-in profile name or profile YAML file (default: production)")
    add_kube_version_option(p)
    p.add_argument("--format", choices=sorted(FORMATS), default="table")
    p.add_argument("-o", "--output", help="write to this file (atomically) instead of stdout")
    p.add_argument("--max-renders", type=int, default=None, metavar="N",
                   help="bound on exploratory renders (leave-one-out and provenance; "
                        "default 1000); what is not explored is listed")
    p.add_argument("-j", "--jobs", type=int, metavar="N",
                   help="render processes (default: the CPU count)")
    p.set_defaults(run=_compare)


def _compare(args: argparse.Namespace) -> int:
    from toolman_kit.atomic import write_atomic
    from toolman_kit.chart.compare import DEFAULT_MAX_RENDERS, compare_values
    from toolman_kit.chart.values import parse_named

    comparison = compare_values(
        args.chart, parse_named(args.values), args.shared, args.set_values,
        release=args.release, namespace=args.namespace, profile=args.profile,
        kube_version=args.kube_version,
        max_renders=DEFAULT_MAX_RENDERS if args.max_renders is None else args.max_renders,
        jobs=args.jobs, progress=sys.stderr)
    output = FORMATS[args.format](comparison)
    if args.output:
        write_atomic(args.output, output)
    else:
        sys.stdout.write(output)
    for error in comparison.errors:
        print(f"toolman-kit: error: {error}", file=sys.stderr)
    return 2 if comparison.errors else 0


def to_json(c: Any) -> str:
    return json.dumps(c.document(), indent=2, ensure_ascii=False) + "\n"


# --- the checklist matrix -----------------------------------------------------------------------

def checklist_matrix(c: Any) -> pd.DataFrame:
    """One row per (workload, checklist row), one column per set: "✅ 3", "❌ 1", or "—" where
    the set has no such workload (or did not render)."""
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for s in c.sets:
        for r in s.checklist.itertuples(index=False):
            cell = f"{SYMBOL.get(r.status, r.status)} {r.current_state}".strip()
            rows.setdefault((r.workload, r.component), {})[s.name] = cell
    names = [s.name for s in c.sets]
    return pd.DataFrame([{"workload": w, "component": comp,
                          **{n: cells.get(n, "—") for n in names}}
                         for (w, comp), cells in rows.items()],
                        columns=["workload", "component", *names])


def _objects(items: list[dict[str, Any]]) -> str:
    return ", ".join(f"{o['kind']}/{o['name']}" for o in items) or "none"


def _changed(items: list[dict[str, Any]]) -> list[str]:
    out = []
    for o in items:
        paths = o["paths"][:TRUNCATE] + ([f"… {len(o['paths']) - TRUNCATE} more"]
                                         if len(o["paths"]) > TRUNCATE else [])
        out.append(f"{o['kind']}/{o['name']}: {', '.join(paths)}")
    return out


def _frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Records as text cells: None empty, lists comma-joined, numbers as written."""
    def cell(v: Any) -> str:
        return "" if v is None else ", ".join(map(str, v)) if isinstance(v, list) else str(v)

    return pd.DataFrame([{k: cell(v) for k, v in r.items()} for r in records])


def _where(file: str | None, line: int | None) -> str:
    return f"{file}:{line}" if file and line else (file or "")


# --- table ---------------------------------------------------------------------------------------

def to_table(c: Any) -> str:
    """What a person reads in a terminal."""
    lines = [f"{c.facts.name} {c.facts.version} ({c.facts.path}) — profile {c.profile}, "
             f"Kubernetes {c.kube_version}; {c.renders} renders", ""]
    matrix = checklist_matrix(c)
    names = [s.name for s in c.sets]
    widths = {n: max([len(n), *(len(v) for v in matrix[n])]) for n in names}
    width = max([len("Checklist"), *(len(v) for v in matrix["component"])]) + 2
    lines.append(f"{'Checklist':<{width}}" + "  ".join(f"{n:<{min(widths[n], 28)}}"
                                                       for n in names))
    for workload, part in matrix.groupby("workload", sort=False):
        lines.append(str(workload))
        for _, component, *cells in part.itertuples(index=False, name=None):
            lines.append(f"  {component:<{width - 2}}" + "  ".join(
                f"{_cut(cell, 28):<{min(widths[n], 28)}}"
                for cell, n in zip(cells, names, strict=True)).rstrip())
    for s in c.sets:
        lines += ["", f"{s.name}" + (f" ({', '.join(s.files)})" if s.files else "")
                  + (" against defaults:" if s is not c.sets[0] else ":")]
        if s is not c.sets[0] and s.analysis is not None:
            lines.append(f"  objects added: {_objects(s.added)}")
            lines.append(f"  objects removed: {_objects(s.removed)}")
            lines += [f"  changed {text}" for text in _changed(s.changed)] or \
                ["  objects changed: none"]
            lines.append(f"  findings: {len(s.fixed)} fixed, {len(s.introduced)} introduced")
        lines += [f"  does nothing: {i.record()['key']} ({_where(i.file, i.line)}): {i.detail}"
                  for i in s.ineffective]
        lines += [f"  unknown key: {u.record()['key']} ({_where(u.file, u.line)})"
                  + (f" — did you mean {u.record()['closest']}?" if u.closest else "")
                  for u in s.unknown]
        lines += [f"  schema: {e.record()['key']}: {e.message} ({_where(e.file, e.line)})"
                  for e in s.schema]
        lines += [f"  ERROR {_where(e['file'], e['line'])}: {e['message']}".replace(
            "ERROR : ", "ERROR ") for e in s.errors]
    if c.unset:
        lines += ["", "Read by the templates, unset in values.yaml:"]
        lines += [f"  {u.sentence()}" for u in c.unset]
    if c.hardcoded:
        lines += ["", "Hard-coded (no values key changes them):"]
        lines += [f"  {h.sentence()}" for h in c.hardcoded]
    lines += ["", "Failing findings and the values keys that control them:"]
    for s in c.sets:
        if s.analysis is None:
            continue
        f = s.analysis.findings
        failed = f[f["status"] == "fail"]
        lines.append(f"  {s.name}:")
        for r in failed.itertuples(index=False):
            target = f"{r.kind}/{r.name}" + (f"[{r.container}]" if r.container else "")
            lines.append(f"    {r.check_id:<34} {target:<36} {r.values or '— (no values key)'}")
    if c.not_explored:
        lines += ["", "Not explored:"] + [f"  {n}" for n in c.not_explored]
    return "\n".join(lines) + "\n"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


# --- Markdown ------------------------------------------------------------------------------------

def to_markdown(c: Any) -> str:
    """For a pull-request comment or a wiki page."""
    from toolman_kit.present.formats import _md, markdown_table

    names = [s.name for s in c.sets]
    matrix = checklist_matrix(c)
    parts = [f"# Value sets of {_md(c.facts.name)} {_md(c.facts.version)}", "",
             f"Profile **{_md(c.profile)}**, Kubernetes {_md(c.kube_version)}, "
             f"{c.renders} renders.", "", "## Checklist", "",
             markdown_table(matrix, {"workload": "Workload", "component": "Component",
                                     **{n: n for n in names}})]
    for s in c.sets:
        parts += ["", f"## {_md(s.name)}", ""]
        if s.files:
            parts += ["Files: " + ", ".join(f"`{f}`" for f in s.files), ""]
        if s is not c.sets[0] and s.analysis is not None:
            parts += [f"- Objects added: {_md(_objects(s.added))}",
                      f"- Objects removed: {_md(_objects(s.removed))}",
                      *(f"- Changed {_md(text)}" for text in _changed(s.changed)),
                      f"- Findings: {len(s.fixed)} fixed, {len(s.introduced)} introduced", ""]
        for title, records, columns in (
                ("Values that do nothing", [i.record() for i in s.ineffective],
                 {"key": "Key", "file": "File", "line": "Line", "detail": "Why"}),
                ("Unknown keys", [u.record() for u in s.unknown],
                 {"key": "Key", "file": "File", "line": "Line", "closest": "Closest known key"}),
                ("Schema errors", [e.record() for e in s.schema],
                 {"key": "Key", "message": "Error", "file": "File", "line": "Line"}),
                ("Errors", s.errors, {"file": "File", "line": "Line", "message": "Error"})):
            if records:
                parts += [f"### {title}", "", markdown_table(_frame(records), columns), ""]
        if parts[-1] == "" and parts[-2] == f"## {_md(s.name)}":
            parts.append("Nothing to report about its values.")
    if c.unset:
        parts += ["", "## Read by the templates, unset in values.yaml", ""]
        parts += [f"- {_md(u.sentence())}" for u in c.unset]
    if c.hardcoded:
        parts += ["", "## Hard-coded: no values key changes them", "",
                  markdown_table(_frame([h.record() for h in c.hardcoded]), {
                      "object": "Object", "container": "Container", "path": "Field",
                      "value": "Value", "template": "Template", "line": "Line",
                      "because": "Needed by"})]
    if c.not_explored:
        parts += ["", "## Not explored", ""] + [f"- {_md(n)}" for n in c.not_explored]
    return "\n".join(parts) + "\n"


FORMATS: dict[str, Callable[[Any], str]] = {"table": to_table, "markdown": to_markdown,
                                            "json": to_json}
