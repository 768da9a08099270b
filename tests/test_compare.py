"""tk.compare: one comparison for the checklist and the findings, so they cannot disagree."""

from __future__ import annotations

import doctest
import os
from pathlib import Path

import pytest

import toolman_kit as tk
from toolman_kit import comparison as compare_module

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "toolman"
WORKLOAD = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: shop}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers: [{{name: {name}, image: "registry.example/{name}:latest"}}]
---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: shop}}
spec:
  selector: {{app: {name}}}
  ports: [{{port: 80, targetPort: web}}]  # a port no container names: fails
"""


@pytest.fixture(scope="module")
def toolman() -> tk.Comparison:
    return tk.compare(EXAMPLE / "rendered" / "default.yaml",
                      EXAMPLE / "rendered" / "production.yaml",
                      profile=EXAMPLE / "profile.yaml", namespace="toolman")


def test_production_values_against_the_defaults(toolman: tk.Comparison) -> None:
    assert toolman.counts() == {"introduced": 4, "unchanged": 18, "fixed": 12, "added": 0,
                                "removed": 0}
    rows = toolman.checklist.set_index("component")
    assert rows.loc["Replicas", "change"] == "fixed" and rows.loc["Image Tag", "change"] == "fixed"
    assert rows.loc["Health Probes", "change"] == "improved"  # ❌ → ⚠️: no startup probe yet
    assert rows.loc["Privileged Containers", "change"] == "still failing"
    assert rows.loc["Storage vs Replicas", "change"] == "worse"  # 3 replicas on one RWO claim
    assert (rows.loc["Replicas", "baseline_state"], rows.loc["Replicas", "candidate_state"]) == \
        ("1", "3")
    assert list(toolman.checklist["component"]) == list(toolman.candidate.checklist["component"])
    change = {c: set(part["change"]) for c, part in toolman.findings.groupby("check_id")}
    assert change["replicas-below-minimum"] == {"fixed"}
    assert change["rwo-volume-shared-by-replicas"] == {"introduced"}
    assert change["privileged-container"] == {"unchanged"}
    # the NetworkPolicy the values add for the kept workload brings a new failure: introduced
    assert change["network-policy-namespace-label"] == {"introduced"}
    assert list(toolman.workloads["change"]) == ["kept"]


def test_a_disabled_component_is_removed_never_fixed() -> None:
    both = WORKLOAD.format(name="api") + "---\n" + WORKLOAD.format(name="worker")
    c = tk.compare(both, WORKLOAD.format(name="api"), names=("with worker", "without"))
    gone = c.findings[c.findings["name"] == "worker"]
    assert len(gone) and set(gone["change"]) == {"removed"}  # the Deployment's and the Service's
    assert set(gone["kind"]) == {"Deployment", "Service"}
    rows = c.checklist[c.checklist["workload"] == "Deployment/worker"]
    assert len(rows) and set(rows["change"]) == {"removed"}
    assert set(c.findings.loc[c.findings["name"] == "api", "change"]) == {"unchanged"}
    assert c.counts()["fixed"] == 0 and c.counts()["removed"] == len(gone)
    assert dict(zip(c.workloads["name"], c.workloads["change"], strict=True)) == {
        "api": "kept", "worker": "removed"}
    back = tk.compare(WORKLOAD.format(name="api"), both)  # and the other way round
    assert set(back.findings.loc[back.findings["name"] == "worker", "change"]) == {"added"}
    assert back.counts()["introduced"] == 0
    assert "with worker → without" in repr(c)


def test_compare_is_public_and_its_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    assert tk.compare is compare_module.compare and "compare" in tk.__all__
    monkeypatch.chdir(ROOT)  # the example's paths are relative to the repository
    result = doctest.testmod(compare_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 3 and result.failed == 0
    assert os.getcwd() == str(ROOT)


CLUSTER_SCOPED = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ops, name: ops}  # a repeated key: a failure with no namespace, no container
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: Group, name: ops}]
"""


def test_missing_namespace_and_container_are_keys_like_any_other() -> None:
    """Findings hold <NA> for a cluster-scoped object's namespace and for workload-level rows'
    container: the comparison matches them across sides rather than failing or splitting them."""
    api = WORKLOAD.format(name="api")
    c = tk.compare(api + "---\n" + CLUSTER_SCOPED, api.replace(":latest", ":1.0") + "---\n"
                   + CLUSTER_SCOPED)
    ops = c.findings[c.findings["name"] == "ops"]
    assert list(ops["check_id"]) == ["duplicate-key"] and ops["namespace"].isna().all()
    assert list(ops["change"]) == ["unchanged"]
    workload_level = c.findings[(c.findings["name"] == "api") & c.findings["container"].isna()]
    assert len(workload_level) and set(workload_level["change"]) == {"unchanged"}
    assert c.counts() == {"introduced": 0, "unchanged": len(c.findings) - 1, "fixed": 1,
                          "added": 0, "removed": 0}  # the :latest tag
    gone = tk.compare(api + "---\n" + CLUSTER_SCOPED, api)
    assert list(gone.findings.loc[gone.findings["name"] == "ops", "change"]) == ["removed"]
