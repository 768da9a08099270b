"""The fleet page, DIR/index.html: one row per target, worst first, and the targets × checklist
matrix. Built from what is on disk (history.csv and each target's latest run.json), so any batch,
including one limited with --only, shows the whole fleet.

Self-contained like the reports: inline CSS, inline SVG sparklines, no script and no request to
anywhere, relative links only, so it works from file:// and from a static web server. Every string
that did not come from this module (target names, errors, checklist components) is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from toolman_kit.atomic import write_atomic
from toolman_kit.fleet.history import HISTORY, SUMMARY, latest_outcome, read_history, runs
from toolman_kit.fleet.task import RunStatus
from toolman_kit.judge.checklist import SYMBOL

PAGE = "index.html"
STATUS_RANK = {"failed": 0, "ok": 1, "unchanged": 1, "not run": 2}


@dataclass
class TargetRow:
    name: str
    status: RunStatus | Literal["not run"] = "not run"  # of its last history row
    error: str = ""
    counts: dict[str, int] = field(default_factory=dict)  # of its latest report
    new: int = 0
    resolved: int = 0
    last_run: str = ""
    report: str = ""  # relative link to the latest report
    trend: list[tuple[int, int]] = field(default_factory=list)  # (errors, warnings) per run
    worse: bool = False  # new failures since the run before, or failing where it did not
    checklist: dict[str, str] = field(default_factory=dict)
    chart: str = ""  # a fetched chart's reference and digest

    def rank(self) -> tuple:
        c = self.counts
        return (STATUS_RANK[self.status], not self.worse, -c.get("error", 0),
                -c.get("warning", 0), -self.new, self.name)


def target_rows(out: Path, names: Sequence[str]) -> list[TargetRow]:
    """Rows for `names`, worst first."""
    history = read_history(out)
    rows = []
    for name in names:
        row, mine = TargetRow(name), [h for h in history if h["target"] == name]
        if latest := latest_outcome(out, name):
            row.counts, row.report, row.checklist = latest.counts, latest.report, latest.checklist
            row.chart = latest.chart
        if mine:
            last = mine[-1]
            row.status, row.error, row.last_run = last["status"], last["error"], last["run_id"]
            row.new, row.resolved = int(last["new"] or 0), int(last["resolved"] or 0)
            before = mine[-2]["status"] if len(mine) > 1 else None
            row.worse = row.new > 0 or (row.status == "failed" and before not in (None, "failed"))
            kept = runs(out, name)
            since = kept[0] if kept else ""
            row.trend = [(int(h["errors"]), int(h["warnings"])) for h in mine
                         if h["run_id"] >= since and h["errors"] != ""]
        rows.append(row)
    return sorted(rows, key=TargetRow.rank)


def write_page(out: Path, names: Sequence[str], title: str = "Fleet",
               config: str | None = None) -> Path:
    return write_atomic(out / PAGE, fleet_page(target_rows(out, names), title, config))


def fleet_page(rows: Sequence[TargetRow], title: str, config: str | None = None) -> str:
    """The page; `config`: the configuration file the batch that writes it used."""
    e = html.escape
    failed = sum(r.status == "failed" for r in rows)
    worse = sum(r.worse for r in rows)
    last = max((r.last_run for r in rows), default="")
    summary = (f"{len(rows)} targets · {failed} failed · {worse} got worse since their last run"
               + (f" · last run {e(_when(last))}" if last else ""))
    body = [f"<h1>{e(title)}</h1>", f'<p class="lead">{summary}</p>',
            *([f'<p class="config">Configuration: {e(config)}</p>'] if config else []),
            "<h2>Targets, worst first</h2>", _targets_table(rows),
            "<h2>Checklist across the fleet</h2>",
            "<p>Each cell is the checklist row's verdict for the target's worst workload: "
            "❌ blocker, ⚠️ should fix, ✅ ready, ➖ not applicable.</p>", _matrix(rows),
            f'<p class="files">Data: <a href="{HISTORY}">{HISTORY}</a> (every run) · '
            f'<a href="{SUMMARY}">{SUMMARY}</a> (the latest run)</p>']
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
            + "\n".join(body) + "\n</main>\n</body>\n</html>\n")


def _targets_table(rows: Sequence[TargetRow]) -> str:
    e = html.escape
    # Findings in words: the symbols ❌ ⚠️ ✅ count checklist rows, in every summary of the kit.
    head = ("<tr><th>Target</th><th>Status</th><th>Errors</th><th>Warnings</th><th>Passed</th>"
            "<th>New</th><th>Resolved</th><th>Trend</th><th>Last run</th><th>Report</th></tr>")
    lines = []
    for r in rows:
        c = r.counts
        name = e(r.name) + (' <span class="worse-mark">▲ worse</span>' if r.worse else "")
        name += f'<div class="chart">{e(r.chart)}</div>' if r.chart else ""
        status = f'<span class="st-{e(r.status.replace(" ", "-"))}">{e(r.status)}</span>'
        if r.error:
            status += f'<div class="error">{e(r.error)}</div>'
        report = f'<a href="{e(r.report)}">report</a>' if r.report else "—"
        lines.append(
            f'<tr class="{"worse" if r.worse else ""}" data-target="{e(r.name)}">'
            f'<td class="name">{name}</td><td>{status}</td>'
            + "".join(f'<td class="num">{c[k] if k in c else "—"}</td>'
                      for k in ("error", "warning", "pass"))
            + f'<td class="num">{_signed(r.new, "+")}</td>'
            f'<td class="num">{_signed(r.resolved, "−")}</td>'
            f'<td>{sparkline(r.trend)}</td><td class="when">{e(_when(r.last_run))}</td>'
            f"<td>{report}</td></tr>")
    return f'<table class="targets">\n{head}\n' + "\n".join(lines) + "\n</table>"


def _matrix(rows: Sequence[TargetRow]) -> str:
    e = html.escape
    components = list(dict.fromkeys(c for r in rows for c in r.checklist))
    if not components:
        return "<p>No target has a report yet.</p>"
    head = "<tr><th>Target</th>" + "".join(f"<th>{e(c)}</th>" for c in components) + "</tr>"
    lines = []
    for r in rows:
        cells = "".join(
            f'<td class="cell" title="{e(c)}: {e(r.checklist.get(c, "no data"))}">'
            f'{SYMBOL.get(r.checklist.get(c, ""), "—")}</td>' for c in components)
        lines.append(f'<tr data-target="{e(r.name)}"><th class="row">{e(r.name)}</th>'
                     f"{cells}</tr>")
    return f'<div class="scroll"><table class="matrix">\n{head}\n' + "\n".join(lines) + \
        "\n</table></div>"


def sparkline(points: Sequence[tuple[int, int]], width: int = 120, height: int = 28) -> str:
    """Errors (red) and warnings (amber) over the runs, as an inline SVG; the last run is the
    dot on the right."""
    if not points:
        return "—"
    top = max(max(p) for p in points) or 1
    step = (width - 6) / max(len(points) - 1, 1)

    def xy(i: int, v: int) -> tuple[float, float]:
        return 3 + i * step if len(points) > 1 else width / 2, height - 3 - (height - 6) * v / top

    lines = []
    for series, colour in ((0, "#c62828"), (1, "#e08a00")):
        coords = [xy(i, p[series]) for i, p in enumerate(points)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        lines.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                     f'stroke-width="1.5"/><circle cx="{coords[-1][0]:.1f}" '
                     f'cy="{coords[-1][1]:.1f}" r="2" fill="{colour}"/>')
    first, last = points[0], points[-1]
    label = (f"errors {first[0]} → {last[0]}, warnings {first[1]} → {last[1]} over "
             f"{len(points)} run{'s' if len(points) != 1 else ''}")
    return (f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
            f' role="img" aria-label="{label}"><title>{label}</title>{"".join(lines)}</svg>')


def _signed(n: int, sign: str) -> str:
    return f"{sign}{n}" if n else "0"


def _when(run_id: str) -> str:
    """20261201T020304Z → 2026-12-01 02:03 UTC."""
    if len(run_id) != 16:
        return run_id or "never"
    return f"{run_id[:4]}-{run_id[4:6]}-{run_id[6:8]} {run_id[9:11]}:{run_id[11:13]} UTC"


CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1b1b1b; }
main { max-width: 1200px; margin: 0 auto; padding: 1.5rem; }
h1 { margin: 0 0 .3rem; } .lead { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: .5rem 0 1.5rem; }
th, td { border-bottom: 1px solid #ddd; padding: .35rem .6rem; text-align: left;
         vertical-align: top; }
th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.worse td:first-child { border-left: 4px solid #c62828; }
.worse-mark { color: #c62828; font-weight: 600; font-size: .85em; white-space: nowrap; }
.st-failed { color: #c62828; font-weight: 600; } .st-unchanged { color: #666; }
.error { color: #7a1c1c; font-size: .85em; max-width: 32rem; overflow-wrap: anywhere; }
.chart { color: #555; font-size: .8em; font-weight: normal; white-space: normal;
         max-width: 24rem; overflow-wrap: anywhere; }
.scroll { overflow-x: auto; }
table.matrix td.cell { text-align: center; } table.matrix th { font-size: .85em; }
th.row, td.name, td.when { white-space: nowrap; } th.row { background: none; font-weight: 600; }
.files { color: #555; font-size: .9em; }
@media print { main { max-width: none; } .scroll { overflow: visible; } }
"""
