"""The values comparison as a document and as text: `document(comparison)` is comparison.json
(schemas/comparison.schema.json), what `toolman-kit compare --format json` prints and a report
writes; the table and Markdown of `compare` are functions of that document, shown through
present/values_views.py. The comparison itself (values/sets.py) is data only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolman_kit import __version__
from toolman_kit.chart.sources import named, shown
from toolman_kit.chart.valuesfile import show
from toolman_kit.judge.findings import Row
from toolman_kit.present.formats import markdown_table
from toolman_kit.text import md_cell, terminal_lines

if TYPE_CHECKING:  # values/ is heavy to import, and `compare`'s formats are built at start-up
    from toolman_kit.analysis import Analysis
    from toolman_kit.chart.values import Ineffective, SchemaError, Unknown, UnsetRead
    from toolman_kit.values.provenance import Field, Hardcoded, Provenance
    from toolman_kit.values.sets import SetResult, ValuesComparison

# The fields of a failing finding in a set's `failing` list, before its values keys and action.
FAILING_FIELDS = ("check_id", "severity", "kind", "namespace", "name", "container", "path",
                  "message", "template")


# --- the document ------------------------------------------------------------------------------

def _digest(chart: Path) -> str | None:
    """A fetched chart's archive digest (its path is then shown as its reference)."""
    source = named(chart)
    return source.digest if source else None


def document(c: ValuesComparison, config: str | None = None) -> dict[str, Any]:
    """comparison.json: the configuration file in use (`config`), the chart, the options, every
    set, and what the chart's templates read unset or write hard-coded."""
    return {
        "tool": {"name": "toolman-kit", "version": __version__}, "config": config,
        "chart": {"path": shown(c.facts.path), "digest": _digest(c.facts.path),
                  "name": c.facts.name, "version": c.facts.version,
                  "lint": [{"severity": m.severity, "path": m.path, "message": m.message}
                           for m in c.sets[0].lint]},
        "profile": c.profile, "kube_version": c.kube_version, "api_versions": c.api_versions,
        "release": c.release, "namespace": c.namespace,
        "sets": [set_record(s) for s in c.sets],
        "unset_reads": [unset_read_record(u) for u in c.unset],
        "hardcoded": [hardcoded_record(h) for h in c.hardcoded],
        "renders": {"count": c.renders, "max": c.max_renders, "not_explored": c.not_explored},
        "warnings": c.warnings,
    }


def set_record(s: SetResult) -> dict[str, Any]:
    """One set: its checklist, what it changes against the first set, its values that do
    nothing, unknown keys and schema errors, and its failing findings."""
    return {
        "name": s.name, "files": s.files,
        "checklist": checklist_records(s.analysis),
        "added": s.added, "removed": s.removed, "changed": s.changed,
        "fixed": s.fixed, "introduced": s.introduced, "errors": s.errors,
        "ineffective_values": [ineffective_record(i) for i in s.ineffective],
        "unknown_keys": [unknown_record(u) for u in s.unknown],
        "schema_errors": [schema_error_record(e) for e in s.schema],
        "failing": failing_records(s),
    }


def checklist_records(a: Analysis | None) -> list[dict[str, Any]]:
    """The checklist as JSON records (workload, component, current_state, status, action)."""
    return [{"workload": workload, "component": component, "current_state": state,
             "status": status, "action": action}
            for workload, _, component, state, status, action, _ in
            (a.checklist_rows if a is not None else ())]


def failing_records(s: SetResult) -> list[dict[str, Any]]:
    """The set's failing findings, each with the values keys that control its field and what
    to do with them (none without provenance)."""
    if s.analysis is None:
        return []
    prov, out = s.provenance, []
    for r in map(Row._make, s.analysis.rows.failed()):
        at = prov.field_of(r.check_id, r.kind, r.namespace, r.name, r.container or "",
                           r.path or "") if prov is not None else None
        out.append({**{k: getattr(r, k) for k in FAILING_FIELDS},
                    "values": [show(k) for k in prov.controls.get(at, [])] if at else [],
                    "action": action(prov, at) if at else ""})
    return out


def action(prov: Provenance, f: Field) -> str:
    """"set `podDisruptionBudget.enabled: true`" when the probe of a switch fixed the
    finding, else "change `resources`"; "" when no key controls the field."""
    keys = prov.controls.get(f, [])
    switches = [(k, v) for k in keys if isinstance(v := prov.fixes.get((f, k)), bool)]
    if switches:
        return "set " + ", ".join(f"`{show(k)}: {str(v).lower()}`" for k, v in switches)
    return ("change " + ", ".join(f"`{show(k)}`" for k in keys)) if keys else ""


