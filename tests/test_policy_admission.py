"""Admission policies evaluated as the API server (and Kyverno) would: ValidatingAdmissionPolicies
from the Kubernetes documentation with their bindings and params, Kyverno policies with autogen,
the pods controllers will create, and policies as checks (exemptions, profiles, SARIF, `checks`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import FIXTURES, ROOT, run

import toolman_kit as tk
from toolman_kit.errors import PolicyError, ToolmanKitError
from toolman_kit.judge.policy.match import Target, matches

POLICIES = FIXTURES / "policies"
DEPLOYMENTS = POLICIES / "deployments.yaml"


def deployment(name: str, namespace: str, replicas: int | None = 2,
               image: str = "registry.example.com/app:1.0", labels: str = "{}",
               kind: str = "Deployment", annotations: str = "{}") -> str:
    replicas_line = f"  replicas: {replicas}\n" if replicas is not None else ""
    return (f"apiVersion: apps/v1\nkind: {kind}\n"
            f"metadata: {{name: {name}, namespace: {namespace}, labels: {labels}, "
            f"annotations: {annotations}}}\nspec:\n{replicas_line}"
            f"  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n"
            f"    metadata: {{labels: {{app: {name}}}}}\n"
            f'    spec:\n      containers: [{{name: app, image: "{image}"}}]\n')


def write(tmp_path: Path, *docs: str, name: str = "manifests.yaml") -> Path:
    path = tmp_path / name
    path.write_text("---\n".join(docs))
    return path


def rows(capsys, *argv: str) -> tuple[int, dict[tuple[str, str], list[dict]], str]:
    """Run `check --format json`: exit code, the policy rows by (check id, object name), stderr."""
    code, out, err = run(capsys, "check", *argv, "--format", "json", "--no-config")
    found: dict[tuple[str, str], list[dict]] = {}
    for f in json.loads(out)["findings"] if out else ():
        if f["check_id"].startswith("policy/"):
            found.setdefault((f["check_id"], f["name"]), []).append(f)
    return code, found, err


def statuses(found, check_id: str) -> dict[str, set[str]]:
    return {name: {f["status"] for f in fs} for (c, name), fs in found.items() if c == check_id}


DEMO = "policy/demo-policy.example.com"


def test_the_documentations_demo_policy_with_its_binding_and_namespace_selector(capsys):
    demo = str(POLICIES / "demo-policy.yaml")
    code, found, err = rows(capsys, str(DEPLOYMENTS), "--policy", demo)
    assert not err, err
    # big: 7 replicas in a namespace labelled environment=test; small: 2; elsewhere: not bound
    assert statuses(found, DEMO) == {"big": {"fail"}, "small": {"pass"}}
    (big,) = found[(DEMO, "big")]
    assert big["severity"] == "error" and big["area"] == "security"
    assert big["message"] == ("ValidatingAdmissionPolicy 'demo-policy.example.com' with binding "
                              "'demo-binding-test.example.com' denied: failed expression: "
                              "object.spec.replicas <= 5")
    assert code == 1
    # --namespace-labels: the synthesized namespace `other` carries environment=test too
    _, found, _ = rows(capsys, str(DEPLOYMENTS), "--policy", str(POLICIES / "demo-policy.yaml"),
                       "--namespace-labels", "environment=test")
    assert statuses(found, DEMO)["elsewhere"] == {"fail"}


def test_params_by_name_and_selector_and_parameter_not_found(capsys, tmp_path):
    policy = str(POLICIES / "replicalimit.yaml")
    check_id = "policy/replicalimit-policy.example.com"
    _, found, _ = rows(capsys, str(DEPLOYMENTS), "--policy", policy)
    assert statuses(found, check_id) == {"big": {"fail"}, "small": {"pass"}}
    assert found[(check_id, "big")][0]["message"].endswith(
        "denied: object.spec.replicas must be no greater than 3")  # messageExpression
    # the prod binding selects params by label (none: Allow), with Warn
    prod = write(tmp_path, "apiVersion: v1\nkind: Namespace\nmetadata: {name: prod, labels: "
                 "{environment: prod}}\n", deployment("web", "prod", replicas=4))
    _, found, _ = rows(capsys, str(prod), "--policy", policy)
    (web,) = found[(check_id, "web")]
    assert web["status"] == "skip" and "parameterNotFoundAction Allow admits it" in web["message"]
    limit = ("apiVersion: rules.example.com/v1\nkind: ReplicaLimit\nmetadata: {name: prod-limit, "
             "namespace: default, labels: {tier: prod}}\nmaxReplicas: 2\n")
    _, found, _ = rows(capsys, str(prod), str(write(tmp_path, limit, name="limit.yaml")),
                       "--policy", policy)
    (web,) = found[(check_id, "web")]
    assert (web["status"], web["severity"]) == ("fail", "warning")
    assert "'replicalimit-binding-prod.example.com' warns" in web["message"]
    # the test binding names params that do not exist: parameterNotFoundAction Deny
    text = (POLICIES / "replicalimit.yaml").read_text().replace(
        'name: "replica-limit-test.example.com"\n    namespace', 'name: "missing"\n    namespace')
    _, found, _ = rows(capsys, str(DEPLOYMENTS), "--policy",
                       str(write(tmp_path, text, name="policy.yaml")))
    (small,) = found[(check_id, "small")]
    assert small["status"] == "fail" and "no ReplicaLimit params named 'missing'" in \
        small["message"] and "parameterNotFoundAction Deny" in small["message"]


def test_failure_policy_and_match_conditions(capsys, tmp_path):
    manifests = write(
        tmp_path, deployment("noreplicas", "test", replicas=None),
        "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {name: demo-lease, "
        "namespace: test}\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: demo-config, namespace: test}\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: demo-config, namespace: demo}\n")
    _, found, _ = rows(capsys, str(manifests), "--policy", str(POLICIES / "match-conditions.yaml"))
    (fail,) = found[("policy/replicas-fail.example.com", "noreplicas")]
    assert fail["status"] == "fail" and "evaluation error (failurePolicy Fail)" in fail["message"]
    (ignore,) = found[("policy/replicas-ignore.example.com", "noreplicas")]
    assert ignore["status"] == "skip" and "failurePolicy Ignore" in ignore["message"]
    names = found[("policy/demo-names.example.com", "demo-config")]
    assert sorted((f["namespace"], f["status"]) for f in names) == [("demo", "pass"),
                                                                     ("test", "fail")]
    (lease,) = found[("policy/demo-names.example.com", "demo-lease")]
    assert lease["status"] == "skip" and "matchCondition 'exclude-leases' is false" in \
        lease["message"]


def test_variables_composited_with_the_namespace_object(capsys, tmp_path):
    manifests = write(tmp_path, "apiVersion: v1\nkind: Namespace\nmetadata: {name: test, "
                      "labels: {environment: test}}\n",
                      deployment("good", "test", image="test.example.com/app:1"),
                      deployment("bad", "test", image="registry.example.com/app:1"),
                      deployment("exempt", "test", image="registry.example.com/app:1",
                                 labels="{exempt: 'true'}"))
    check_id = "policy/image-matches-namespace-environment.policy.example.com"
    _, found, _ = rows(capsys, str(manifests), "--policy", str(POLICIES / "variables.yaml"))
    assert statuses(found, check_id) == {"good": {"pass"}, "bad": {"fail"}, "exempt": {"pass"}}
    message = found[(check_id, "bad")][0]["message"]
    assert message.endswith("denied: only test images are allowed in namespace test")
    assert "no binding: evaluated as if bound to everything it matches with [Deny]" in message


def test_controller_pods_rejected_by_a_pod_policy_and_the_authorizer_is_a_skip(capsys, tmp_path):
    manifests = write(tmp_path, deployment("web", "test", image="nginx:latest"),
                      deployment("ok", "test", image="nginx:1.27"))
    _, found, _ = rows(capsys, str(manifests), "--policy", str(POLICIES / "pods-unbound.yaml"))
    web = {f["status"]: f["message"] for f in found[("policy/no-latest-pods", "web")]}
    assert web["fail"].startswith("admitted, but its pods will be rejected by "
                                  "policy/no-latest-pods: ")
    assert web["fail"].endswith("images must not use the latest tag (the rollout hangs)")
    assert "authorizer cannot be evaluated offline" in web["skip"]  # never a pass
    assert {f["status"] for f in found[("policy/no-latest-pods", "ok")]} == {"skip"}


def test_kyverno_validating_policies_autogen_and_cluster_libraries(capsys, tmp_path):
    cronjob = textwrap.dedent("""\
        apiVersion: batch/v1
        kind: CronJob
        metadata: {name: nightly, namespace: test}
        spec:
          schedule: "0 0 * * *"
          jobTemplate:
            spec:
              template:
                metadata: {labels: {environment: production}}
                spec:
                  restartPolicy: Never
                  containers: [{name: job, image: "busybox:latest"}]
        """)
    manifests = write(tmp_path, deployment("web", "test", image="nginx:latest"),
                      deployment("db", "test", kind="StatefulSet"), cronjob)
    policy = str(POLICIES / "kyverno-validating.yaml")
    _, found, _ = rows(capsys, str(manifests), "--policy", policy)
    (web,) = found[("policy/disallow-latest-tag", "web")]  # the Deployment itself: no pod row
    assert web["status"] == "fail" and "(autogen for Deployment, StatefulSet, DaemonSet, " \
        "ReplicaSet, Job)" in web["message"] and web["message"].endswith(
            "denied: Using a mutable image tag e.g. 'latest' is not allowed.")
    (nightly,) = found[("policy/disallow-latest-tag", "nightly")]
    assert nightly["status"] == "fail" and "(autogen for CronJob)" in nightly["message"]
    # check-labels: autogen for deployments only (template labels: object.metadata rewritten)
    (web,) = found[("policy/check-labels", "web")]
    assert (web["status"], web["severity"]) == ("fail", "warning")
    (db,) = found[("policy/check-labels", "db")]  # a StatefulSet: its pods are judged
    assert db["message"].startswith("its pods will be admitted with a warning from "
                                    "policy/check-labels")
    assert [f["status"] for f in found[("policy/check-labels", "nightly")]] == ["pass"]
    skips = found[("policy/allowed-registries", "web")]
    assert [f["status"] for f in skips] == ["skip"]
    assert "Kyverno's http library needs a cluster or the network" in skips[0]["message"]


def test_kyverno_cluster_policy_cel_rule(capsys):
    _, found, _ = rows(capsys, str(DEPLOYMENTS), "--policy", str(POLICIES / "kyverno-cluster.yaml"))
    big = {f["status"]: f["message"] for f in found[("policy/check-deployment-replicas", "big")]}
    assert big["fail"] == ("ClusterPolicy 'check-deployment-replicas' rule "
                           "'check-deployment-replicas' denied: Deployment spec.replicas must be "
                           "less than 3.")
    assert big["skip"].endswith("rule 'require-team': the kit evaluates only validate.cel rules")


def test_bad_policy_files_exit_2_and_the_others_are_evaluated(capsys):
    code, found, err = rows(capsys, str(DEPLOYMENTS), "--policy", str(POLICIES / "bad"))
    assert code == 2
    bad = POLICIES / "bad" / "policies.yaml"
    lines = err.strip().splitlines()
    assert any(line.startswith(f"{bad}:1: ConfigMap (v1) is not a policy") for line in lines)
    assert any(line.startswith(f"{bad}:16:25: ValidatingAdmissionPolicy 'broken', "
                               "spec.validations[0].expression: CEL expression "
                               "'object.spec.replicas <= ' does not compile at column 25")
               for line in lines), err
    assert statuses(found, "policy/still-evaluated") == {"big": {"fail"}, "small": {"pass"},
                                                          "elsewhere": {"fail"}}
    with pytest.raises(PolicyError, match="ConfigMap .* is not a policy"):
        tk.Analysis.of(DEPLOYMENTS, profile=_profile_with(policies=(str(POLICIES / "bad"),)))


def _profile_with(**keys):
    from dataclasses import replace

    return replace(tk.load_profile(), **keys)


def test_policies_shipped_in_the_manifests_say_so(capsys, tmp_path):
    vap = (POLICIES / "demo-policy.yaml").read_text().split("---")[0].replace(
        "demo-policy.example.com", "shipped")
    manifests = write(tmp_path, DEPLOYMENTS.read_text(), vap)
    _, found, _ = rows(capsys, str(manifests))
    (big,) = found[("policy/shipped", "big")]
    assert "(policy shipped in the manifests)" in big["message"]


def test_checks_lists_policies_with_their_source_and_sarif_has_the_rule(capsys):
    code, out, _ = run(capsys, "checks", "--policy", str(POLICIES / "demo-policy.yaml"),
                       "--no-config")
    assert code == 0
    line = next(line for line in out.splitlines() if line.startswith(DEMO))
    assert f"{POLICIES / 'demo-policy.yaml'}:3" in line
    code, out, _ = run(capsys, "check", str(DEPLOYMENTS), "--policy",
                       str(POLICIES / "demo-policy.yaml"), "--format", "sarif", "--no-config")
    sarif = json.loads(out)["runs"][0]
    rule = next(r for r in sarif["tool"]["driver"]["rules"] if r["id"] == DEMO)
    assert rule["defaultConfiguration"]["level"] == "error"
    assert [r["ruleId"] for r in sarif["results"] if r["ruleId"] == DEMO] == [DEMO]


def test_exemption_by_annotation_and_profile_regrade(capsys, tmp_path):
    manifests = write(tmp_path, "apiVersion: v1\nkind: Namespace\nmetadata: {name: test, "
                      "labels: {environment: test}}\n",
                      deployment("big", "test", replicas=9,
                                 annotations=f"{{toolman-kit.io/ignore: {DEMO}}}"),
                      deployment("bigger", "test", replicas=12))
    _, found, _ = rows(capsys, str(manifests), "--policy", str(POLICIES / "demo-policy.yaml"))
    assert statuses(found, DEMO) == {"big": {"exempt"}, "bigger": {"fail"}}
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "demo.yaml").write_text((POLICIES / "demo-policy.yaml").read_text())
    profile = tmp_path / "profile.yaml"
    profile.write_text(f"extends: production\npolicies: [rules]\nchecks:\n  {DEMO}: "
                       "{severity: warning}\n")
    code, found, _ = rows(capsys, str(manifests), "--profile", str(profile), "--fail-on", "error")
    (bigger,) = found[(DEMO, "bigger")]
    assert (bigger["status"], bigger["severity"]) == ("fail", "warning")


def test_match_rules_as_the_api_server():
    def target(kind="Deployment", group="apps", version="v1", resource="deployments",
               namespace="test", labels=None):
        obj = {"metadata": {"name": "x", "labels": labels or {}}}
        ns = {"metadata": {"name": namespace, "labels": {"env": "test"}}} if namespace else None
        return Target(obj, group, version, kind, resource, namespace, "x", ns)

    rule = {"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE"],
            "resources": ["deployments"]}
    assert matches({"resourceRules": [rule]}, target())
    old = target(group="extensions", version="v1beta1")
    assert matches({"resourceRules": [rule]}, old)  # matchPolicy Equivalent (the default)
    assert not matches({"resourceRules": [rule], "matchPolicy": "Exact"}, old)
    assert not matches({"resourceRules": [{**rule, "operations": ["UPDATE"]}]}, target())
    assert matches({"resourceRules": [{**rule, "resources": ["*/*"]}]}, target())
    assert not matches({"resourceRules": [{**rule, "resources": ["deployments/scale"]}]}, target())
    assert not matches({"resourceRules": [rule], "excludeResourceRules": [rule]}, target())
    selector = {"matchLabels": {"env": "prod"}}
    assert not matches({"resourceRules": [rule], "namespaceSelector": selector}, target())
    # a cluster-scoped object other than a Namespace is never skipped by a namespaceSelector
    any_rule = {**rule, "apiGroups": ["*"], "resources": ["*"]}
    role = target("ClusterRole", "rbac.authorization.k8s.io", "v1", "clusterroles", "")
    assert matches({"resourceRules": [any_rule], "namespaceSelector": selector}, role)
    namespace = target("Namespace", "", "v1", "namespaces", "", labels={"env": "dev"})
    assert not matches({"resourceRules": [any_rule], "namespaceSelector": selector}, namespace)
    assert not matches({"resourceRules": [rule], "objectSelector": selector}, target())


def test_check_without_policies_imports_nothing_of_them():
    code = ("import contextlib, io, sys\nfrom toolman_kit.commands import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    main(['check', 'examples/toolman/rendered/default.yaml', '--no-config'])\n"
            "print([m for m in sys.modules if m.startswith('toolman_kit.judge.policy') "
            "or m.startswith('cel_expr_python')])")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_without_the_policy_extra_one_line_says_what_to_install(monkeypatch):
    for name in [m for m in sys.modules if m.startswith("toolman_kit.judge.policy")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "cel_expr_python", None)
    with pytest.raises(ToolmanKitError, match=r"pip install 'toolman-kit\[policy\]'"):
        tk.Analysis.of(DEPLOYMENTS, profile=_profile_with(
            policies=(str(POLICIES / "demo-policy.yaml"),)))


def test_checklist_row_admission_policies(tmp_path):
    manifests = write(tmp_path, "apiVersion: v1\nkind: Namespace\nmetadata: {name: test, "
                      "labels: {environment: test}}\n", deployment("big", "test", replicas=9),
                      deployment("small", "test", replicas=3),
                      deployment("other", "other", replicas=3))
    profile = _profile_with(policies=(str(POLICIES / "demo-policy.yaml"),))
    checklist = tk.Analysis.of(manifests, profile=profile).checklist
    rows = checklist[checklist["component"] == "Admission Policies"].set_index("workload")
    assert rows.loc["Deployment/big", "status"] == "fail"
    assert rows.loc["Deployment/big", "current_state"] == f"rejected by {DEMO}"
    assert rows.loc["Deployment/small", "status"] == "pass"
    assert rows.loc["Deployment/other", "status"] == "n/a"  # not bound in its namespace
    without = tk.Analysis.of(manifests).checklist
    rows = without[without["component"] == "Admission Policies"]
    assert set(rows["status"]) == {"n/a"}  # ➖: no policy given
    assert set(rows["current_state"]) == {"no policy given or matching (--policy)"}


KYVERNO_PARAMS = """\
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: replica-limit}
spec:
  validationFailureAction: Enforce
  rules:
    - name: replicas
      match:
        any:
        - resources: {kinds: [Deployment]}
      validate:
        cel:
          paramKind: {apiVersion: rules.example.com/v1, kind: ReplicaLimit}
          paramRef: {name: replica-limit-test.example.com, namespace: default,
                     parameterNotFoundAction: Deny}
          expressions:
            - expression: "object.spec.replicas <= params.maxReplicas"
              messageExpression: "'at most ' + string(params.maxReplicas) + ' replicas'"
