"""The values comparison as tables, one-line verdicts and Markdown for the report: the
05_values notebook and deployment-analysis.md.

Every function reads the comparison *document* (present/comparison_doc.py
`document`, the comparison.json of a report), so the notebook shows the same
facts whether it computed them itself or the report handed them over. Strings from charts and
values are returned as data; escaping is the renderer's job (nbsupport for HTML, text.md_cell
here for Markdown).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from toolman_kit.chart.values import DEFAULT_MAX_RENDERS
from toolman_kit.judge.checklist import SYMBOL
from toolman_kit.present.inputs import validate
from toolman_kit.text import and_join, md_cell, plural
from toolman_kit.values.sets import compare_sets

REASONS = {"not-read": "no template reads it", "condition-off": "switched off",
           "equal-to-default": "equal to the default", "overridden": "overridden",
           "no-effect": "no effect"}


def comparison(chart: str | os.PathLike[str], sets: Sequence[Mapping[str, Any]],
               release: str = "release-name", namespace: str | None = None,
               profile: Any = "production", kube_version: str | None = None,
               path: str | None = None, max_renders: int | None = None,
               api_versions: Sequence[str] = ()) -> dict[str, Any]:
    """The comparison document of a report's `sets` (present/inputs.py): read from `path` when
    the report wrote it, else computed (paths resolved as the other notebooks resolve them)."""
    if path and Path(path).is_file():
        return json.loads(Path(path).read_text(encoding="utf-8"))
    from toolman_kit.present.comparison_doc import document

    specs, chart, profile = validate(sets, chart, profile)
    return document(compare_sets(chart, specs, release=release, namespace=namespace,
                                 profile=profile, kube_version=kube_version, jobs=1,
                                 api_versions=api_versions,
                                 max_renders=max_renders or DEFAULT_MAX_RENDERS))


def names(doc: Mapping[str, Any]) -> list[str]:
    return [s["name"] for s in doc["sets"]]


def reference(doc: Mapping[str, Any]) -> str:
    """What every set is compared with: the first set ("the chart defaults" in `compare`)."""
    name = doc["sets"][0]["name"]
    return "the chart defaults" if name in ("defaults", "chart defaults") else name


def _name(file: str | None) -> str:
    return Path(file).name if file else ""


def _where(file: str | None, line: int | None) -> str:
    return f"{_name(file)}:{line}" if file and line else _name(file)


# --- tables -----------------------------------------------------------------------------------

def sets_matrix(doc: Mapping[str, Any]) -> pd.DataFrame:
    """The checklist side by side: one row per (workload, row), one column per set holding
    "✅ 3" / "❌ 1" ("—" where the set has no such workload or did not render)."""
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for s in doc["sets"]:
        for r in s["checklist"]:
            cell = f"{SYMBOL.get(r['status'], r['status'])} {r['current_state']}".strip()
            rows.setdefault((r["workload"], r["component"]), {})[s["name"]] = cell
    columns = names(doc)
    return pd.DataFrame([{"workload": w, "component": c, **{n: cells.get(n, "—")
                                                           for n in columns}}
                         for (w, c), cells in rows.items()],
                        columns=["workload", "component", *columns])


def set_changes(doc: Mapping[str, Any]) -> pd.DataFrame:
    """Per set, against the defaults: objects added, removed and changed (with how many fields),
    failures fixed and introduced, and errors."""
    rows = []
    for s in doc["sets"][1:]:
        rows.append({
            "set": s["name"], "files": ", ".join(_name(f) for f in s["files"]),
            "added": ", ".join(f"{o['kind']}/{o['name']}" for o in s["added"]),
            "removed": ", ".join(f"{o['kind']}/{o['name']}" for o in s["removed"]),
            "changed": ", ".join(f"{o['kind']}/{o['name']} ({plural(len(o['paths']), 'field')})"
                                 for o in s["changed"]),
            "fixed": len(s["fixed"]), "introduced": len(s["introduced"]),
            "errors": "; ".join(e["message"] for e in s["errors"])})
    return pd.DataFrame(rows, columns=["set", "files", "added", "removed", "changed", "fixed",
                                       "introduced", "errors"])


def changed_fields(doc: Mapping[str, Any]) -> pd.DataFrame:
    """Every field path that differs from the defaults, per set and object."""
    return pd.DataFrame([{"set": s["name"], "object": f"{o['kind']}/{o['name']}", "field": p}
                         for s in doc["sets"][1:] for o in s["changed"] for p in o["paths"]],
                        columns=["set", "object", "field"])


def _per_set(doc: Mapping[str, Any], key: str, columns: list[str]) -> pd.DataFrame:
    rows = [{"set": s["name"], **{k: "" if v is None else v for k, v in entry.items()}}
            for s in doc["sets"] for entry in s[key]]
    for row in rows:
        row["where"] = _where(row.get("file"), row.get("line"))
    return pd.DataFrame(rows, columns=["set", *columns])


def _short(path: str) -> str:
    """A field path as the tables show it: the pod template's prefix left out."""
    return path.replace("spec.template.spec.", "", 1) if path else path


