"""What the report notebooks import (`from toolman_kit.present import nbsupport as ui`): the page
frame, the overview matrix, per-workload details, grouped findings and N-set comparisons, built
from the HTML pieces (present/html.py) and pictures (present/charts.py).

Presentation only: every number and verdict comes from toolman_kit (analysis, compare, views,
narrative). Every page shows N named sets side by side, the first being the reference (see
present/inputs.py); one set is the seed's single-column report. Layout adapts to size: at one
workload the seed's tables, open; at many, a workloads × checklist matrix, facts grouped with
their counts, names capped with "+N more" links, and per-workload detail collapsed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from toolman_kit.analysis import Analysis
from toolman_kit.judge.checklist import SYMBOL
from toolman_kit.judge.registry import catalogue
from toolman_kit.present import views
from toolman_kit.present.charts import Png, mount_grid, requests_vs_limits  # noqa: F401
from toolman_kit.present.html import (  # noqa: F401 - the notebooks' API
    LONG,
    Html,
    bullets,
    cell,
    details,
    esc,
    heading,
    inline,
    link,
    names,
    para,
    pill,
    prose,
    scroll,
    symbol,
    table,
)
from toolman_kit.present.inputs import Inputs, each, inputs  # noqa: F401
from toolman_kit.present.sections import FINDINGS_ANCHOR, SECTIONS, section  # noqa: F401

KEY = ["workload", "namespace", "component"]


# --- the page frame ---------------------------------------------------------------------------

def nav(current: str, chart: Any = None) -> Html:
    """Links to every section of the report (the summary is index.html) and the data files;
    the chart values section and comparison.json exist in reports on a `chart`."""
    links = [f"<b>{esc(s.title)}</b>" if s.notebook == current
             else f'<a href="{s.page}">{esc(s.title)}</a>' for s in SECTIONS
             if chart or not s.chart_only]
    files = [("deployment-analysis.md", "Markdown"), ("findings.json", "JSON"),
             ("findings.csv", "CSV"), ("report.sarif", "SARIF")]
    files += [("comparison.json", "Values JSON")] if chart else []
    links += [f'<a class="tk-muted" href="{f}">{t}</a>' for f, t in files]
    return Html(f'<nav class="tk-nav">{"".join(links)}</nav>')


def set_titles(ins: Inputs) -> list[str]:
    """How each set is introduced: Baseline/Candidate for a pair, Reference then names for N."""
    if len(ins.sets) == 1:
        return [ins.label]
    if len(ins.sets) == 2:
        return [f"Baseline: {ins.names[0]}", f"Candidate: {ins.names[1]}"]
    return [f"Reference: {ins.names[0]}", *ins.names[1:]]


def title_block(title: str, ins: Inputs, section: str | None = None,
                config: str | None = None) -> Html:
    """The page heading and what was analysed: every set's inputs, the profile, the
    configuration file in use."""
    meta = [title] if section else []
    prefix = ["Candidate"] if len(ins.sets) == 1 else \
        ["Baseline", "Candidate"] if len(ins.sets) == 2 else \
        ["Reference", *(["Set"] * (len(ins.sets) - 1))]
    meta += [f"{p} ({name}): {', '.join(a.manifests.inputs)}"
             for p, (name, a) in zip(prefix, ins.sets, strict=True)]
    meta.append(f"Profile: {ins.analysis.profile.name}")
    if config:
        meta.append(f"Configuration: {config}")
    return Html(f"<h1>{esc(section or title)}</h1>"
                + "".join(f'<div class="tk-meta">{esc(m)}</div>' for m in meta))


def page(notebook: str, title: str, ins: Inputs, chart: Any = None,
         config: str | None = None) -> Html:
    """Navigation, heading, inputs and any input errors: the top of every page (`chart`: the
    report's chart, whose values page the navigation then links; `config`: the configuration
    file in use)."""
    name = section(notebook).title
    out = nav(notebook, chart) + title_block(title, ins, None if notebook == SECTIONS[0].notebook
                                      else name, config)
    for label, a in each(ins):
        out += errors(a, label)
    return out


def checklist_counts(a: Analysis, label: str = "") -> Html:
    """The checklist's ❌ ⚠️ ✅ counts (views.checklist_counts), with the failing findings by
    severity."""
    c = views.checklist_counts(a)
    f = c["findings"]
    text = (f"❌ {c['fail']} blocking · ⚠️ {c['warning']} to improve · ✅ {c['pass']} ready — "
            f"findings: {f['error']} errors, {f['warning']} warnings, {f['info']} info, "
            f"{f['pass']} passed checks")
    return Html(f'<p class="tk-counts">{esc(label + ": " if label else "")}{esc(text)}</p>')


def errors(a: Analysis, label: str | None = None) -> Html:
    """Input errors (documents that could not be analysed), if any."""
    if not a.errors:
        return Html()
    return heading(f"Input errors ({label})" if label else "Input errors", 3) + bullets(
        str(e) for e in a.errors)


def side_by_side(blocks: dict[str, Any]) -> Html:
    """One column per set (stacked when printed or narrow)."""
    return Html('<div class="tk-sets">' + "".join(
        f"<div><h4>{esc(title)}</h4>{esc(body)}</div>" for title, body in blocks.items())
        + "</div>")


# --- the checklist across sets ----------------------------------------------------------------

def sets_checklist(ins: Inputs) -> pd.DataFrame:
    """Every set's checklist on one row per (workload, namespace, component): `state_i`,
    `status_i` for set i ("" where the set lacks the workload), `change_i` against the reference
    for i ≥ 1 (toolman_kit.comparison), and `action`, the last set's."""
    if len(ins.sets) == 1:
        cl = ins.analysis.checklist
        return cl[KEY].assign(state_0=cl["current_state"], status_0=cl["status"],
                              action=cl["action"])
    merged, order = None, {}
    for i, (_, c) in enumerate(ins.comparisons(), 1):
        cl = c.checklist
        part = cl[KEY].assign(**{f"state_{i}": cl["candidate_state"],
                                 f"status_{i}": cl["candidate_status"],
                                 f"change_{i}": cl["change"], "action": cl["candidate_action"]})
        for k in zip(*(cl[c] for c in KEY), strict=True):
            order.setdefault(k, len(order))
        if merged is None:  # the reference's columns come with the first comparison
            merged = part.assign(state_0=cl["baseline_state"], status_0=cl["baseline_status"])
        else:  # (pandas sorts the keys of an outer merge: put the rows back in order)
            merged = merged.drop(columns="action").merge(part, on=KEY, how="outer")
            merged = merged.iloc[sorted(range(len(merged)), key=lambda j: order[tuple(
                merged[c].iat[j] for c in KEY)])].reset_index(drop=True)
    return merged.astype(object).fillna("")  # (a categorical status has no "" category)


