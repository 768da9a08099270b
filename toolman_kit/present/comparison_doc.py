"""`toolman-kit compare`: a chart's value sets side by side, as a table, Markdown or JSON.

Exit status: 0 every set rendered and was compared; 2 usage or input error, or a set that does
not render (the other sets are still compared and printed). The formats are functions of the
comparison document (schemas/comparison.schema.json), shown through present/values_views.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from toolman_kit.text import md_cell

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
    return (f"{chart['name']} {chart['version']} ({chart['path']}) — profile {doc['profile']}, "
            f"Kubernetes {doc['kube_version']}; {doc['renders']['count']} renders")


def to_table(doc: dict[str, Any]) -> str:
    """What a person reads in a terminal."""
    from toolman_kit.present import values_views as vv

    names = vv.names(doc)
    matrix = vv.sets_matrix(doc)
    width = max([len("Checklist"), *(len(c) for c in matrix["component"])]) + 3
    lines = [_header(doc), "", f"{'Checklist':<{width}}" + "  ".join(
        f"{n:<{CELL}}" for n in names).rstrip()]
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
    return "\n".join(lines) + "\n"


def to_markdown(doc: dict[str, Any]) -> str:
    """For a pull-request comment or a wiki page."""
    from toolman_kit.present import values_views as vv
    from toolman_kit.present.formats import markdown_table

    names = vv.names(doc)
    chart = doc["chart"]
    parts = [f"# Value sets of {md_cell(chart['name'])} {md_cell(chart['version'])}", "",
             f"Profile **{md_cell(doc['profile'])}**, Kubernetes {md_cell(doc['kube_version'])}, "
             f"{doc['renders']['count']} renders. {md_cell(vv.verdict_sets(doc))}", "",
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


