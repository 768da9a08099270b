"""The values facts in `toolman-kit report --chart`: comparison.json, the 05_values page, the
seed's sections of deployment-analysis.md, the findings' `values` column, and --kube-version
reaching every notebook. Real kernels, real renders."""

from __future__ import annotations

import contextlib
import io
import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from helpers import CHART, FIXTURES, line_of

from toolman_kit.commands import main

pytest.importorskip("helm_python")
pytestmark = pytest.mark.slow  # every test here reads or builds a report: kernels, papermill


@pytest.fixture
def report(toolman_report: tuple[Path, str]) -> Path:
    """The default report: the Toolman chart, production values against the defaults."""
    return toolman_report[0]


def test_comparison_json_beside_findings_json(report: Path) -> None:
    doc = json.loads((report / "comparison.json").read_text())
    schema = json.loads(resources.files("toolman_kit").joinpath(
        "schemas/comparison.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(doc)
    assert [s["name"] for s in doc["sets"]] == ["chart defaults", "values-production.yaml",
                                                 "suggested"]  # the example suggests values


def test_the_values_page(report: Path) -> None:
    page = (report / "05_values.html").read_text()
    for heading in ("Value Sets Side by Side", "Values That Do Nothing", "Unknown Keys",
                    "What the Defaults Leave Unset", "Where Each Failing Setting Comes From",
                    "Hard-Coded Settings"):
        assert f">{heading}<" in page, heading
    assert "dind" in page and "no template reads it" in page
    assert "podDisruptionBudget.enabled" in page and "docker:dind" in page
    assert 'href="05_values.html"' in (report / "index.html").read_text()  # in the navigation


def test_the_markdown_says_what_the_values_really_do(report: Path) -> None:
    md = (report / "deployment-analysis.md").read_text()
    override = md[md.index("## Production Values Override"):md.index("## Identified Issues")]
    production = CHART / "values-production.yaml"
    assert f"dind (values-production.yaml:{line_of(production, 'dind:')}) — no template " \
           "reads it; the field it seems meant for is hard-coded" in override
    issues = md[md.index("## Identified Issues"):md.index("## Recommendations")]
    assert "**Hard-coded in the template** — Deployment/toolman (docker-daemon)" in issues
    assert "securityContext.privileged = true" in issues
    values = CHART / "values.yaml"
    assert ("livenessProbe is read by templates/deployment.yaml but commented out in "
            f"values.yaml:{line_of(values, '# livenessProbe:')}") in issues


def test_findings_carry_the_values_column(report: Path) -> None:
    findings = json.loads((report / "findings.json").read_text())["findings"]
    failing = {(f["check_id"], f["container"]): f["values"] for f in findings
               if f["status"] == "fail"}
    assert failing[("topology-spread-missing", "")] == "topologySpreadConstraints"
    assert failing[("privileged-container", "docker-daemon")] == ""
    assert all(f["values"] == "" for f in findings if f["status"] != "fail")


PAYLOAD = "<script>alert(1)</script>"


def test_kube_version_reaches_every_notebook_and_values_are_escaped(tmp_path: Path) -> None:
    """--kube-version: the render, the checks and notebooks 00–05 follow it. A values file whose
    keys carry markup: shown as text in the values page and the Markdown, never as markup."""
    hostile = tmp_path / "values-hostile.yaml"
    hostile.write_text(f'"{PAYLOAD}": 1\nminAvailable: 2\n', encoding="utf-8")
    out = tmp_path / "legacy"
    with contextlib.redirect_stderr(io.StringIO()):
        assert main(["report", "--chart", str(FIXTURES / "charts" / "legacy"), "-f",
                     str(hostile), "--kube-version", "1.24", "--out", str(out), "-j", "2"]) == 0
    findings = json.loads((out / "findings.json").read_text())["findings"]
    assert {f["check_id"] for f in findings if f["status"] == "fail"} >= {
        "api-version-deprecated"}
    assert "apiVersion is deprecated" in (out / "00_summary.html").read_text()
    doc = json.loads((out / "comparison.json").read_text())
    assert doc["kube_version"] == "1.24"
    assert [u["key"] for u in doc["sets"][1]["unknown_keys"]] == [PAYLOAD]
    page = (out / "05_values.html").read_text()
    assert PAYLOAD not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    md = (out / "deployment-analysis.md").read_text()
    assert PAYLOAD not in md and "\\<script\\>" in md
