"""Output formats: small functions of an Analysis, registered in one dict (FORMATS)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pandas as pd

from toolman_kit import __version__
from toolman_kit.analysis import Analysis
from toolman_kit.judge.checklist import SYMBOL
from toolman_kit.judge.pss import pod_security_frame
from toolman_kit.judge.registry import catalogue

TOOL = {"name": "toolman-kit", "version": __version__,
        "informationUri": "https://github.com/toolman-kit/toolman-kit"}
SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Frame rows as JSON-ready dicts (pandas NA → None)."""
    return json.loads(df.to_json(orient="records", force_ascii=False))


def to_json(a: Analysis) -> str:
    checklist = a.checklist
    pss = pod_security_frame(a.index)
    document = {
        "tool": {"name": TOOL["name"], "version": TOOL["version"], "profile": a.profile.name},
        "inputs": a.manifests.inputs,
        "errors": [{"file": e.file, "line": e.line, "message": e.message} for e in a.errors],
        "findings": _records(a.findings),
        "checklist": _records(checklist[["workload", "component", "current_state", "status",
                                         "action"]]),
        "pod_security": _records(pss[["kind", "namespace", "name", "level", "violations"]]),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def to_csv(a: Analysis) -> str:
    return a.findings.to_csv(index=False)


def _md(value: Any) -> str:
    """A table cell: pipes and newlines would break the row; markup is neutralised by escaping."""
    text = "" if value is None or value is pd.NA else str(value)
    for char in ("\\", "|", "<", ">", "*", "_", "`", "[", "]"):
        text = text.replace(char, "\\" + char)
    return " ".join(text.split())


def markdown_table(df: pd.DataFrame, columns: dict[str, str]) -> str:
    lines = ["| " + " | ".join(columns.values()) + " |",
             "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(_md(v) for v in row) + " |"
              for row in df[list(columns)].itertuples(index=False)]
    return "\n".join(lines)


def checklist_markdown(checklist: pd.DataFrame) -> str:
    shown = checklist.assign(production_ready=checklist["status"].map(SYMBOL))
    blocks = []
    for workload, rows in shown.groupby("workload", sort=False):
        blocks.append(f"### {_md(workload)}\n\n" + markdown_table(rows, {
            "component": "Component", "current_state": "Current State",
            "production_ready": "Production Ready", "action": "Action Required"}))
    return "\n\n".join(blocks)


def to_markdown(a: Analysis) -> str:
    failed = a.findings[a.findings["status"] == "fail"]
    parts = [f"# Production readiness ({_md(a.profile.name)})", "",
             "## Production Readiness Checklist", "",
             checklist_markdown(a.checklist),
             "", "## Findings", "", markdown_table(failed, {
                 "severity": "Severity", "check_id": "Check", "kind": "Kind", "name": "Name",
                 "container": "Container", "message": "Finding", "remediation": "Action",
                 "file": "File", "line": "Line"}) if len(failed) else "No failures."]
    if a.errors:
        parts += ["", "## Input errors", ""] + [f"- {_md(e)}" for e in a.errors]
    return "\n".join(parts) + "\n"


def to_sarif(a: Analysis) -> str:
    checks = catalogue()
    rule_ids = sorted(set(a.findings["check_id"]) | set(checks))
    rules = []
    for rule_id in rule_ids:
        c = checks[rule_id]
        rules.append({
            "id": c.id, "name": c.id, "shortDescription": {"text": c.title},
            "fullDescription": {"text": c.description or c.title},
            "help": {"text": c.remediation.replace("{", "").replace("}", "")},
            "defaultConfiguration": {"level": SARIF_LEVEL[a.profile.severity(c.id, c.severity)]},
            "properties": {"area": c.area.value}})
    index_of = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    results = []
    for row in a.findings[a.findings["status"].isin(["fail", "exempt"])].itertuples(index=False):
        target = f"{row.kind}/{row.namespace}/{row.name}" if row.namespace else \
            f"{row.kind}/{row.name}"
        result: dict[str, Any] = {
            "ruleId": row.check_id, "ruleIndex": index_of[row.check_id],
            "level": SARIF_LEVEL[row.severity],
            "message": {"text": row.message},
            "locations": [{
                "physicalLocation": {"artifactLocation": {"uri": row.file},
                                     **({"region": {"startLine": int(row.line)}}
                                        if row.line is not pd.NA else {})},
                "logicalLocations": [{"fullyQualifiedName": target + (
                    f"/{row.container}" if row.container else ""), "kind": "resource"}]}],
            "properties": {"path": row.path, "template": row.template}}
        if row.status == "exempt":
            result["suppressions"] = [{"kind": "external", "justification": row.exempt_reason}]
        results.append(result)
    invocation = {"executionSuccessful": not a.errors, "toolExecutionNotifications": [
        {"level": "error", "message": {"text": e.message},
         "locations": [{"physicalLocation": {"artifactLocation": {"uri": e.file},
                                             **({"region": {"startLine": e.line}}
                                                if e.line else {})}}]}
        for e in a.errors]}
    sarif = {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
             "runs": [{"tool": {"driver": {**TOOL, "rules": rules}}, "results": results,
                       "invocations": [invocation]}]}
    return json.dumps(sarif, indent=2, ensure_ascii=False) + "\n"


def to_table(a: Analysis) -> str:
    """What a person reads in a terminal: the checklist per workload, then what failed."""
    lines = []
    checklist = a.checklist
    for workload, rows in checklist.groupby("workload", sort=False):
        lines.append(f"{workload}  (namespace {rows['namespace'].iloc[0] or '-'})")
        width = max(len(c) for c in rows["component"])
        state_width = min(max(len(s) for s in rows["current_state"]), 40)
        for r in rows.itertuples(index=False):
            state = r.current_state if len(r.current_state) <= 40 else r.current_state[:39] + "…"
            lines.append(f"  {SYMBOL[r.status]} {r.component:<{width}}  {state:<{state_width}}  "
                         f"{'' if r.action == '—' else r.action}".rstrip())
        lines.append("")
    failed = a.findings[a.findings["status"] == "fail"]
    for r in failed.itertuples(index=False):
        where = f"{r.file}:{r.line}" if r.line is not pd.NA else r.file
        target = f"{r.kind}/{r.name}" + (f"[{r.container}]" if r.container else "")
        lines.append(f"{r.severity.upper():<7} {r.check_id:<34} {target}: {r.message}  ({where})")
    counts = failed["severity"].value_counts()
    lines.append(f"\n{len(a.manifests)} objects, {len(a.index.workloads)} workloads: "
                 f"{counts.get('error', 0)} errors, {counts.get('warning', 0)} warnings, "
                 f"{counts.get('info', 0)} info; profile {a.profile.name}")
    return "\n".join(lines) + "\n"


def to_junit(a: Analysis) -> str:
    from xml.sax.saxutils import quoteattr

    cases = []
    for r in a.findings.itertuples(index=False):
        name = quoteattr(f"{r.check_id} {r.kind}/{r.name}" + (f"[{r.container}]" if r.container
                                                            else ""))
        body = ""
        if r.status == "fail":
            body = f"<failure message={quoteattr(r.message)} type={quoteattr(r.severity)}/>"
        elif r.status in ("skip", "exempt"):
            body = f"<skipped message={quoteattr(r.message or r.exempt_reason)}/>"
        cases.append(f'    <testcase classname={quoteattr(r.area)} name={name}>{body}</testcase>')
    failures = int((a.findings["status"] == "fail").sum())
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<testsuite name="toolman-kit" tests="{len(cases)}" failures="{failures}">\n'
            + "\n".join(cases) + "\n</testsuite>\n")


FORMATS: dict[str, Callable[[Analysis], str]] = {
    "table": to_table, "json": to_json, "csv": to_csv, "markdown": to_markdown,
    "sarif": to_sarif, "junit": to_junit,
}