def ineffective_record(i: Ineffective) -> dict[str, Any]:
    return {"key": show(i.key), "file": i.file, "line": i.line, "reason": i.reason,
            "detail": i.detail, "condition": i.condition or None, "by": i.by or None,
            "subkeys": list(i.subkeys)}


def unknown_record(u: Unknown) -> dict[str, Any]:
    return {"key": show(u.key), "file": u.file, "line": u.line,
            "closest": show(u.closest) if u.closest else None}


def schema_error_record(e: SchemaError) -> dict[str, Any]:
    return {"key": show(e.key), "message": e.message, "file": e.file, "line": e.line}


def unset_read_record(u: UnsetRead) -> dict[str, Any]:
    return {"key": show(u.key), "reads": [{"file": r.file, "line": r.line} for r in u.reads],
            "guarded": u.guarded, "required": any(r.required for r in u.reads),
            "commented_out": {"file": u.values_file, "line": u.commented.line}
            if u.commented else None, "sentence": unset_read_sentence(u)}


def unset_read_sentence(u: UnsetRead) -> str:
    files = ", ".join(dict.fromkeys(r.file for r in u.reads))
    if u.commented:
        return (f"{show(u.key)} is read by {files} but commented out in "
                f"{Path(u.values_file).name}:{u.commented.line}")
    return f"{show(u.key)} is read by {files} but not set in {Path(u.values_file).name}"


def hardcoded_record(h: Hardcoded) -> dict[str, Any]:
    f = h.field
    return {"object": f"{f.kind}/{f.name}", "kind": f.kind, "namespace": f.namespace,
            "name": f.name, "container": f.container or None, "path": f.path,
            "value": h.value, "template": h.template, "line": h.line,
            "because": list(h.because), "sentence": hardcoded_sentence(h)}


def hardcoded_sentence(h: Hardcoded) -> str:
    f = h.field
    where = f"{h.template}:{h.line}" if h.line else h.template
    container = f" [{f.container}]" if f.container else ""
    if h.value == "not set":
        return f"{f.kind}/{f.name}{container} {f.path} is not set by {where}, and no " \
               "values key sets it"
    return (f"{f.kind}/{f.name}{container} {f.path} ({h.value}) is written by {where}; "
            f"no values key changes it")


# --- its formats -------------------------------------------------------------------------------

TRUNCATE = 8  # changed field paths shown per object in the table and Markdown
CELL = 28  # width of a set's column in the terminal table


def to_json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _changed(doc_set: dict[str, Any]) -> list[str]:
    out = []
    for o in doc_set["changed"]:
        paths = o["paths"][:TRUNCATE] + ([f"… {len(o['paths']) - TRUNCATE} more"]
                                         if len(o["paths"]) > TRUNCATE else [])
        out.append(f"{o['kind']}/{o['name']}: {', '.join(paths)}")
    return out


def _objects(items: list[dict[str, Any]]) -> str:
    return ", ".join(f"{o['kind']}/{o['name']}" for o in items) or "none"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def _header(doc: dict[str, Any]) -> str:
    chart = doc["chart"]
    where = chart["path"] + (f" {chart['digest']}" if chart.get("digest") else "")
    return (f"{chart['name']} {chart['version']} ({where}) — profile {doc['profile']}, "
            f"Kubernetes {doc['kube_version']}; {doc['renders']['count']} renders"
            + (f"; configuration {doc['config']}" if doc.get("config") else ""))


