"""Exposure: what reaches the pods from outside the cluster, and whether it arrives."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from toolman_kit.judge.profiles import Profile
from toolman_kit.judge.registry import Area, Outcome, Scope, Severity, Skip, Violation, check
from toolman_kit.read.index import Index
from toolman_kit.read.manifests import Resource
from toolman_kit.read.model import as_dict, as_list


def _backends(ingress: Resource) -> Iterator[tuple[str, Any, str]]:
    """(service name, port number or name, path) of every Service backend, in the
    networking.k8s.io/v1 shape (service.name, service.port.number|name) or the older
    v1beta1 one (serviceName, servicePort). Resource backends are not Services."""
    spec = ingress.spec
    candidates = [(spec.get("defaultBackend") or spec.get("backend"),
                   "spec.defaultBackend" if "defaultBackend" in spec else "spec.backend")]
    for i, rule in enumerate(as_list(spec.get("rules"))):
        paths = as_list(as_dict(as_dict(rule).get("http")).get("paths"))
        candidates += [(as_dict(p).get("backend"), f"spec.rules[{i}].http.paths[{j}].backend")
                       for j, p in enumerate(paths)]
    for backend, path in candidates:
        backend = as_dict(backend)
        service = as_dict(backend.get("service"))
        if service:
            port = as_dict(service.get("port"))
            yield str(service.get("name", "")), port.get("number", port.get("name")), \
                f"{path}.service"
        elif backend.get("serviceName"):
            yield str(backend["serviceName"]), backend.get("servicePort"), path


@check(id="ingress-backend-missing", area=Area.NETWORK, severity=Severity.ERROR,
       scope=Scope.OBJECT, kinds=("Ingress",), title="Ingress routes to a Service or port that "
       "is not rendered", remediation="Point the backend at a Service of the chart and one of "
                                      "its ports (by number or name).")
def ingress_backend_missing(ingress: Resource, idx: Index, profile: Profile) -> Outcome:
    """A backend naming a Service the manifests do not contain, or a port that Service does not
    have, answers every request with 503 (or the controller's default backend), while the
    Ingress itself looks fine."""
    backends = list(_backends(ingress))
    if not backends:
        yield Skip("no Service backends")
    for name, port, path in backends:
        svc = idx.named("Service", ingress.namespace, name)
        if svc is None:
            yield Violation(f"backend Service {name} is not in the manifests: requests get 503 "
                            "unless it is created outside the chart", path=path)
            continue
        ports = [as_dict(p) for p in as_list(svc.spec.get("ports"))]
        field = "name" if isinstance(port, str) and not port.isdigit() else "port"
        known = {str(p.get(field)) for p in ports if p.get(field) is not None}
        if port is not None and svc.spec.get("type") != "ExternalName" and str(port) not in known:
            shown = ", ".join(sorted(known)) or "none"
            yield Violation(f"backend port {port} is not a {'named ' if field == 'name' else ''}"
                            f"port of Service {name} (its ports: {shown})", path=path)


def _covered(host: str, tls_hosts: set[str]) -> bool:
    """A host is covered by its own name or a wildcard one level up (*.example.com)."""
    parent = host.partition(".")[2]
    return host in tls_hosts or (bool(parent) and f"*.{parent}" in tls_hosts)


@check(id="ingress-tls-missing", area=Area.NETWORK, severity=Severity.WARNING,
       scope=Scope.OBJECT, kinds=("Ingress",), title="Ingress serves hosts without TLS",
       remediation="Add spec.tls with a secretName (or a cert-manager annotation) covering every "
                   "host of the rules.")
def ingress_tls_missing(ingress: Resource, idx: Index, profile: Profile) -> Outcome:
    """Without a tls entry for its host, an Ingress serves plain HTTP: credentials and session
    cookies cross the network readable by anyone on the path."""
    tls = [as_dict(t) for t in as_list(ingress.spec.get("tls"))]
    if not tls:
        yield Violation("no spec.tls: the Ingress serves plain HTTP", path="spec")
        return
    tls_hosts = {str(h) for t in tls for h in as_list(t.get("hosts"))}
    for i, rule in enumerate(as_list(ingress.spec.get("rules"))):
        host = as_dict(rule).get("host")
        if isinstance(host, str) and host and tls_hosts and not _covered(host, tls_hosts):
            yield Violation(f"host {host} is not in any spec.tls hosts: it is served over plain "
                            "HTTP", path=f"spec.rules[{i}].host")


@check(id="service-exposed", area=Area.NETWORK, severity=Severity.INFO, scope=Scope.OBJECT,
       kinds=("Service",), title="Service is reachable from outside the cluster",
       remediation="Use a ClusterIP Service behind an Ingress or gateway, or restrict "
                   "loadBalancerSourceRanges to the clients that need it.")
def service_exposed(svc: Resource, idx: Index, profile: Profile) -> Outcome:
    """A NodePort Service opens its port on every node; a LoadBalancer one gets an address
    outside the cluster. Either bypasses the Ingress (its TLS, authentication and logging), so
    it should be a decision, not a default."""
    kind = svc.spec.get("type")
    if kind == "NodePort":
        yield Violation("type NodePort: the port is open on every node's address",
                        path="spec.type")
    elif kind == "LoadBalancer":
        ranges = as_list(svc.spec.get("loadBalancerSourceRanges"))
        who = f"clients in {', '.join(map(str, ranges))}" if ranges else "anyone who can reach " \
            "the load balancer (no loadBalancerSourceRanges)"
        yield Violation(f"type LoadBalancer: reachable from outside the cluster by {who}",
                        path="spec.type")
