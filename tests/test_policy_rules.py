"""A team's own rules in a profile (`rules:`): short-form CEL rules evaluated by the admission
policies' machinery, as checks of their own ids (exemptions, re-grades, SARIF, `checks`, the
checklist)."""

from __future__ import annotations

import json
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import ROOT, line_of, run

import toolman_kit as tk
from toolman_kit.errors import ProfileError

# The issue's example, verbatim.
TEAM_LABEL = """\
rules:
  - id: team-label
    title: Workload has no team label
    severity: warning            # error | warning | info
    match: {kinds: [Deployment, StatefulSet], namespaces: ["prod-*"]}
    expression: "has(object.metadata.labels) && 'team' in object.metadata.labels"   # true = compliant
    message: "label the workload with its owning team"            # or messageExpression
    remediation: "Add metadata.labels.team."
    checklist: Ownership         # optional: a checklist row of its own, or an existing row's name
"""  # noqa: E501 - verbatim

REGISTRY = """\
  - id: our-registry
    title: Image from another registry
    scope: container
    expression: "container.image.startsWith('registry.example.com/')"
    messageExpression: "'image ' + container.image + ' is not from registry.example.com'"
    remediation: "Push the image to registry.example.com."
"""


def workload(name: str, namespace: str, kind: str = "Deployment", labels: str = "{}",
             annotations: str = "{}", images: tuple[str, ...] = ("registry.example.com/a:1",),
             init: str = "") -> str:
    containers = "".join(f"        - name: c{i}\n          image: {image}\n"
                         for i, image in enumerate(images))
    init_containers = f"      initContainers:\n        - name: init\n          image: {init}\n" \
        if init else ""
    return (f"apiVersion: apps/v1\nkind: {kind}\n"
            f"metadata: {{name: {name}, namespace: {namespace}, labels: {labels}, "
            f"annotations: {annotations}}}\nspec:\n  replicas: 3\n"
            f"  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n"
            f"    metadata: {{labels: {{app: {name}}}}}\n    spec:\n{init_containers}"
            f"      containers:\n{containers}")


def files(tmp_path: Path, rules: str, *docs: str, profile_extra: str = "") -> tuple[Path, Path]:
    profile = tmp_path / "team.yaml"
    profile.write_text(f"extends: production\n{profile_extra}{rules}")
    manifests = tmp_path / "manifests.yaml"
    manifests.write_text("---\n".join(docs))
    return profile, manifests


def findings(capsys, profile: Path, manifests: Path, *argv: str,
             ids: tuple[str, ...] = ("team-label", "our-registry")) -> tuple[int, list[dict]]:
    code, out, err = run(capsys, "check", str(manifests), "--profile", str(profile),
                         "--format", "json", "--no-config", *argv)
    assert out, err
    return code, [f for f in json.loads(out)["findings"] if f["check_id"] in ids]


def by_name(rows: list[dict], check_id: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for f in rows:
        if f["check_id"] == check_id:
            found.setdefault(f["name"], set()).add(f["status"])
    return found


def test_the_issues_example_team_label_with_kinds_and_namespace_globs(capsys, tmp_path):
    profile, manifests = files(
        tmp_path, TEAM_LABEL,
        workload("labelled", "prod-eu", labels="{team: payments}"),
        workload("unlabelled", "prod-us"),
        workload("db", "prod-eu", kind="StatefulSet"),
        workload("agent", "prod-eu", kind="DaemonSet"),  # not one of the kinds
        workload("dev", "dev"))  # not a prod-* namespace
    code, rows = findings(capsys, profile, manifests)
    assert by_name(rows, "team-label") == {"labelled": {"pass"}, "unlabelled": {"fail"},
                                            "db": {"fail"}}
    (unlabelled,) = [f for f in rows if f["name"] == "unlabelled" and f["status"] == "fail"]
    assert unlabelled["message"] == "label the workload with its owning team"
    assert unlabelled["remediation"] == "Add metadata.labels.team."
    assert (unlabelled["severity"], unlabelled["area"]) == ("warning", "security")
    assert unlabelled["line"] == line_of(manifests, "{name: unlabelled") - 2  # the object's
    assert code == 1


def test_kinds_include_custom_kinds_and_any_kind_and_a_label_selector(capsys, tmp_path):
    rules = textwrap.dedent("""\
        rules:
          - id: widget-size
            title: Widget too big
            match: {kinds: [Widget]}
            expression: "object.spec.size <= 3"
          - id: owner-annotation
            title: No owner annotation
            severity: info
            match:
              labels:
                matchLabels: {tier: web}
                matchExpressions: [{key: skip, operator: DoesNotExist}]
            expression: "'owner' in object.metadata.?annotations.orValue({})"
        """)
    widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w%d, namespace: a}\n" \
        "spec: {size: %d}\n"
    profile, manifests = files(
        tmp_path, rules, widget % (1, 2), widget % (2, 9),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config, namespace: a, "
        "labels: {tier: web}}\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-skipped, namespace: a, "
        "labels: {tier: web, skip: 'yes'}}\n",
        workload("web", "a", labels="{tier: web}", annotations="{owner: me}"))
    _, rows = findings(capsys, profile, manifests, ids=("widget-size", "owner-annotation"))
    assert by_name(rows, "widget-size") == {"w1": {"pass"}, "w2": {"fail"}}
    (w2,) = [f for f in rows if f["name"] == "w2"]
    assert (w2["kind"], w2["severity"], w2["message"]) == ("Widget", "error", "Widget too big")
    assert by_name(rows, "owner-annotation") == {"web-config": {"fail"}, "web": {"pass"}}


