"""What the report notebooks import to show things: escaped HTML tables with ✅ ⚠️ ❌, headings,
lists, side-by-side comparisons, the section navigation and matplotlib charts as inline PNG.

Presentation only: every number and verdict comes from toolman_kit (analysis, checklist, views,
narrative). Every string that reaches HTML goes through `html.escape` here (pandas `to_html`
escapes cells and headers), so manifest-derived text can never become markup; cells display
`Html` objects built by these functions, never raw strings.

`inputs()` is the one non-presentation helper: it turns the notebook parameters (paths, or a chart
and values files) into the analyses to show, exactly as `toolman-kit report` does.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from toolman_kit.analysis import Analysis, load_chart
from toolman_kit.errors import ManifestError
from toolman_kit.judge.checklist import SYMBOL
from toolman_kit.present.sections import SECTIONS
from toolman_kit.read.manifests import RELEASE_NAMESPACE, Manifests, load, place

STATUS_WORDS = {
    **SYMBOL, "ok": "✅", "error": "❌", "info": "ℹ️", "skip": "➖", "exempt": "➖ exempt",
    "missing": "❌ missing", "below profile": "⚠️ below profile", True: "✅", False: "❌",
    # changes between baseline and candidate (views.compare_checklists / compare_findings)
    "fixed": "✅ fixed", "improved": "↗️ improved", "worse": "❌ worse",
    "introduced": "❌ introduced", "still failing": "⚠️ still failing", "unchanged": "➖ unchanged",
    "added": "➕ added", "removed": "➖ removed",
}


# --- inputs -----------------------------------------------------------------------------------

@dataclass
class Inputs:
    """The analyses a notebook shows: the candidate and, optionally, the baseline to compare."""

    analysis: Analysis
    baseline: Analysis | None
    rendered: Any = None  # render.Rendered of the candidate when a chart was rendered
    baseline_rendered: Any = None
    label: str = "candidate"
    baseline_label: str = "baseline"


_LAST: list[tuple[Any, Inputs]] = []  # the last inputs() result, with its arguments and files


def inputs(manifests: Sequence[str] = (), baseline: Sequence[str] | None = None,
           chart: str | None = None, values: Sequence[str] = (),
           baseline_values: Sequence[str] | None = (), set_values: Sequence[str] = (),
           profile: str = "production", namespace: str | None = None,
           release: str = "release-name") -> Inputs:
    """Paths → analyses; or, with `chart`, render it with `values` (the candidate) and with
    `baseline_values` (the baseline: [] means the chart's own defaults, None no baseline) unless
    `baseline` paths are given.

    The report runs several notebooks in one kernel: the same arguments over unchanged files
    (path, size and mtime of every input file) return the analyses already made."""
    def strings(paths: Sequence[Any] | None) -> tuple[str, ...] | None:
        return None if paths is None else tuple(map(str, paths))

    args = (strings(manifests), strings(baseline), chart, strings(values),
            strings(baseline_values), strings(set_values), str(profile), namespace, release)
    files = [*manifests, *(baseline or ()), *([chart] if chart else []), *values,
             *(baseline_values or ()), profile]
    key = (args, _stamp(list(map(str, files))))
    if _LAST and _LAST[0][0] == key:
        return _LAST[0][1]
    result = _inputs(manifests, baseline, chart, values, baseline_values, set_values, profile,
                     namespace, release)
    _LAST[:] = [(key, result)]
    return result


def _stamp(paths: Sequence[str]) -> tuple:
    stamps = []
    for path in map(Path, paths):
        for f in sorted(path.rglob("*")) if path.is_dir() else [path]:
            try:
                st = f.stat()
                stamps.append((str(f), st.st_size, st.st_mtime_ns))
            except OSError:
                stamps.append((str(f), None, None))
    return tuple(stamps)


def _inputs(manifests: Sequence[str], baseline: Sequence[str] | None, chart: str | None,
            values: Sequence[str], baseline_values: Sequence[str] | None,
            set_values: Sequence[str], profile: str, namespace: str | None,
            release: str) -> Inputs:
    def loaded(paths: Sequence[str]) -> Manifests:
        missing = [str(p) for p in paths if not Path(p).exists()]
        if missing or not paths:
            raise ManifestError("no such file or directory" if paths else "no manifests given",
                                file=", ".join(missing) or None)
        return load(*[Path(p) for p in paths], namespace=namespace)

    def of(m: Manifests, paths: Sequence[str]) -> Analysis:
        return _checked(Analysis.of(m, profile=profile), paths)

    def names(paths: Sequence[str], none: str) -> str:
        return ", ".join(Path(p).name for p in paths) or none

    if chart is None:
        m, b = loaded(manifests), loaded(baseline) if baseline else None
        if b is not None and namespace is None and m.namespace != b.namespace:
            # Two renderings of one release: one release namespace, or nothing lines up.
            common = m.namespace if m.namespace != RELEASE_NAMESPACE else b.namespace
            place(m, common), place(b, common)
        return Inputs(of(m, manifests), of(b, baseline) if b is not None else None,
                      label=names(manifests, "candidate"),
                      baseline_label=names(baseline or (), "baseline"))

    def rendered(files: Sequence[str], sets: Sequence[str]) -> tuple[Analysis, Any]:
        m, r = load_chart(chart, files, sets, release=release, namespace=namespace)
        return _checked(Analysis.of(m, profile=profile), [str(chart)]), r

    candidate, r = rendered(values, set_values)
    out = Inputs(candidate, None, r, label=names(values, "chart defaults"))
    if baseline:
        b = place(loaded(baseline), candidate.manifests.namespace)
        out.baseline, out.baseline_label = of(b, baseline), names(baseline, "baseline")
    elif baseline_values is not None and (list(baseline_values) != list(values) or set_values):
        out.baseline, out.baseline_rendered = rendered(baseline_values, ())
        out.baseline_label = names(baseline_values, "chart defaults")
    return out


def _checked(a: Analysis, what: Sequence[str]) -> Analysis:
    if not len(a.manifests):
        detail = "; ".join(str(e) for e in a.errors) or "no Kubernetes objects"
        raise ManifestError(f"nothing to report on: {detail}", file=", ".join(map(str, what)))
    return a


def each(ins: Inputs) -> list[tuple[str | None, Analysis]]:
    """(label, analysis) to show in turn: baseline then candidate, or the candidate alone."""
    if ins.baseline is None:
        return [(None, ins.analysis)]
    return [(f"Baseline: {ins.baseline_label}", ins.baseline),
            (f"Candidate: {ins.label}", ins.analysis)]


# --- HTML -------------------------------------------------------------------------------------

class Html:
    """Markup built here from escaped parts; displayed as text/html by Jupyter."""

    def __init__(self, markup: str = ""):
        self.markup = markup

    def _repr_html_(self) -> str:
        return self.markup

    def __str__(self) -> str:
        return self.markup

    def __add__(self, other: Html) -> Html:
        return Html(self.markup + str(other))


def esc(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return ""
    return html.escape(str(value), quote=True)


_MARKUP = re.compile(r"(\\[!-/:-@\[-`{-~]|\*\*|`)")


def inline(text: Any) -> str:
    """Narrative Markdown (views/narrative escape manifest text with backslashes) as HTML: `\\x`
    escapes, **bold** and `code` become markup, every text piece is HTML-escaped."""
    out, open_tags = [], []
    for token in _MARKUP.split("" if text is None else str(text)):
        if token in ("**", "`"):
            tag = "strong" if token == "**" else "code"
            if open_tags and open_tags[-1] == tag:
                out.append(f"</{open_tags.pop()}>")
            else:
                open_tags.append(tag)
                out.append(f"<{tag}>")
        elif len(token) == 2 and token[0] == "\\":
            out.append(esc(token[1]))
        else:
            out.append(esc(token))
    out += [f"</{tag}>" for tag in reversed(open_tags)]
    return "".join(out)


def symbol(status: Any) -> Any:
    """✅ ⚠️ ❌ … for a status word (pass/warning/fail, a severity, a change, a bool)."""
    try:
        return STATUS_WORDS.get(status, status)
    except TypeError:  # unhashable
        return status


def heading(text: str, level: int = 3) -> Html:
    return Html(f"<h{level}>{esc(text)}</h{level}>")


def para(text: Any, muted: bool = False, md: bool = False) -> Html:
    """A paragraph of plain text (`md`: narrative Markdown, see `inline`)."""
    body = inline(text) if md else esc(text)
    return Html(f"<p{' class=tk-muted' if muted else ''}>{body}</p>")


def prose(text: str | Iterable[str]) -> Html:
    """Paragraphs: blank-line separated text (or a list of paragraphs); `- ` lines as a list."""
    parts = text.split("\n\n") if isinstance(text, str) else list(text)
    out = []
    for part in (p.strip() for p in parts if p and p.strip()):
        lines = part.splitlines()
        if all(line.lstrip().startswith(("- ", "* ")) for line in lines):
            out.append(str(bullets((line.lstrip()[2:] for line in lines), md=True)))
        else:
            out.append(f"<p>{inline(' '.join(lines))}</p>")
    return Html("".join(out))


def bullets(items: Iterable[Any], ordered: bool = False, empty: str = "None.",
            md: bool = False) -> Html:
    """A list of plain text (`md`: narrative Markdown); an item may be a (status, text) pair,
    shown with its symbol."""
    tag = "ol" if ordered else "ul"
    rows = []
    for item in items:
        if isinstance(item, tuple) and len(item) == 2:
            item = f"{str(symbol(item[0])).split()[0]} {item[1]}"  # the symbol, not the word
        rows.append(f"<li>{inline(item) if md else esc(item)}</li>")
    if not rows:
        return para(empty, muted=True)
    return Html(f"<{tag}>{''.join(rows)}</{tag}>")


def table(df: pd.DataFrame | None, columns: dict[str, str] | None = None,
          status: Sequence[str] = ("status",), empty: str = "None.") -> Html:
    """An escaped HTML table; `columns` picks and renames, status columns show ✅ ⚠️ ❌."""
    if df is None or len(df) == 0:
        return Html(f"<p class=tk-muted>{esc(empty)}</p>")
    shown = (df[list(columns)] if columns else df).copy()
    for col in shown.columns:
        shown[col] = shown[col].map(symbol if col in status else _cell).astype(object)
    marked = [i for i, col in enumerate(shown.columns) if col in status]
    if columns:
        shown.columns = [columns[c] for c in shown.columns]
    body = shown.to_html(index=False, escape=True, border=0, classes="tk", na_rep="",
                         justify="left")
    return Html(_mark_status_cells(body, len(shown.columns), marked))


def _cell(value: Any) -> Any:
    if type(value).__name__ in ("bool", "bool_"):
        return "yes" if value else "no"
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return value


def _mark_status_cells(body: str, width: int, positions: list[int]) -> str:
    """Centre the status columns with a class on their <td> (cell text is escaped, so "<td>"
    occurs in the body only as pandas' own tag)."""
    if not positions:
        return body
    pieces = body.split("<td>")
    out = [pieces[0]]
    for n, piece in enumerate(pieces[1:]):
        out.append('<td class="tk-status">' if n % width in positions else "<td>")
        out.append(piece)
    return "".join(out)


def fields(records: dict[str, Any], labels: dict[str, str]) -> Html:
    """A record (or several side by side, e.g. baseline and candidate) shown field by field;
    with two records a ≠ column marks what differs. `records`: column title → dict/Series/None."""
    rows = []
    for key, label in labels.items():
        cells = [_cell(_get(r, key)) for r in records.values()]
        row = {"field": label, **{t: c for t, c in zip(records, cells, strict=True)}}
        if len(records) == 2:
            row["≠"] = "≠" if esc(cells[0]) != esc(cells[1]) else ""
        rows.append(row)
    return table(pd.DataFrame(rows), {"field": "", **{t: t for t in records},
                                      **({"≠": "≠"} if len(records) == 2 else {})})


def _get(record: Any, key: str) -> Any:
    if record is None:
        return "—"
    value = record.get(key) if hasattr(record, "get") else None
    return "" if value is None or value is pd.NA else value


def findings(df: pd.DataFrame | None, empty: str = "No failing checks.") -> Html:
    """Failing findings: severity, check, object, what is wrong, what to do, where it is."""
    if df is None or len(df) == 0:
        return para(empty, muted=True)
    shown = pd.DataFrame({
        "severity": df["severity"].to_numpy(),
        "check": df["check_id"].to_numpy(),
        "object": [_object(k, n, c) for k, n, c in zip(df["kind"], df["name"], df["container"],
                                                       strict=True)],
        "finding": df["message"].to_numpy(), "action": df["remediation"].to_numpy(),
        "where": [_where(r) for r in df.itertuples(index=False)]})
    return table(shown, {"severity": "", "check": "Check", "object": "Object",
                         "finding": "Finding", "action": "Action Required",
                         "where": "Source"}, status=("severity",))


def area_findings(ins: Inputs, areas: Sequence[str]) -> Html:
    """The failing checks of some areas; with a baseline, then what changed against it."""
    from toolman_kit.present.views import compare_findings

    f = ins.analysis.findings
    out = findings(f[(f["status"] == "fail") & f["area"].isin(areas)])
    if ins.baseline is not None:
        ids = {c for a in (ins.analysis, ins.baseline)
               for c in a.findings.loc[a.findings["area"].isin(areas), "check_id"]}
        changes = compare_findings(ins.baseline, ins.analysis)
        out += heading(f"Against the baseline ({ins.baseline_label})", 4) + finding_changes(
            changes[changes["check_id"].isin(ids)])
    return out


def passed(df: pd.DataFrame, empty: str = "No passing checks.") -> Html:
    """Passing findings by check: what was verified, and on which objects."""
    df = df[df["status"] == "pass"] if len(df) else df
    if len(df) == 0:
        return para(empty, muted=True)
    from toolman_kit.judge.registry import catalogue

    checks = catalogue()
    rows = [{"status": "pass", "check": check_id,
             "title": checks[check_id].title if check_id in checks else "",
             "objects": ", ".join(dict.fromkeys(
                 _object(k, n, c) for k, n, c in zip(part["kind"], part["name"],
                                                     part["container"], strict=True)))}
            for check_id, part in df.groupby("check_id", sort=True)]
    return table(pd.DataFrame(rows), {"status": "", "check": "Check",
                                      "title": "Fails when", "objects": "Passed by"})


def finding_changes(df: pd.DataFrame | None, empty: str = "No failures on either side.") -> Html:
    """views.compare_findings: each failure fixed, introduced or still there."""
    if df is None or len(df) == 0:
        return para(empty, muted=True)
    shown = pd.DataFrame({
        "change": df["change"].replace({"unchanged": "still failing"}).to_numpy(),
        "severity": df["severity"].to_numpy(), "check": df["check_id"].to_numpy(),
        "object": [_object(k, n, c) for k, n, c in zip(df["kind"], df["name"], df["container"],
                                                       strict=True)],
        "finding": df["message_candidate"].fillna(df["message_baseline"]).to_numpy()})
    return table(shown, {"change": "Change", "severity": "", "check": "Check",
                         "object": "Object", "finding": "Finding"},
                 status=("change", "severity"))


def _object(kind: Any, name: Any, container: Any) -> str:
    return f"{kind}/{name}" + ("" if pd.isna(container) or not container else f" [{container}]")


def _where(r: Any) -> str:
    line = "" if pd.isna(r.line) else f":{r.line}"
    template = "" if pd.isna(r.template) or not r.template else f" ({r.template})"
    return f"{r.file}{line}{template} {'' if pd.isna(r.path) else r.path}".strip()


def side_by_side(left: Html, right: Html, titles: tuple[str, str]) -> Html:
    """Baseline | candidate, stacked when printed."""
    return Html(f'<div class="tk-pair"><div><h4>{esc(titles[0])}</h4>{left}</div>'
                f'<div><h4>{esc(titles[1])}</h4>{right}</div></div>')


def nav(current: str) -> Html:
    """Links to every section of the report (the summary is index.html) and the data files."""
    links = []
    for notebook, title in SECTIONS:
        href = "index.html" if notebook == SECTIONS[0][0] else f"{notebook}.html"
        links.append(f"<b>{esc(title)}</b>" if notebook == current
                     else f'<a href="{href}">{esc(title)}</a>')
    files = [("deployment-analysis.md", "Markdown"), ("findings.json", "JSON"),
             ("findings.csv", "CSV"), ("report.sarif", "SARIF")]
    links += [f'<a class="tk-muted" href="{f}">{t}</a>' for f, t in files]
    return Html(f'<nav class="tk-nav">{"".join(links)}</nav>')


def title_block(title: str, ins: Inputs, section: str | None = None) -> Html:
    """The page heading and what was analysed: inputs, profile, baseline."""
    a = ins.analysis
    meta = ([title] if section else []) + [
        f"Candidate ({ins.label}): {', '.join(a.manifests.inputs)}",
        f"Profile: {a.profile.name}"]
    if ins.baseline is not None:
        meta.insert(-1, f"Baseline ({ins.baseline_label}): "
                        f"{', '.join(ins.baseline.manifests.inputs)}")
    return Html(f"<h1>{esc(section or title)}</h1>"
                + "".join(f'<div class="tk-meta">{esc(m)}</div>' for m in meta))


def counts(c: dict[str, Any], label: str = "") -> Html:
    """The checklist's ❌ ⚠️ ✅ counts (views.counts), with the failing findings by severity."""
    f = c.get("findings", {})
    text = (f"❌ {c.get('fail', 0)} blocking · ⚠️ {c.get('warning', 0)} to improve · "
            f"✅ {c.get('pass', 0)} ready")
    if f:
        text += (f" — findings: {f.get('error', 0)} errors, {f.get('warning', 0)} warnings, "
                 f"{f.get('info', 0)} info, {f.get('pass', 0)} passed checks")
    return Html(f'<p class="tk-counts">{esc(label + ": " if label else "")}{esc(text)}</p>')


def errors(a: Analysis) -> Html:
    """Input errors (documents that could not be analysed), if any."""
    if not a.errors:
        return Html()
    return heading("Input errors", 3) + bullets(str(e) for e in a.errors)


# --- charts: matplotlib figures rendered once to PNG (no pyplot, no backend state) -----------

class Png:
    """A chart rendered once to PNG, shown as an inline <img> with its alternative text."""

    def __init__(self, fig: Any, alt: str):
        import io

        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        self.data, self.alt = buffer.getvalue(), alt

    def _repr_html_(self) -> str:
        import base64

        data = base64.b64encode(self.data).decode("ascii")
        return f'<img src="data:image/png;base64,{data}" alt="{esc(self.alt)}">'


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=96, layout="tight")


def requests_vs_limits(frames: dict[str, pd.DataFrame]) -> Png | Html:
    """Requests and limits per container (views.resources), CPU and memory, one row of charts
    per analysis (baseline, candidate) on shared scales; the profile's floor as a tick."""
    frames = {k: v for k, v in frames.items() if len(v)}
    containers = max((list(dict.fromkeys(zip(f["workload"], f["container"], strict=True)))
                      for f in frames.values()), key=len, default=[])
    if not containers:
        return para("No containers.", muted=True)
    several = len({w for w, _ in containers}) > 1
    height = 0.9 + 0.45 * max(len(containers), 2)
    fig = _figure(10, height * len(frames))
    axes = fig.subplots(len(frames), 2, sharex="col", squeeze=False)
    for row, (label, df) in enumerate(frames.items()):
        for col, (resource, unit, scale) in enumerate((("cpu", "CPU (millicores)", 1000),
                                                       ("memory", "memory (MiB)", 1))):
            ax = axes[row][col]
            for offset, kind, color in ((-0.2, "requests", "#4c78a8"),
                                        (0.2, "limits", "#f58518")):
                part = df[(df["resource"] == resource) & (df["kind"] == kind)]
                got = {(w, c): (v * scale, p * scale) for w, c, v, p in zip(
                    part["workload"], part["container"], part["current_value"],
                    part["profile_value"], strict=True)}
                ys = [i + offset for i in range(len(containers))]
                values = [got.get(k, (float("nan"),) * 2) for k in containers]
                ax.barh(ys, [0 if pd.isna(v) else v for v, _ in values], height=0.38,
                        color=color)
                for y, (v, floor) in zip(ys, values, strict=True):
                    if pd.isna(v):
                        ax.text(0, y, " none", va="center", fontsize=8, color="#b00020")
                    if not pd.isna(floor):
                        ax.plot([floor, floor], [y - 0.19, y + 0.19], color="black", lw=2)
            ax.set_yticks(range(len(containers)),
                          [f"{c} ({w})" if several else c for w, c in containers], fontsize=9)
            ax.invert_yaxis()
            ax.grid(axis="x", alpha=0.3)
            ax.set_title(f"{label} — {unit}" if label else unit, fontsize=10)
    fig.suptitle("blue: requests · orange: limits · black tick: the profile's floor", fontsize=9)
    return Png(fig, "Bar charts of CPU and memory requests and limits per container, "
                    "against the profile's floor: " + ", ".join(frames))


def mount_matrix(df: pd.DataFrame, title: str = "") -> Png:
    """A container × volume picture (views.mount_matrix): read-write, read-only, not mounted."""
    from matplotlib.patches import Rectangle

    rows, cols = [str(i) for i in df.index], [str(c) for c in df.columns]
    fig = _figure(2 + 1.1 * max(len(cols), 3), 1.2 + 0.5 * max(len(rows), 2))
    ax = fig.subplots()
    for r, (_, row) in enumerate(df.iterrows()):
        for c, value in enumerate(row):
            mode = str(value or "")
            if mode in ("rw", "ro"):
                ax.add_patch(Rectangle((c + 0.06, r + 0.1), 0.88, 0.8, edgecolor="white",
                                       facecolor="#e45756" if mode == "rw" else "#54a24b",
                                       hatch=None if mode == "rw" else "///"))
                ax.text(c + 0.5, r + 0.5, mode, ha="center", va="center", color="white",
                        fontsize=10, weight="bold")
    ax.set_xlim(0, max(len(cols), 1))
    ax.set_ylim(max(len(rows), 1), 0)
    ax.set_xticks([c + 0.5 for c in range(len(cols))], cols, rotation=25, ha="right", fontsize=9)
    ax.set_yticks([r + 0.5 for r in range(len(rows))], rows, fontsize=9)
    ax.tick_params(length=0)
    ax.set_xticks(range(len(cols) + 1), minor=True)
    ax.set_yticks(range(len(rows) + 1), minor=True)
    ax.grid(which="minor", color="#d0d7de")
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title(title or "rw = read-write, ro = read-only, blank = not mounted", fontsize=10)
    return Png(fig, "Which container mounts which volume, read-write or read-only (the table "
                    "below has the same data)")
