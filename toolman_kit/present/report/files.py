"""The report's data files, written by the main thread while the notebooks run: the values
comparison and suggestion (with a chart), deployment-analysis.md, findings.json, findings.csv and
report.sarif.

The analysis and document modules are imported in the functions that use them, which run while
the kernels boot: imported with this module they would add ≈ 0.35 s before the first kernel starts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from toolman_kit.present.inputs import Inputs

SUGGESTED, SUGGESTION = "suggested-values.yaml", "suggestion.json"  # with --suggest
DATA_FILES = ("deployment-analysis.md", "findings.json", "findings.csv", "report.sarif")


@dataclass
class Report:
    index: Path
    counts: dict[str, Any] = field(default_factory=dict)  # views.checklist_counts of the candidate
    baseline_counts: dict[str, Any] | None = None
    seconds: float = 0.0
    input_errors: list[str] = field(default_factory=list)  # shown in the report; exit status 2


def analyse(params: dict[str, Any]) -> Inputs:
    """The analyses every notebook shows (bad input raises here, before any notebook runs)."""
    from toolman_kit.present.inputs import inputs

    return inputs(sets=params["sets"], chart=params["chart"], profile=params["profile"],
                  namespace=params["namespace"], release=params["release"],
                  kube_version=params["kube_version"],
                  api_versions=params.get("api_versions", ()))


def write_data_files(staging: Path, params: dict[str, Any], ins: Inputs) -> Report:
    """With a chart, comparison.json (the values page waits for it); then
    deployment-analysis.md, findings.json, findings.csv and report.sarif, from the same
    analysis the notebooks show (with the values facts of the comparison)."""
    from toolman_kit.present import formats
    from toolman_kit.present.narrative import markdown_report
    from toolman_kit.present.views import checklist_counts

    comparison, comparison_doc, suggested = None, None, None
    sets = list(params["sets"])
    if params.get("suggest"):
        suggested, extra = _suggest(staging, params)
        sets.append(extra)
    if "comparison" in params:
        from toolman_kit.present.comparison_doc import document, to_json
        from toolman_kit.values.sets import compare_sets

        comparison = compare_sets(
            params["chart"], sets, release=params["release"], namespace=params["namespace"],
            profile=params["profile"], kube_version=params["kube_version"], jobs=1,
            api_versions=params.get("api_versions", ()))
        comparison_doc = document(comparison, params.get("config"))
        (staging / "comparison.json").write_text(to_json(comparison_doc), encoding="utf-8")
    a, base = ins.analysis, ins.baseline
    config = params.get("config")  # the configuration file in use, named in every file's head
    markdown = markdown_report(ins, title=params["title"], config=config)
    if comparison is not None:
        from toolman_kit.present.values_views import with_values
        from toolman_kit.values.provenance import with_values as carrying

        markdown = with_values(markdown, comparison_doc,
                               skip=[sets[-1]["name"]] if suggested else [])
        same = next((s for s in comparison.sets if s.name == ins.label), None)
        if same is not None and same.provenance is not None:
            a = carrying(a, same.provenance)  # findings.json: the keys of each failing field
    if suggested is not None:
        from toolman_kit.present.suggestion_doc import section

        markdown = section(markdown, suggested, comparison_doc)
    (staging / "deployment-analysis.md").write_text(markdown, encoding="utf-8")
    (staging / "findings.json").write_text(formats.to_json(a, config=config), encoding="utf-8")
    (staging / "findings.csv").write_text(formats.to_csv(a), encoding="utf-8")  # no head
    (staging / "report.sarif").write_text(formats.to_sarif(a, config=config), encoding="utf-8")
    errors = [str(e) for _, analysis in ins.sets for e in analysis.errors]
    errors += comparison.errors if comparison is not None else []
    return Report(staging / "index.html", checklist_counts(a),
                  checklist_counts(base) if base is not None else None,
                  input_errors=list(dict.fromkeys(errors)))


def _suggest(staging: Path, params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The suggestion for the first chart-rendered set compared with the reference (the one
    rendered with the user's -f files, not the chart defaults before it; the reference only
    when it is alone): its files written, its document, and the set it adds to the values
    comparison (that set's values, then the suggested file)."""
    from dataclasses import replace

    from toolman_kit.chart.valuesfile import read_values_file
    from toolman_kit.present.suggestion_doc import document
    from toolman_kit.values.suggest import suggest

    sets = params["sets"]
    start = next((s for s in sets[1:] if "values" in s), sets[0])
    s = suggest(params["chart"], start["values"], start["set"],
                release=params["release"] if params.get("release_given", True) else None,
                namespace=params["namespace"], profile=params["profile"],
                kube_version=params["kube_version"], jobs=1,
                api_versions=params.get("api_versions", ()))
    doc = document(s, params.get("config"))
    (staging / SUGGESTED).write_text(doc["file"], encoding="utf-8")  # its head names config
    (staging / SUGGESTION).write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n",
                                      encoding="utf-8")
    names = {spec["name"] for spec in params["sets"]}
    name = next(n for n in ("suggested", "suggested values", "toolman-kit suggestion")
                if n not in names)
    file = replace(read_values_file(staging / SUGGESTED), path=SUGGESTED)
    return doc, {"name": name, "values": [*start["values"], file], "set": start["set"]}
