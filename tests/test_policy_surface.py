"""Admission policies beyond `check`: the reports' "Admission Policies" section (views, the
Markdown report, the security page), `report --policy`, the fleet file's `policies`, and that
policies compile once per run."""

from __future__ import annotations

import json
import pickle
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import FIXTURES, run

import toolman_kit as tk
from toolman_kit.errors import FleetError
from toolman_kit.fleet.fleetfile import load_fleet
from toolman_kit.fleet.task import input_hash, target_profile
from toolman_kit.judge.policy import cel
from toolman_kit.judge.profiles import derived, load_profile
from toolman_kit.present import narrative, views

POLICIES = FIXTURES / "policies"
DEPLOYMENTS = POLICIES / "deployments.yaml"  # small (2 replicas), big (7), elsewhere (9)
TEAM = POLICIES / "team-pods.yaml"  # team-pods (Deny, on pods), few-replicas (Warn, bound)
DEMO = POLICIES / "demo-policy.yaml"  # replicas <= 5, bound to namespaces environment=test


def analysis(*policies: Path) -> tk.Analysis:
    profile = replace(load_profile(), policies=tuple(map(str, policies)))
    return tk.Analysis.of(DEPLOYMENTS, profile=profile)


@pytest.fixture(scope="module")
def team() -> tk.Analysis:
    return analysis(TEAM, DEMO)


def test_the_view_lists_each_policys_outcomes_on_objects_and_pods(team):
    df = views.admission_policies(team)
    assert list(df.columns) == views.POLICY_COLUMNS
    pods = df[df["policy"] == "policy/team-pods"]
    assert pods["object"].tolist() == ["pods of Deployment/small", "pods of Deployment/big",
                                       "pods of Deployment/elsewhere"]
    assert set(pods["status"]) == {"fail"} and set(pods["severity"]) == {"error"}
    assert pods["message"].str.startswith("admitted, but its pods will be rejected by "
                                          "policy/team-pods").all()
    assert set(pods["source"]) == {f"{TEAM}:3"}
    warned = df[df["policy"] == "policy/few-replicas"].set_index("object")
    assert warned.loc["Deployment/big", "severity"] == "warning"
    assert warned.loc["Deployment/big", "message"].endswith("warns: too many replicas: 7")
    assert (warned.loc["Deployment/small", "status"], warned.loc["Deployment/small", "severity"]) \
        == ("pass", "")
    summary = views.admission_summary(team).set_index("policy")
    assert summary.loc["policy/team-pods", "outcomes"] == "3 objects matched: 3 rejected"
    assert summary.loc["policy/few-replicas", "outcomes"] == \
        "3 objects matched: 2 warned, 1 admitted"
    # the demo policy's binding selects namespace `test` only: `elsewhere` is not matched
    assert summary.loc["policy/demo-policy.example.com", "outcomes"] == \
        "2 objects matched: 1 rejected, 1 admitted"
    outcomes = views.admission_outcomes(team, "policy/few-replicas")
    assert outcomes["objects"].tolist() == [["Deployment/big"], ["Deployment/elsewhere"]]


def test_skips_and_exemptions_are_listed_and_a_policy_that_matches_nothing_says_so(tmp_path):
    unmatched = tmp_path / "jobs.yaml"
    unmatched.write_text(
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\n"
        "metadata: {name: jobs-only}\nspec:\n  matchConstraints:\n    resourceRules:\n"
        '    - {apiGroups: [batch], apiVersions: [v1], operations: [CREATE], resources: [jobs]}\n'
        "  validations: [{expression: 'false'}]\n")
    a = analysis(POLICIES / "pods-unbound.yaml", unmatched)
    summary = views.admission_summary(a).set_index("policy")
    assert summary.loc["policy/jobs-only", "outcomes"] == "matches no object"
    assert summary.loc["policy/no-latest-pods", "skipped"] == 3
    (skip,) = views.admission_outcomes(a, "policy/no-latest-pods").itertuples()
    assert skip.status == "skip" and skip.severity == "" and skip.count == 3
    assert "authorizer cannot be evaluated offline" in skip.message