def dead_values(doc: Mapping[str, Any]) -> pd.DataFrame:
    """Values a set sets that change nothing rendered (leave-one-out, in context)."""
    return _per_set(doc, "ineffective_values", ["key", "where", "reason", "detail", "file",
                                                "line"])


def unknown_keys(doc: Mapping[str, Any]) -> pd.DataFrame:
    return _per_set(doc, "unknown_keys", ["key", "where", "closest", "file", "line"])


def schema_errors(doc: Mapping[str, Any]) -> pd.DataFrame:
    return _per_set(doc, "schema_errors", ["key", "message", "where", "file", "line"])


def unset_reads(doc: Mapping[str, Any]) -> pd.DataFrame:
    return pd.DataFrame([{
        "key": u["key"], "read_by": ", ".join(dict.fromkeys(
            f"{r['file']}:{r['line']}" for r in u["reads"])),
        "commented_out": _where(u["commented_out"]["file"], u["commented_out"]["line"])
        if u["commented_out"] else "", "guarded": u["guarded"], "sentence": u["sentence"]}
        for u in doc["unset_reads"]],
        columns=["key", "read_by", "commented_out", "guarded", "sentence"])


def provenance(doc: Mapping[str, Any]) -> pd.DataFrame:
    """Each set's failing findings with the values keys that control their field."""
    rows = [{"set": s["name"], "severity": f["severity"], "check": f["check_id"],
             "object": f"{f['kind']}/{f['name']}" + (f" [{f['container']}]"
                                                     if f["container"] else ""),
             "field": _short(f["path"]) or "(the object)", "keys": ", ".join(f["values"]),
             "action": f["action"] or "no values key: change the template"}
            for s in doc["sets"] for f in s["failing"]]
    return pd.DataFrame(rows, columns=["set", "severity", "check", "object", "field", "keys",
                                       "action"])


def hardcoded(doc: Mapping[str, Any]) -> pd.DataFrame:
    return pd.DataFrame([{
        "object": h["object"], "container": h["container"] or "", "field": _short(h["path"]),
        "value": h["value"], "where": f"{h['template']}:{h['line']}" if h["line"]
        else h["template"], "because": ", ".join(h["because"])} for h in doc["hardcoded"]],
        columns=["object", "container", "field", "value", "where", "because"])


# --- one-line verdicts -------------------------------------------------------------------------

def verdict_sets(doc: Mapping[str, Any]) -> str:
    parts = []
    for s in doc["sets"][1:]:
        if s["errors"]:
            parts.append(f"{s['name']} does not render ({s['errors'][0]['message']})")
            continue
        parts.append(f"{s['name']} fixes {plural(len(s['fixed']), 'failure')} and introduces "
                     f"{len(s['introduced'])}, adding {plural(len(s['added']), 'object')} and "
                     f"changing {plural(len(s['changed']), 'object')}")
    if not parts:
        return f"Only {reference(doc)} were rendered: give value sets to compare."
    return f"Against {reference(doc)}: " + "; ".join(parts) + "."


def verdict_dead(doc: Mapping[str, Any]) -> str:
    df = dead_values(doc)
    if df.empty:
        return "Every value the sets set changes the rendered objects."
    shown = [f"{r.key} ({r.where}: {r.detail})" for r in df.itertuples(index=False)][:4]
    more = f" and {len(df) - 4} more" if len(df) > 4 else ""
    return f"{plural(len(df), 'value')} change nothing: {'; '.join(shown)}{more}."