def workloads(ins: Inputs) -> list[str]:
    """Every workload of any set, the last set's first (in manifest order)."""
    seen: dict[str, None] = {}
    for _, a in reversed(ins.sets):
        seen.update(dict.fromkeys(a.checklist["workload"]))
    return list(seen)


def _marks(row: Any, n: int) -> str:
    return "→".join(SYMBOL.get(row[f"status_{i}"], "·") for i in range(n))


def _anchor(i: int) -> str:
    return f"w{i}"


def overview(ins: Inputs, components: Sequence[str] = (), id: str = "overview",  # noqa: A002
             details: str = "") -> Html:
    """Workloads × checklist rows, a ✅ ⚠️ ❌ cell for each (with N sets, one mark per set:
    "❌→✅"); filterable and sortable; each workload links to its detail below (or on the
    `details` page, e.g. "index.html")."""
    rows = sets_checklist(ins)
    if components:
        rows = rows[rows["component"].isin(components)]
    n = len(ins.sets)
    order = list(components) or list(dict.fromkeys(rows["component"]))
    cells: dict[str, dict[str, str]] = {}
    for r in rows.to_dict("records"):
        cells.setdefault(r["workload"], {})[r["component"]] = _marks(r, n)
    head = "".join(f"<th>{esc(c)}</th>" for c in order)
    body = []
    for i, w in enumerate(workloads(ins)):
        marks = cells.get(w, {})
        body.append(f'<tr><td><a href="{details}#{_anchor(i)}">{esc(w)}</a></td>' + "".join(
            f"<td>{marks.get(c, '')}</td>" for c in order) + "</tr>")  # centred by the CSS
    legend = "One row per workload, one column per checklist row." + (
        "" if n == 1 else f" Each cell: {' → '.join(ins.names)}.")
    return Html(f"<p class=tk-muted>{esc(legend)} Click a column to sort, type to filter.</p>"
                ) + scroll(f'<table class="tk tk-long tk-matrix" id="{esc(id)}"><thead><tr>'
                           f"<th>Workload</th>{head}</tr></thead><tbody>" + "".join(body)
                           + "</tbody></table>")


