"""Availability: enough replicas, spread across nodes, protected from disruption, probed."""

from __future__ import annotations

from typing import Any

from toolman_kit.judge.profiles import Profile
from toolman_kit.judge.registry import Area, Outcome, Scope, Severity, Skip, Violation, check
from toolman_kit.read.index import Index, selector_matches
from toolman_kit.read.manifests import Resource
from toolman_kit.read.model import REPLICATED, Container, Workload, as_dict, as_list

LONG_RUNNING = (*REPLICATED, "DaemonSet")
STRATEGY_FIELD = {"Deployment": "strategy", "StatefulSet": "updateStrategy",
                  "DaemonSet": "updateStrategy"}


def _single_replica_by_design(w: Workload, idx: Index, profile: Profile) -> bool:
    """Spreading matters once the profile or the workload asks for more than one replica."""
    return profile.min_replicas <= 1 and (idx.max_replicas(w) or 1) <= 1


def _selects_own_pods(term: Any, w: Workload) -> bool:
    selector = as_dict(as_dict(term).get("labelSelector"))
    return bool(selector) and selector_matches(selector, w.pod_labels)


@check(id="replicas-below-minimum", area=Area.AVAILABILITY, severity=Severity.ERROR,
       kinds=REPLICATED, title="Workload runs fewer replicas than the profile requires",
       remediation="Set spec.replicas (replicaCount) to at least {min_replicas}.")