def verdict_unknown(doc: Mapping[str, Any]) -> str:
    df = unknown_keys(doc)
    if df.empty:
        return "Every key the sets set is known to values.yaml or the templates."
    shown = [f"{r.key} ({r.where}" + (f", did you mean {r.closest}?)" if r.closest else ")")
             for r in df.itertuples(index=False)]
    return f"{plural(len(df), 'key')} that no template and no default knows: " \
           f"{'; '.join(shown)}."


def verdict_schema(doc: Mapping[str, Any]) -> str:
    df = schema_errors(doc)
    if df.empty:
        return "No values.schema.json error in any set (or the chart ships no schema)."
    return f"{plural(len(df), 'schema error')}: helm refuses to install " + \
        and_join(sorted(set(df["set"]))) + "."


def verdict_unset(doc: Mapping[str, Any]) -> str:
    df = unset_reads(doc)
    if df.empty:
        return "values.yaml defines every key the templates read."
    commented = df[df["commented_out"] != ""]
    return (f"The templates read {plural(len(df), 'key')} that values.yaml leaves unset"
            + (f"; {len(commented)} of them commented out ({', '.join(commented['key'])})"
               if len(commented) else "") + ".")


def verdict_provenance(doc: Mapping[str, Any]) -> str:
    df = provenance(doc)
    if df.empty:
        return "No failing finding in any set."
    keyed = df[df["keys"] != ""]
    return (f"{len(keyed)} of {len(df)} failing findings (all sets) have a values key that "
            f"changes their field; the other {len(df) - len(keyed)} need a template change.")


def verdict_hardcoded(doc: Mapping[str, Any]) -> str:
    df = hardcoded(doc)
    not_explored = doc["renders"]["not_explored"]
    if not_explored:
        return "Not every key was probed (--max-renders), so no field is called hard-coded."
    if df.empty:
        return "Every field the failing checks and the container rows depend on has a key."
    written = df[df["value"] != "not set"]
    example = written.iloc[0] if len(written) else None
    return (f"{plural(len(df), 'field')} no value can change, {len(written)} of them written "
            "in the templates" + (f" (e.g. {example['object']} {example['container']} "
                                  f"{example['field']} at {example['where']})"
                                  if example is not None else "") + ".")


# --- deployment-analysis.md ---------------------------------------------------------------------

def override_markdown(doc: Mapping[str, Any]) -> str:
    """What each set really changes, what it claims and does not do (Production Values
    Override)."""
    return "\n\n".join(override_blocks(doc).values())


def override_blocks(doc: Mapping[str, Any]) -> dict[str, str]:
    """`override_markdown` set by set: name → its Markdown."""
    blocks: dict[str, str] = {}
    hard = doc["hardcoded"]
    for s in doc["sets"][1:]:
        title = f"**{md_cell(s['name'])}** ({md_cell(', '.join(_name(f) for f in s['files']))})"
        if s["errors"]:
            blocks[s["name"]] = f"{title} does not render: {md_cell(s['errors'][0]['message'])}."
            continue
        lines = [f"{title} against {md_cell(reference(doc))}: adds "
                 + (md_cell(", ".join(f"{o['kind']}/{o['name']}" for o in s["added"])) or "nothing")
                 + ", removes "
                 + (md_cell(", ".join(f"{o['kind']}/{o['name']}" for o in s["removed"]))
                    or "nothing")
                 + ", changes " + (md_cell("; ".join(
                     f"{o['kind']}/{o['name']} ({plural(len(o['paths']), 'field')})"
                     for o in s["changed"])) or "nothing")
                 + f"; fixes {plural(len(s['fixed']), 'failure')}, introduces "
                 f"{len(s['introduced'])}."]
        for i in s["ineffective_values"]:
            why = md_cell(i["detail"])
            words = {*i["key"].split("."), *i["subkeys"]}
            near = [h for h in hard if i["reason"] == "not-read" and h["value"] != "not set"
                    and h["container"] and words & set(h["path"].split("].", 1)[-1].split("."))]
            if near:
                why += "; the field it seems meant for is hard-coded: " + md_cell("; ".join(
                    f"{h['object']} [{h['container']}] {h['path']} = {h['value']} at "
                    f"{h['template']}:{h['line']}" for h in near))
            lead = {"equal-to-default": "Redundant", "overridden": "Overridden"}.get(
                i["reason"], "Claims but does not do")
            lines.append(f"- {lead}: {md_cell(i['key'])} "
                         f"({md_cell(_where(i['file'], i['line']))}) — {why}.")
        for u in s["unknown_keys"]:
            lines.append(f"- Unknown key {md_cell(u['key'])} "
                         f"({md_cell(_where(u['file'], u['line']))})"
                         + (f": did you mean {md_cell(u['closest'])}?" if u["closest"] else "."))
        for e in s["schema_errors"]:
            lines.append(f"- values.schema.json: {md_cell(e['key'])}: {md_cell(e['message'])}.")
        blocks[s["name"]] = "\n".join(lines)
    return blocks