def checklist_table(ins: Inputs, rows: pd.DataFrame | list[dict[str, Any]],
                    actions: bool = True) -> Html:
    """The seed's checklist (Component, Current State, Production Ready, Action Required) for
    some rows of `sets_checklist` (a frame, or its records), with N sets a state and mark per
    set and the changes. Without `actions` (many workloads: the by-row table has them) the rows
    that are ready in every set are named in one line after the others."""
    n = len(ins.sets)
    if n == 1:
        columns = {"component": "Component", "state_0": "Current State",
                   "status_0": "Production Ready", "action": "Action Required"}
    elif n == 2:
        columns = {"component": "Component", "state_0": "Baseline State", "status_0": "Baseline",
                   "state_1": "Current State", "status_1": "Production Ready",
                   "change_1": "Change", "action": "Action Required"}
    else:
        columns = {"component": "Component"}
        for i, name in enumerate(ins.names):
            columns |= {f"state_{i}": name, f"status_{i}": ""}
        columns |= {f"change_{i}": f"Change ({name})" for i, name in enumerate(ins.names)
                    if i}
        columns["action"] = f"Action Required ({ins.label})"
    status = [c for c in columns if c.startswith(("status_", "change_"))]
    if actions:
        return table(rows, columns, status=status, long=False)
    del columns["action"]
    # Records, not frame operations: this runs once per workload, hundreds of times on a cluster.
    records = rows.to_dict("records") if hasattr(rows, "to_dict") else rows
    ready = [all(isinstance(s := r[f"status_{i}"], str) and s in ("pass", "n/a")
                 for i in range(n)) for r in records]
    todo = [r for r, ok in zip(records, ready, strict=True) if not ok]
    out = table(todo, columns, status=status, long=False) if todo else Html()
    if any(ready):
        out += para("✅ " + ", ".join(r["component"] for r, ok in zip(records, ready,
                                                                       strict=True) if ok))
    return out


def per_workload(ins: Inputs, render: Callable[[str], Any],
                 summary: Callable[[str], str] | None = None) -> Html:
    """Each workload's detail in a `<details>` (open when there is only one), anchored for the
    overview's links; `render(workload)` gives the body, `summary` the line after the name."""
    names_ = workloads(ins)
    out = []
    for i, w in enumerate(names_):
        body = render(w)
        if body is None:
            continue
        title = w + (f" — {summary(w)}" if summary else "")
        out.append(str(details(title, body, open=len(names_) == 1, id=_anchor(i))))
    return Html("".join(out))


def _status_line(ins: Inputs, rows: pd.DataFrame) -> Callable[[str], str]:
    """The per-workload summary: the last set's ✅ ⚠️ ❌ counts (and "not in <set>")."""
    last = f"status_{len(ins.sets) - 1}"
    by_workload = {w: part[last].value_counts().to_dict()
                   for w, part in rows.groupby("workload", sort=False)}

    def line(w: str) -> str:
        got = by_workload.get(w, {})
        if not any(got.get(s) for s in SYMBOL):
            return f"not in {ins.label}" if len(ins.sets) > 1 else "nothing to judge"
        return pill(got)
    return line


def checklist_section(ins: Inputs, components: Sequence[str] = ()) -> Html:
    """The production-readiness checklist at any size: with one workload its table; with more,
    the overview matrix, each row of the checklist grouped over the workloads, and every
    workload's table collapsed below."""
    rows = sets_checklist(ins)
    if components:
        rows = rows[rows["component"].isin(components)]
    if not len(rows):
        return para("No workloads.", muted=True)
    if len(workloads(ins)) == 1:
        return checklist_table(ins, rows)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for r in rows.to_dict("records"):
        grouped.setdefault(r["workload"], []).append(r)
    return (heading("Overview", 3) + overview(ins, components)
            + heading("By checklist row", 3) + by_component(ins, components)
            + heading("Per workload", 3)
            + para("The rows that are not ready; what to do is in the table above.", muted=True)
            + per_workload(ins, lambda w: checklist_table(ins, grouped[w], False)
                           if w in grouped else None, _status_line(ins, rows)))


