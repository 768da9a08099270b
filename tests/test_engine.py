"""The engine's part: rows for every check examined, exemptions, profile grading, check bugs."""

from pathlib import Path

import pytest

from toolman_kit.analysis import Analysis
from toolman_kit.errors import ToolmanKitWarning
from toolman_kit.judge.registry import CATALOGUE, Area, Severity, Violation, check

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  annotations: {toolman-kit.io/ignore: "pdb-missing, seccomp-profile-missing/sidecar"}
spec:
  replicas: 1
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
        - {name: api, image: example/api:latest}
        - {name: sidecar, image: example/proxy:2.0.0}
"""


def rows(a, check_id, container=None):
    df = a.findings[a.findings["check_id"] == check_id]
    return df if container is None else df[df["container"] == container]


def test_annotation_exempts_listed_checks_and_containers_only():
    a = Analysis.of(DEPLOYMENT)
    pdb = rows(a, "pdb-missing")
    assert list(pdb["status"]) == ["exempt"]
    assert pdb["exempt_reason"].iloc[0] == "annotation toolman-kit.io/ignore: pdb-missing"
    assert list(rows(a, "seccomp-profile-missing", "sidecar")["status"]) == ["exempt"]
    assert list(rows(a, "seccomp-profile-missing", "api")["status"]) == ["fail"]


def test_profile_exempts_grades_and_disables(tmp_path: Path):
    profile = tmp_path / "p.yaml"
    profile.write_text(
        "extends: production\nmin_replicas: 1\n"
        "checks:\n  priority-class-missing: {enabled: false}\n"
        "  monitoring-missing: {severity: info}\n"
        "exemptions:\n  - {check: image-tag-mutable, name: 'ap*', container: api,"
        " reason: vendor pins by digest at deploy}\n")
    a = Analysis.of(DEPLOYMENT, profile=profile)
    assert rows(a, "priority-class-missing").empty
    assert set(rows(a, "monitoring-missing")["severity"]) == {"info"}
    assert list(rows(a, "replicas-below-minimum")["status"]) == ["pass"]
    assert list(rows(a, "anti-affinity-missing")["status"]) == ["skip"]
    tag = rows(a, "image-tag-mutable", "api")
    assert list(tag["status"]) == ["exempt"]
    assert tag["exempt_reason"].iloc[0] == "profile p: vendor pins by digest at deploy"
    assert list(Analysis.of(DEPLOYMENT).findings.query(
        "check_id == 'image-tag-mutable' and container == 'api'")["status"]) == ["fail"]


def test_every_examined_check_gives_a_row_with_its_status():
    a = Analysis.of(DEPLOYMENT)
    per_container = rows(a, "privileged-container")
    assert sorted(per_container["container"]) == ["api", "sidecar"]
    assert set(per_container["status"]) == {"pass"}
    assert a.findings["values_set"].isna().all()  # no label: missing, not ""
    assert (a.findings["line"] > 0).all()


def test_a_check_that_raises_is_reported_and_the_rest_still_run(monkeypatch):
    monkeypatch.setattr("toolman_kit.judge.registry.CATALOGUE", dict(CATALOGUE))

    @check(id="test-broken", area=Area.VALIDITY, severity=Severity.INFO, title="t",
           remediation="r")
    def broken(w, idx, profile):
        yield Violation("never")
        raise KeyError("boom")

    with pytest.warns(ToolmanKitWarning, match="check test-broken failed"):  # a bug of ours
        a = Analysis.of(DEPLOYMENT)
    assert any("check test-broken failed on Deployment" in e.message for e in a.errors)
    assert not rows(a, "pdb-missing").empty


@pytest.mark.parametrize("label", ["default", "production"])
def test_values_set_labels_rows(label):
    a = Analysis.of(DEPLOYMENT, values_set=label)
    assert set(a.findings["values_set"]) == {label}


def test_row_positions_follow_the_columns():
    """The named positions the formats and the checklist index rows with cannot drift."""
    from toolman_kit.judge import checklist, findings

    for i, column in enumerate(findings.COLUMNS):
        assert getattr(findings, column.upper()) == i, column
    for i, column in enumerate(checklist.COLUMNS):
        assert getattr(checklist, column.upper()) == i, column