def test_the_markdown_report_has_the_section_escaped_in_the_seeds_structure(team):
    report = narrative.markdown_report(team)
    section = report.split("\n### Admission Policies\n", 1)[1].split("\n## ", 1)[0]
    assert report.index("### Security Recommendations") < report.index("### Admission Policies") \
        < report.index("## Identified Issues")
    assert f"**policy/team-pods** ({TEAM}:3): 3 objects matched: 3 rejected." in section
    row = next(line for line in section.splitlines() if "team" in line and line.startswith("|"))
    assert row.startswith("| pods of Deployment/small, pods of Deployment/big, pods of "
                          "Deployment/elsewhere | fail | error | admitted, but its pods")
    # the policy's message, escaped: no raw HTML, no cell-breaking pipe, no emphasis
    assert r"pods need a \<b\>team\</b\> label \| see \*ownership\*" in row
    assert row.count(" | ") == 3
    assert "| Deployment/big | fail | warning | ValidatingAdmissionPolicy 'few-replicas'" in section


def test_without_policies_the_section_says_how_to_give_one():
    report = narrative.markdown_report(tk.Analysis.of(DEPLOYMENTS))
    section = report.split("\n### Admission Policies\n", 1)[1].split("\n## ", 1)[0]
    assert section.strip() == views.NO_POLICY and "`--policy FILE`" in section


def test_an_analysis_with_policies_pickles_as_reports_share_it(team):
    """A report's kernels receive the analyses as a pickle: compiled CEL programs re-compile."""
    again = pickle.loads(pickle.dumps(team))
    check = again.policies["policy/few-replicas"]
    assert check.source == team.policies["policy/few-replicas"].source
    big = next(r for r in again.manifests.resources if r.name == "big")
    (outcome,) = check.fn(big, again.index, again.profile)
    assert outcome.message.endswith("too many replicas: 7")


def test_policies_compile_once_per_run_whatever_the_number_of_objects(monkeypatch, tmp_path):
    compiled: list[str] = []
    real = cel.compile_expression

    def counting(expression, *args, **kwargs):
        compiled.append(expression)
        return real(expression, *args, **kwargs)

    monkeypatch.setattr(cel, "compile_expression", counting)
    text = DEPLOYMENTS.read_text()
    many = tmp_path / "many.yaml"
    many.write_text("\n---\n".join(text.replace("name: small", f"name: small-{i}")
                                   .replace("name: big", f"name: big-{i}")
                                   .replace("name: elsewhere", f"name: elsewhere-{i}")
                                   .replace("name: test\n", f"name: test-{i}\n")
                                   for i in range(30)))
    counts = []
    for manifests in (DEPLOYMENTS, many):
        compiled.clear()
        profile = replace(load_profile(), policies=(str(TEAM), str(DEMO)))
        a = tk.Analysis.of(manifests, profile=profile)
        counts.append(len(compiled))
    assert len(a.index.workloads) == 90
    # team-pods: 1 validation; few-replicas: 1 validation + 1 messageExpression; demo: 1
    assert counts == [4, 4]
    assert len(compiled) == len(set(compiled))


# --- the fleet ---------------------------------------------------------------------------------

def fleet_file(root: Path, text: str) -> Path:
    (root / "policies").mkdir(exist_ok=True)
    shutil.copy(TEAM, root / "policies" / "team.yaml")
    shutil.copy(DEMO, root / "demo.yaml")
    shutil.copy(DEPLOYMENTS, root / "deployments.yaml")
    (root / "fleet.yaml").write_text(text)
    return root / "fleet.yaml"


