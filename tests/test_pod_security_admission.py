"""Pod Security admission of the pods controllers will create (check pod-security-admission):
the namespace's pod-security.kubernetes.io labels, from the manifests or --namespace-labels,
against the pod's Pod Security level."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest
from helpers import EXAMPLE, run

from toolman_kit.analysis import Analysis
from toolman_kit.judge.profiles import load_profile
from toolman_kit.judge.registry import catalogue

CHECK = "pod-security-admission"
PSA = "pod-security.kubernetes.io"
# A pod that meets restricted, and the edits that lower it.
POD = """\
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        seccompProfile: {type: RuntimeDefault}
      containers:
        - name: web
          image: registry.example.com/web:1.4.2
          securityContext:
            allowPrivilegeEscalation: false
            capabilities: {drop: [ALL]}
"""
BASELINE_POD = POD.replace("        seccompProfile: {type: RuntimeDefault}\n", "")
PRIVILEGED_POD = POD.replace("allowPrivilegeEscalation: false", "privileged: true")
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
"""


def _namespace(labels: dict[str, str]) -> str:
    """Namespace shop with pod-security.kubernetes.io/<key>: <value> labels."""
    pairs = ", ".join(f"{PSA}/{key}: {value}" for key, value in labels.items())
    return f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels: {{{pairs}}}\n---\n"


def _rows(text: str, **labels: str) -> pd.DataFrame:
    """The check's rows on the manifests, with `labels` (mode=level) on Namespace shop."""
    findings = Analysis.of((_namespace(labels) if labels else "") + text).findings
    return findings[findings["check_id"] == CHECK]


def _only(rows: pd.DataFrame) -> pd.Series:
    assert len(rows) == 1, rows.to_string()
    return rows.iloc[0]


def test_a_privileged_container_in_a_baseline_namespace_is_an_error_on_the_deployment():
    row = _only(_rows(DEPLOYMENT + PRIVILEGED_POD, enforce="baseline"))
    assert (row["status"], row["severity"], row["kind"], row["name"]) == \
        ("fail", "error", "Deployment", "web")
    assert row["message"] == (
        "admitted, but its pods will be rejected by Pod Security admission (namespace shop "
        "enforces baseline): Privileged Containers (container web: privileged: true) "
        "(the rollout hangs)")
    assert row["path"] == "spec.template.spec" and row["line"] == 14  # the pod spec's line


def test_a_restricted_pod_passes_a_restricted_namespace():
    row = _only(_rows(DEPLOYMENT + POD, enforce="restricted", warn="restricted"))
    assert row["status"] == "pass" and pd.isna(row["message"])


def test_warn_gives_a_warning_and_audit_an_info():
    row = _only(_rows(DEPLOYMENT + BASELINE_POD, warn="restricted"))
    assert (row["status"], row["severity"]) == ("fail", "warning")
    assert row["message"] == (
        "kubectl and helm print a warning: its pods do not meet restricted, the Pod Security "
        "level namespace shop warns on: Seccomp (container web: seccompProfile.type not set)")
    row = _only(_rows(DEPLOYMENT + BASELINE_POD, audit="restricted"))
    assert (row["status"], row["severity"]) == ("fail", "info")
    assert row["message"].startswith("the API server adds an audit annotation: its pods do not "
                                     "meet restricted")


def test_each_level_falls_short_once():
    """enforce, warn and audit at one level: the rejection alone; a stricter warn level: a
    warning too, with the controls of that level."""
    row = _only(_rows(DEPLOYMENT + BASELINE_POD, enforce="restricted", warn="restricted",
                      audit="restricted"))
    assert row["severity"] == "error"
    rows = _rows(DEPLOYMENT + PRIVILEGED_POD, enforce="baseline", warn="restricted")
    assert list(rows["severity"]) == ["error", "warning"]
    assert "Privilege Escalation" not in rows["message"].iloc[0]
    assert "Privilege Escalation" in rows["message"].iloc[1]


def test_a_baseline_pod_passes_a_baseline_namespace_and_no_labels_enforce_nothing():
    assert _only(_rows(DEPLOYMENT + BASELINE_POD, enforce="baseline"))["status"] == "pass"
    assert _only(_rows(DEPLOYMENT + PRIVILEGED_POD, enforce="privileged"))["status"] == "pass"
    # neither the manifests nor the user say what the cluster enforces: nothing to say
    row = _only(_rows(DEPLOYMENT + PRIVILEGED_POD))
    assert row["status"] == "pass" and "AdmissionConfiguration" in catalogue()[CHECK].remediation


def test_a_pinned_version_is_evaluated_with_the_latest_controls():
    text = _namespace({"enforce": "baseline", "enforce-version": "v1.24"}) + DEPLOYMENT + \
        PRIVILEGED_POD
    findings = Analysis.of(text).findings
    [message] = findings[findings["check_id"] == CHECK]["message"]
    assert "(namespace shop enforces baseline v1.24, evaluated with the latest controls)" in \
        message


@pytest.mark.parametrize(("labels", "said"), [
    ({"enforce": "strict"}, f"{PSA}/enforce: 'strict' is not a Pod Security level"),
    ({"enforce": "baseline", "warn-version": "1.24"},
     f"{PSA}/warn-version: '1.24' is neither latest nor v1.<minor>"),
])
def test_an_invalid_label_skips_with_the_reason(labels: dict[str, str], said: str):
    text = _namespace(labels) + DEPLOYMENT + PRIVILEGED_POD
    findings = Analysis.of(text).findings
    row = _only(findings[findings["check_id"] == CHECK])
    assert row["status"] == "skip" and said in row["message"]


