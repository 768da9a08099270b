"""`toolman-kit suggest`: the proven values override (chart/suggest.py) as a values file that
`helm install -f` accepts, as JSON (schemas/suggestion.schema.json) or as Markdown for a
pull-request comment.

Exit status: 0 a suggestion was made (what values cannot fix is listed, not an error); 2 usage or
input error, e.g. a chart that does not render with the starting values (Helm's message).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolman_kit.present.options import add_output_options, add_release_options, emit

if TYPE_CHECKING:
    import pandas as pd

    from toolman_kit.chart.candidates import Failure
    from toolman_kit.chart.suggest import Suggestion



def add_suggest_command(subparsers: Any, add_kube_version_option: Callable) -> None:
    p = subparsers.add_parser(
        "suggest", help="write a values override that fixes what values can, proven by renders",
        description="Find the values that make failing checks pass, from the chart itself (the "
                    "keys that control each failing field, well-known keys, commented-out "
                    "blocks, values.schema.json) and the profile; keep each only when a "
                    "re-render proves that it fixes something and introduces nothing; write "
                    "the override to put after your values, and what values cannot fix.")
    p.add_argument("--chart", metavar="DIR", required=True, help="the Helm chart directory")
    p.add_argument("-f", "--values", dest="files", action="append", default=[],
                   metavar="FILE", help="your values (repeatable, later wins): the start")
    p.add_argument("--set", action="append", default=[], metavar="K=V", dest="set_values",
                   help="your --set values (helm syntax; they win over the suggestion)")
    add_release_options(p, add_kube_version_option)
    p.add_argument("--format", choices=tuple(FORMATS), default="yaml",
                   help="yaml: the values file (default); json; markdown")
    add_output_options(p, "renders (provenance and candidates)")
    p.set_defaults(run=_suggest)


def _suggest(args: argparse.Namespace) -> int:
    from toolman_kit.chart.suggest import DEFAULT_MAX_RENDERS, suggest
    from toolman_kit.chart.suggested import counts

    s = suggest(args.chart, args.files, args.set_values, release=args.release,
                namespace=args.namespace, profile=args.profile, kube_version=args.kube_version,
                max_renders=DEFAULT_MAX_RENDERS if args.max_renders is None
                else args.max_renders, jobs=args.jobs, progress=sys.stderr)
    emit(FORMATS[args.format](s), args.output)
    print(f"suggest: {counts(s)} ({s.renders} renders, {s.seconds:.1f}s)", file=sys.stderr)
    return 0


# --- the document ------------------------------------------------------------------------------

def _object(f: Failure) -> dict[str, Any]:
    return {"row": f.row or None, "check_id": f.check_id, "severity": f.severity,
            "object": f.object, "container": f.container or None}


def document(s: Suggestion) -> dict[str, Any]:
    """The JSON of `--format json` (schemas/suggestion.schema.json)."""
    from toolman_kit import __version__
    from toolman_kit.chart.compare import checklist_records
    from toolman_kit.chart.valuesfile import show

    def keys(ks: list[tuple[str, ...]]) -> list[str]:
        return [show(k) for k in dict.fromkeys(ks)]

    return {
        "tool": {"name": "toolman-kit", "version": __version__},
        "chart": {"path": str(s.chart), "name": s.name, "version": s.version},
        "profile": s.profile, "kube_version": s.kube_version, "release": s.release,
        "namespace": s.namespace, "start": {"files": s.files, "set": s.set_values},
        "values": s.values, "file": s.text,
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
    }


def to_json(s: Suggestion) -> str:
    return json.dumps(document(s), indent=2, ensure_ascii=False) + "\n"


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

    from toolman_kit.judge.checklist import SYMBOL

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
    from toolman_kit.present.formats import _md, markdown_table

    h = "#" * level
    chart = doc["chart"]
    title = f"{h} Suggested values for {_md(chart['name'])} {_md(chart['version'])}" \
        if level == 1 else f"{h} Suggested Production Values"
    parts = [title, "", _md(verdict(doc)) + f" Profile **{_md(doc['profile'])}**, Kubernetes "
             f"{_md(doc['kube_version'])}.", "", f"{h}# Checklist before and after", "",
             markdown_table(checklist_change(doc), {
                 "workload": "Workload", "component": "Component", "before": "Before",
                 "after": "With the suggestion"})]

    def lines(df: pd.DataFrame, text: Callable[[Any], str], empty: str) -> list[str]:
        return [f"- {'**' + _md(r.row) + '** ' if r.row else ''}{_md(r.check)} on "
                f"{_md(r.object)}: {text(r)}" for r in df.itertuples(index=False)] or [empty]

    parts += ["", f"{h}# Fixed", ""] + lines(fixed(doc), lambda r: _md(r.keys), "Nothing.")
    parts += ["", f"{h}# What values cannot fix", ""] + lines(
        remaining(doc), lambda r: _md(r.reason) + (f" ({_md(r.template)})" if r.template
                                                   else ""), "Nothing: every failure is fixed.")
    if doc["introduced"]:
        parts += ["", f"{h}# Introduced (trade-offs)", ""] + lines(
            introduced(doc), lambda r: f"by {_md(r.keys)}: {_md(r.resolve)}", "")
    if doc["renders"]["not_tried"]:
        parts += ["", f"{h}# Not tried", ""] + [f"- {_md(t)}"
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
         compute: bool = False) -> dict[str, Any] | None:
    """The suggestion document of a report's first chart-rendered set: read from `path` when
    the report wrote it; else computed when `compute`; else None."""
    if path and Path(path).is_file():
        return json.loads(Path(path).read_text(encoding="utf-8"))
    if not compute:
        return None
    from toolman_kit.chart.suggest import suggest
    from toolman_kit.present.inputs import validate

    specs, chart, profile = validate(sets, chart, profile)
    start = next((s for s in specs if "values" in s), {"values": [], "set": []})
    return document(suggest(chart, start["values"], start["set"], release=release,
                            namespace=namespace, profile=profile, kube_version=kube_version,
                            jobs=1))


def to_markdown(s: Suggestion) -> str:
    """For a pull-request comment."""
    return markdown(document(s))


FORMATS: dict[str, Callable[[Any], str]] = {"yaml": lambda s: s.text, "json": to_json,
                                             "markdown": to_markdown}
