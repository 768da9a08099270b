"""Autoscaling: HorizontalPodAutoscalers that target a workload, can scale it, and own its scale."""

from __future__ import annotations

from toolman_kit.judge.profiles import Profile
from toolman_kit.judge.registry import Area, Outcome, Scope, Severity, Skip, Violation, check
from toolman_kit.read.index import Index
from toolman_kit.read.manifests import Resource
from toolman_kit.read.model import REPLICATED, Workload, as_dict


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@check(id="hpa-replicas-conflict", area=Area.AVAILABILITY, severity=Severity.WARNING,
       kinds=REPLICATED, title="spec.replicas is set on a workload an HPA scales",
       remediation="Leave spec.replicas out of the template when the HPA is enabled (e.g. "
                   "`{{- if not .Values.autoscaling.enabled }}`).")
def hpa_replicas_conflict(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """The HPA owns the replica count; a template that also sets spec.replicas puts it back on
    every `helm upgrade` (or `kubectl apply`): a service scaled out for load drops to the
    template's count until the HPA notices, in the middle of that load."""
    hpas = idx.hpas.get(w)
    if hpas and "replicas" in w.resource.spec:
        names = ", ".join(h.name for h in hpas)
        yield Violation(f"spec.replicas is {w.resource.spec['replicas']} while HPA {names} "
                        "scales it: every upgrade resets the scale", path="spec.replicas")


@check(id="hpa-target-missing", area=Area.AVAILABILITY, severity=Severity.ERROR,
       scope=Scope.OBJECT, kinds=("HorizontalPodAutoscaler",),
       title="HPA targets a workload that is not rendered",
       remediation="Point spec.scaleTargetRef at the kind and name of a workload of the chart.")
def hpa_target_missing(hpa: Resource, idx: Index, profile: Profile) -> Outcome:
    """An HPA whose scaleTargetRef names no object in the manifests scales nothing (usually a
    name that does not follow the release name): the workload runs at its fixed replica
    count, and the HPA reports FailedGetScale."""
    ref = as_dict(hpa.spec.get("scaleTargetRef"))
    kind, name = str(ref.get("kind") or ""), str(ref.get("name") or "")
    if idx.selected.get(hpa) or idx.named(kind, hpa.namespace, name) is not None:
        return
    yield Violation(f"scaleTargetRef {kind or '?'}/{name or '?'} is not in the manifests",
                    path="spec.scaleTargetRef")


@check(id="hpa-cannot-scale", area=Area.AVAILABILITY, severity=Severity.WARNING,
       scope=Scope.OBJECT, kinds=("HorizontalPodAutoscaler",),
       title="HPA's maxReplicas is not above its minReplicas",
       remediation="Set maxReplicas above minReplicas (or drop the HPA and fix the replicas).")
def hpa_cannot_scale(hpa: Resource, idx: Index, profile: Profile) -> Outcome:
    """With maxReplicas equal to minReplicas the HPA can never change the scale; below it, the
    API server rejects the object."""
    low = _count(hpa.spec.get("minReplicas", 1))
    high = _count(hpa.spec.get("maxReplicas"))
    if low is None or high is None:
        yield Skip("minReplicas or maxReplicas is not a number")
    elif high < low:
        yield Violation(f"maxReplicas {high} is below minReplicas {low}: the API server rejects "
                        "it", path="spec.maxReplicas", severity=Severity.ERROR)
    elif high == low:
        yield Violation(f"maxReplicas equals minReplicas ({low}): the HPA never scales",
                        path="spec.maxReplicas")