def test_namespace_labels_flag_for_a_namespace_not_in_the_manifests(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture):
    path = tmp_path / "web.yaml"
    path.write_text(DEPLOYMENT + BASELINE_POD)
    code, out, _ = run(capsys, "check", str(path), "--format", "json", "--no-config",
                       "--namespace-labels", f"{PSA}/enforce=restricted")
    [row] = [r for r in json.loads(out)["findings"] if r["check_id"] == CHECK]
    assert code == 1 and (row["status"], row["severity"]) == ("fail", "error")
    assert "namespace shop enforces restricted): Seccomp" in row["message"]
    code, out, _ = run(capsys, "check", str(path), "--format", "json", "--no-config")
    [row] = [r for r in json.loads(out)["findings"] if r["check_id"] == CHECK]
    assert row["status"] == "pass"


def test_a_namespace_in_the_manifests_wins_over_the_flag():
    profile = dataclasses.replace(load_profile(), namespace_labels={f"{PSA}/enforce": "restricted"})
    text = _namespace({"enforce": "privileged"}) + DEPLOYMENT + BASELINE_POD
    findings = Analysis.of(text, profile=profile).findings
    assert _only(findings[findings["check_id"] == CHECK])["status"] == "pass"


def test_a_profiles_namespace_labels_and_regrading(tmp_path: Path):
    profile = tmp_path / "profile.yaml"
    profile.write_text(f"name: cluster\nextends: production\nnamespace_labels:\n"
                       f"  {PSA}/enforce: restricted\n")
    findings = Analysis.of(DEPLOYMENT + BASELINE_POD, profile=profile).findings
    assert _only(findings[findings["check_id"] == CHECK])["severity"] == "error"
    profile.write_text(profile.read_text() + f"checks:\n  {CHECK}: {{severity: warning}}\n")
    findings = Analysis.of(DEPLOYMENT + BASELINE_POD, profile=profile).findings
    assert _only(findings[findings["check_id"] == CHECK])["severity"] == "warning"


def test_an_exemption_annotation_keeps_the_row_as_exempt():
    text = DEPLOYMENT.replace("metadata: {name: web, namespace: shop}", (
        "metadata:\n  name: web\n  namespace: shop\n"
        f"  annotations: {{toolman-kit.io/ignore: {CHECK}}}")) + PRIVILEGED_POD
    assert _only(_rows(text, enforce="baseline"))["status"] == "exempt"


@pytest.mark.parametrize(("text", "tail"), [
    ("""\
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web, namespace: shop}
spec:
  serviceName: web
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
""", "(the rollout hangs)"),
    ("""\
apiVersion: batch/v1
kind: CronJob
metadata: {name: web, namespace: shop}
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
""", "(its jobs never start a pod)"),
    ("""\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web, namespace: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  strategy: {canary: {steps: [{setWeight: 20}]}}
  template:
    metadata: {labels: {app: web}}
    spec:
""", "(the rollout hangs)"),
], ids=["StatefulSet", "CronJob", "Rollout"])
def test_every_controller_kind(text: str, tail: str):
    pod = PRIVILEGED_POD if "CronJob" not in text else \
        "".join(f"    {line}\n" for line in PRIVILEGED_POD.splitlines())
    row = _only(_rows(text + pod, enforce="baseline"))
    assert row["status"] == "fail" and row["severity"] == "error"
    assert row["message"].startswith("admitted, but its pods will be rejected by Pod Security "
                                     "admission (namespace shop enforces baseline): Privileged "
                                     "Containers (container web: privileged: true)")
    assert row["message"].endswith(tail)


def test_a_bare_pod_is_itself_rejected():
    text = "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\nspec:\n" + \
        "".join(line[4:] + "\n" for line in PRIVILEGED_POD.splitlines())
    row = _only(_rows(text, enforce="baseline"))
    assert row["message"] == ("rejected by Pod Security admission (namespace shop enforces "
                              "baseline): Privileged Containers (container web: privileged: "
                              "true)")
    row = _only(_rows(text, warn="restricted"))
    assert row["message"].startswith("kubectl and helm print a warning: it does not meet")


def test_the_checklist_row_fails_when_the_namespace_rejects_the_pods():
    def pss_row(**labels: str) -> pd.Series:
        checklist = Analysis.of(_namespace(labels) + DEPLOYMENT + BASELINE_POD).checklist
        return _only(checklist[checklist["component"] == "Pod Security Level"])

    assert pss_row(warn="baseline")["status"] == "warning"  # baseline, admitted
    row = pss_row(enforce="restricted")
    assert row["status"] == "fail" and row["checks"] == CHECK
    assert row["action"].startswith("Make the pod meet the namespace's Pod Security level")
    assert row["action"].endswith("Meet the restricted Pod Security Standard: Seccomp")


def test_toolman_in_a_baseline_namespace(capsys: pytest.CaptureFixture):
    """The Toolman example's Docker-in-Docker sidecar runs privileged: a namespace that enforces
    baseline admits its Deployment and rejects every pod."""
    code, out, _ = run(capsys, "check", str(EXAMPLE / "rendered" / "production.yaml"),
                       "--format", "json", "--no-config", "-n", "toolman",
                       "--namespace-labels", f"{PSA}/enforce=baseline")
    [row] = [r for r in json.loads(out)["findings"] if r["check_id"] == CHECK]
    assert code == 1 and (row["status"], row["kind"], row["name"]) == \
        ("fail", "Deployment", "toolman")
    assert row["message"] == (
        "admitted, but its pods will be rejected by Pod Security admission (namespace toolman "
        "enforces baseline): Privileged Containers (container docker-daemon: privileged: true) "
        "(the rollout hangs)")