def by_component(ins: Inputs, components: Sequence[str] = ()) -> Html:
    """Per checklist row over every workload: the counts per set, the most common states and
    the actions of the last set with how many workloads need each (views.by_component)."""
    frames = [(name, views.by_component(a, components or None)) for name, a in ins.sets]
    last = frames[-1][1]
    if not len(last):
        return para("No workloads.", muted=True)

    def common(pairs: list[tuple[str, int]], k: int = 3) -> str:
        shown = [f"{v} ({n})" for v, n in pairs[:k]]
        return "; ".join(shown) + (f"; +{len(pairs) - k} more" if len(pairs) > k else "")

    out = last[["component", "worst"]].copy()
    for name, df in frames:
        counted = df.set_index("component").apply(
            lambda r: pill({s: r[s] for s in ("fail", "warning", "pass")}), axis=1)
        out[name] = out["component"].map(counted).fillna("—")
    out["states"] = [common(p) for p in last["states"]]
    out["actions"] = [common(p, 2) if p else "—" for p in last["actions"]]
    columns = {"component": "Component", "worst": "", **{n: n if len(frames) > 1 else
                                                         "Workloads" for n, _ in frames},
               "states": "Current State (workloads)"
               + ("" if len(frames) == 1 else f" — {ins.label}"),
               "actions": "Action Required (workloads)"}
    return table(out, columns, status=("worst",), long=False)


# --- records side by side ---------------------------------------------------------------------

def fields(records: dict[str, Any], labels: dict[str, str],
           long: Sequence[str] = ("env", "mounts", "env_from")) -> Html:
    """A record (or one per set, side by side) shown field by field; with several a ≠ column
    marks what differs. `records`: column title → dict/Series/None. Lists in `long` fields show a
    handful of items and the rest on demand."""
    rows = []
    for key, label in labels.items():
        values = [_get(r, key) for r in records.values()]
        row = {"field": label}
        for title, value in zip(records, values, strict=True):
            row[title] = _capped(value) if key in long else value
        if len(records) > 1:
            row["≠"] = "≠" if len({cell(v) for v in values}) > 1 else ""
        rows.append(row)
    extra = {"≠": "≠"} if len(records) > 1 else {}
    return table(rows, {"field": "", **{t: t for t in records}, **extra}, long=False)


_ITEM = re.compile(r",\s(?=[A-Za-z_][\w.-]*(?:[=:]|\s←|\s\())")  # ", NAME=…" between items


def _capped(value: Any, n: int = 6) -> Any:
    if not isinstance(value, str):
        return value
    items = _ITEM.split(value)
    if len(items) <= n:
        return value
    return Html(esc(", ".join(items[:n])) + str(details(
        f"+{len(items) - n} more", ", ".join(items[n:]))))


def _get(record: Any, key: str) -> Any:
    if record is None:
        return "—"
    value = record.get(key) if hasattr(record, "get") else None
    return "" if value is None or value is pd.NA else value


def row_lookup(ins: Inputs, frames: Sequence[pd.DataFrame],
               keys: Sequence[str]) -> Callable[..., dict[str, Any]]:
    """A function of key values (e.g. workload, container) giving the matching row of each set's
    frame as a dict (None where the set lacks it), keyed by the set's column title: `fields`
    shows them side by side. Frames are indexed once (a report has hundreds of lookups)."""
    tables = [{tuple(r[k] for k in keys): r for r in df.to_dict("records")} for df in frames]
    titles = set_titles(ins)

    def lookup(*values: Any) -> dict[str, Any]:
        return {t: rows.get(values) for t, rows in zip(titles, tables, strict=True)}
    return lookup


def members(frames: Sequence[pd.DataFrame], of: str, key: str) -> dict[Any, list[dict]]:
    """`of` value (e.g. a workload) → the distinct `key` rows (e.g. containers) any set has, in
    order, as dicts."""
    out: dict[Any, dict[Any, dict]] = {}
    for df in reversed(frames):
        for r in df.to_dict("records"):
            out.setdefault(r[of], {}).setdefault(r[key], r)
    return {k: list(v.values()) for k, v in out.items()}


