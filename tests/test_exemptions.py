"""Who may exempt a workload from a check: `allow_annotation_exemptions: false` leaves only the
profile's exemptions, and `--peer-exemptions` reads Polaris', kube-score's, checkov's and
kube-linter's annotations as ours for the checks that mean the same."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from toolman_kit.analysis import Analysis
from toolman_kit.commands import main
from toolman_kit.commands.options import profile_flags
from toolman_kit.errors import ProfileError
from toolman_kit.judge.engine import NOT_ALLOWED
from toolman_kit.judge.peer_exemptions import mapping
from toolman_kit.judge.profiles import derived, load_profile
from toolman_kit.judge.registry import catalogue
from toolman_kit.present.docs import catalogue_markdown

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: prod
  annotations: {annotations}
spec:
  replicas: 3
  selector: {{matchLabels: {{app: api}}}}
  template:
    metadata: {{labels: {{app: api}}}}
    spec:
      containers:
      - name: app
        image: api:latest
        securityContext: {{privileged: true}}
"""


def findings(tmp_path, annotations: str, profile: str = "", **settings):
    manifest = tmp_path / "m.yaml"
    manifest.write_text(DEPLOYMENT.format(annotations=annotations))
    path = tmp_path / "profile.yaml"
    path.write_text("extends: production\n" + profile)
    prof = load_profile(str(path))
    if settings:
        from dataclasses import replace
        prof = replace(prof, **settings)
    f = Analysis.of(manifest, profile=prof).findings
    return f.set_index("check_id")


def test_annotations_exempt_by_default(tmp_path):
    f = findings(tmp_path, "{toolman-kit.io/ignore: 'privileged-container/app'}")
    assert f.loc["privileged-container", "status"] == "exempt"


def test_a_profile_that_allows_no_annotation_keeps_the_failure_and_says_why(tmp_path):
    f = findings(tmp_path, "{toolman-kit.io/ignore: 'privileged-container/app,pdb-missing'}",
                 "allow_annotation_exemptions: false\n"
                 "exemptions: [{check: pdb-missing, reason: the platform makes PDBs}]\n")
    row = f.loc["privileged-container"]
    assert row["status"] == "fail" and pd.isna(row["exempt_reason"])
    assert row["message"] == (f"app runs privileged ({NOT_ALLOWED}: annotation "
                              "toolman-kit.io/ignore: privileged-container/app)")
    pdb = f.loc["pdb-missing"]  # the profile's own exemption still holds
    assert pdb["status"] == "exempt"
    assert pdb["exempt_reason"] == "profile profile: the platform makes PDBs"
    assert "not allowed" not in pdb["message"]


def test_a_refused_annotation_fails_the_check_run(tmp_path, capsys):
    manifest = tmp_path / "m.yaml"
    manifest.write_text(DEPLOYMENT.format(
        annotations="{toolman-kit.io/ignore: 'privileged-container,image-tag-mutable,"
                    "pdb-missing,network-policy-missing,anti-affinity-missing,"
                    "liveness-probe-missing,readiness-probe-missing,cpu-requests-missing,"
                    "memory-requests-missing,cpu-limits-missing,memory-limits-missing,"
                    "monitoring-missing,run-as-root-allowed'}"))
    strict = tmp_path / "strict.yaml"
    strict.write_text("extends: production\nallow_annotation_exemptions: false\n")
    args = ["check", str(manifest), "--format", "json", "--only-failed", "--fail-on", "error"]
    assert main(args) == 0  # every error exempted by the annotation
    assert main([*args, "--profile", str(strict)]) == 1
    assert NOT_ALLOWED in capsys.readouterr().out


@pytest.mark.parametrize("annotation, check_id, reason", [
    ('{polaris.fairwinds.com/runAsPrivileged-exempt: "true"}', "privileged-container",
     'polaris annotation polaris.fairwinds.com/runAsPrivileged-exempt: true'),
    ('{polaris.fairwinds.com/exempt: "true"}', "image-tag-mutable",
     "polaris annotation polaris.fairwinds.com/exempt: true"),
    ("{kube-score/ignore: 'pod-probes, container-image-tag'}", "image-tag-mutable",
     "kube-score annotation kube-score/ignore: pod-probes, container-image-tag"),
    ("{checkov.io/skip3: 'CKV_K8S_16=needs the host network stack'}", "privileged-container",
     "checkov annotation checkov.io/skip3: CKV_K8S_16=needs the host network stack"),
    ("{ignore-check.kube-linter.io/latest-tag: 'pinned by the CD'}", "image-tag-mutable",
     "kube-linter annotation ignore-check.kube-linter.io/latest-tag: pinned by the CD"),
])
def test_peers_annotations_exempt_the_checks_that_mean_the_same(tmp_path, annotation,
                                                                 check_id, reason):
    off = findings(tmp_path, annotation)
    assert off.loc[check_id, "status"] == "fail"  # not without peer_exemptions
    on = findings(tmp_path, annotation, "peer_exemptions: true\n")
    assert (on.loc[check_id, "status"], on.loc[check_id, "exempt_reason"]) == ("exempt", reason)
    exempt = on[on["status"] == "exempt"]
    assert set(exempt["exempt_reason"]) == {reason}
    peer = reason.split()[0]
    assert set(exempt.index) <= {c for ours in mapping()[peer]["checks"].values() for c in ours}
    refused = findings(tmp_path, annotation, "peer_exemptions: true\n",
                       allow_annotation_exemptions=False)
    assert refused.loc[check_id, "status"] == "fail"
    assert f"{NOT_ALLOWED}: {reason}" in refused.loc[check_id, "message"]