def to_table(doc: dict[str, Any]) -> str:
    """What a person reads in a terminal."""
    from toolman_kit.present import values_views as vv

    names = vv.names(doc)
    matrix = vv.sets_matrix(doc)
    width = max([len("Checklist"), *(len(c) for c in matrix["component"])]) + 3
    lines = [_header(doc), *(f"warning: {w['message']}" for w in doc["warnings"]), "",
             f"{'Checklist':<{width}}" + "  ".join(f"{n:<{CELL}}" for n in names).rstrip()]
    for workload, part in matrix.groupby("workload", sort=False):
        lines.append(str(workload))
        for _, component, *cells in part.itertuples(index=False, name=None):
            lines.append(f"  {component:<{width - 2}}" + "  ".join(
                f"{_cut(cell, CELL):<{CELL}}" for cell in cells).rstrip())
    for s in doc["sets"]:
        said = []
        if s is not doc["sets"][0] and not s["errors"]:
            said += [f"objects added: {_objects(s['added'])}",
                     f"objects removed: {_objects(s['removed'])}",
                     *(f"changed {text}" for text in _changed(s)),
                     f"findings: {len(s['fixed'])} fixed, {len(s['introduced'])} introduced"]
        said += [f"does nothing: {i['key']} ({vv._where(i['file'], i['line'])}): {i['detail']}"
                 for i in s["ineffective_values"]]
        said += [f"unknown key: {u['key']} ({vv._where(u['file'], u['line'])})"
                 + (f" — did you mean {u['closest']}?" if u["closest"] else "")
                 for u in s["unknown_keys"]]
        said += [f"schema: {e['key']}: {e['message']} ({vv._where(e['file'], e['line'])})"
                 for e in s["schema_errors"]]
        said += [f"ERROR {vv._where(e['file'], e['line'])}: {e['message']}".replace(
            "ERROR : ", "ERROR ") for e in s["errors"]]
        if said:
            files = f" ({', '.join(s['files'])})" if s["files"] else ""
            lines += ["", f"{s['name']}{files}:", *(f"  {text}" for text in said)]
    if doc["unset_reads"]:
        lines += ["", "Read by the templates, unset in values.yaml:"]
        lines += [f"  {u['sentence']}" for u in doc["unset_reads"]]
    if doc["hardcoded"]:
        lines += ["", "Hard-coded (no values key changes them):"]
        lines += [f"  {h['sentence']}" for h in doc["hardcoded"]]
    prov = vv.provenance(doc)
    if len(prov):
        lines += ["", "Failing findings and the values keys that control them:"]
        for name, part in prov.groupby("set", sort=False):
            lines.append(f"  {name}:")
            lines += [f"    {r.check:<34} {r.object:<40} {r.keys or '—'}"
                      for r in part.itertuples(index=False)]
    if doc["renders"]["not_explored"]:
        lines += ["", "Not explored:"] + [f"  {n}" for n in doc["renders"]["not_explored"]]
    return terminal_lines(lines) + "\n"  # each its own line, shown, not obeyed


def to_markdown(doc: dict[str, Any]) -> str:
    """For a pull-request comment or a wiki page."""
    from toolman_kit.present import values_views as vv

    names = vv.names(doc)
    chart = doc["chart"]
    parts = [f"# Value sets of {md_cell(chart['name'])} {md_cell(chart['version'])}", "",
             f"Profile **{md_cell(doc['profile'])}**, Kubernetes {md_cell(doc['kube_version'])}, "
             f"{doc['renders']['count']} renders. {md_cell(vv.verdict_sets(doc))}", "",
             *([f"Configuration: {md_cell(doc['config'])}", ""] if doc.get("config") else []),
             *(f"> **Warning:** {md_cell(w['message'])}\n" for w in doc["warnings"]),
             "## Checklist", "",
             markdown_table(vv.sets_matrix(doc), {"workload": "Workload",
                                                  "component": "Component",
                                                  **{n: n for n in names}})]
    override = vv.override_markdown(doc)
    if override:
        parts += ["", "## What each set really does", "", override]
    for title, verdict, df, columns in (
            ("Values that do nothing", vv.verdict_dead, vv.dead_values(doc),
             {"set": "Set", "key": "Key", "where": "Where", "detail": "Why"}),
            ("Unknown keys", vv.verdict_unknown, vv.unknown_keys(doc),
             {"set": "Set", "key": "Key", "where": "Where", "closest": "Closest known key"}),
            ("Schema errors", vv.verdict_schema, vv.schema_errors(doc),
             {"set": "Set", "key": "Key", "message": "Error", "where": "Where"}),
            ("Read by the templates, unset in values.yaml", vv.verdict_unset,
             vv.unset_reads(doc), {"key": "Key", "read_by": "Read by",
                                   "commented_out": "Commented out at"}),
            ("Hard-coded: no values key changes them", vv.verdict_hardcoded, vv.hardcoded(doc),
             {"object": "Object", "container": "Container", "field": "Field",
              "value": "Value", "where": "Template", "because": "Needed by"}),
            ("Where each failing setting comes from", vv.verdict_provenance,
             vv.provenance(doc), {"set": "Set", "check": "Check", "object": "Object",
                                  "keys": "Values keys", "action": "Action"})):
        parts += ["", f"## {title}", "", md_cell(verdict(doc))]
        if len(df):
            parts += ["", markdown_table(df.fillna(""), columns)]
    errors = [f"- {md_cell(s['name'])}: {md_cell(vv._where(e['file'], e['line']))} "
              f"{md_cell(e['message'])}" for s in doc["sets"] for e in s["errors"]]
    if errors:
        parts += ["", "## Errors", "", *errors]
    if doc["renders"]["not_explored"]:
        parts += ["", "## Not explored", ""] + [f"- {md_cell(n)}"
                                                for n in doc["renders"]["not_explored"]]
    return "\n".join(parts) + "\n"


FORMATS: dict[str, Callable[[dict[str, Any]], str]] = {
    "table": to_table, "markdown": to_markdown, "json": to_json}