def test_fleet_policies_from_defaults_and_targets_relative_to_the_file(tmp_path):
    path = fleet_file(tmp_path, "defaults: {policies: [policies/]}\ntargets:\n"
                                "  - {name: a, paths: [deployments.yaml], policies: [demo.yaml]}\n"
                                "  - {name: b, paths: [deployments.yaml]}\n")
    a, b = load_fleet(path).targets
    assert a.policies == (str(tmp_path / "policies"), str(tmp_path / "demo.yaml"))
    assert b.policies == (str(tmp_path / "policies"),)
    assert target_profile(b).policies == b.policies


def test_a_bad_policies_key_is_one_error_naming_the_line(tmp_path):
    path = fleet_file(tmp_path, "targets:\n  - name: a\n    paths: [deployments.yaml]\n"
                                "    policies: demo.yaml\n")
    with pytest.raises(FleetError, match=r"targets\[0\]\.policies") as exc:
        load_fleet(path)
    assert exc.value.line == 4


def test_the_input_hash_follows_the_policies_content(tmp_path):
    path = fleet_file(tmp_path, "defaults: {policies: [policies/]}\n"
                                "targets:\n  - {name: a, paths: [deployments.yaml]}\n")
    (target,) = load_fleet(path).targets
    text = DEPLOYMENTS.read_text()
    first = input_hash(target, text)
    assert input_hash(target, text) == first
    assert input_hash(replace(target, policies=()), text) != first
    policy = tmp_path / "policies" / "team.yaml"
    policy.write_text(policy.read_text().replace("<= 5", "<= 6"))
    assert input_hash(target, text) != first
    # a policy the fleet file's profile names counts the same way
    (tmp_path / "profile.yaml").write_text(f"policies: [{tmp_path / 'demo.yaml'}]\n")
    with_profile = replace(target, profile=str(tmp_path / "profile.yaml"))
    before = input_hash(with_profile, text)
    (tmp_path / "demo.yaml").write_text(DEMO.read_text().replace("<= 5", "<= 4"))
    assert input_hash(with_profile, text) != before


def test_the_derived_profile_adds_policies_to_the_named_ones(tmp_path):
    (tmp_path / "profile.yaml").write_text(f"name: mine\npolicies: [{DEMO}]\n")
    with derived(tmp_path / "profile.yaml", {"policies": [str(TEAM)]}) as path:
        profile = load_profile(path)
    assert profile.name == "mine" and profile.policies == (str(DEMO), str(TEAM))
    assert not Path(path).exists()


# --- end to end: report and batch ---------------------------------------------------------------

@pytest.mark.slow
def test_report_with_a_policy_end_to_end(tmp_path, capsys):
    out = tmp_path / "report"
    code, _, err = run(capsys, "report", str(DEPLOYMENTS), "--policy", str(TEAM),
                       "--out", str(out), "--no-baseline", "--jobs", "1", "--no-config")
    assert code == 0, err
    markdown = (out / "deployment-analysis.md").read_text()
    section = markdown.split("\n### Admission Policies\n", 1)[1].split("\n## ", 1)[0]
    assert "**policy/team-pods**" in section and "pods of Deployment/big" in section
    page = (out / "02_security.html").read_text()
    assert ">Admission Policies" in page and ">policy/team-pods</h4>" in page
    assert "pods need a &lt;b&gt;team&lt;/b&gt; label | see *ownership*" in page
    assert "<b>team</b>" not in page
    findings = json.loads((out / "findings.json").read_text())
    rows = {(f["check_id"], f["name"], f["status"]) for f in findings["findings"]
            if f["check_id"].startswith("policy/")}
    assert ("policy/team-pods", "big", "fail") in rows
    assert ("policy/few-replicas", "small", "pass") in rows
    assert any(r["component"] == "Admission Policies" for r in findings["checklist"])


