"""Network: pods isolated by NetworkPolicies that can match, and Services that reach their pods."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from toolman_kit.judge.profiles import Profile
from toolman_kit.judge.registry import Area, Outcome, Scope, Severity, Skip, Violation, check
from toolman_kit.read.index import Index
from toolman_kit.read.manifests import Resource
from toolman_kit.read.model import Workload, as_dict, as_list

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"  # the only label Kubernetes sets itself
MATCHES_NOTHING = ("In", "Exists")  # on a label no namespace has; NotIn/DoesNotExist match all
HOST_NETWORK = "hostNetwork pods are outside NetworkPolicies' reach (host-namespaces reports it)"


def _namespace_selectors(policy: Resource) -> Iterator[tuple[dict[str, Any], str]]:
    """(namespaceSelector, path) of every ingress `from` and egress `to` peer."""
    for direction, peers in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(as_list(policy.spec.get(direction))):
            for j, peer in enumerate(as_list(as_dict(rule).get(peers))):
                selector = as_dict(peer).get("namespaceSelector")
                if isinstance(selector, dict):
                    yield selector, f"spec.{direction}[{i}].{peers}[{j}].namespaceSelector"


def _selector(svc: Resource) -> dict[str, Any] | None:
    selector = svc.spec.get("selector")
    if svc.spec.get("type") == "ExternalName" or not isinstance(selector, dict) or not selector:
        return None
    return selector


def _number(port: Any) -> int | None:
    if isinstance(port, int) and not isinstance(port, bool):
        return port
    return int(port) if isinstance(port, str) and port.isdigit() else None


def _unisolated(w: Workload, idx: Index, direction: str) -> str | None:
    """Why the pods' `direction` ("ingress" or "egress") is open, or None when a policy
    isolates it: no policy selects them, none isolates that direction, or one allows all."""
    policies = idx.network_policies.get(w, [])
    isolating = [p for p in policies if getattr(idx.isolation[p], direction)]
    peers = "from" if direction == "ingress" else "to"
    for p in isolating:
        path = getattr(idx.isolation[p], f"{direction}_open")
        if path:
            ports = as_list(as_dict(_at(p.spec, path)).get("ports"))
            if ports:
                return (f"NetworkPolicy {p.name} allows {direction} on {_ports(ports)} from "
                        f"anywhere ({path} has no `{peers}`)")
            return (f"NetworkPolicy {p.name} allows all {direction} ({path} has no `{peers}`), "
                    "so it isolates nothing")
    if isolating:
        return None
    if policies:
        names = ", ".join(p.name for p in policies)
        return f"NetworkPolicy {names} selects these pods but does not isolate their {direction}"
    if w.namespace in idx.namespaces_with_policies:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(w.pod_labels.items())) or "none"
        return f"the namespace has NetworkPolicies, but none selects these pods (labels: {labels})"
    return "no NetworkPolicy selects these pods"


def _open(w: Workload, idx: Index, direction: str, effect: str) -> Outcome:
    if w.pod.get("hostNetwork") is True:
        yield Skip(HOST_NETWORK)
        return
    why = _unisolated(w, idx, direction)
    if why:
        yield Violation(f"{why}: {effect}")


def _at(spec: dict[str, Any], path: str) -> Any:
    """spec.ingress[0] → spec["ingress"][0]."""
    direction, _, index = path[len("spec."):].partition("[")
    return as_list(spec.get(direction))[int(index.rstrip("]"))]


def _ports(ports: list[Any]) -> str:
    return "port " + ", ".join(str(as_dict(p).get("port", "all")) for p in ports)


@check(id="network-policy-missing", area=Area.NETWORK, severity=Severity.ERROR,
       title="No NetworkPolicy isolates the pods' ingress",
       remediation="Add a NetworkPolicy whose podSelector matches the pods and allows only the "
                   "traffic they need.")
def network_policy_missing(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """Pods whose ingress no NetworkPolicy isolates accept connections from every pod in the
    cluster: one compromised workload anywhere can reach them. A policy isolates ingress when
    it selects the pods and has Ingress in its policyTypes (explicitly, or implied by leaving
    policyTypes out); a rule without `from` (`ingress: [{}]`) lets everyone in again, so such a
    policy counts as none. A `podSelector: {}` default-deny policy counts. Pods on the host's
    network are skipped: policies do not apply to them."""
    yield from _open(w, idx, "ingress", "every pod in the cluster can reach them")


@check(id="network-policy-egress-open", area=Area.NETWORK, severity=Severity.WARNING,
       title="No NetworkPolicy isolates the pods' egress",
       remediation="Add Egress to a policy's policyTypes with rules for what the pods call (DNS "
                   "and their dependencies), or a namespace default-deny for egress.",
       differs="kube-score (pod-networkpolicy) fails a pod without an egress policy as it fails "
               "one without an ingress policy; we warn, as open egress lets nobody in, and "
               "egress rules must name every dependency.")
def network_policy_egress_open(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """Pods whose egress no NetworkPolicy isolates can connect anywhere: a compromised pod can
    reach the API server, the cloud metadata endpoint and every other service, and send data
    out. A rule without `to` (`egress: [{}]`) allows everything again."""
    yield from _open(w, idx, "egress", "they can connect anywhere")


@check(id="network-policy-namespace-label", area=Area.NETWORK, severity=Severity.ERROR,
       scope=Scope.OBJECT, kinds=("NetworkPolicy",),
       title="namespaceSelector uses a label namespaces do not carry",
       remediation=f"Select namespaces by {NAMESPACE_NAME_LABEL}, the label Kubernetes sets on "
                   "every namespace, or label the namespaces as part of the install.")
def network_policy_namespace_label(policy: Resource, idx: Index, profile: Profile) -> Outcome:
    """Since Kubernetes 1.21 the only label every namespace carries is kubernetes.io/metadata.name;
    a peer selecting namespaces by another label, such as `name: mcp`, matches nothing unless
    someone labels the namespaces by hand, so the allowed traffic is silently dropped. Labels that
    a Namespace in the same manifests carries are fine."""
    rendered = idx.namespace_labels
    for selector, path in _namespace_selectors(policy):
        for key, value in as_dict(selector.get("matchLabels")).items():
            key, value = str(key), str(value)
            if key == NAMESPACE_NAME_LABEL or (key, value) in rendered:
                continue
            yield Violation(
                f"namespaceSelector matches label {key}={value}, which Kubernetes does not set on "
                "namespaces: unless they are labelled by hand, this peer matches no namespace",
                path=f"{path}.matchLabels",
                remediation=f"Use {NAMESPACE_NAME_LABEL}: {value} (if {value} is the namespace's "
                            "name), or label the namespaces as part of the install.")
        for k, expr in enumerate(as_list(selector.get("matchExpressions"))):
            key, op = str(as_dict(expr).get("key")), as_dict(expr).get("operator")
            if key == NAMESPACE_NAME_LABEL or any(k == key for k, _ in rendered):
                continue
            effect = "matches no namespace" if op in MATCHES_NOTHING else "matches every namespace"
            values = ", ".join(str(v) for v in as_list(as_dict(expr).get("values")))
            yield Violation(
                f"namespaceSelector expression on label {key}, which Kubernetes does not set on "
                f"namespaces: unless they are labelled by hand, '{key} {op}' {effect}",
                path=f"{path}.matchExpressions[{k}]",
                remediation=f"Use key {NAMESPACE_NAME_LABEL}"
                            + (f" with values [{values}]" if values else "")
                            + " (if those are namespace names), or label the namespaces as part "
                              "of the install.")


@check(id="service-selects-nothing", area=Area.NETWORK, severity=Severity.ERROR,
       scope=Scope.OBJECT, kinds=("Service",), title="Service selects no pods",
       remediation="Make spec.selector match the pod template labels of the workload it fronts.")
def service_selects_nothing(svc: Resource, idx: Index, profile: Profile) -> Outcome:
    """A Service whose selector matches no pod template has no endpoints: clients get connection
    refused or time out, while every object looks healthy."""
    selector = _selector(svc)
    if selector is None:
        yield Skip("no selector: endpoints are managed outside")
    elif not idx.selected.get(svc):
        shown = ", ".join(f"{k}={v}" for k, v in selector.items())
        yield Violation(f"selector {shown} matches no pod template in the manifests",
                        path="spec.selector")


@check(id="service-target-port-unknown", area=Area.NETWORK, severity=Severity.ERROR,
       scope=Scope.OBJECT, kinds=("Service",), title="Service targets a port no pod exposes",
       remediation="Point targetPort at a containerPort (or a ports[].name) of the selected "
                   "containers.")
def service_target_port_unknown(svc: Resource, idx: Index, profile: Profile) -> Outcome:
    """A targetPort that names a port no selected container declares leaves the Service without
    endpoints; a number no container exposes sends traffic to a closed port."""
    if _selector(svc) is None:
        yield Skip("no selector: endpoints are managed outside")
        return
    workloads = idx.selected.get(svc)
    if not workloads:
        yield Skip("selects no pods")
        return
    ports = [p for w in workloads for c in w.containers if c.role != "init" for p in c.ports]
    names = sorted({str(p["name"]) for p in ports if p.get("name")})
    numbers = sorted({n for p in ports if (n := _number(p.get("containerPort"))) is not None})
    for i, port in enumerate(as_list(svc.spec.get("ports"))):
        port = as_dict(port)
        field = "targetPort" if port.get("targetPort") is not None else "port"
        target, label = port.get(field), port.get("name") or port.get("port")
        path = f"spec.ports[{i}].{field}"
        if isinstance(target, str) and not target.isdigit():
            if target not in names:
                yield Violation(f"port {label}: targetPort {target} is not a named port of the "
                                f"selected containers (named: {', '.join(names) or 'none'})",
                                path=path)
        elif ports and (number := _number(target)) is not None and number not in numbers:
            what = "targetPort" if field == "targetPort" else "targetPort (defaults to port)"
            yield Violation(f"port {label}: {what} {target} is not a containerPort of the "
                            f"selected containers (declared: {', '.join(map(str, numbers))})",
                            path=path)


@check(id="network-policy-selects-nothing", area=Area.NETWORK, severity=Severity.WARNING,
       scope=Scope.OBJECT, kinds=("NetworkPolicy",), title="NetworkPolicy selects no pods",
       remediation="Make spec.podSelector match the pod template labels of the workloads it is "
                   "meant to isolate.")
def network_policy_selects_nothing(policy: Resource, idx: Index, profile: Profile) -> Outcome:
    """A policy whose podSelector matches no pod in the manifests isolates nothing: usually a
    label typo, which leaves the pods it was written for open while the chart looks
    protected. An empty podSelector selects every pod of the namespace, on purpose."""
    if not as_dict(policy.spec.get("podSelector")):
        yield Skip("an empty podSelector selects every pod in the namespace")
    elif not idx.selected.get(policy):
        yield Violation("its podSelector matches no workload's pods in the manifests",
                        path="spec.podSelector")
