"""--kube-version: the removed/deprecated apiVersion checks and the render's .Capabilities."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from helpers import FIXTURES, make_chart

from toolman_kit.chart.render import render
from toolman_kit.commands import main
from toolman_kit.judge.apis import DEFAULT_KUBE_VERSION, helm_kube_version, removals, source

CHECKS = FIXTURES / "checks"
CAPABILITIES = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: caps
data:
  version: {{ .Capabilities.KubeVersion.Version | quote }}
  minor: {{ .Capabilities.KubeVersion.Minor | quote }}
"""
OLD_PDB = """\
{{- if semverCompare "<1.25-0" .Capabilities.KubeVersion.Version }}
apiVersion: policy/v1beta1
{{- else }}
apiVersion: policy/v1
{{- end }}
kind: PodDisruptionBudget
metadata:
  name: web
spec:
  minAvailable: 1
  selector:
    matchLabels: {app: web}
"""


def test_the_table_covers_the_required_removals() -> None:
    assert {r.removed_in for r in removals().values()} >= {
        "1.16", "1.22", "1.25", "1.26", "1.27", "1.29", "1.32"}
    assert source().startswith("https://kubernetes.io/docs/reference/using-api/deprecation-guide")
    pdb = removals()[("policy/v1beta1", "PodDisruptionBudget")]
    assert (pdb.removed_in, pdb.replacement) == ("1.25", "policy/v1")
    assert pdb.removed("1.25") and not pdb.removed("v1.24.9") and pdb.deprecated("1.24")
    assert not pdb.deprecated("1.20")  # policy/v1 is only served from 1.21


def test_capabilities_follow_the_kube_version(sdk, tmp_path: Path) -> None:
    c = make_chart(tmp_path / "c", {"caps.yaml": CAPABILITIES})
    doc = yaml.safe_load(render(c, kube_version="1.29").text)
    assert doc["data"] == {"version": "v1.29.0", "minor": "29"}
    assert yaml.safe_load(render(c, kube_version="v1.31.4").text)["data"]["version"] == "v1.31.4"
    # The default target is what Helm itself reports, so a default render is helm template's.
    assert yaml.safe_load(render(c).text)["data"]["version"] == helm_kube_version(
        DEFAULT_KUBE_VERSION)


def test_check_kube_version_drives_checks_and_render(sdk, tmp_path: Path, capsys) -> None:
    c = make_chart(tmp_path / "c", {"pdb.yaml": OLD_PDB})
    assert main(["check", "--chart", str(c), "--format", "json", "--kube-version", "1.24"]) == 0
    out = capsys.readouterr().out
    failed = {f["check_id"] for f in json.loads(out)["findings"] if f["status"] == "fail"}
    assert "api-version-deprecated" in failed and "policy/v1beta1" in out
    assert main(["check", "--chart", str(c), "--format", "json", "--kube-version", "1.25"]) == 0
    out = capsys.readouterr().out  # rendered for 1.25, the chart picks policy/v1
    assert "policy/v1beta1" not in out


def test_removed_api_is_an_error_naming_the_replacement(capsys) -> None:
    fixture = CHECKS / "api-version-removed" / "fail-policy-v1beta1-pdb.yaml"
    assert main(["check", str(fixture), "--kube-version", "1.25"]) == 1
    out = capsys.readouterr().out
    assert "api-version-removed" in out and "since Kubernetes 1.25 (target 1.25): use policy/v1" \
        in out
    assert main(["check", str(fixture), "--kube-version", "1.24", "--fail-on", "never"]) == 0
    assert "ERROR   api-version-removed" not in capsys.readouterr().out


def test_a_bad_kube_version_is_a_one_line_error(capsys) -> None:
    fixture = CHECKS / "api-version-removed" / "pass-policy-v1-pdb.yaml"
    assert main(["check", str(fixture), "--kube-version", "one.two"]) == 2
    assert capsys.readouterr().err.strip() == (
        "toolman-kit: error: not a Kubernetes version: 'one.two' (e.g. 1.29 or v1.29.3)")