# --- findings ---------------------------------------------------------------------------------

def _object(kind: Any, name: Any, container: Any) -> str:
    return f"{kind}/{name}" + (f" [{container}]" if isinstance(container, str) and container
                               else "")


def _where(r: Any) -> str:
    line = "" if r.line is None or pd.isna(r.line) else f":{r.line}"
    template = f" ({r.template})" if isinstance(r.template, str) and r.template else ""
    path = r.path if isinstance(r.path, str) else ""  # <NA>: the finding names no field
    return f"{r.file}{line}{template} {path}".strip()


def findings(df: pd.DataFrame | None, empty: str = "No failing checks.",
             id: str | None = None) -> Html:  # noqa: A002
    """Failing findings: severity, check, object, what is wrong, what to do, where it is."""
    if df is None or len(df) == 0:
        return table(None, empty=empty, id=id)
    shown = pd.DataFrame({
        "severity": df["severity"].to_numpy(), "check": df["check_id"].to_numpy(),
        "object": [_object(k, n, c) for k, n, c in zip(df["kind"], df["name"], df["container"],
                                                       strict=True)],
        "finding": df["message"].to_numpy(), "action": df["remediation"].to_numpy(),
        "where": [_where(r) for r in df.itertuples(index=False)]})
    return table(shown, {"severity": "", "check": "Check", "object": "Object",
                         "finding": "Finding", "action": "Action Required",
                         "where": "Source"}, status=("severity",), id=id)


def area_findings(ins: Inputs, areas: Sequence[str]) -> Html:
    """The failing checks of some areas in the last set: one row per distinct problem when
    several objects share it (objects capped, linking to the full table), the full table
    (filterable, collapsed when long), then what changed against the reference."""
    f = ins.analysis.findings
    failed = f[(f["status"] == "fail") & f["area"].isin(areas)]
    groups = views.finding_groups(ins.analysis, areas)
    out = Html()
    if len(groups) and groups["objects"].map(len).max() > 1:  # objects share a problem
        href = f"#{FINDINGS_ANCHOR}"
        shown = groups.assign(
            objects=[names(o, href) for o in groups["objects"]],
            finding=[m[0] + (f" (+{len(m) - 1} similar)" if len(m) > 1 else "")
                     for m in groups["messages"]],
            where=[names(s, href, n=1) for s in groups["sources"]])
        out += table(shown, {"severity": "", "title": "Check", "objects": "Objects",
                             "finding": "Finding", "remediation": "Action Required",
                             "where": "Source"}, status=("severity",))
        out += details(f"All {len(failed)} failing findings (filterable)",
                       findings(failed), id=FINDINGS_ANCHOR)
    else:
        out += findings(failed, id=FINDINGS_ANCHOR)
    for name, c in ins.comparisons():
        changed = c.findings
        ids = {cid for _, a in ins.sets
               for cid in a.findings.loc[a.findings["area"].isin(areas), "check_id"]}
        out += heading(f"{name} against {ins.baseline_label}", 4) + finding_changes(
            changed[changed["check_id"].isin(ids)])
    return out


def passed(df: pd.DataFrame, empty: str = "No passing checks.",
           checks: Mapping[str, Any] | None = None) -> Html:
    """Passing findings by check: what was verified, and on which objects (a handful named);
    `checks`: the analysis's (`Analysis.checks`), so that policies and rules have their title."""
    df = df[df["status"] == "pass"] if len(df) else df
    if len(df) == 0:
        return para(empty, muted=True)

    checks = catalogue() if checks is None else checks
    rows = [{"status": "pass", "check": check_id,
             "title": checks[check_id].title if check_id in checks else "",
             "objects": views.capped([_object(k, n, c) for k, n, c in zip(
                 part["kind"], part["name"], part["container"], strict=True)])}
            for check_id, part in df.groupby("check_id", sort=True)]
    return table(pd.DataFrame(rows), {"status": "", "check": "Check",
                                      "title": "Fails when", "objects": "Passed by"})


CHANGE_WORDS = {"unchanged": "still failing", "removed": "removed with the workload",
                "added": "added with the workload"}


