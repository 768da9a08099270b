"""Custom workload kinds (Argo Rollout, OpenKruise, KEDA, Knative, OpenShift …): their pods get
every check, and the objects that select or scale them find them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from toolman_kit.analysis import Analysis
from toolman_kit.errors import ProfileError
from toolman_kit.judge.checklist import WORKLOAD
from toolman_kit.judge.profiles import load_profile
from toolman_kit.read.model import custom_kinds, dig

ROLLOUT = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  strategy: {canary: {steps: [{setWeight: 20}]}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: registry.example.com/web:latest
          ports: [{name: http, containerPort: 8080}]
          securityContext: {privileged: true}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: argoproj.io/v1alpha1, kind: Rollout, name: web}
  minReplicas: 2
  maxReplicas: 6
  metrics:
    - type: Resource
      resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: web}}
"""

WIDGET = """\
apiVersion: platform.example.com/v1
kind: Widget
metadata: {name: gadget}
spec:
  size: 4
  runner:
    template:
      metadata: {labels: {app: gadget}}
      spec:
        containers:
          - name: gadget
            image: registry.example.com/gadget:1.2.3
            securityContext: {privileged: true}
"""


def _statuses(a: Analysis, check_id: str, name: str) -> set[str]:
    f = a.findings
    return set(f[(f.check_id == check_id) & (f.name == name)].status)


def _analyze(tmp_path: Path, text: str, **options) -> Analysis:
    path = tmp_path / "manifests.yaml"
    path.write_text(text)
    a = Analysis.of(path, **options)
    assert not a.errors, a.errors
    return a


def test_a_rollout_gets_its_pods_checked_and_is_selected_and_scaled(tmp_path):
    a = _analyze(tmp_path, ROLLOUT)
    (rollout,) = a.index.workloads
    assert (rollout.kind, rollout.like, rollout.replicas) == ("Rollout", "Deployment", 3)
    assert _statuses(a, "privileged-container", "web") == {"fail"}
    assert _statuses(a, "image-tag-mutable", "web") == {"fail"}
    f = a.findings
    services = f[(f.check_id == "service-selects-nothing")]
    assert list(services.kind) == ["Service"] and set(services.status) == {"pass"}
    assert [h.name for h in a.index.hpas[rollout]] == ["web"]
    assert a.index.min_replicas(rollout) == 2  # the HPA's minReplicas, so the HPA resolved
    assert _statuses(a, "hpa-target-missing", "web") == {"pass"}
    assert _statuses(a, "pdb-missing", "web") == {"pass"}
    # its own strategy (canary) is not judged as a Deployment's
    assert _statuses(a, "update-strategy-unspecified", "web") == {"skip"}
    assert "Rollout/web" in {r[WORKLOAD] for r in a.checklist_rows}


def _object_of(kind: dict, container: dict) -> dict:
    """An object of a table kind, its pod template at the kind's path."""
    labels = {"app": "x"}
    obj: dict = {"apiVersion": f"{kind['apiVersion']}/v1", "kind": kind["kind"],
                 "metadata": {"name": "x"}, "spec": {}}
    if kind["selector"]:
        obj["spec"]["selector"] = labels if kind["like"] == "ReplicationController" \
            else {"matchLabels": labels}
    if kind["replicas"]:
        obj["spec"]["replicas"] = 3
    where = obj
    *parents, last = kind["template"].split(".")
    for step in parents:
        where = where.setdefault(step, {})
    where[last] = {"metadata": {"labels": labels}, "spec": {"containers": [container]}}
    return obj


TABLE = yaml.safe_load(Path("toolman_kit/read/workload_kinds.yaml").read_text())


