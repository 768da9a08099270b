"""The recipes of `toolman-kit suggest`: for each check, the candidate values that may fix one of
its failures, or why there are none (values/candidates.py has the types and the context).

A recipe finds keys by their shape among those the chart knows (`Context.keys`) and fills them
from the profile, the render or the chart; it never guesses what only the user knows (a health
endpoint, a PriorityClass, the user an image runs as), and says so instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from toolman_kit.chart.valuesfile import MISSING, Key, get_in, show
from toolman_kit.judge.profiles import min_available
from toolman_kit.judge.registry import catalogue
from toolman_kit.read.model import Container, Workload, as_dict, as_list
from toolman_kit.read.quantity import format_cpu, format_memory
from toolman_kit.values.candidates import (
    HOSTNAME,
    PROBES,
    SINGLE_NODE,
    ZONE,
    Candidate,
    Context,
    Failure,
    Unreached,
    schema_allows,
)
from toolman_kit.values.storage import claims, single_node

Recipe = Callable[[Failure, Context], "list[Candidate] | Unreached"]
RECIPES: dict[str, Recipe] = {}


def recipe(*check_ids: str) -> Callable[[Recipe], Recipe]:
    def register(fn: Recipe) -> Recipe:
        for check_id in check_ids:
            RECIPES[check_id] = fn
        return fn
    return register


def candidates(failing: list[Failure], ctx: Context) -> tuple[list[Candidate],
                                                               dict[tuple, Unreached]]:
    """The candidates for the failures, in their order (the same values proposed for several
    failures are one candidate aiming at all of them), and why the others get none."""
    out: dict[str, Candidate] = {}
    unreached: dict[tuple, Unreached] = {}
    for f in failing:
        made = RECIPES.get(f.check_id, _no_key)(f, ctx)
        if isinstance(made, Unreached):
            unreached[f.key] = ctx.in_template(f) or _placed(made, f, ctx)
            continue
        made = [c for c in (_without_noops(c, ctx) for c in made) if c is not None]
        if not made:
            unreached[f.key] = _no_key(f, ctx)
        for c in made:
            if c.digest in out:
                out[c.digest].targets += tuple(t for t in c.targets
                                               if t not in out[c.digest].targets)
            else:
                out[c.digest] = c
    return list(out.values()), unreached


def _without_noops(c: Candidate, ctx: Context) -> Candidate | None:
    """The candidate without the values the chart already has ("only the keys that change");
    None when its first value is already there (it cannot be what fixes the failure)."""
    (key, value), *_ = c.values
    if ctx.value(key) == value:
        return None
    values = tuple((k, v) for k, v in c.values if ctx.value(k) != v)
    return c if len(values) == len(c.values) else Candidate(values, c.targets, c.why, c.note)


def _placed(u: Unreached, f: Failure, ctx: Context) -> Unreached:
    return u if u.template or u.kind != "template" else \
        Unreached(u.reason, u.kind, ctx.template(f))


def _no_key(f: Failure, ctx: Context) -> Unreached:
    """No key found: the template writes the field (a template change), or keys move it that
    the kit has no content for."""
    if hard := ctx.in_template(f):
        return hard
    if ctx.field(f) is None:  # not failing at the start: provenance did not look at it

        check = catalogue().get(f.check_id)
        return Unreached(check.fix(ctx.profile) if check else f.message, "judgement")
    keys = ctx.controls(f)
    if keys:
        return Unreached(f"{', '.join(f'`{show(k)}`' for k in keys)} control(s) it, but the kit "
                         "has no proven content for them: a judgement for you", "judgement")
    if ctx.provenance is not None and not ctx.provenance.complete:
        return Unreached("no values key the kit could probe changes it (not every key could "
                         "be: see not_tried): most likely a template change", "template",
                         ctx.template(f))
    # Nothing writes the field (a missing object): provenance probed one key at a time from the
    # starting values, so a fix that needs two switches at once is not ruled out.
    return Unreached("no values key fixes it on its own: most likely a template change",
                     "template", ctx.template(f))


def _one(key: Key, value: Any, f: Failure, why: str, note: str = "",
         extra: tuple[tuple[Key, Any], ...] = ()) -> Candidate:
    return Candidate(((key, value), *extra), (f.key,), why, note)


def _own_labels(w: Workload) -> dict[str, str]:
    """The labels that select the workload's own pods: its selector, else its pod labels
    without the ones that change with every release."""
    selector = as_dict(as_dict(w.resource.spec.get("selector")).get("matchLabels"))
    if selector:
        return {str(k): str(v) for k, v in selector.items()}
    volatile = ("helm.sh/chart", "app.kubernetes.io/version", "app.kubernetes.io/managed-by")
    return {k: v for k, v in w.pod_labels.items() if k not in volatile}


def _labels(labels: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in labels.items())


@recipe("replicas-below-minimum")
def _replicas(f: Failure, ctx: Context) -> list[Candidate] | Unreached:
    w = ctx.workload(f)
    if w is None:
        return []
    n = ctx.profile.min_replicas
    keys = [k for k in ctx.keys(f, "replicaCount|replicas|replica_count", "autoscaling|hpa "
                                   "minReplicas")
            if ctx.value(k) is MISSING or (isinstance(ctx.value(k), int)
                                           and not isinstance(ctx.value(k), bool))]
    return [_one(k, n, f, f"the profile ({ctx.profile.name}) needs {n} replicas")
            for k in keys]


@recipe("pdb-missing")
def _pdb(f: Failure, ctx: Context) -> list[Candidate] | Unreached:
    """One rule (profiles.min_available): minAvailable max(replicas − 1, 1) for the replicas
    the suggestion aims at, whatever the chart's default; maxUnavailable 1 (the same budget)
    where the chart offers only that, or already sets it and not minAvailable."""
    w = ctx.workload(f)
    if w is None:
        return []
    replicas = ctx.replicas(w)
    budget = min_available(replicas)
    found = [(k, True) for k in ctx.keys(f, "podDisruptionBudget|pdb|disruptionBudget "
                                            "enabled|create")] + ctx.switches(f)
    out = []
    for key, value in dict.fromkeys(found):
        parent = key[:-1]
        low, high = (*parent, "minAvailable"), (*parent, "maxUnavailable")
        offers_min = low in ctx.known and schema_allows(ctx.facts.schema, low)
        offers_max = high in ctx.known and schema_allows(ctx.facts.schema, high)
        extra: tuple[tuple[Key, Any], ...] = ()
        detail = ""
        if offers_min and not (offers_max and ctx.value(high) not in (MISSING, None)
                               and ctx.value(low) in (MISSING, None)):
            extra = ((low, budget),)
            detail = f"; minAvailable {budget} (max({replicas} replicas − 1, 1)) lets a drain " \
                     "evict one pod at a time"
        elif offers_max:
            extra = ((high, 1),)
            detail = f"; maxUnavailable 1: a drain evicts one of the {replicas} replicas at a time"
        out.append(_one(key, value, f, "a PodDisruptionBudget keeps node drains and upgrades "
                                       "from evicting every replica at once" + detail,
                        extra=extra))
    return out


@recipe("pdb-blocks-eviction")
def _pdb_blocks(f: Failure, ctx: Context) -> list[Candidate] | Unreached:
    pdb = next((r for r in ctx.analysis.manifests.resources
                if (r.kind, r.namespace, r.name) == (f.kind, f.namespace, f.name)), None)
    selected = ctx.analysis.index.selected.get(pdb, []) if pdb is not None else []
    if not selected:
        return []
    w = selected[0]
    replicas = ctx.analysis.index.min_replicas(w) or 1
    out = []
    if replicas >= 2:
        budget = min_available(replicas)
        out += [_one(k, budget, f, f"minAvailable {budget} (max({replicas} replicas − 1, 1)): a "
                                   "drain can still evict one pod")
                for k in ctx.keys(f, "podDisruptionBudget|pdb|disruptionBudget minAvailable")]
        out += [_one(k, 1, f, f"maxUnavailable 1: a drain can still evict one of the {replicas} "
                              "replicas")
                for k in ctx.keys(f, "podDisruptionBudget|pdb|disruptionBudget maxUnavailable")]
    out += [_one(k, ctx.profile.min_replicas, f, f"the profile ({ctx.profile.name}) needs "
                                                f"{ctx.profile.min_replicas} replicas, which "
                                                "leaves the PDB room to evict one")
            for k in ctx.keys(Failure("", "", w.kind, w.namespace, w.name, "", ""),
                              "replicaCount|replicas|replica_count")
            if isinstance(ctx.value(k), int) and ctx.value(k) < ctx.profile.min_replicas]
    return out


def _switch_recipe(check_id: str, shapes: tuple[str, ...], why: str,
                   note: Callable[[Key], str]) -> None:
    def make(f: Failure, ctx: Context) -> list[Candidate]:
        found = [(k, True) for k in ctx.keys(f, *shapes)
                 if isinstance(ctx.value(k), bool) or ctx.value(k) is MISSING]
        return [_one(k, v, f, why, note(k)) for k, v in dict.fromkeys(found + ctx.switches(f))]
    RECIPES[check_id] = make


_switch_recipe(
    "network-policy-missing", ("networkPolicy|networkPolicies|netpol enabled|create",),
    "a NetworkPolicy limits who may reach the pods and what they may reach",
    lambda k: "review the traffic it allows: which namespaces may reach these pods is a "
              "decision about your cluster")
_switch_recipe(
    "monitoring-missing", ("serviceMonitor|podMonitor enabled|create", "metrics enabled"),
    "metrics are scraped, so an outage or a saturation is seen",
    lambda k: "needs the Prometheus Operator's ServiceMonitor/PodMonitor CRDs in the cluster"
    if re.search("monitor", show(k), re.I) else "needs a Prometheus that scrapes it")


@recipe("anti-affinity-missing")
def _anti_affinity(f: Failure, ctx: Context) -> list[Candidate] | Unreached:
    w = ctx.workload(f)
    if w is None:
        return []
    labels = _own_labels(w)
    term = {"weight": 100, "podAffinityTerm": {"topologyKey": HOSTNAME,
                                               "labelSelector": {"matchLabels": labels}}}
    out = []
    for key in ctx.keys(f, "affinity"):
        current = as_dict(ctx.value(key))
        anti = as_dict(current.get("podAntiAffinity"))
        preferred = as_list(anti.get("preferredDuringSchedulingIgnoredDuringExecution"))
        value = {"podAntiAffinity": {**anti, "preferredDuringSchedulingIgnoredDuringExecution":
                                     [*preferred, term]}}
        out.append(_one(key, value, f, "replicas prefer different nodes "
                                       f"({HOSTNAME}); the term selects the workload's own pod "
                                       f"labels as rendered ({_labels(labels)})"))
    out += [_one(k, "soft", f, "the chart's own preferred pod anti-affinity")
            for k in ctx.keys(f, "podAntiAffinityPreset") if isinstance(ctx.value(k), str)]
    return out


@recipe("topology-spread-missing")
def _spread(f: Failure, ctx: Context) -> list[Candidate] | Unreached:
    w = ctx.workload(f)
    if w is None:
        return []
    labels = _own_labels(w)
    constraints = [{"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": labels}} for key in (ZONE, HOSTNAME)]
    return [_one(k, [*as_list(ctx.value(k)), *constraints], f,
                 "replicas spread over zones and nodes (ScheduleAnyway: a preference that never "
                 f"blocks scheduling), selecting the workload's own pod labels "
                 f"({_labels(labels)})")
            for k in ctx.keys(f, "topologySpreadConstraints")
            if ctx.value(k) is MISSING or isinstance(ctx.value(k), list)]


def _handler(probe: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in probe.items() if k in ("httpGet", "tcpSocket", "exec", "grpc")}


@recipe("liveness-probe-missing", "readiness-probe-missing")
def _probe(f: Failure, ctx: Context) -> list[Candidate] | Unreached:
    c = ctx.container(f)
    if c is None:
        return []
    kind = "liveness" if f.check_id.startswith("liveness") else "readiness"
    shape = f"{kind}Probe"
    out = [_one((*k, "enabled"), True, f, f"the chart's own {kind} probe")
           for k in ctx.keys(f, shape) if isinstance(get_in(ctx.merged, (*k, "enabled")), bool)]
    other = next((p for name, p in c.probes.items() if name != "startup"), None)
    port = next((p for p in c.ports if p.get("containerPort")), None)
    for key in ctx.keys(f, shape):
        if not (ctx.value(key) is MISSING or isinstance(ctx.value(key), dict)):
            continue
        if key in ctx.facts.commented and isinstance(ctx.facts.commented[key].value, dict):
            block = ctx.facts.commented[key]
            out.append(_one(key, block.value, f, f"the chart's own {shape} block, commented "
                                                 f"out in values.yaml:{block.line} (its path "
                                                 "and timings)"))
        elif other is not None and _handler(other):
            out.append(_one(key, _handler(other), f, "the handler of the container's other "
                                                     "probe; Kubernetes' default timings"))
        elif sibling := next((b for k, b in sorted(ctx.facts.commented.items())
                              if k[:-1] == key[:-1] and k[-1] in PROBES and k != key
                              and isinstance(b.value, dict) and _handler(b.value)), None):
            out.append(_one(key, _handler(sibling.value), f, f"the handler of the chart's own "
                                                             f"{sibling.key[-1]} block, commented "
                                                             f"out in values.yaml:{sibling.line}; "
                                                             "Kubernetes' default timings"))
        elif port is not None:
            target = port.get("name") or port["containerPort"]
            out.append(_one(key, {"tcpSocket": {"port": target}}, f,
                            f"the container's declared port {target}; Kubernetes' default "
                            "timings", "a TCP connect proves little: point it at a health "
                                       "endpoint if the application has one"))
    if not out and ctx.keys(f, shape):
        return Unreached(f"`{shape}` exists but the container declares no port and the chart "
                         "no probe to reuse: the health endpoint is a judgement for you",
                         "judgement")
    return out


@recipe("startup-probe-missing")
def _startup(f: Failure, ctx: Context) -> list[Candidate] | Unreached:
    c = ctx.container(f)
    liveness = c.probes.get("liveness") if c is not None else None
    keys = ctx.keys(f, "startupProbe")
    if liveness is None or not keys:
        after = ctx.profile.startup_probe_after_seconds
        return Unreached(f"the chart reads no startupProbe: add one to the template, or lower "
                         f"livenessProbe.initialDelaySeconds below {after}s if the container "
                         "starts faster", "template", ctx.template(f))
    period = liveness.get("periodSeconds") or 10
    delay = liveness.get("initialDelaySeconds") or 0
    threshold = -(-delay // period) + (liveness.get("failureThreshold") or 3)
    value = {**_handler(liveness), "periodSeconds": period, "failureThreshold": threshold}
    return [_one(k, value, f, f"the liveness probe's handler; {threshold} × {period}s covers its "
                              f"{delay}s initial delay") for k in keys]


@recipe("image-tag-mutable")
def _tag(f: Failure, ctx: Context) -> list[Candidate] | Unreached:
    c = ctx.container(f)
    keys = ctx.keys(f, "image tag", "imageTag")
    version = ctx.facts.app_version
    if c is None or c.role != "main" or not keys:
        return Unreached("needs a decision: the image version to pin", "decision") if keys \
            else []
    if not version or version in ctx.profile.mutable_tags:
        return Unreached("needs a decision: the image version to pin (the chart's appVersion "
                         "names none)", "decision")
    repository = c.image.repository if c.image else "the image"
    return [_one(k, version, f, f"the chart's appVersion ({version}, Chart.yaml)",
                 f"{repository}:{version} must be published")
            for k in keys if isinstance(ctx.value(k), str) or ctx.value(k) is MISSING]


@recipe("pull-policy-always")
def _pull_policy(f: Failure, ctx: Context) -> list[Candidate] | Unreached:
    c = ctx.container(f)
    if c is None or c.image is None or not c.image.pinned(ctx.profile.mutable_tags):
        return Unreached("pin the image tag first (image-tag-mutable): with a moving tag, "
                         "Always is what keeps it current", "judgement")
    return [_one(k, "IfNotPresent", f, "the tag is pinned: pulling it on every start only adds "
                                       "a dependency on the registry")
            for k in ctx.keys(f, "pullPolicy", "imagePullPolicy")
            if isinstance(ctx.value(k), str) or ctx.value(k) is MISSING]


@recipe("update-strategy-unspecified")
def _strategy(f: Failure, ctx: Context) -> list[Candidate] | Unreached:
    w = ctx.workload(f)
    if w is None:
        return []
    out = []
    for key in ctx.keys(f, "strategy|updateStrategy|deploymentStrategy"):
        if not (ctx.value(key) is MISSING or isinstance(ctx.value(key), dict)):
            continue
        block = ctx.facts.commented.get(key)
        if block is not None and isinstance(block.value, dict):
            out.append(_one(key, block.value, f, f"the chart's own {show(key)} block, commented "
                                                 f"out in values.yaml:{block.line}"))
        elif w.kind == "Deployment":
            out.append(_one(key, {"type": "RollingUpdate", "rollingUpdate": {
                "maxUnavailable": 0, "maxSurge": 1}}, f,
                "every replica keeps serving during a rollout (maxUnavailable 0, maxSurge 1)"))
        else:
            out.append(_one(key, {"type": "RollingUpdate"}, f, "pods are replaced one by one"))
    return out


RESOURCE_CHECKS = ("cpu-requests-missing", "memory-requests-missing", "cpu-limits-missing",
                   "memory-limits-missing", "resources-below-profile", "limits-below-requests")
_FORMAT = {"cpu": format_cpu, "memory": format_memory}


@recipe(*RESOURCE_CHECKS)
def _resources(f: Failure, ctx: Context) -> list[Candidate] | Unreached:
    c = ctx.container(f)
    if c is None:
        return []
    sizing = ctx.profile.sizing_for(c.name, c.role)
    if not sizing:
        return Unreached(f"the profile gives no sizing for container {c.name}: add `sizing:` to "
                         "the profile (sizing is a judgement the kit does not guess)",
                         "judgement")
    value: dict[str, dict[str, str]] = {}
    for kind, have in (("requests", c.requests), ("limits", c.limits)):
        for resource in ("cpu", "memory"):
            amounts = [a for a in (have.get(resource), sizing.get(kind, {}).get(resource))
                       if a is not None]
            if kind == "limits" and resource in value.get("requests", {}):
                amounts.append(_request(c, sizing, resource))
            if amounts:
                value.setdefault(kind, {})[resource] = _FORMAT[resource](max(amounts))
    shown = "; ".join(f"{kind} {'/'.join(v.values())}" for kind, v in value.items())
    return [_one(k, value, f, f"the profile's sizing for {c.name} ({ctx.profile.name}): {shown}")
            for k in ctx.keys(f, "resources")
            if ctx.value(k) is MISSING or isinstance(ctx.value(k), dict)]


def _request(c: Container, sizing: dict[str, dict[str, Decimal]], resource: str) -> Decimal:
    return max(a for a in (c.requests.get(resource), sizing.get("requests", {}).get(resource))
               if a is not None)


def _security_keys(f: Failure, ctx: Context) -> list[Key]:
    return [k for k in ctx.keys(f, "securityContext", "podSecurityContext|securityContext")
            if ctx.value(k) is MISSING or isinstance(ctx.value(k), dict)]


@recipe("seccomp-profile-missing")
def _seccomp(f: Failure, ctx: Context) -> list[Candidate] | Unreached:
    return [_one((*k, "seccompProfile"), {"type": "RuntimeDefault"}, f,
                 "the container runtime's default syscall filter (RuntimeDefault), as the "
                 "restricted Pod Security Standard asks") for k in _security_keys(f, ctx)]


@recipe("privilege-escalation-allowed")
def _escalation(f: Failure, ctx: Context) -> list[Candidate] | Unreached:
    c = ctx.container(f)
    if c is None or c.security.get("privileged") is True:
        return []
    return [_one((*k, "allowPrivilegeEscalation"), False, f,
                 "no process of the container can gain more privileges than it started with")
            for k in _security_keys(f, ctx) if k[-1] == "securityContext"]


@recipe("rwo-volume-shared-by-replicas")
def _rwo(f: Failure, ctx: Context) -> list[Candidate] | Unreached:
    w = ctx.workload(f)
    stuck = [why for c in (claims(w, ctx.analysis.index, ctx.analysis.manifests.resources)
                           if w is not None else [])
             if (why := single_node(c, ctx.profile.rwo_storage_classes))]
    if stuck:
        return _one_node(f, ctx, stuck[0])
    out = []
    for key in ctx.keys(f, "accessModes", "accessMode"):
        current = ctx.value(key)
        if isinstance(current, list) and SINGLE_NODE & set(map(str, current)):
            value: Any = ["ReadWriteMany"]
        elif isinstance(current, str) and current in SINGLE_NODE:
            value = "ReadWriteMany"
        else:
            continue
        storage = next((k for k in ctx.known if k[:-1] == key[:-1]
                        and re.fullmatch("storageClass(Name)?", k[-1])), None)
        cls = ctx.value(storage) if storage else None
        where = f" (`{show(storage)}`: {cls or 'the cluster default'})" if storage else ""
        out.append(_one(key, value, f, "one claim shared by several replicas on several nodes "
                                       "must be ReadWriteMany",
                        f"the storage class must support ReadWriteMany{where}"))
    if not out:
        return Unreached("several replicas need a ReadWriteMany claim or a claim per pod "
                         "(StatefulSet volumeClaimTemplates): no values key sets the access "
                         "mode", "template")
    return out


def _one_node(f: Failure, ctx: Context, why: str) -> list[Candidate] | Unreached:
    """The claim's class cannot provide ReadWriteMany: a claim per pod (a template change), or
    one replica, proposed when the profile accepts one and a replicas key exists."""
    keys = [k for k in ctx.keys(f, "replicaCount|replicas|replica_count")
            if isinstance(ctx.value(k), int) and not isinstance(ctx.value(k), bool)]
    per_pod = "a claim per pod: a StatefulSet with volumeClaimTemplates (a template change, " \
              "not a values change)"
    cost = "one replica: no availability through a node failure, a drain or a rollout"
    if keys and ctx.profile.min_replicas <= 1:
        return [_one(keys[0], 1, f, f"the claim's storage class ({why}) cannot provide "
                                    "ReadWriteMany, so only one pod can use it",
                     f"{cost}; to keep several replicas, {per_pod}")]
    one = f"`{show(keys[0])}: 1` ({cost}; the profile ({ctx.profile.name}) needs " \
          f"{ctx.profile.min_replicas})" if keys else "one replica (no values key sets it)"
    return Unreached(f"the claim's storage class ({why}) cannot provide ReadWriteMany: give "
                     f"{per_pod}, or run {one}", "template")


@recipe("priority-class-missing")
def _priority(f: Failure, ctx: Context) -> list[Candidate] | Unreached:
    keys = ctx.keys(f, "priorityClassName")
    if not keys:
        return []
    return Unreached(f"needs a decision about your cluster: the name of a PriorityClass it "
                     f"defines (set `{show(keys[0])}`)", "decision")


@recipe("service-account-token-automounted")
def _token(f: Failure, ctx: Context) -> list[Candidate] | Unreached:
    keys = ctx.keys(f, "automountServiceAccountToken", "serviceAccount automount")
    if not keys:
        return []
    return Unreached(f"set `{show(keys[0])}: false` if the application never calls the "
                     "Kubernetes API: the render cannot show whether it does", "judgement")


@recipe("run-as-root-allowed", "capabilities-not-dropped", "root-filesystem-writable")
def _runtime(f: Failure, ctx: Context) -> list[Candidate] | Unreached:
    if not ctx.controls(f) and not _security_keys(f, ctx):
        return []
    return Unreached("depends on what the image needs at run time (its user, capabilities, "
                     "writable paths), which the render cannot show: set it in the "
                     "securityContext once known", "judgement")
