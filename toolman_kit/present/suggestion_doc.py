"""`toolman-kit suggest`: the proven values override (values/suggest.py) as a values file that
`helm install -f` accepts, as JSON (schemas/suggestion.schema.json) or as Markdown for a
pull-request comment.

Exit status: 0 a suggestion was made (what values cannot fix is listed, not an error); 2 usage or
input error, e.g. a chart that does not render with the starting values (Helm's message).
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolman_kit import __version__
from toolman_kit.chart.redact import redact_set
from toolman_kit.chart.sources import named, shown
from toolman_kit.chart.valuesfile import Key, dump_values, show
from toolman_kit.judge.checklist import SYMBOL
from toolman_kit.present.comparison_doc import checklist_records
from toolman_kit.present.formats import markdown_table
from toolman_kit.text import md_cell, terminal_safe

if TYPE_CHECKING:
    import pandas as pd

    from toolman_kit.values.candidates import Failure
    from toolman_kit.values.suggest import Suggestion



# --- the values file ------------------------------------------------------------------------

WIDTH = 100


def failure_counts(s: Suggestion) -> str:
    """The failures the suggestion fixes, introduces and leaves, in words."""
    return (f"{len(s.fixed)} failing checks fixed, {len(s.introduced)} introduced, "
            f"{len(s.remaining)} remain")


def to_yaml(s: Suggestion, config: str | None = None) -> str:
    """The override as a values file: only the keys that change, each with its comments, in the
    order of the chart's values.yaml; its head names the configuration file in use."""
    starting = ", ".join(s.files) or "the chart defaults"
    source = named(s.chart)  # a fetched chart: as Helm takes it (app --repo URL --version V)
    install = " ".join(["helm upgrade --install", s.release,
                        source.helm if source else str(s.chart), "-n", s.namespace,
                        *(f"-f {f}" for f in s.files), "-f <this file>",
                        *(f"--set {redact_set(e)}" for e in s.set_values)])
    head = [f"Suggested values for {s.name} {s.version}, written by toolman-kit and proven by "
            f"rendering and checking the chart with them (profile {s.profile}, Kubernetes "
            f"{s.kube_version}), after {starting}: {failure_counts(s)}.", f"Use: {install}"
            # helm install asks the cluster what it serves (only `helm template` takes -a)
            + (f" (rendered with --api-versions {','.join(s.api_versions)}: the cluster "
               "must serve them)" if s.api_versions else "")]
    if s.release_warning:
        head.append(f"Warning: {s.release_warning}.")
    if s.remaining:
        head.append("What values cannot fix: toolman-kit suggest --format markdown (or json).")
    lines = [f"# {line}" for text in head
             for line in textwrap.wrap(text, WIDTH - 2, break_on_hyphens=False)]
    if config:  # one line, unwrapped, a newline in it escaped: nothing else a comment
        lines.append(f"# Configuration: {terminal_safe(config)}")
    whole = {k for step in s.steps for c in step.candidates for k in c.keys}
    leaves = {k for k in whole if not any(o != k and o[:len(k)] == k for o in whole)}
    body = dump_values(s.values, _comments(s), leaves, s.lines, WIDTH)
    return "\n".join(lines) + "\n\n" + body


def _rows(s: Suggestion, fixed: list[Failure]) -> list[str]:
    """"PDB ❌ → ✅ (pdb-missing)" for the checklist rows the failures are in."""

    def statuses(a: Any) -> dict[tuple[str, str, str], str]:
        return {(workload, namespace, component): status
                for workload, namespace, component, _, status, _, _ in a.checklist_rows}

    before, after = statuses(s.before), statuses(s.after)
    labels = {(w.kind, w.namespace, w.name): s.before.index.label(w)
              for w in s.before.index.workloads}
    many = len(labels) > 1
    out: dict[str, list[str]] = {}  # line → check ids, or containers
    for f in fixed:
        label = labels.get((f.kind, f.namespace, f.name))
        key = (label, f.namespace, f.row)
        if f.row and key in before and before[key] != after.get(key):
            text = f"{f.row} {SYMBOL.get(before[key], '·')} → {SYMBOL.get(after.get(key), '·')}"
            text += f" on {label}" if many else ""
            item = f.check_id
        else:  # no row, or a row that other failures keep as it was: say what did change
            text, item = f"{f.check_id} fixed on {f.object}", f.container
            if f.row and key in before:
                text = f"{f.row} stays {SYMBOL.get(before[key], '·')}: {text}"
        out.setdefault(text, [])
        if item and item not in out[text]:
            out[text].append(item)
    return [f"{text} ({', '.join(items)})" if items else text for text, items in out.items()]


