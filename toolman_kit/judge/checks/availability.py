"""Availability: enough replicas, spread across nodes, protected from disruption, rolled out
without an outage, and accepted by the API server."""

from __future__ import annotations

import re
from typing import Any

from toolman_kit.judge.profiles import Profile
from toolman_kit.judge.registry import Area, Outcome, Scope, Severity, Skip, Violation, check
from toolman_kit.read.index import Index, selector_matches
from toolman_kit.read.manifests import Resource
from toolman_kit.read.model import REPLICATED, Workload, as_dict, as_list, dig
from toolman_kit.read.quantity import pdb_budget

LONG_RUNNING = (*REPLICATED, "DaemonSet")
STRATEGY_FIELD = {"Deployment": "strategy", "StatefulSet": "updateStrategy",
                  "DaemonSet": "updateStrategy"}
# What each kind's update strategy should be (a StatefulSet has no maxSurge).
STRATEGY_ADVICE = {
    "Deployment": "Configure a RollingUpdate strategy explicitly (e.g. maxUnavailable 0, "
                  "maxSurge 1).",
    "StatefulSet": "Set updateStrategy.type: RollingUpdate explicitly (pods are replaced one at "
                   "a time, highest ordinal first; rollingUpdate.partition stages a rollout).",
    "DaemonSet": "Set updateStrategy.type: RollingUpdate explicitly with maxUnavailable 1 (or "
                 "maxSurge 1 and maxUnavailable 0 where a node can run two of its pods).",
}
# Topology keys that spread pods over failure domains (kubernetes.io/os, say, does not).
SPREAD_KEYS = ("kubernetes.io/hostname", "topology.kubernetes.io/zone",
               "topology.kubernetes.io/region")
# Kinds whose selector must match their pod template (a Job's only with manualSelector).
SELECTING = (*REPLICATED, "DaemonSet", "Job")


def _single_replica_by_design(w: Workload, idx: Index, profile: Profile) -> bool:
    """Spreading matters once the profile or the workload asks for more than one replica."""
    return profile.min_replicas <= 1 and (idx.max_replicas(w) or 1) <= 1


def _selects_own_pods(term: Any, w: Workload) -> bool:
    selector = as_dict(as_dict(term).get("labelSelector"))
    return bool(selector) and selector_matches(selector, w.pod_labels)


def _spreads_own_pods(term: Any, w: Workload) -> bool:
    return as_dict(term).get("topologyKey") in SPREAD_KEYS and _selects_own_pods(term, w)


@check(id="replicas-below-minimum", area=Area.AVAILABILITY, severity=Severity.ERROR,
       kinds=REPLICATED, title="Workload runs fewer replicas than the profile requires",
       remediation="Set spec.replicas (replicaCount) to at least {min_replicas}.")