def finding_changes(df: pd.DataFrame | None, empty: str = "No failures on either side.") -> Html:
    """Comparison.findings: each failure fixed, introduced, still failing, or removed/added with
    its workload; grouped by check when the table would be long."""
    if df is None or len(df) == 0:
        return para(empty, muted=True)
    shown = pd.DataFrame({
        "change": df["change"].map(lambda c: CHANGE_WORDS.get(c, c)).to_numpy(),
        "severity": df["severity"].to_numpy(), "check": df["check_id"].to_numpy(),
        "object": [_object(k, n, c) for k, n, c in zip(df["kind"], df["name"], df["container"],
                                                       strict=True)],
        "finding": df["message"].to_numpy()})
    if len(shown) > LONG:
        shown = views.grouped(shown, ["change", "severity", "check"], what="object")
        shown["object"] = [names(o) for o in shown["objects"]]
    return table(shown, {"change": "Change", "severity": "", "check": "Check",
                         "object": "Object", "finding": "Finding"},
                 status=("change", "severity"))


def by_workloads(df: pd.DataFrame | None, columns: dict[str, str], status: Sequence[str] = (),
                 empty: str = "None.", vary: Sequence[str] = ()) -> Html:
    """A table with a row per workload (and more): as is for one workload; for several, rows
    equal apart from the workload are one row naming a handful of workloads with their count
    ("fsGroup 1000: 12 workloads"). `vary` columns (names that follow the release, say) are not
    compared: the first row's value is shown."""
    if df is None or not len(df) or df["workload"].nunique() <= 1:
        return table(df, columns, status=status, empty=empty)
    keys = [c for c in columns if c != "workload" and c not in vary]
    g = views.grouped(df, keys)
    g["workload"] = [Html(f"<b>{len(ws)}</b>: ") + names(ws, n=3) if len(ws) > 1 else ws[0]
                     for ws in g["workloads"]]
    for column in vary:
        first = df.groupby(views.row_keys(df, keys), sort=False)[column]
        counts_ = first.nunique().tolist()
        g[column] = [f"{v} (e.g.)" if n > 1 else v for v, n in zip(g[column], counts_,
                                                                   strict=True)]
    return table(g, {"workload": "Workloads", **{k: v for k, v in columns.items()
                                                if k != "workload"}}, status=status)


def mount_matrices(ins: Inputs) -> Html:
    """The mount grid of each workload where containers share a volume, once per distinct grid
    (the workloads that share it named), per set when the sets differ."""
    seen: dict[tuple, list[str]] = {}  # (containers, volumes, modes) → "workload (set)" labels
    for label, a in each(ins):
        for w in a.index.workloads:
            containers, volumes, modes = views.mounts(w)
            shared = {v for v in volumes if sum((c, v) in modes for c in containers) >= 2}
            if shared:
                key = (tuple(containers), tuple(volumes), tuple(sorted(modes.items())))
                seen.setdefault(key, []).append(a.index.label(w)
                                                + (f" ({label})" if label else ""))
    if not seen:
        return para("No volume is shared between containers.", muted=True)
    out = Html()
    for (containers, volumes, modes), where in seen.items():
        grid = pd.DataFrame([[dict(modes).get((c, v), "") for v in volumes] for c in containers],
                            index=list(containers), columns=list(volumes))
        out += heading(where[0] + (f" and {len(where) - 1} more" if len(where) > 1 else ""), 4)
        if len(where) > 1:
            out += para(Html("Same mounts in: ") + names(where[1:]))
        out += mount_grid(grid)
    return out


def across_sets(ins: Inputs, frames: Sequence[pd.DataFrame], key: Sequence[str],
                columns: Sequence[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """The last set's frame with, before its own, each other set's `columns` (as `column_i`),
    matched on `key`; and the titles of those added columns (the set's name, or "" for a
    status column) to put in a table's `columns`."""
    merged, titles = frames[-1], {}
    for i, df in enumerate(frames[:-1]):
        part = df[[*key, *columns]].drop_duplicates(list(key))
        merged = merged.merge(part.rename(columns={c: f"{c}_{i}" for c in columns}), on=list(key),
                              how="left")
        titles |= {f"{c}_{i}": ins.names[i] if n == 0 else "" for n, c in enumerate(columns)}
    return merged, titles