def test_scope_container_names_each_container_and_its_line(capsys, tmp_path):
    profile, manifests = files(
        tmp_path, TEAM_LABEL + REGISTRY,
        workload("web", "dev", images=("registry.example.com/web:1", "docker.io/envoy:1.30"),
                 init="busybox:1.36"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: dev}\n")
    _, rows = findings(capsys, profile, manifests)
    status = {(f["container"], f["status"]) for f in rows if f["check_id"] == "our-registry"}
    assert status == {("c0", "pass"), ("c1", "fail"), ("init", "fail")}  # no row for c
    failed = {f["container"]: f for f in rows if f["status"] == "fail"}
    assert failed["c1"]["path"] == "spec.template.spec.containers[1]"
    assert failed["c1"]["line"] == line_of(manifests, "- name: c1")
    assert failed["init"]["path"] == "spec.template.spec.initContainers[0]"
    assert failed["init"]["line"] == line_of(manifests, "- name: init")
    # messageExpression: its string is the message
    assert failed["c1"]["message"] == "image docker.io/envoy:1.30 is not from registry.example.com"
    assert failed["c1"]["remediation"] == "Push the image to registry.example.com."


def test_a_rule_that_does_not_compile_is_exit_2_naming_file_rule_and_column(capsys, tmp_path):
    broken = "  - id: broken\n    title: Broken\n    expression: \"object.spec.replicas >\"\n"
    profile, manifests = files(tmp_path, TEAM_LABEL + broken, workload("web", "prod"))
    code, out, err = run(capsys, "check", str(manifests), "--profile", str(profile),
                         "--no-config")
    assert code == 2 and not out
    line = line_of(profile, "object.spec.replicas >")
    assert err.strip().splitlines()[-1].startswith(
        f"toolman-kit: error: {profile}:{line}:23: rule 'broken', expression: CEL expression "
        "'object.spec.replicas >' does not compile at column 23"), err
    assert "Traceback" not in err
    with pytest.raises(ProfileError, match="rule 'broken'"):
        tk.Analysis.of(manifests, profile=profile)
    # `checks` compiles them too: the same error
    assert run(capsys, "checks", "--profile", str(profile), "--no-config")[0] == 2


def test_a_non_bool_result_is_a_failure_naming_the_rule(capsys, tmp_path):
    rules = ("rules:\n  - id: replicas-count\n    title: Count\n"
             "    expression: object.spec.replicas\n")
    profile, manifests = files(tmp_path, rules, workload("web", "a"))
    _, rows = findings(capsys, profile, manifests, ids=("replicas-count",))
    (row,) = rows
    assert row["status"] == "fail" and row["message"] == (
        "rule 'replicas-count' could not be evaluated: 'object.spec.replicas' must evaluate "
        "to a bool, not 3")


@pytest.mark.parametrize("rules, message", [
    ("  - {id: twice, title: A, expression: 'true'}\n"
     "  - {id: twice, title: B, expression: 'true'}\n",
     "rules: a second rule 'twice' (the first is in {profile}:3)"),
    ("  - {id: pdb-missing, title: A, expression: 'true'}\n",
     "rules: rule 'pdb-missing' has the id of a built-in check"),
    ("  - {id: 'policy/x', title: A, expression: 'true'}\n", "rules[0].id: must match pattern"),
    ("  - {id: x, title: A, expression: 'true', scope: pod}\n", "rules[0].scope: must be one of"),
])
def test_bad_rule_ids_are_profile_errors_naming_the_file(tmp_path, rules, message):
    profile = tmp_path / "team.yaml"
    profile.write_text(f"extends: production\nrules:\n{rules}")
    with pytest.raises(ProfileError) as err:
        tk.load_profile(profile)
    assert str(err.value).startswith(str(profile)) and message.format(profile=profile) in \
        str(err.value)


def test_extends_adds_rules_and_a_child_cannot_redefine_one(tmp_path):
    parent = tmp_path / "parent.yaml"
    parent.write_text(TEAM_LABEL)
    child = tmp_path / "child.yaml"
    child.write_text("extends: parent.yaml\nrules:\n" + REGISTRY)
    rules = tk.load_profile(child).rules
    assert [(r.id, r.source) for r in rules] == [("team-label", str(parent)),
                                                 ("our-registry", str(child))]
    child.write_text("extends: parent.yaml\nrules:\n  - {id: team-label, title: T, "
                     "expression: 'true'}\n")
    with pytest.raises(ProfileError, match=f"a second rule 'team-label' .*{parent}:2"):
        tk.load_profile(child)


def test_exemptions_by_annotation_and_by_profile(capsys, tmp_path):
    exemptions = ("exemptions:\n  - {check: team-label, name: legacy, reason: retired soon}\n"
                  "  - {check: our-registry, container: c1, reason: envoy from upstream}\n")
    profile, manifests = files(
        tmp_path, TEAM_LABEL + REGISTRY,
        workload("annotated", "prod-a",
                 annotations="{toolman-kit.io/ignore: 'team-label,our-registry/c0'}",
                 images=("docker.io/a:1",)),
        workload("legacy", "prod-a", images=("registry.example.com/x:1", "docker.io/envoy:1")),
        workload("plain", "prod-a"), profile_extra=exemptions)
    _, rows = findings(capsys, profile, manifests)
    assert by_name(rows, "team-label") == {"annotated": {"exempt"}, "legacy": {"exempt"},
                                            "plain": {"fail"}}
    registry = {(f["name"], f["container"]): f for f in rows if f["check_id"] == "our-registry"}
    assert registry[("annotated", "c0")]["exempt_reason"] == \
        "annotation toolman-kit.io/ignore: our-registry/c0"
    assert registry[("legacy", "c1")]["exempt_reason"] == "profile team: envoy from upstream"


def test_profile_checks_regrade_and_disable_rules(capsys, tmp_path):
    checks = "checks:\n  team-label: {severity: error}\n  our-registry: {enabled: false}\n"
    profile, manifests = files(tmp_path, TEAM_LABEL + REGISTRY,
                               workload("web", "prod-a", images=("docker.io/a:1",)),
                               profile_extra=checks)
    code, rows = findings(capsys, profile, manifests, "--fail-on", "error")
    assert [(f["check_id"], f["status"], f["severity"]) for f in rows] == [
        ("team-label", "fail", "error")]
    assert code == 1


def test_checks_lists_rules_with_their_profile_and_sarif_has_the_rules(capsys, tmp_path):
    profile, manifests = files(tmp_path, TEAM_LABEL + REGISTRY,
                               workload("web", "prod-a", images=("docker.io/a:1",)))
    code, out, _ = run(capsys, "checks", "--profile", str(profile), "--no-config")
    assert code == 0
    line = next(line for line in out.splitlines() if line.startswith("team-label "))
    assert "warning" in line and "Workload has no team label" in line and \
        f"(rule of profile {profile})" in line
    code, out, _ = run(capsys, "checks", "our-registry", "--profile", str(profile),
                       "--format", "json", "--no-config")
    record = json.loads(out)
    assert (record["scope"], record["source"]) == ("container", str(profile))
    assert "container.image.startsWith('registry.example.com/')" in record["description"]
    code, out, _ = run(capsys, "check", str(manifests), "--profile", str(profile),
                       "--format", "sarif", "--no-config")
    sarif = json.loads(out)["runs"][0]
    rules = {r["id"]: r for r in sarif["tool"]["driver"]["rules"]}
    assert rules["team-label"]["defaultConfiguration"]["level"] == "warning"
    assert rules["our-registry"]["shortDescription"]["text"] == "Image from another registry"
    assert {r["ruleId"] for r in sarif["results"]} >= {"team-label", "our-registry"}


def test_checklist_row_of_its_own_and_joining_an_existing_row(tmp_path):
    joining = REGISTRY + "    checklist: image tag\n"  # the existing row, in any case
    profile, manifests = files(
        tmp_path, TEAM_LABEL + joining,
        workload("good", "prod-a", labels="{team: a}", images=("registry.example.com/a:1.0",)),
        workload("bad", "prod-a", images=("registry.example.com/a:1.0", "docker.io/b:1.0")),
        workload("dev", "dev", images=("registry.example.com/a:1.0",)))
    analysis = tk.Analysis.of(manifests, profile=profile)
    rows = analysis.checklist.set_index(["workload", "component"])
    own = rows.xs("Ownership", level="component")
    assert own.loc["Deployment/good", ["status", "current_state"]].tolist() == [
        "pass", "meets 1 rule"]
    assert own.loc["Deployment/bad", ["status", "current_state", "action"]].tolist() == [
        "warning", "fails team-label", "Add metadata.labels.team."]
    assert own.loc["Deployment/dev", ["status", "current_state"]].tolist() == [
        "n/a", "no rule applies"]
    image = rows.xs("Image Tag", level="component")
    assert image.loc["Deployment/bad", "checks"] == "image-tag-mutable,our-registry"
    assert image.loc["Deployment/bad", "status"] == "fail"  # the rule's error: worst of both
    assert "Push the image to registry.example.com." in image.loc["Deployment/bad", "action"]
    assert image.loc["Deployment/good", "status"] == "pass"
    # without rules the checklist has neither
    assert "Ownership" not in set(tk.Analysis.of(manifests).checklist["component"])


def test_a_remediation_with_braces_is_quoted_as_written(capsys, tmp_path):
    rules = ("rules:\n  - id: braces\n    title: B\n    expression: 'false'\n"
             "    remediation: 'Set labels: {team: <name>}.'\n")
    profile, manifests = files(tmp_path, rules, workload("web", "a"))
    _, rows = findings(capsys, profile, manifests, ids=("braces",))
    assert [f["remediation"] for f in rows] == ["Set labels: {team: <name>}."]


def test_the_readme_example_is_a_profile_that_works(capsys, tmp_path):
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### A team's own rules"):]
    example = section[section.index("```yaml\n") + 8:section.index("```\n", 10)]
    profile, manifests = files(tmp_path, example,
                               workload("web", "prod-a", images=("docker.io/a:1",)))
    _, rows = findings(capsys, profile, manifests)
    assert {(f["check_id"], f["status"]) for f in rows} == {("team-label", "fail"),
                                                            ("our-registry", "fail")}


def test_reports_show_the_titles_of_rules_and_policies_not_their_ids(tmp_path):
    from toolman_kit.present import narrative, nbsupport, views
    from toolman_kit.text import md_cell

    title = "Image from *another* registry"  # markup in a title is escaped, not rendered
    rules = TEAM_LABEL + REGISTRY.replace("Image from another registry", title).replace(
        "    remediation:", "    severity: error\n    remediation:")
    profile, manifests = files(
        tmp_path, rules, workload("bad", "prod-a", images=("docker.io/b:1.0",)),
        workload("good", "prod-a", labels="{team: a}"))
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\n"
        "metadata: {name: two-replicas}\nspec:\n  matchConstraints:\n    resourceRules:\n"
        "    - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], "
        "resources: [deployments]}\n"
        "  validations: [{expression: 'object.spec.replicas <= 2'}]\n")
    team = tk.Analysis.of(manifests, profile=profile)
    a = tk.Analysis.of(manifests, profile=replace(team.profile, policies=(str(policy),)))
    groups = views.finding_groups(a).set_index("check_id")
    assert groups.loc["our-registry", "title"] == title
    assert groups.loc["team-label", "title"] == "Workload has no team label"
    assert groups.loc["policy/two-replicas", "title"] == a.policies[
        "policy/two-replicas"].title == f"Rejected by ValidatingAdmissionPolicy two-replicas " \
        f"({policy}:1)"
    report = narrative.markdown_report(a)
    assert r"**Image from \*another\* registry** (error)" in report  # Identified Issues
    assert "**Workload has no team label** (warning)" in report
    assert f"**{md_cell(a.policies['policy/two-replicas'].title)}.**" in report  # Action
    issues = report.split("## Identified Issues", 1)[1]  # the Admission Policies section aside
    assert "**our-registry**" not in issues and "**policy/two-replicas.**" not in issues
    shown = str(nbsupport.passed(a.findings, checks=a.checks))
    assert "Workload has no team label" in shown  # `good` passes it
