"""Cross-object lookups, built once per run.

Label-selector matching lives here and nowhere else. Pods are indexed by namespace and by each
(label, value) pair, so a selector is matched against the few workloads that carry its rarest
label instead of every workload: the cost grows with the objects, never with their pairs.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from toolman_kit.read.manifests import Manifests, Resource
from toolman_kit.read.model import Workload, WorkloadKind, as_dict, as_list, kinds_table, workload

SCRAPE_ANNOTATION = "prometheus.io/scrape"
# Objects every namespace has, whatever the manifests say.
ALWAYS_PRESENT = {("ServiceAccount", "default"), ("ConfigMap", "kube-root-ca.crt")}
# The core kinds the Index reads by kind alone.
CORE_KINDS_READ = ("Service", "PersistentVolumeClaim", "Namespace", "ServiceAccount",
                   "PodDisruptionBudget", "NetworkPolicy", "RoleBinding", "ClusterRoleBinding",
                   "HorizontalPodAutoscaler", "ConfigMap", "Secret")


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


@dataclass(frozen=True, slots=True)
class Isolation:
    """What one NetworkPolicy does to the pods it selects, per direction (Ingress, Egress):
    whether it isolates them, and the path of a rule that allows every peer, if it has one."""

    ingress: bool
    egress: bool
    ingress_open: str | None  # e.g. spec.ingress[0]: a rule without `from` (or `ingress: [{}]`)
    egress_open: str | None


def isolation(policy: Resource) -> Isolation:
    """networking.k8s.io/v1 semantics: policyTypes lists the isolated directions; without it,
    Ingress always, and Egress when the policy has egress rules. Rules are a union, so one rule
    without peers (`{}`, or only ports) opens the direction to every source or destination."""
    spec = policy.spec
    types = spec.get("policyTypes")
    if isinstance(types, list):
        ingress, egress = "Ingress" in types, "Egress" in types
    else:
        ingress, egress = True, bool(as_list(spec.get("egress")))

    def open_rule(direction: str, peers: str) -> str | None:
        for i, rule in enumerate(as_list(spec.get(direction))):
            if not as_list(as_dict(rule).get(peers)):
                return f"spec.{direction}[{i}]"
        return None

    return Isolation(ingress, egress, open_rule("ingress", "from") if ingress else None,
                     open_rule("egress", "to") if egress else None)


def binding_accounts(binding: Resource, release_namespace: str) -> list[tuple[str, str]]:
    """(namespace, name) of the ServiceAccounts a RoleBinding or ClusterRoleBinding names."""
    accounts = []
    for subject in as_list(binding.obj.get("subjects")):
        subject = as_dict(subject)
        if subject.get("kind") == "ServiceAccount" and subject.get("name"):
            namespace = subject.get("namespace") or binding.namespace or release_namespace
            accounts.append((str(namespace), str(subject["name"])))
    return accounts


def role_key(binding: Resource) -> tuple[str, str, str]:
    """(kind, namespace, name) of the role a binding grants; ClusterRoles have no namespace."""
    ref = as_dict(binding.obj.get("roleRef"))
    kind = str(ref.get("kind") or "")
    return kind, binding.namespace if kind == "Role" else "", str(ref.get("name") or "")


class Index:
    """Workloads and who selects them (PDBs, Services, NetworkPolicies, HPAs, monitors), the
    PVCs and ServiceAccounts they name, the RBAC bindings of those ServiceAccounts, and any
    object by kind and name."""

    def __init__(self, manifests: Manifests, kinds: tuple[WorkloadKind, ...] = ()):
        """`kinds`: workload kinds beyond the package's table (a profile's `workload_kinds`)."""
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
        self.isolation: dict[Resource, Isolation] = {}  # NetworkPolicy → what it isolates
        self.account_bindings: dict[tuple[str, str], list[Resource]] = defaultdict(list)
        self.role_bindings: dict[tuple[str, str, str], list[Resource]] = defaultdict(list)
        self._named: dict[str, dict[tuple[str, str], Resource]] = {}  # kind → (ns, name) → obj
        self._runs_as: dict[tuple[str, str], list[Workload]] | None = None
        self._made: set[tuple[str, str, str]] | None = None  # (kind, ns, name) others create
        self._by_kind: dict[str, list[Resource]] = defaultdict(list)
        by_kind = self._by_kind
        table = kinds_table(kinds)
        for resource in manifests.resources:
            w = workload(resource, table)
            # a custom kind named like a core one (Knative's Service) is not that core object
            kind_key = resource.kind
            if w is not None and w.spec_kind.custom and kind_key in CORE_KINDS_READ:
                kind_key = f"{w.spec_kind.group}/{kind_key}"
            by_kind[kind_key].append(resource)
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
            self.isolation[netpol] = isolation(netpol)
        for binding in (*by_kind["RoleBinding"], *by_kind["ClusterRoleBinding"]):
            self.role_bindings[role_key(binding)].append(binding)
            for account in binding_accounts(binding, manifests.namespace):
                self.account_bindings[account].append(binding)
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
                        if not any(m is monitor for m in self.monitors[w]):  # once, not per Service
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

    def of_kind(self, kind: str) -> list[Resource]:
        """Every object of `kind` (a custom kind named like a core one: "group/Kind")."""
        return self._by_kind.get(kind, [])

    def named(self, kind: str, namespace: str, name: str) -> Resource | None:
        """The object of `kind` called `name` in `namespace` ("" for cluster-scoped kinds)."""
        table = self._named.get(kind)
        if table is None:
            table = self._named[kind] = {(r.namespace, r.name): r
                                         for r in self._by_kind.get(kind, ())}
        return table.get((namespace, name))

    def provides(self, kind: str, namespace: str, name: str) -> bool:
        """Whether the object will exist: it is in the manifests, every namespace has it, or an
        object in the manifests creates it (cert-manager Certificates, SealedSecrets and
        ExternalSecrets make Secrets)."""
        if self.named(kind, namespace, name) is not None or (kind, name) in ALWAYS_PRESENT:
            return True
        if self._made is None:
            self._made = set()
            for cert in self._by_kind.get("Certificate", ()):
                self._made.add(("Secret", cert.namespace, str(cert.spec.get("secretName"))))
            for sealed in self._by_kind.get("SealedSecret", ()):
                self._made.add(("Secret", sealed.namespace, sealed.name))
            for external in self._by_kind.get("ExternalSecret", ()):
                target = as_dict(external.spec.get("target")).get("name") or external.name
                self._made.add(("Secret", external.namespace, str(target)))
        return (kind, namespace, name) in self._made

    def runs_as(self, namespace: str, account: str) -> list[Workload]:
        """The workloads whose pods run as the ServiceAccount."""
        if self._runs_as is None:
            self._runs_as = defaultdict(list)
            for w in self.workloads:
                self._runs_as[(w.namespace, w.service_account)].append(w)
        return self._runs_as.get((namespace, account), [])

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