@pytest.mark.parametrize("annotation", [
    '{polaris.fairwinds.com/runAsPrivileged-exempt: "false"}',
    '{polaris.fairwinds.com/pullPolicyNotAlways-exempt: "true"}',  # the opposite of ours
    '{polaris.fairwinds.com/runAsPrivilegedexempt: "true"}',
    "{checkov.io/skip1: CKV_K8S_15}", "{checkov.io/skipx: CKV_K8S_16}",
    "{kube-score/ignore: container-image-pull-policy}",
    "{ignore-check.kube-linter.io/privileged-ports: x}",
])
def test_peer_annotations_that_mean_nothing_of_ours_exempt_nothing(tmp_path, annotation):
    f = findings(tmp_path, annotation, "peer_exemptions: true\n")
    assert "exempt" not in set(f["status"])


def test_the_peer_flag_on_check(tmp_path, capsys):
    manifest = tmp_path / "m.yaml"
    manifest.write_text(DEPLOYMENT.format(
        annotations="{ignore-check.kube-linter.io/privileged-container: reviewed}"))
    main(["check", str(manifest), "--format", "csv"])
    assert "privileged-container,security,error,fail" in capsys.readouterr().out
    main(["check", str(manifest), "--format", "csv", "--peer-exemptions"])
    out = capsys.readouterr().out
    assert "privileged-container,security,error,exempt" in out
    assert "kube-linter annotation ignore-check.kube-linter.io/privileged-container" in out


def test_every_mapped_check_exists_and_each_peer_is_listed_in_the_docs():
    ours = set(catalogue())
    docs = catalogue_markdown()
    for peer, data in mapping().items():
        assert f"### {peer}" in docs
        for peer_id, checks in data["checks"].items():
            assert checks and set(checks) <= ours, (peer, peer_id)
            assert f"| `{peer_id}` |" in docs


@pytest.mark.parametrize("key", ["allow_annotation_exemptions", "peer_exemptions"])
def test_the_profile_keys_are_booleans(tmp_path, key):
    path = tmp_path / "p.yaml"
    path.write_text(f"{key}: 'no'\n")
    with pytest.raises(ProfileError, match=key):
        load_profile(str(path))
    path.write_text(f"{key}: true\n")
    assert getattr(load_profile(str(path)), key) is True


@pytest.mark.parametrize("spec", ["production", "examples/toolman/profile.yaml"])
def test_profile_flags_judge_with_the_same_profile_plus_the_flags(spec):
    from argparse import Namespace
    from dataclasses import replace

    original = load_profile(spec)
    flags = profile_flags(Namespace(peer_exemptions=True,
                                    namespace_labels=[("team", "a"), ("env", "prod")]))
    with derived(spec, flags) as derived_path:
        profile = load_profile(derived_path)
    assert not Path(derived_path).exists()  # removed once the command is done
    assert profile.peer_exemptions and not original.peer_exemptions
    assert profile.namespace_labels == {"team": "a", "env": "prod"}
    assert replace(profile, peer_exemptions=False, namespace_labels={},
                   source=original.source) == original
    assert profile_flags(Namespace(peer_exemptions=False, namespace_labels=[])) == {}


@pytest.mark.slow
def test_report_with_peer_exemptions(tmp_path, capsys):
    manifest = tmp_path / "api.yaml"
    manifest.write_text(DEPLOYMENT.format(
        annotations="{ignore-check.kube-linter.io/privileged-container: reviewed}"))
    out = tmp_path / "report"
    assert main(["report", str(manifest), "--out", str(out), "--peer-exemptions",
                 "--no-baseline", "--jobs", "1"]) == 0
    rows = json.loads((out / "findings.json").read_text())
    rows = rows.get("findings", rows) if isinstance(rows, dict) else rows
    row = next(r for r in rows if r["check_id"] == "privileged-container")
    assert row["status"] == "exempt"
    assert row["exempt_reason"] == ("kube-linter annotation "
                                    "ignore-check.kube-linter.io/privileged-container: reviewed")
