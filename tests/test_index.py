"""Label-selector semantics and the cross-object links the Index builds once per run."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from toolman_kit.analysis import Analysis
from toolman_kit.read.index import Index, selector_matches
from toolman_kit.read.manifests import RELEASE_NAMESPACE, load

LABELS = {"app": "web", "tier": "frontend"}


def _meta(name: str, namespace: str | None, labels: dict[str, str] | None = None) -> dict:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = labels
    return meta


def deployment(name: str = "web", namespace: str | None = None, labels: dict | None = None,
               replicas: int = 2, ports: list | None = None) -> dict:
    labels = labels or {"app": name}
    container = {"name": name, "image": "nginx:1.27.0", "ports": ports or []}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(name, namespace),
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [container]}}}}


def service(name: str = "web", namespace: str | None = None, selector: dict | None = None,
            labels: dict | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(name, namespace, labels),
            "spec": {"selector": selector or {"app": name},
                     "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}


def pdb(name: str = "web", namespace: str | None = None, selector: dict | None = None) -> dict:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": _meta(name, namespace),
            "spec": {"minAvailable": 1, "selector": {"matchLabels": selector or {"app": name}}}}


def netpol(name: str = "web", namespace: str | None = None, selector: dict | None = None) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": _meta(name, namespace),
            "spec": {"podSelector": selector if selector is not None else
                     {"matchLabels": {"app": name}}, "policyTypes": ["Ingress"]}}


def hpa(target: str = "web", namespace: str | None = None, **spec: Any) -> dict:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": _meta(target, namespace),
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                        "name": target}, **spec}}


def monitor(kind: str, name: str = "web", namespace: str | None = None,
            selector: dict | None = None, namespace_selector: dict | None = None) -> dict:
    spec: dict[str, Any] = {"selector": {"matchLabels": selector or {"app": name}}}
    spec["podMetricsEndpoints" if kind == "PodMonitor" else "endpoints"] = [{"port": "http"}]
    if namespace_selector is not None:
        spec["namespaceSelector"] = namespace_selector
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": kind,
            "metadata": _meta(name, namespace), "spec": spec}


def text(*docs: dict) -> str:
    return "---\n".join(yaml.safe_dump(d, sort_keys=False) for d in docs)


def index(*docs: dict, namespace: str | None = None) -> Index:
    manifests = load(text(*docs), namespace=namespace)
    assert not manifests.errors, manifests.errors
    return Index(manifests)


def by_name(idx: Index, kind: str = "Deployment") -> dict:
    return {w.name: w for w in idx.workloads if w.kind == kind}


# selector_matches ---------------------------------------------------------------------------


def test_match_labels():
    assert selector_matches({"matchLabels": {"app": "web"}}, LABELS)
    assert selector_matches({"matchLabels": {"app": "web", "tier": "frontend"}}, LABELS)
    assert not selector_matches({"matchLabels": {"app": "api"}}, LABELS)
    assert not selector_matches({"matchLabels": {"app": "web", "env": "prod"}}, LABELS)


def test_match_labels_compares_as_strings():
    assert selector_matches({"matchLabels": {"version": 2}}, {"version": "2"})


def test_empty_selector_selects_all():
    assert selector_matches({}, LABELS)
    assert selector_matches({}, {})
    assert selector_matches({"matchLabels": {}, "matchExpressions": []}, LABELS)


@pytest.mark.parametrize(("expression", "expected"), [
    ({"key": "tier", "operator": "In", "values": ["frontend", "backend"]}, True),
    ({"key": "tier", "operator": "In", "values": ["backend"]}, False),
    ({"key": "env", "operator": "In", "values": ["prod"]}, False),
    ({"key": "tier", "operator": "NotIn", "values": ["backend"]}, True),
    ({"key": "tier", "operator": "NotIn", "values": ["frontend"]}, False),
    ({"key": "env", "operator": "NotIn", "values": ["prod"]}, True),  # absent key: not in
    ({"key": "tier", "operator": "Exists"}, True),
    ({"key": "env", "operator": "Exists"}, False),
    ({"key": "env", "operator": "DoesNotExist"}, True),
    ({"key": "tier", "operator": "DoesNotExist"}, False),
    ({"key": "tier", "operator": "Equals", "values": ["frontend"]}, False),  # unknown operator
    ({"key": "tier"}, False),  # no operator
])
def test_match_expressions(expression: dict, expected: bool):
    assert selector_matches({"matchExpressions": [expression]}, LABELS) is expected


def test_labels_and_expressions_must_all_match():
    selector = {"matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["frontend"]},
                                     {"key": "env", "operator": "DoesNotExist"}]}
    assert selector_matches(selector, LABELS)
    assert not selector_matches(selector, {**LABELS, "env": "prod"})
    assert not selector_matches({**selector, "matchLabels": {"app": "api"}}, LABELS)


# namespaces ---------------------------------------------------------------------------------


def test_objects_in_another_namespace_do_not_select():
    idx = index(deployment(namespace="a"), service(namespace="b"), pdb(namespace="b"),
                netpol(namespace="b"), netpol("all", namespace="b", selector={}))
    w = by_name(idx)["web"]
    assert not idx.services[w] and not idx.pdbs[w] and not idx.network_policies[w]
    for obj in idx.manifests.resources:
        if obj.kind != "Deployment":
            assert idx.selected[obj] == []
    assert idx.namespaces_with_policies == {"b"}


def test_objects_in_the_same_namespace_select():
    idx = index(deployment(namespace="a"), service(namespace="a"), pdb(namespace="a"),
                netpol(namespace="a"))
    w = by_name(idx)["web"]
    assert [r.kind for r in idx.services[w]] == ["Service"]
    assert [r.kind for r in idx.pdbs[w]] == ["PodDisruptionBudget"]
    assert [r.kind for r in idx.network_policies[w]] == ["NetworkPolicy"]


def test_objects_without_namespace_are_in_the_release_namespace():
    analysis = Analysis.of(text(deployment(), service(), netpol(namespace="toolman")),
                           namespace="toolman")
    idx = analysis.index
    w = by_name(idx)["web"]
    assert w.namespace == "toolman"
    assert [r.name for r in idx.network_policies[w]] == ["web"]
    assert [r.name for r in idx.services[w]] == ["web"]


def test_explicit_namespace_differing_from_release_does_not_select():
    idx = index(deployment(), netpol(namespace="other"), namespace="toolman")
    assert not idx.network_policies[by_name(idx)["web"]]


def test_release_namespace_inferred_from_the_one_explicit_namespace():
    namespace_obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "elsewhere"}}
    manifests = load(text(deployment(), netpol(namespace="toolman"), namespace_obj))
    assert manifests.namespace == "toolman"
    assert {r.kind: r.namespace for r in manifests.resources} == {
        "Deployment": "toolman", "NetworkPolicy": "toolman", "Namespace": ""}
    idx = Index(manifests)
    assert idx.network_policies[by_name(idx)["web"]]


def test_release_namespace_unknown_when_explicit_namespaces_disagree():
    manifests = load(text(deployment(), netpol(namespace="a"), service(namespace="b")))
    assert manifests.namespace == RELEASE_NAMESPACE
    assert manifests.resources[0].namespace == RELEASE_NAMESPACE


def test_explicit_namespace_option_wins_over_inference():
    manifests = load(text(deployment(), netpol(namespace="a")), namespace="b")
    assert [r.namespace for r in manifests.resources] == ["b", "a"]


# selection details --------------------------------------------------------------------------


def test_network_policy_with_empty_pod_selector_selects_every_pod_of_its_namespace():
    idx = index(deployment("web"), deployment("api"), deployment("db", namespace="data"),
                netpol("deny-all", selector={}), namespace="toolman")
    workloads = by_name(idx)
    assert idx.network_policies[workloads["web"]] and idx.network_policies[workloads["api"]]
    assert not idx.network_policies[workloads["db"]]


def test_service_without_selector_selects_nothing():
    svc = service()
    del svc["spec"]["selector"]
    idx = index(deployment(), svc)
    assert not idx.services[by_name(idx)["web"]]
    assert idx.manifests.resources[1] not in idx.selected


def test_selector_matches_only_pods_carrying_every_label():
    idx = index(deployment("web", labels={"app": "web", "tier": "frontend"}),
                deployment("web-canary", labels={"app": "web", "track": "canary"}),
                service("web", selector={"app": "web", "tier": "frontend"}))
    svc = next(r for r in idx.manifests.resources if r.kind == "Service")
    assert [w.name for w in idx.selected[svc]] == ["web"]


# replicas and HPAs --------------------------------------------------------------------------


def test_hpa_min_replicas_overrides_spec_replicas():
    idx = index(deployment(replicas=5), hpa(minReplicas=2, maxReplicas=10))
    w = by_name(idx)["web"]
    assert w.replicas == 5
    assert idx.min_replicas(w) == 2
    assert idx.max_replicas(w) == 10


def test_hpa_without_min_replicas_guarantees_one():
    idx = index(deployment(replicas=3), hpa(maxReplicas=6))
    assert idx.min_replicas(by_name(idx)["web"]) == 1


def test_replicas_without_hpa():
    idx = index(deployment(replicas=3))
    w = by_name(idx)["web"]
    assert idx.min_replicas(w) == 3 and idx.max_replicas(w) == 3


def test_hpa_targets_by_kind_and_name_in_its_namespace():
    other_kind = hpa(minReplicas=1, maxReplicas=4)
    other_kind["spec"]["scaleTargetRef"]["kind"] = "StatefulSet"
    idx = index(deployment(namespace="a", replicas=3), hpa(namespace="b", minReplicas=1),
                {**other_kind, "metadata": _meta("web-sts", "a")})
    w = by_name(idx)["web"]
    assert not idx.hpas[w] and idx.min_replicas(w) == 3


# monitors -----------------------------------------------------------------------------------


def test_service_monitor_links_through_the_service_to_the_deployment():
    idx = index(deployment(), service(labels={"monitoring": "yes"}),
                monitor("ServiceMonitor", selector={"monitoring": "yes"}), namespace="toolman")
    assert [m.kind for m in idx.monitors[by_name(idx)["web"]]] == ["ServiceMonitor"]


def test_service_monitor_matches_service_labels_not_pod_labels():
    idx = index(deployment(), service(labels={"team": "x"}),
                monitor("ServiceMonitor", selector={"app": "web"}), namespace="toolman")
    assert not idx.monitors[by_name(idx)["web"]]


def test_service_monitor_watches_its_own_namespace_by_default():
    idx = index(deployment(namespace="app"), service(namespace="app", labels={"app": "web"}),
                monitor("ServiceMonitor", namespace="monitoring"))
    assert not idx.monitors[by_name(idx)["web"]]


@pytest.mark.parametrize("namespace_selector", [{"any": True}, {"matchNames": ["app"]}])
def test_service_monitor_namespace_selector(namespace_selector: dict):
    idx = index(deployment(namespace="app"), service(namespace="app", labels={"app": "web"}),
                deployment("other", namespace="else"),
                service("other", namespace="else", labels={"app": "web"},
                        selector={"app": "other"}),
                monitor("ServiceMonitor", namespace="monitoring",
                        namespace_selector=namespace_selector))
    workloads = by_name(idx)
    assert [m.namespace for m in idx.monitors[workloads["web"]]] == ["monitoring"]
    linked_other = bool(idx.monitors[workloads["other"]])
    assert linked_other is bool(namespace_selector.get("any"))


def test_pod_monitor_selects_pods_directly():
    idx = index(deployment(), deployment("api"), monitor("PodMonitor", selector={"app": "web"}),
                namespace="toolman")
    workloads = by_name(idx)
    assert [m.kind for m in idx.monitors[workloads["web"]]] == ["PodMonitor"]
    assert not idx.monitors[workloads["api"]]


def test_pod_monitor_match_names():
    idx = index(deployment(namespace="app"),
                monitor("PodMonitor", namespace="monitoring",
                        namespace_selector={"matchNames": ["app"]}))
    assert idx.monitors[by_name(idx)["web"]]