def _comments(s: Suggestion) -> dict[Key, list[str]]:
    """The comment lines above each key: what it fixes, why this value, what to make sure of."""
    out: dict[Key, list[str]] = {}
    for step in s.steps:
        for i, c in enumerate(step.candidates):
            lines = []
            if i == 0:
                lines += [f"{row}." for row in _rows(s, step.fixed)]
            else:
                main = ", ".join(f"{show(k)}" for k in step.candidates[0].keys)
                checks = ", ".join(dict.fromkeys(t[0] for t in c.targets))
                lines.append(f"With {main}: resolves {checks}, which {main} alone introduces.")
            lines.append(_sentence(c.why))
            if c.note:
                lines.append(f"Note: {c.note.rstrip('.')}.")
            if i == 0 and step.introduced:
                lines += [f"Trade-off: introduces {f.check_id} on {f.where()} (less severe than "
                          "what it fixes)." for f in step.introduced]
            out.setdefault(_anchor(c.keys), []).extend(lines)
    return out


def _sentence(text: str) -> str:
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."


def _anchor(keys: list[Key]) -> Key:
    """Where a candidate's comment goes: above the deepest map holding all its keys."""
    common: Key = keys[0]
    for k in keys[1:]:
        n = 0
        while n < min(len(common), len(k)) and common[n] == k[n]:
            n += 1
        common = common[:n]
    return common or keys[0]


# --- the document ------------------------------------------------------------------------------

def _object(f: Failure) -> dict[str, Any]:
    return {"row": f.row or None, "check_id": f.check_id, "severity": f.severity,
            "object": f.object, "container": f.container or None}


def document(s: Suggestion, config: str | None = None) -> dict[str, Any]:
    """The JSON of `--format json` (schemas/suggestion.schema.json); `config`: the configuration
    file in use."""
    def keys(ks: list[tuple[str, ...]]) -> list[str]:
        return [show(k) for k in dict.fromkeys(ks)]

    return {
        "tool": {"name": "toolman-kit", "version": __version__}, "config": config,
        "chart": {"path": shown(s.chart), "name": s.name, "version": s.version,
                  "digest": source.digest if (source := named(s.chart)) else None},
        "profile": s.profile, "kube_version": s.kube_version, "api_versions": s.api_versions,
        "release": s.release, "release_given": s.release_given,
        "release_keys": keys(s.release_keys), "release_warning": s.release_warning,
        "namespace": s.namespace,
        "start": {"files": s.files, "set": [redact_set(e) for e in s.set_values]},
        "values": s.values, "file": to_yaml(s, config),
        "suggestions": [{"keys": keys(c.keys), "why": c.why, "note": c.note or None,
                         "partner_of": keys(step.candidates[0].keys) if i else None,
                         "fixes": [_object(f) for f in step.fixed] if not i else [],
                         "introduces": [_object(f) for f in step.introduced] if not i else []}
                        for step in s.steps for i, c in enumerate(step.candidates)],
        "fixed": [{**_object(f), "keys": keys(ks)} for f, ks in s.fixed],
        "remaining": [{**_object(f), "path": f.path, "reason": u.reason, "kind": u.kind,
                       "template": u.template or None} for f, u in s.remaining],
        "introduced": [{**_object(f), "keys": keys(ks), "resolve": resolve}
                       for f, ks, resolve in s.introduced],
        "checklist_before": checklist_records(s.before),
        "checklist_after": checklist_records(s.after),
        "renders": {"count": s.renders, "max": s.max_renders, "not_tried": s.not_tried},
        "warnings": s.warnings,
    }


def to_json(s: Suggestion, config: str | None = None) -> str:
    return json.dumps(document(s, config), indent=2, ensure_ascii=False) + "\n"


# --- tables and Markdown, from the document (the report's notebook reads suggestion.json) ----

def verdict(doc: dict[str, Any]) -> str:
    fixed, introduced, remaining = (len(doc[k]) for k in ("fixed", "introduced", "remaining"))
    start = ", ".join(Path(f).name for f in doc["start"]["files"]) or "the chart defaults"
    return (f"After {start}, the suggested values fix {fixed} failing checks, introduce "
            f"{introduced} and leave {remaining} that values cannot fix; each value was proven "
            f"by rendering the chart with it and re-running the checks "
            f"({doc['renders']['count']} renders).")


def checklist_change(doc: dict[str, Any]) -> pd.DataFrame:
    """Workload, component, before and after ("❌ 1", "✅ 3"), and whether the row changed."""
    import pandas as pd

    after = {(r["workload"], r["component"]): r for r in doc["checklist_after"]}

    def cell(r: dict[str, Any] | None) -> str:
        return f"{SYMBOL.get(r['status'], '')} {r['current_state']}".strip() if r else "—"

    rows = [{"workload": r["workload"], "component": r["component"], "before": cell(r),
             "after": cell(a := after.get((r["workload"], r["component"]))),
             "changed": a is None or a["status"] != r["status"]}
            for r in doc["checklist_before"]]
    return pd.DataFrame(rows, columns=["workload", "component", "before", "after", "changed"])


def _failure_rows(items: list[dict[str, Any]], *extra: str) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame([{"row": i["row"] or "", "check": i["check_id"],
                          "object": i["object"] + (f" [{i['container']}]" if i["container"]
                                                   else ""),
                          **{k: ", ".join(i[k]) if isinstance(i[k], list) else i[k] or ""
                             for k in extra}} for i in items],
                        columns=["row", "check", "object", *extra])