@pytest.mark.slow
def test_batch_with_policies_reports_them_and_reruns_when_one_changes(tmp_path, capsys):
    path = fleet_file(tmp_path, "defaults: {policies: [policies/]}\ntargets:\n"
                                "  - {name: a, paths: [deployments.yaml], policies: [demo.yaml]}\n"
                                "  - {name: b, paths: [deployments.yaml]}\n")
    out = tmp_path / "out"

    def batch() -> dict[str, dict]:
        code, _, err = run(capsys, "batch", str(path), "--out", str(out), "-j", "1",
                           "--fail-on", "never", "--no-config")
        assert code == 0, err
        summary = json.loads((out / "summary.json").read_text())
        return {t["target"]: {**t, "run_id": summary["run_id"]} for t in summary["targets"]}

    first = batch()
    for name, wanted in (("a", {"policy/team-pods", "policy/few-replicas",
                                "policy/demo-policy.example.com"}),
                         ("b", {"policy/team-pods", "policy/few-replicas"})):
        findings = json.loads((out / name / first[name]["run_id"] / "findings.json").read_text())
        assert {f["check_id"] for f in findings["findings"]
                if f["check_id"].startswith("policy/")} == wanted, name
    page = (out / "index.html").read_text()
    assert "<th>Admission Policies</th>" in page
    assert {t["status"] for t in batch().values()} == {"unchanged"}
    (tmp_path / "demo.yaml").write_text(DEMO.read_text().replace("<= 5", "<= 8"))
    third = batch()
    assert (third["a"]["status"], third["b"]["status"]) == ("ok", "unchanged")


PSA_MANIFESTS = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    pod-security.kubernetes.io/enforce: baseline
    pod-security.kubernetes.io/warn: restricted
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "registry.example.com/web:1.0",
                    securityContext: {privileged: <privileged>}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: tool, namespace: unlabelled}
spec:
  selector: {matchLabels: {app: tool}}
  template:
    metadata: {labels: {app: tool}}
    spec:
      containers: [{name: tool, image: "registry.example.com/tool:1.0",
                    securityContext: {privileged: true}}]
"""


def test_pod_security_admission_is_an_entry_where_namespaces_carry_its_labels(tmp_path):
    path = tmp_path / "psa.yaml"
    path.write_text(PSA_MANIFESTS.replace("<privileged>", "true"))
    a = tk.Analysis.of(path)
    summary = views.admission_summary(a).set_index("policy")
    assert list(summary.index) == [views.PSA]  # no --policy: the built-in one alone
    entry = summary.loc[views.PSA]
    assert entry["title"] == "Pod Security admission (namespace shop enforces baseline, warns " \
        "on restricted)"
    assert entry["source"] == views.PSA_SOURCE
    assert entry["outcomes"] == "1 object matched: 1 rejected"  # `unlabelled` is not listed
    rejected, warned = views.admission_policies(a).itertuples()  # enforce, then warn
    assert (rejected.object, rejected.status, rejected.severity) == (
        "pods of Deployment/web", "fail", "error")
    assert "rejected by Pod Security admission (namespace shop enforces baseline)" in \
        rejected.message
    assert (warned.object, warned.severity) == ("Deployment/web", "warning")
    section = narrative.markdown_report(a).split("\n### Admission Policies\n", 1)[1] \
        .split("\n## ", 1)[0]
    assert section.strip().startswith(views.NO_POLICY)  # how to give policies, then the PSA
    assert "**Pod Security admission (namespace shop enforces baseline, warns on restricted)** (" \
        in section and "| pods of Deployment/web | fail | error |" in section
    # a pod that meets baseline: admitted with restricted's warning
    path.write_text(PSA_MANIFESTS.replace("<privileged>", "false"))
    entry = views.admission_summary(tk.Analysis.of(path)).set_index("policy").loc[views.PSA]
    assert entry["outcomes"] == "1 object matched: 1 warned"


def test_without_pod_security_labels_there_is_no_entry():
    assert views.pod_security_admission(tk.Analysis.of(DEPLOYMENTS)) == {}
    assert views.admission_summary(tk.Analysis.of(DEPLOYMENTS)).empty