---
apiVersion: rules.example.com/v1
kind: ReplicaLimit
metadata: {name: replica-limit-test.example.com, namespace: default}
maxReplicas: 3
"""


def test_kyverno_cluster_policy_params_from_its_param_ref(capsys, tmp_path):
    check_id = "policy/replica-limit"
    _, found, err = rows(capsys, str(DEPLOYMENTS), "--policy",
                         str(write(tmp_path, KYVERNO_PARAMS, name="policy.yaml")))
    assert not err.strip()  # the ReplicaLimit in the policy file is its params
    assert statuses(found, check_id) == {"big": {"fail"}, "small": {"pass"},
                                         "elsewhere": {"fail"}}  # 9 replicas
    assert found[(check_id, "big")][0]["message"].endswith("denied: at most 3 replicas")
    missing = KYVERNO_PARAMS.replace("paramRef: {name: replica-limit-test.example.com",
                                     "paramRef: {name: missing")
    _, found, _ = rows(capsys, str(DEPLOYMENTS), "--policy",
                       str(write(tmp_path, missing, name="policy.yaml")))
    assert "no ReplicaLimit params named 'missing' (parameterNotFoundAction Deny)" in \
        found[(check_id, "small")][0]["message"]
    no_ref = KYVERNO_PARAMS.replace("          paramRef: {name: replica-limit-test.example.com, "
                                    "namespace: default,\n                     "
                                    "parameterNotFoundAction: Deny}\n", "")
    _, found, _ = rows(capsys, str(DEPLOYMENTS), "--policy",
                       str(write(tmp_path, no_ref, name="policy.yaml")))
    assert "the policy has a paramKind and the rule no paramRef (Kyverno refuses the request)" \
        in found[(check_id, "small")][0]["message"]


def test_a_kyverno_validating_policy_has_no_params(capsys, tmp_path):
    # Kyverno's ValidatingPolicy has no paramKind or binding: `params` is null, a paramKind
    # written in its spec changes nothing
    policy = ("apiVersion: policies.kyverno.io/v1\nkind: ValidatingPolicy\n"
              "metadata: {name: no-params}\nspec:\n"
              "  paramKind: {apiVersion: rules.example.com/v1, kind: ReplicaLimit}\n"
              "  matchConstraints:\n    resourceRules:\n"
              "    - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], "
              "resources: [deployments]}\n"
              "  validations:\n  - expression: params == null\n")
    _, found, _ = rows(capsys, str(DEPLOYMENTS), "--policy",
                       str(write(tmp_path, policy, name="policy.yaml")))
    assert statuses(found, "policy/no-params") == {"big": {"pass"}, "small": {"pass"},
                                                   "elsewhere": {"pass"}}