@pytest.mark.parametrize("kind", TABLE, ids=lambda k: f"{k['apiVersion']}/{k['kind']}")
def test_every_kind_of_the_table_is_a_workload(tmp_path, kind):
    assert kind["source"]  # each entry names where its paths come from
    container = {"name": "x", "image": "registry.example.com/x:latest",
                 "securityContext": {"privileged": True}}
    a = _analyze(tmp_path, yaml.safe_dump(_object_of(kind, container)))
    (w,) = a.index.workloads
    assert w.spec_kind.custom and w.like == kind["like"]
    assert w.pod_path == f"{kind['template']}.spec"
    assert [c.name for c in w.containers] == ["x"]
    assert w.replicas == (3 if kind["replicas"] else None)
    assert _statuses(a, "privileged-container", "x") == {"fail"}
    assert _statuses(a, "image-tag-mutable", "x") == {"fail"}
    assert "fail" not in _statuses(a, "selector-label-mismatch", "x")
    assert _statuses(a, "unknown-workload-kind", "x") == set()


def test_the_table_is_the_package_data():
    assert [(k.group, k.kind) for k in custom_kinds()] == \
        [(e["apiVersion"], e["kind"]) for e in TABLE]
    assert dig({"spec": {"jobTargetRef": {"template": 1}}}, "spec.jobTargetRef.template") == 1


def test_a_knative_service_is_not_a_core_service(tmp_path):
    a = _analyze(tmp_path, """\
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: hello}
spec:
  template:
    spec:
      containers: [{image: registry.example.com/hello:1.0.3}]
""")
    (w,) = a.index.workloads
    assert w.like == "Deployment" and w.replicas is None
    assert not _statuses(a, "service-selects-nothing", "hello")
    assert _statuses(a, "replicas-below-minimum", "hello") == {"skip"}
    assert _statuses(a, "liveness-probe-missing", "hello") == {"fail"}


def test_an_unknown_kind_holding_a_pod_spec_is_reported_until_a_profile_adds_it(tmp_path):
    a = _analyze(tmp_path, WIDGET)
    assert a.index.workloads == []
    row = a.findings[a.findings.check_id == "unknown-workload-kind"].iloc[0]
    assert (row.status, row.severity, row.path) == ("fail", "info", "spec.runner.template.spec")
    assert "template: spec.runner.template" in row.message

    profile = tmp_path / "profile.yaml"
    profile.write_text("extends: production\nworkload_kinds:\n"
                       "  - {apiVersion: platform.example.com/v1, kind: Widget,\n"
                       "     template: spec.runner.template, replicas: spec.size}\n")
    a = _analyze(tmp_path, WIDGET, profile=str(profile))
    (w,) = a.index.workloads
    assert (w.like, w.replicas, w.spec_kind.source) == ("Deployment", 4, f"profile {profile}")
    assert _statuses(a, "privileged-container", "gadget") == {"fail"}
    assert _statuses(a, "unknown-workload-kind", "gadget") == set()
    assert _statuses(a, "replicas-below-minimum", "gadget") == {"pass"}


@pytest.mark.parametrize("entry, message", [
    ("{apiVersion: a.example.com/v1, kind: W}", "must contain ['template']"),
    ("{apiVersion: a.example.com/v1, kind: W, template: spec.t, like: CloneSet}", "like"),
    ("{apiVersion: a.example.com/v1, kind: W, template: 'spec..t'}", "template"),
])
def test_bad_workload_kinds_are_one_clear_error(tmp_path, entry, message):
    path = tmp_path / "p.yaml"
    path.write_text(f"workload_kinds: [{entry}]\n")
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_a_profile_kind_extends_and_the_child_adds(tmp_path):
    (tmp_path / "base.yaml").write_text(
        "workload_kinds: [{apiVersion: a.example.com, kind: A, template: spec.template}]\n")
    (tmp_path / "child.yaml").write_text(
        "extends: base.yaml\n"
        "workload_kinds: [{apiVersion: b.example.com/v2, kind: B, template: '', like: Pod}]\n")
    kinds = load_profile(tmp_path / "child.yaml").workload_kinds
    assert [(k.group, k.kind, k.like) for k in kinds] == [("a.example.com", "A", "Pod"),
                                                         ("b.example.com", "B", "Pod")]