def issues_markdown(doc: Mapping[str, Any]) -> list[str]:
    """Identified Issues items: hard-coded settings and what values.yaml leaves commented out."""
    items = []
    by_container: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for h in doc["hardcoded"]:
        if h["value"] != "not set":
            by_container.setdefault((h["object"], h["container"] or ""), []).append(h)
    for (obj, container), entries in by_container.items():
        fields = "; ".join(f"{h['path'].split('.', 4)[-1] if container else h['path']} = "
                           f"{h['value']} ({h['template']}:{h['line']})" for h in entries)
        it = "it" if len(entries) == 1 else "them"
        items.append(f"**Hard-coded in the template** — {md_cell(obj)}"
                     + (f" ({md_cell(container)})" if container else "")
                     + f": {md_cell(fields)}. No values key changes {it}: make {it} configurable "
                     "in the chart to set per environment.")
    for u in doc["unset_reads"]:
        if u["commented_out"]:
            items.append(f"**Commented out in values.yaml** — {md_cell(u['sentence'])}; "
                         "uncomment it (and tune it) to enable it.")
    return items


def with_values(markdown: str, doc: Mapping[str, Any], skip: Sequence[str] = ()) -> str:
    """deployment-analysis.md with the values facts in the seed's sections: the Production
    Values Override states what each set really changes (but the sets in `skip`); Identified
    Issues gains the hard-coded settings and the commented-out blocks."""
    blocks = {name: block for name, block in override_blocks(doc).items() if name not in skip}
    for n, (name, block) in enumerate(blocks.items(), 1):
        heading = f"## Production Values Override ({md_cell(name)})"
        text = "What the values really do:\n\n" + block
        if f"\n{heading}\n" in markdown:
            markdown = _append_to_section(markdown, heading, text)
        elif n == len(blocks) and "\n## Production Values Override\n" in markdown:
            markdown = _append_to_section(markdown, "## Production Values Override", text)
        else:  # a set the report does not compare on its own (or no comparison at all)
            markdown = markdown.replace("\n## Identified Issues\n",
                                        f"\n{heading}\n\n{block}\n\n## Identified Issues\n", 1)
    items = issues_markdown(doc)
    if items:
        start = markdown.index("## Identified Issues")
        end = _section_end(markdown, start)
        section = markdown[start:end]
        numbered = [line for line in section.splitlines() if line[:1].isdigit()]
        first = len(numbered) + 1
        added = "\n".join(f"{n}. {item}" for n, item in enumerate(items, first))
        body = section.rstrip() if numbered else "## Identified Issues"
        markdown = markdown[:start] + body + "\n" + ("" if numbered else "\n") + added + \
            "\n" + markdown[end:]
    return markdown


def _append_to_section(markdown: str, heading: str, text: str) -> str:
    start = markdown.index(f"\n{heading}\n") + 1
    end = _section_end(markdown, start)
    return markdown[:end].rstrip() + "\n\n" + text + "\n" + markdown[end:]


def _section_end(markdown: str, start: int) -> int:
    end = markdown.find("\n## ", start + 1)
    return len(markdown) if end < 0 else end