def replicas_below_minimum(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """One replica means every node drain, crash or rollout is an outage; the production profile
    asks for three, so one can be down while two serve."""
    replicas = idx.min_replicas(w)
    if replicas is None:
        yield Skip("replica count is not a number" if w.spec_kind.replicas
                   else f"{w.kind} has no replica count of its own (its autoscaler sets it)")
    elif replicas < profile.min_replicas:
        source = "HPA minReplicas" if idx.hpas.get(w) else "spec.replicas"
        yield Violation(f"{replicas} replica(s) ({source}); the profile needs "
                        f"{profile.min_replicas}", path="spec.replicas",
                        remediation=f"Increase to {profile.min_replicas}.")


@check(id="anti-affinity-missing", area=Area.AVAILABILITY, severity=Severity.ERROR,
       kinds=REPLICATED, title="Replicas may all be scheduled onto one node",
       remediation="Add podAntiAffinity (preferredDuringSchedulingIgnoredDuringExecution on "
                   "kubernetes.io/hostname) selecting the workload's own pods.",
       differs="kube-score (deployment-has-host-podantiaffinity) accepts only "
               "kubernetes.io/hostname; we also accept spreading over zones or regions, which "
               "keeps replicas on different nodes too.")
def anti_affinity_missing(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """Replicas on one node fail together; anti-affinity (or a hard topology spread) keeps them
    apart. The term must select the workload's own pods and spread them over nodes, zones or
    regions (kubernetes.io/hostname, topology.kubernetes.io/zone or /region): a term on
    kubernetes.io/os keeps nothing apart."""
    if _single_replica_by_design(w, idx, profile):
        yield Skip("a single replica by design needs no anti-affinity")
        return
    anti = as_dict(as_dict(w.pod.get("affinity")).get("podAntiAffinity"))
    terms = [*as_list(anti.get("requiredDuringSchedulingIgnoredDuringExecution")),
             *(as_dict(t).get("podAffinityTerm") for t in
               as_list(anti.get("preferredDuringSchedulingIgnoredDuringExecution")))]
    if any(_spreads_own_pods(t, w) for t in terms):
        return
    hard_spread = [t for t in as_list(w.pod.get("topologySpreadConstraints"))
                   if as_dict(t).get("whenUnsatisfiable") == "DoNotSchedule"]
    if any(_spreads_own_pods(t, w) for t in hard_spread):
        return
    if not terms:
        detail = "no pod anti-affinity"
    elif any(_selects_own_pods(t, w) for t in terms):
        keys = ", ".join(sorted({str(as_dict(t).get("topologyKey")) for t in terms}))
        detail = f"anti-affinity spreads over {keys}, not over nodes, zones or regions"
    else:
        detail = "anti-affinity terms do not select its pods"
    yield Violation(f"{detail}: all replicas may land on one node",
                    path=f"{w.pod_path}.affinity.podAntiAffinity",
                    remediation="Add preferredDuringScheduling pod anti-affinity on "
                                "kubernetes.io/hostname.")


@check(id="topology-spread-missing", area=Area.AVAILABILITY, severity=Severity.WARNING,
       kinds=REPLICATED, title="No topology spread constraints",
       remediation="Add topologySpreadConstraints over topology.kubernetes.io/zone (and "
                   "kubernetes.io/hostname) selecting the workload's own pods.")
def topology_spread_missing(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """Anti-affinity keeps replicas off one node; topology spread keeps them balanced across
    zones, so losing a zone does not take most of them."""
    if _single_replica_by_design(w, idx, profile):
        yield Skip("a single replica by design needs no spreading")
        return
    constraints = as_list(w.pod.get("topologySpreadConstraints"))
    if not any(_selects_own_pods(t, w) for t in constraints):
        yield Violation("no topologySpreadConstraints select the workload's pods",
                        path=f"{w.pod_path}.topologySpreadConstraints")


@check(id="topology-spread-invalid", area=Area.AVAILABILITY, severity=Severity.WARNING,
       title="Topology spread constraint that cannot work",
       remediation="Give every constraint a topologyKey, maxSkew ≥ 1 and a labelSelector that "
                   "matches the workload's own pod labels.")
def topology_spread_invalid(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """The API server rejects a constraint with an empty topologyKey or a maxSkew below 1; one
    without a labelSelector counts no pods, and one whose selector matches other pods spreads
    this workload relative to them: either way its own replicas are not spread."""
    constraints = as_list(w.pod.get("topologySpreadConstraints"))
    if not constraints:
        yield Skip("no topologySpreadConstraints")
    for i, t in enumerate(constraints):
        t, path = as_dict(t), f"{w.pod_path}.topologySpreadConstraints[{i}]"
        skew = t.get("maxSkew")
        if not t.get("topologyKey"):
            yield Violation(f"constraint {i} has no topologyKey: the API server rejects it",
                            path=f"{path}.topologyKey", severity=Severity.ERROR)
        if isinstance(skew, bool) or not isinstance(skew, int) or skew < 1:
            yield Violation(f"constraint {i} has maxSkew {skew}: it must be an integer of at "
                            "least 1, or the API server rejects it", path=f"{path}.maxSkew",
                            severity=Severity.ERROR)
        if not as_dict(t.get("labelSelector")):
            yield Violation(f"constraint {i} has no labelSelector: it counts no pods and spreads "
                            "nothing", path=f"{path}.labelSelector")
        elif not _selects_own_pods(t, w):
            yield Violation(f"constraint {i}'s labelSelector does not match the workload's own "
                            "pods: it spreads them relative to other pods",
                            path=f"{path}.labelSelector")


@check(id="pdb-missing", area=Area.AVAILABILITY, severity=Severity.ERROR,
       kinds=("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"),
       title="No PodDisruptionBudget protects the workload",
       remediation="Enable a PodDisruptionBudget (e.g. minAvailable: {min_available}).")
def pdb_missing(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """Without a PDB a node drain or cluster upgrade may evict every replica at once."""
    if not idx.pdbs.get(w):
        budget = max(profile.min_replicas - 1, 1)
        yield Violation("no PodDisruptionBudget selects its pods",
                        remediation=f"Enable with minAvailable: {budget}.")


def _allows_no_disruption(spec: dict[str, Any]) -> tuple[str, Any] | None:
    """(field, value) when the budget forbids every eviction whatever the pod count."""
    if "maxUnavailable" in spec:
        value = spec["maxUnavailable"]
        return ("maxUnavailable", value) if pdb_budget(value, 100) == 0 else None
    value = spec.get("minAvailable")
    return ("minAvailable", value) if value == "100%" else None


@check(id="pdb-blocks-eviction", area=Area.AVAILABILITY, severity=Severity.ERROR,
       scope=Scope.OBJECT, kinds=("PodDisruptionBudget",),
       title="PodDisruptionBudget can never allow an eviction",
       remediation="Lower minAvailable below the replica count (or set maxUnavailable ≥ 1).")
def pdb_blocks_eviction(pdb: Resource, idx: Index, profile: Profile) -> Outcome:
    """A PDB whose minAvailable is at least the number of pods it selects (or maxUnavailable 0,
    or minAvailable 100%) blocks every voluntary eviction: node drains and cluster upgrades hang
    on it. Kubernetes counts every pod the selector matches, across workloads; a budget that
    allows no disruption at all is judged even when it selects nothing in the manifests."""
    spec = pdb.spec
    zero = _allows_no_disruption(spec)
    if zero:
        yield Violation(f"{zero[0]} {zero[1]}: no pod it selects can ever be evicted",
                        path=f"spec.{zero[0]}")
        return
    workloads = idx.selected.get(pdb, [])
    if not workloads:
        yield Skip("selects no workload")
        return
    if "maxUnavailable" in spec or "minAvailable" not in spec:
        return  # maxUnavailable ≥ 1 (or 1%) always lets one pod go
    counts = [(w, idx.min_replicas(w)) for w in workloads]
    pods = sum(n for _, n in counts if n is not None)
    unknown = any(n is None for _, n in counts)
    needed = pdb_budget(spec["minAvailable"], pods)
    if needed is None or needed < pods or (pods == 0 and not unknown):
        return
    if unknown:
        yield Skip("selects pods of a workload whose pod count is not known (e.g. a DaemonSet)")
        return
    of = ", ".join(f"{n} of {idx.label(w)}" for w, n in counts)
    yield Violation(f"minAvailable {spec['minAvailable']} with {pods} pod(s) ({of}): no pod can "
                    "ever be evicted", path="spec.minAvailable")


_PERCENT = re.compile(r"[0-9]+%")  # the only strings the API server takes (IsValidPercent)


def _budget_problem(field: str, value: Any) -> str | None:
    """Why the API server rejects this minAvailable or maxUnavailable, if it does: an integer
    ≥ 0 or a percentage up to 100% ("1" quoted is a string, and no percentage)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{field} {value} is negative" if value < 0 else None
    if isinstance(value, str) and _PERCENT.fullmatch(value):
        return f"{field} {value} is over 100%" if int(value[:-1]) > 100 else None
    return f"{field} {value!r} is neither an integer nor a percentage such as '50%'"


@check(id="pdb-invalid", area=Area.AVAILABILITY, severity=Severity.ERROR, scope=Scope.OBJECT,
       kinds=("PodDisruptionBudget",), title="PodDisruptionBudget the API server rejects",
       remediation="Set one of minAvailable and maxUnavailable, as an integer ≥ 0 or a "
                   "percentage from 0% to 100%.")
def pdb_invalid(pdb: Resource, idx: Index, profile: Profile) -> Outcome:
    """The API server refuses a PDB that sets both minAvailable and maxUnavailable, or one
    whose value is negative, a percentage over 100%, or neither an integer nor a percentage
    (a quoted "1" included): the chart renders and the install fails."""
    spec = pdb.spec
    fields = [f for f in ("minAvailable", "maxUnavailable") if spec.get(f) is not None]
    if len(fields) == 2:
        yield Violation(f"sets both minAvailable ({spec['minAvailable']}) and maxUnavailable "
                        f"({spec['maxUnavailable']}): the API server accepts only one",
                        path="spec.maxUnavailable")
    for field in fields:
        problem = _budget_problem(field, spec[field])
        if problem:
            yield Violation(f"{problem}: the API server rejects it", path=f"spec.{field}")


@check(id="pdb-selects-nothing", area=Area.AVAILABILITY, severity=Severity.WARNING,
       scope=Scope.OBJECT, kinds=("PodDisruptionBudget",),
       title="PodDisruptionBudget selects no pods",
       remediation="Make spec.selector match the workload's pod template labels.")
def pdb_selects_nothing(pdb: Resource, idx: Index, profile: Profile) -> Outcome:
    """A PDB whose selector matches no pod in the manifests protects nothing: usually a label
    typo or a selector copied from another chart."""
    if not idx.selected.get(pdb):
        yield Violation("its selector matches no workload's pods in the manifests",
                        path="spec.selector")


@check(id="update-strategy-unspecified", area=Area.AVAILABILITY, severity=Severity.WARNING,
       kinds=tuple(STRATEGY_FIELD), title="Update strategy not specified, or one that stops "
       "serving", remediation="Configure the update strategy explicitly: RollingUpdate, with "
                              "maxUnavailable 0 and maxSurge 1 for a Deployment.")
def update_strategy_unspecified(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """The defaults (25% unavailable for Deployments) are rarely what a small service wants: with
    three replicas a rollout may take one down before its replacement is ready. A replicated
    Deployment behind a Service with `Recreate` stops every replica before starting new ones,
    so every rollout is an outage; a StatefulSet or DaemonSet with `OnDelete` never rolls out
    until someone deletes its pods by hand."""
    if w.kind not in STRATEGY_FIELD:  # a Rollout, a CloneSet: strategies of their own
        yield Skip(f"the update strategies of {w.kind} are not judged")
        return
    field = STRATEGY_FIELD[w.kind]
    strategy = as_dict(w.resource.spec.get(field))
    kind = strategy.get("type")
    if not strategy:
        yield Violation(f"spec.{field} is not set: the cluster default applies",
                        path=f"spec.{field}", remediation=STRATEGY_ADVICE[w.kind])
    elif kind == "Recreate" and (w.replicas or 0) > 1 and idx.services.get(w):
        names = ", ".join(svc.name for svc in idx.services[w])
        yield Violation(f"strategy Recreate stops all {w.replicas} replicas before starting new "
                        f"ones: Service {names} has no endpoints during every rollout",
                        path=f"spec.{field}.type", remediation=STRATEGY_ADVICE[w.kind])
    elif kind == "OnDelete":
        yield Violation("updateStrategy OnDelete: a new template reaches a pod only when someone "
                        "deletes it, so an upgrade changes nothing that runs until then",
                        path=f"spec.{field}.type", remediation=STRATEGY_ADVICE[w.kind])


@check(id="priority-class-missing", area=Area.AVAILABILITY, severity=Severity.INFO,
       kinds=LONG_RUNNING, title="No priorityClassName",
       remediation="Set priorityClassName so the service is not preempted by batch work.")
def priority_class_missing(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """Without a priority class the pods share the default priority with every batch job and
    can be preempted, or left pending, under pressure."""
    if not w.pod.get("priorityClassName"):
        yield Violation("no priorityClassName", path=f"{w.pod_path}.priorityClassName")


@check(id="pdb-unhealthy-eviction-policy", area=Area.AVAILABILITY, severity=Severity.INFO,
       scope=Scope.OBJECT, kinds=("PodDisruptionBudget",),
       title="PodDisruptionBudget lets unhealthy pods block node drains",
       remediation="Set spec.unhealthyPodEvictionPolicy: AlwaysAllow.")
def pdb_unhealthy_eviction_policy(pdb: Resource, idx: Index, profile: Profile) -> Outcome:
    """With the default policy (IfHealthyBudget) a pod that is running but not ready, such as
    one crash-looping, may only be evicted while the budget is met: when it is not, the broken
    pod blocks the drain it would not survive anyway. AlwaysAllow lets such pods go."""
    policy = pdb.spec.get("unhealthyPodEvictionPolicy")
    if policy != "AlwaysAllow":
        yield Violation(f"unhealthyPodEvictionPolicy is {policy or 'not set (IfHealthyBudget)'}: "
                        "a crash-looping pod can block node drains",
                        path="spec.unhealthyPodEvictionPolicy")


def _selector_problem(w: Workload) -> tuple[str, str] | None:
    """(problem, path) when the workload's selector does not select its own pod template."""
    spec, path = w.resource.spec, w.spec_kind.selector
    if path is None:
        return None  # the kind has no selector of its own (a Knative Service, a ScaledJob)
    selector = dig(w.resource.obj, path)
    if w.like == "Job":
        if spec.get("manualSelector") is not True:
            return None  # the Job controller generates the selector
    elif w.like == "ReplicationController":
        if selector is None:
            return None  # defaults to the template's labels
        selector = {"matchLabels": selector}
    if not as_dict(selector) or not any(as_dict(selector).values()):
        return f"has no {path} (or an empty one): the API server requires one", path
    if not selector_matches(as_dict(selector), w.pod_labels):
        labels = ", ".join(f"{k}={v}" for k, v in sorted(w.pod_labels.items())) or "none"
        return f"{path} does not match its pod template's labels ({labels}): the API " \
            "server rejects it", path
    return None


@check(id="selector-label-mismatch", area=Area.AVAILABILITY, severity=Severity.ERROR,
       kinds=SELECTING, title="Workload selector does not match its pod template",
       remediation="Make spec.selector match labels the pod template carries (and keep the "
                   "selector unchanged across releases: it is immutable).")
def selector_label_mismatch(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """A controller manages the pods its selector matches; the API server rejects a workload
    whose selector does not match its own template (`selector does not match template
    labels`), so the chart renders and the install fails."""
    problem = _selector_problem(w)
    if problem:
        yield Violation(problem[0], path=problem[1])


@check(id="statefulset-service-missing", area=Area.AVAILABILITY, severity=Severity.WARNING,
       kinds=("StatefulSet",), title="StatefulSet's serviceName is not a headless Service of "
       "its pods", remediation="Render a headless Service (clusterIP: None) named as "
                               "spec.serviceName that selects the StatefulSet's pods.")
def statefulset_service_missing(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """A StatefulSet's pods get their stable DNS names (`web-0.web`) from the headless Service
    that spec.serviceName names: without it, or when that Service has a cluster IP or selects
    other pods, peers cannot find each other by name."""
    name = w.resource.spec.get("serviceName")
    if not isinstance(name, str) or not name:
        yield Violation("no spec.serviceName: the pods get no stable DNS names",
                        path="spec.serviceName")
        return
    svc = idx.named("Service", w.namespace, name)
    if svc is None:
        yield Violation(f"Service {name} is not in the manifests: the pods get no DNS names "
                        "unless it is created outside the chart", path="spec.serviceName")
    elif svc.spec.get("clusterIP") != "None":
        yield Violation(f"Service {name} is not headless (clusterIP: None): the pods get no "
                        "per-pod DNS records", path="spec.serviceName")
    elif svc not in idx.services.get(w, ()):
        yield Violation(f"headless Service {name} does not select the StatefulSet's pods",
                        path="spec.serviceName")
