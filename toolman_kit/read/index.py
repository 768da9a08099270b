"""Cross-object lookups, built once per run.

Label-selector matching lives here and nowhere else. Pods are indexed by namespace and by each
(label, value) pair, so a selector is matched against the few workloads that carry its rarest
label instead of every workload: the cost grows with the objects, never with their pairs.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from toolman_kit.read.manifests import Manifests, Resource
from toolman_kit.read.model import Workload, as_dict, as_list, workload

SCRAPE_ANNOTATION = "prometheus.io/scrape"


def selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """metav1.LabelSelector semantics: matchLabels AND every matchExpression; {} selects all."""
    for key, value in as_dict(selector.get("matchLabels")).items():
        if labels.get(str(key)) != str(value):
            return False
    for expr in as_list(selector.get("matchExpressions")):
        expr = as_dict(expr)
        key, op = str(expr.get("key")), expr.get("operator")
        values = {str(v) for v in as_list(expr.get("values"))}
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False  # an unknown operator is invalid: the API server would reject it
    return True


class Index:
    """Workloads and who selects them (PDBs, Services, NetworkPolicies, HPAs, monitors), and the
    PVCs and ServiceAccounts they name."""

    def __init__(self, manifests: Manifests):
        self.manifests = manifests
        self.workloads: list[Workload] = []
        self.workload_of: dict[Resource, Workload] = {}
        self._ambiguous: set[tuple[str, str]] | None = None  # (kind, name) in several namespaces
        self._pods: dict[str, list[Workload]] = defaultdict(list)
        self._pods_by_label: dict[tuple[str, str, str], list[Workload]] = defaultdict(list)
        self._services_by_label: dict[tuple[str, str, str], list[Resource]] = defaultdict(list)
        self._services: dict[str, list[Resource]] = defaultdict(list)
        self.selected: dict[Resource, list[Workload]] = {}  # selecting object → workloads
        self.pdbs: dict[Workload, list[Resource]] = defaultdict(list)
        self.services: dict[Workload, list[Resource]] = defaultdict(list)
        self.network_policies: dict[Workload, list[Resource]] = defaultdict(list)
        self.hpas: dict[Workload, list[Resource]] = defaultdict(list)
        self.monitors: dict[Workload, list[Resource]] = defaultdict(list)
        self.pvcs: dict[tuple[str, str], Resource] = {}
        self.service_accounts: dict[tuple[str, str], Resource] = {}
        self.namespaces_with_policies: set[str] = set()
        self.namespace_labels: set[tuple[str, str]] = set()  # on Namespaces in the manifests
        by_kind: dict[str, list[Resource]] = defaultdict(list)
        for resource in manifests.resources:
            by_kind[resource.kind].append(resource)
            w = workload(resource)
            if w is not None:
                self.workloads.append(w)
                self.workload_of[resource] = w
                self._pods[w.namespace].append(w)
                for key, value in w.pod_labels.items():
                    self._pods_by_label[(w.namespace, key, value)].append(w)
        for svc in by_kind["Service"]:
            self._services[svc.namespace].append(svc)
            for key, value in svc.labels.items():
                self._services_by_label[(svc.namespace, key, value)].append(svc)
        for pvc in by_kind["PersistentVolumeClaim"]:
            self.pvcs[(pvc.namespace, pvc.name)] = pvc
        for namespace in by_kind["Namespace"]:
            self.namespace_labels.update(namespace.labels.items())
        for account in by_kind["ServiceAccount"]:
            self.service_accounts[(account.namespace, account.name)] = account
        # A PDB without a selector selects nothing (policy/v1: a nil pointer); a NetworkPolicy
        # without podSelector selects every pod (a zero-value struct, the same as {}).
        self._link(by_kind["PodDisruptionBudget"], self.pdbs, "selector", missing=None)
        self._link(by_kind["NetworkPolicy"], self.network_policies, "podSelector", missing={})
        for netpol in by_kind["NetworkPolicy"]:
            self.namespaces_with_policies.add(netpol.namespace)
        for svc in by_kind["Service"]:
            selector = svc.spec.get("selector")
            if isinstance(selector, dict) and selector:  # no selector: endpoints managed by hand
                self._select(svc, {"matchLabels": selector}, self.services)
        by_name = {(w.namespace, w.kind, w.name): w for w in self.workloads}
        for hpa in by_kind["HorizontalPodAutoscaler"]:
            ref = as_dict(hpa.spec.get("scaleTargetRef"))
            target = by_name.get((hpa.namespace, ref.get("kind"), ref.get("name")))
            self.selected[hpa] = [target] if target else []
            if target:
                self.hpas[target].append(hpa)
        for monitor in by_kind["PodMonitor"]:
            for ns in self._monitor_namespaces(monitor):
                for w in self.select(ns, as_dict(monitor.spec.get("selector"))):
                    self.monitors[w].append(monitor)
        for monitor in by_kind["ServiceMonitor"]:
            for ns in self._monitor_namespaces(monitor):
                for svc in self._select_services(ns, as_dict(monitor.spec.get("selector"))):
                    for w in self.selected.get(svc, []):
                        self.monitors[w].append(monitor)

    def label(self, w: Workload) -> str:
        """How reports name a workload: Kind/name, or Kind/namespace/name where the same kind
        and name exist in several namespaces."""
        if self._ambiguous is None:
            seen: dict[tuple[str, str], set[str]] = defaultdict(set)
            for other in self.workloads:
                seen[(other.kind, other.name)].add(other.namespace)
            self._ambiguous = {key for key, namespaces in seen.items() if len(namespaces) > 1}
        if (w.kind, w.name) in self._ambiguous:
            return f"{w.kind}/{w.namespace}/{w.name}"
        return f"{w.kind}/{w.name}"

    def select(self, namespace: str, selector: dict[str, Any]) -> list[Workload]:
        """Workloads in `namespace` whose pod labels match the label selector."""
        return _match(selector, self._pods.get(namespace, []), self._pods_by_label, namespace,
                      lambda w: w.pod_labels)

    def min_replicas(self, w: Workload) -> int | None:
        """Replicas the workload is guaranteed to run: an HPA's minReplicas wins over the spec."""
        hpa_minimums = []
        for hpa in self.hpas.get(w, []):
            value = hpa.spec.get("minReplicas", 1)
            hpa_minimums.append(value if isinstance(value, int) else 1)
        return min(hpa_minimums) if hpa_minimums else w.replicas

    def max_replicas(self, w: Workload) -> int | None:
        maximums = [hpa.spec.get("maxReplicas") for hpa in self.hpas.get(w, [])]
        numbers = [m for m in maximums if isinstance(m, int) and not isinstance(m, bool)]
        return max([*numbers, w.replicas or 0]) if numbers else w.replicas

    def scraped(self, w: Workload) -> bool:
        """Prometheus scrape annotations on the pods or on a Service that selects them."""
        if w.pod_annotations.get(SCRAPE_ANNOTATION) == "true":
            return True
        return any(svc.annotations.get(SCRAPE_ANNOTATION) == "true" for svc in self.services[w])

    def _link(self, selectors: list[Resource], target: dict, field: str,
              missing: dict | None) -> None:
        for obj in selectors:
            selector = obj.spec.get(field, missing)
            if selector is None:
                self.selected[obj] = []
            else:
                self._select(obj, as_dict(selector), target)

    def _select(self, obj: Resource, selector: dict[str, Any], target: dict) -> None:
        chosen = self.select(obj.namespace, selector)
        self.selected[obj] = chosen
        for w in chosen:
            target[w].append(obj)

    def _select_services(self, namespace: str, selector: dict[str, Any]) -> list[Resource]:
        return _match(selector, self._services.get(namespace, []), self._services_by_label,
                      namespace, lambda s: s.labels)

    def _monitor_namespaces(self, monitor: Resource) -> list[str]:
        ns_selector = as_dict(monitor.spec.get("namespaceSelector"))
        if ns_selector.get("any") is True:
            return list(self._pods)
        names = [str(n) for n in as_list(ns_selector.get("matchNames"))]
        return names or [monitor.namespace]


def _match(selector: dict[str, Any], everyone: list, by_label: dict, namespace: str,
           labels_of) -> list:
    match_labels = as_dict(selector.get("matchLabels"))
    candidates = everyone
    for key, value in match_labels.items():  # start from the rarest label the selector needs
        bucket = by_label.get((namespace, str(key), str(value)), [])
        if len(bucket) < len(candidates):
            candidates = bucket
    return [item for item in candidates if selector_matches(selector, labels_of(item))]