def fixed(doc: dict[str, Any]) -> pd.DataFrame:
    return _failure_rows(doc["fixed"], "keys")


def remaining(doc: dict[str, Any]) -> pd.DataFrame:
    return _failure_rows(doc["remaining"], "reason", "template")


def introduced(doc: dict[str, Any]) -> pd.DataFrame:
    return _failure_rows(doc["introduced"], "keys", "resolve")


def markdown(doc: dict[str, Any], level: int = 1) -> str:
    """The suggestion in Markdown, its title at heading `level`: the before/after checklist,
    the lists, the file. `level` 2 is the section of deployment-analysis.md."""
    h = "#" * level
    chart = doc["chart"]
    title = f"{h} Suggested values for {md_cell(chart['name'])} {md_cell(chart['version'])}" \
        if level == 1 else f"{h} Suggested Production Values"
    parts = [title, "", md_cell(verdict(doc)) + f" Profile **{md_cell(doc['profile'])}**, "
             f"Kubernetes {md_cell(doc['kube_version'])}.", "",
             *([f"Configuration: {md_cell(doc['config'])}", ""]
               if level == 1 and doc.get("config") else []),
             *([f"**Warning**: {md_cell(doc['release_warning'])}.", ""]
               if doc.get("release_warning") else []),
             f"{h}# Checklist before and after", "",
             markdown_table(checklist_change(doc), {
                 "workload": "Workload", "component": "Component", "before": "Before",
                 "after": "With the suggestion"})]

    def lines(df: pd.DataFrame, text: Callable[[Any], str], empty: str) -> list[str]:
        return [f"- {'**' + md_cell(r.row) + '** ' if r.row else ''}{md_cell(r.check)} on "
                f"{md_cell(r.object)}: {text(r)}" for r in df.itertuples(index=False)] or [empty]

    parts += ["", f"{h}# Fixed", ""] + lines(fixed(doc), lambda r: md_cell(r.keys), "Nothing.")
    parts += ["", f"{h}# What values cannot fix", ""] + lines(
        remaining(doc), lambda r: md_cell(r.reason) + (f" ({md_cell(r.template)})" if r.template
                                                   else ""), "Nothing: every failure is fixed.")
    if doc["introduced"]:
        parts += ["", f"{h}# Introduced (trade-offs)", ""] + lines(
            introduced(doc), lambda r: f"by {md_cell(r.keys)}: {md_cell(r.resolve)}", "")
    if doc["renders"]["not_tried"]:
        parts += ["", f"{h}# Not tried", ""] + [f"- {md_cell(t)}"
                                                for t in doc["renders"]["not_tried"]]
    text = doc["file"]
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall("`+", text)), default=0))
    parts += ["", f"{h}# The values", "", f"{fence}yaml", text.rstrip("\n"), fence]
    return "\n".join(parts) + "\n"


def section(report: str, doc: dict[str, Any], comparison: dict[str, Any] | None = None) -> str:
    """deployment-analysis.md with the Suggested Production Values section (the seed's
    "Production Values Override", by machine) before its Identified Issues; with the values
    comparison, what the suggested set changes against the reference."""
    from toolman_kit.present.values_views import override_blocks

    text = markdown(doc, level=2).rstrip("\n")
    if comparison is not None:
        block = list(override_blocks(comparison).values())[-1:]
        if block:
            head, _, rest = text.partition("\n\n### ")
            text = f"{head}\n\n{block[0]}\n\n### {rest}"
    marker = "\n## Identified Issues\n"
    if marker not in report:
        return report.rstrip("\n") + "\n\n" + text + "\n"
    return report.replace(marker, f"\n{text}\n{marker}", 1)


def load(chart: Any, sets: list[dict[str, Any]], release: str = "release-name",
         namespace: str | None = None, profile: Any = "production",
         kube_version: str | None = None, path: str | None = None,
         compute: bool = False, api_versions: Sequence[str] = ()) -> dict[str, Any] | None:
    """The suggestion document of a report's first chart-rendered set: read from `path` when
    the report wrote it; else computed when `compute`; else None."""
    if path and Path(path).is_file():
        return json.loads(Path(path).read_text(encoding="utf-8"))
    if not compute:
        return None
    from toolman_kit.present.inputs import validate
    from toolman_kit.values.suggest import suggest

    specs, chart, profile = validate(sets, chart, profile)
    start = next((s for s in specs if "values" in s), {"values": [], "set": []})
    return document(suggest(chart, start["values"], start["set"], release=release,
                            namespace=namespace, profile=profile, kube_version=kube_version,
                            jobs=1, api_versions=api_versions))


def to_markdown(s: Suggestion, config: str | None = None) -> str:
    """For a pull-request comment."""
    return markdown(document(s, config))


# (suggestion, the configuration file in use) → text
FORMATS: dict[str, Callable[[Any, str | None], str]] = {"yaml": to_yaml, "json": to_json,
                                                          "markdown": to_markdown}