def replicas_below_minimum(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """One replica means every node drain, crash or rollout is an outage; the production profile
    asks for three, so one can be down while two serve."""
    replicas = idx.min_replicas(w)
    if replicas is None:
        yield Skip("replica count is not a number")
    elif replicas < profile.min_replicas:
        source = "HPA minReplicas" if idx.hpas.get(w) else "spec.replicas"
        yield Violation(f"{replicas} replica(s) ({source}); the profile needs "
                        f"{profile.min_replicas}", path="spec.replicas",
                        remediation=f"Increase to {profile.min_replicas}.")


def _probe_missing(c: Container, kind: str) -> Outcome:
    if kind not in c.probes:
        yield Violation(f"{c.name} has no {kind} probe", path=f"{c.path}.{kind}Probe")


@check(id="liveness-probe-missing", area=Area.AVAILABILITY, severity=Severity.ERROR,
       scope=Scope.CONTAINER, kinds=LONG_RUNNING, roles=("main",),
       title="Main container has no liveness probe",
       remediation="Enable a livenessProbe with proper timing.")
def liveness_probe_missing(c: Container, w: Workload, idx: Index, profile: Profile) -> Outcome:
    """Without a liveness probe a hung process keeps its pod Running forever."""
    yield from _probe_missing(c, "liveness")


@check(id="readiness-probe-missing", area=Area.AVAILABILITY, severity=Severity.ERROR,
       scope=Scope.CONTAINER, kinds=LONG_RUNNING, roles=("main",),
       title="Main container has no readiness probe",
       remediation="Enable a readinessProbe so traffic waits until the container can serve.")
def readiness_probe_missing(c: Container, w: Workload, idx: Index, profile: Profile) -> Outcome:
    """Without a readiness probe a pod receives traffic as soon as it starts, and keeps
    receiving it while it cannot serve: every rollout and restart drops requests."""
    yield from _probe_missing(c, "readiness")


@check(id="startup-probe-missing", area=Area.AVAILABILITY, severity=Severity.WARNING,
       scope=Scope.CONTAINER, kinds=LONG_RUNNING, roles=("main",),
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


@check(id="anti-affinity-missing", area=Area.AVAILABILITY, severity=Severity.ERROR,
       kinds=REPLICATED, title="Replicas may all be scheduled onto one node",
       remediation="Add podAntiAffinity (preferredDuringSchedulingIgnoredDuringExecution on "
                   "kubernetes.io/hostname) selecting the workload's own pods.")
def anti_affinity_missing(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """Replicas on one node fail together; anti-affinity (or a hard topology spread on the
    hostname) keeps them apart. The term must select the workload's own pods."""
    if _single_replica_by_design(w, idx, profile):
        yield Skip("a single replica by design needs no anti-affinity")
        return
    anti = as_dict(as_dict(w.pod.get("affinity")).get("podAntiAffinity"))
    terms = [*as_list(anti.get("requiredDuringSchedulingIgnoredDuringExecution")),
             *(as_dict(t).get("podAffinityTerm") for t in
               as_list(anti.get("preferredDuringSchedulingIgnoredDuringExecution")))]
    if any(_selects_own_pods(t, w) for t in terms):
        return
    hard_spread = [t for t in as_list(w.pod.get("topologySpreadConstraints"))
                   if as_dict(t).get("topologyKey") == "kubernetes.io/hostname"
                   and as_dict(t).get("whenUnsatisfiable") == "DoNotSchedule"]
    if any(_selects_own_pods(t, w) for t in hard_spread):
        return
    detail = "no pod anti-affinity" if not terms else "anti-affinity terms do not select its pods"
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


def pdb_budget(value: Any, replicas: int) -> int | None:
    """A PDB int-or-percent against a replica count (percentages round up, as Kubernetes does)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        return -(-int(value[:-1]) * replicas // 100)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


@check(id="pdb-blocks-eviction", area=Area.AVAILABILITY, severity=Severity.ERROR,
       scope=Scope.OBJECT, kinds=("PodDisruptionBudget",),
       title="PodDisruptionBudget can never allow an eviction",
       remediation="Lower minAvailable below the replica count (or set maxUnavailable ≥ 1).")
def pdb_blocks_eviction(pdb: Resource, idx: Index, profile: Profile) -> Outcome:
    """A PDB whose minAvailable is at least the replica count (or maxUnavailable 0) blocks every
    voluntary eviction: node drains and cluster upgrades hang on it."""
    workloads = idx.selected.get(pdb, [])
    if not workloads:
        yield Skip("selects no workload")
        return
    spec = pdb.spec
    for w in workloads:
        replicas = idx.min_replicas(w)
        if replicas is None:
            continue
        if "maxUnavailable" in spec:
            allowed = pdb_budget(spec["maxUnavailable"], replicas)
            if allowed == 0:
                yield Violation(f"maxUnavailable is 0: no pod of {w.kind}/{w.name} can ever be "
                                "evicted", path="spec.maxUnavailable")
        elif "minAvailable" in spec:
            needed = pdb_budget(spec["minAvailable"], replicas)
            if needed is not None and needed >= replicas:
                yield Violation(f"minAvailable {spec['minAvailable']} with {replicas} replica(s) "
                                f"of {w.kind}/{w.name}: no pod can ever be evicted",
                                path="spec.minAvailable")


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
       kinds=tuple(STRATEGY_FIELD), title="Update strategy not specified",
       remediation="Configure a RollingUpdate strategy explicitly (e.g. maxUnavailable 0, "
                   "maxSurge 1).")
def update_strategy_unspecified(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """The defaults (25% unavailable for Deployments) are rarely what a small service wants: with
    three replicas a rollout may take one down before its replacement is ready."""
    field = STRATEGY_FIELD[w.kind]
    if not as_dict(w.resource.spec.get(field)):
        yield Violation(f"spec.{field} is not set: the cluster default applies",
                        path=f"spec.{field}")


@check(id="priority-class-missing", area=Area.AVAILABILITY, severity=Severity.INFO,
       kinds=LONG_RUNNING, title="No priorityClassName",
       remediation="Set priorityClassName so the service is not preempted by batch work.")
def priority_class_missing(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """Without a priority class the pods share the default priority with every batch job and
    can be preempted, or left pending, under pressure."""
    if not w.pod.get("priorityClassName"):
        yield Violation("no priorityClassName", path=f"{w.pod_path}.priorityClassName")
