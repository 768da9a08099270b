"""Resources: requests and limits set, consistent, and sized for the profile."""

from __future__ import annotations

from toolman_kit.judge.profiles import Profile
from toolman_kit.judge.registry import Area, Outcome, Scope, Severity, Violation, check
from toolman_kit.read.index import Index
from toolman_kit.read.model import Container, Workload
from toolman_kit.read.quantity import format_cpu, format_memory

_FORMAT = {"cpu": format_cpu, "memory": format_memory}


def _missing(c: Container, kind: str, resource: str) -> Outcome:
    amounts = c.requests if kind == "requests" else c.limits
    if resource not in amounts:
        yield Violation(f"container {c.name} sets no {resource} {kind}",
                        path=f"{c.path}.resources.{kind}.{resource}")


@check(id="cpu-requests-missing", area=Area.RESOURCES, severity=Severity.ERROR,
       scope=Scope.CONTAINER, title="Container has no CPU request",
       remediation="Set resources.requests.cpu so the scheduler can place the pod.")
def cpu_requests_missing(c: Container, w: Workload, idx: Index, profile: Profile) -> Outcome:
    """Without a CPU request the scheduler assumes the container needs nothing: it is packed onto
    busy nodes and is the first to starve under contention."""
    yield from _missing(c, "requests", "cpu")


@check(id="memory-requests-missing", area=Area.RESOURCES, severity=Severity.ERROR,
       scope=Scope.CONTAINER, title="Container has no memory request",
       remediation="Set resources.requests.memory to the container's working set.")
def memory_requests_missing(c: Container, w: Workload, idx: Index, profile: Profile) -> Outcome:
    """Without a memory request the pod is BestEffort or Burstable on memory and among the first
    evicted when the node runs short."""
    yield from _missing(c, "requests", "memory")


@check(id="cpu-limits-missing", area=Area.RESOURCES, severity=Severity.WARNING,
       scope=Scope.CONTAINER, title="Container has no CPU limit",
       remediation="Set resources.limits.cpu (or accept unbounded bursts on purpose).")
def cpu_limits_missing(c: Container, w: Workload, idx: Index, profile: Profile) -> Outcome:
    """A container without a CPU limit can take every idle core on its node; the seed asks for
    limits to prevent resource exhaustion."""
    yield from _missing(c, "limits", "cpu")


@check(id="memory-limits-missing", area=Area.RESOURCES, severity=Severity.WARNING,
       scope=Scope.CONTAINER, title="Container has no memory limit",
       remediation="Set resources.limits.memory so a leak is OOM-killed, not the node.")
def memory_limits_missing(c: Container, w: Workload, idx: Index, profile: Profile) -> Outcome:
    """A container without a memory limit can exhaust its node's memory and take its neighbours
    down with it."""
    yield from _missing(c, "limits", "memory")


@check(id="limits-below-requests", area=Area.RESOURCES, severity=Severity.ERROR,
       scope=Scope.CONTAINER, title="Limit lower than its request",
       remediation="Make every limit at least its request.")
def limits_below_requests(c: Container, w: Workload, idx: Index, profile: Profile) -> Outcome:
    """The API server rejects a container whose limit is below its request: the chart renders,
    but the install fails."""
    for resource in ("cpu", "memory"):
        request, limit = c.requests.get(resource), c.limits.get(resource)
        if request is not None and limit is not None and limit < request:
            show = _FORMAT.get(resource, str)
            yield Violation(f"{c.name}: {resource} limit {show(limit)} is below its request "
                            f"{show(request)}", path=f"{c.path}.resources.limits.{resource}")


@check(id="resources-below-profile", area=Area.RESOURCES, severity=Severity.WARNING,
       scope=Scope.CONTAINER, title="Requests or limits below the profile's sizing",
       remediation="Size the container as the profile recommends.")
def resources_below_profile(c: Container, w: Workload, idx: Index, profile: Profile) -> Outcome:
    """The profile can give sizing floors per container name or role (the Toolman profile asks
    500m/512Mi requests and 2000m/2Gi limits for the main container, as the seed recommends)."""
    sizing = profile.sizing_for(c.name, c.role)
    if not sizing:
        return
    for kind in ("requests", "limits"):
        wanted = sizing.get(kind, {})
        have = c.requests if kind == "requests" else c.limits
        short = [r for r, amount in wanted.items() if have.get(r) is not None and have[r] < amount]
        if short:
            current = "/".join(_FORMAT.get(r, str)(have.get(r)) for r in wanted)
            target = "/".join(_FORMAT.get(r, str)(amount) for r, amount in wanted.items())
            yield Violation(f"{c.name} {kind} {current} are below the profile's {target}",
                            path=f"{c.path}.resources.{kind}",
                            remediation=f"Increase {kind} to {target}.")
