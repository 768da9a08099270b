"""Probes: the main container of every long-running pod says when it is alive and ready."""

from __future__ import annotations

from typing import Any

from toolman_kit.judge.profiles import Profile
from toolman_kit.judge.registry import Area, Outcome, Scope, Severity, Skip, Violation, check
from toolman_kit.read.index import Index
from toolman_kit.read.model import REPLICATED, Container, Workload, as_dict

# Bare Pods count too, unless Helm runs them as hooks or tests (they run to completion).
PROBED = (*REPLICATED, "DaemonSet", "Pod")
HOOK_ANNOTATION = "helm.sh/hook"
HANDLERS = ("httpGet", "tcpSocket", "grpc", "exec")


def _hook(w: Workload) -> bool:
    return w.kind == "Pod" and HOOK_ANNOTATION in w.resource.annotations


def _probe_missing(c: Container, w: Workload, kind: str) -> Outcome:
    if _hook(w):
        yield Skip(f"a Helm {w.resource.annotations[HOOK_ANNOTATION]} hook runs to completion")
    elif kind not in c.probes:
        yield Violation(f"{c.name} has no {kind} probe", path=f"{c.path}.{kind}Probe")


@check(id="liveness-probe-missing", area=Area.AVAILABILITY, severity=Severity.ERROR,
       scope=Scope.CONTAINER, kinds=PROBED, roles=("main",),
       title="Main container has no liveness probe",
       remediation="Enable a livenessProbe with proper timing.")
def liveness_probe_missing(c: Container, w: Workload, idx: Index, profile: Profile) -> Outcome:
    """Without a liveness probe a hung process keeps its pod Running forever. Bare Pods are
    checked like a Deployment's, except Helm hooks and tests."""
    yield from _probe_missing(c, w, "liveness")


@check(id="readiness-probe-missing", area=Area.AVAILABILITY, severity=Severity.ERROR,
       scope=Scope.CONTAINER, kinds=PROBED, roles=("main",),
       title="Main container has no readiness probe",
       remediation="Enable a readinessProbe so traffic waits until the container can serve.")
def readiness_probe_missing(c: Container, w: Workload, idx: Index, profile: Profile) -> Outcome:
    """Without a readiness probe a pod receives traffic as soon as it starts, and keeps
    receiving it while it cannot serve: every rollout and restart drops requests."""
    yield from _probe_missing(c, w, "readiness")


@check(id="startup-probe-missing", area=Area.AVAILABILITY, severity=Severity.WARNING,
       scope=Scope.CONTAINER, kinds=PROBED, roles=("main",),
       title="Slow-starting container has no startup probe",
       remediation="Add a startupProbe and shorten the liveness probe's initialDelaySeconds.")
def startup_probe_missing(c: Container, w: Workload, idx: Index, profile: Profile) -> Outcome:
    """A long liveness initialDelaySeconds says the container starts slowly; a startup probe
    covers that start without delaying the detection of a hang later on."""
    liveness = c.probes.get("liveness")
    if liveness is None:
        yield Skip("no liveness probe")
        return
    delay = liveness.get("initialDelaySeconds", 0)
    if not isinstance(delay, int):
        yield Skip("initialDelaySeconds is not a number")
    elif delay >= profile.startup_probe_after_seconds and "startup" not in c.probes:
        yield Violation(f"{c.name}: liveness probe waits {delay}s and there is no startup probe",
                        path=f"{c.path}.startupProbe")


def _handler(probe: dict[str, Any]) -> tuple[str, Any] | None:
    return next(((k, probe[k]) for k in HANDLERS if k in probe), None)


def _describe(kind: str, action: Any) -> str:
    action = as_dict(action)
    if kind == "httpGet":
        return f"httpGet {action.get('path', '/')} on port {action.get('port')}"
    if kind == "exec":
        return "exec " + " ".join(map(str, action.get("command") or []))
    return f"{kind} on port {action.get('port')}"


@check(id="probes-identical", area=Area.AVAILABILITY, severity=Severity.WARNING,
       scope=Scope.CONTAINER, kinds=PROBED, roles=("main",),
       title="Liveness and readiness probes run the same check",
       remediation="Give the liveness probe its own cheap endpoint that only says the process "
                   "is alive; keep dependency checks in the readiness probe.")
def probes_identical(c: Container, w: Workload, idx: Index, profile: Profile) -> Outcome:
    """When liveness and readiness ask the same question, a slow database or downstream makes
    the liveness probe fail too: the kubelet restarts healthy pods instead of taking them out
    of rotation, and the restarts add load where it hurts."""
    liveness, readiness = c.probes.get("liveness"), c.probes.get("readiness")
    if liveness is None or readiness is None:
        yield Skip("needs both a liveness and a readiness probe")
        return
    handler = _handler(liveness)
    if handler is not None and handler == _handler(readiness):
        yield Violation(f"{c.name}: liveness and readiness probes both run "
                        f"{_describe(*handler)}", path=f"{c.path}.livenessProbe")


@check(id="probe-port-unknown", area=Area.AVAILABILITY, severity=Severity.ERROR,
       title="Probe names a port the container does not declare",
       remediation="Name a port from the container's ports (or use its number).")
def probe_port_unknown(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """A probe that names a port (`port: http`) the container does not declare can never
    succeed: the kubelet fails it on every try, so a liveness probe restarts the container
    forever and a readiness probe keeps it out of every Service. Numbers need no declaration."""
    for c in w.containers:
        for kind, probe in c.probes.items():
            handler = _handler(probe)
            port = as_dict(handler[1]).get("port") if handler else None
            if not isinstance(port, str) or port.isdigit():
                continue
            names = {str(p["name"]) for p in c.ports if p.get("name")}
            if port not in names:
                yield Violation(f"{c.name}: the {kind} probe uses port {port}, which the "
                                f"container does not declare (named ports: "
                                f"{', '.join(sorted(names)) or 'none'})",
                                path=f"{c.path}.{kind}Probe.{handler[0]}.port", container=c.name)
