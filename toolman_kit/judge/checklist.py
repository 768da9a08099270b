"""The production-readiness checklist: the seed's table, per workload, built from the findings.

Each row names the checks it summarises; its status is the worst of their failures (error → fail,
warning → warning; info and exempt failures do not lower it) and its action is what those
failures' remediations say. The current state is read from the model, as a reviewer would.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Literal

from toolman_kit.judge import findings as finding
from toolman_kit.judge.findings import typed
from toolman_kit.judge.pss import PodSecurity, pod_security
from toolman_kit.read.index import Index
from toolman_kit.read.model import Image, Workload, as_dict, as_list
from toolman_kit.read.quantity import format_cpu, format_memory
from toolman_kit.text import plural

if TYPE_CHECKING:
    import pandas as pd

ChecklistStatus = Literal["fail", "warning", "pass", "n/a"]
SYMBOL: dict[ChecklistStatus, str] = {"pass": "✅", "warning": "⚠️", "fail": "❌", "n/a": "➖"}
COLUMNS = ["workload", "namespace", "component", "current_state", "status", "action", "checks"]
# Positions in a checklist row tuple (what `build` makes), by column.
WORKLOAD, NAMESPACE, COMPONENT, CURRENT_STATE, STATUS, ACTION, CHECKS = range(len(COLUMNS))
STATUSES = ("n/a", "pass", "warning", "fail")  # ascending, as findings.STATUSES


@dataclass(frozen=True)
class ChecklistRow:
    """A row of the checklist as every workload has it: what it is called, the checks it
    summarises and how its current state is read."""

    component: str
    checks: tuple[str, ...]
    state: Callable[[Workload, Index], str]
    path_part: str = ""  # only findings whose path contains this (requests vs limits)

    @cached_property
    def passed_as(self) -> tuple[str | tuple[str, str], ...]:
        """How a pass of each check is noted for this row (see _Seen.passed)."""
        return tuple((c, self.path_part) if self.path_part and c == FILTERED else c
                     for c in self.checks)


def _sizes(w: Workload, kind: str) -> str:
    main = w.main
    if main is None:
        return "no containers"
    amounts = main.requests if kind == "requests" else main.limits
    if not amounts:
        return "None"
    return f"{format_cpu(amounts.get('cpu'))}/{format_memory(amounts.get('memory'))}"


def _probes(w: Workload, idx: Index) -> str:
    probes = list(w.main.probes) if w.main else []
    return ", ".join(probes) if probes else "Disabled"


def _anti_affinity(w: Workload, idx: Index) -> str:
    anti = as_dict(as_dict(w.pod.get("affinity")).get("podAntiAffinity"))
    kinds = [k.split("During")[0] for k in anti if as_list(anti[k])]
    return ", ".join(f"{k}DuringScheduling" for k in kinds) if kinds else "None"


def _pdb(w: Workload, idx: Index) -> str:
    pdbs = idx.pdbs.get(w, [])
    if not pdbs:
        return "Disabled"
    spec = pdbs[0].spec
    budget = next((f"{k}: {spec[k]}" for k in ("minAvailable", "maxUnavailable") if k in spec), "")
    return f"{pdbs[0].name} ({budget})" if budget else pdbs[0].name


def _names(objects: list, none: str = "Disabled") -> str:
    return ", ".join(f"{o.kind} {o.name}" for o in objects) if objects else none


def _tag(image: Image) -> str:
    return f"digest {image.digest[:19]}…" if image.digest else (image.tag or "none (latest)")


def _image(w: Workload, idx: Index) -> str:
    """The main container's tag; when it is pinned, also the tags of the containers that are
    not (a sidecar's floating tag fails the row too)."""
    image = w.main.image if w.main else None
    if image is None:
        return "None"
    loose = [f"{c.name}: {_tag(c.image)}" for c in w.containers
             if c is not w.main and c.image and not c.image.pinned()] if image.pinned() else []
    return "; ".join([_tag(image), *loose])


def _pull_policy(w: Workload, idx: Index) -> str:
    return (w.main.pull_policy if w.main else None) or "default"


def _strategy(w: Workload, idx: Index) -> str:
    spec = w.resource.spec
    strategy = as_dict(spec.get("strategy") or spec.get("updateStrategy"))
    if not strategy:
        return "Not specified"
    rolling = as_dict(strategy.get("rollingUpdate"))
    detail = ", ".join(f"{k} {v}" for k, v in rolling.items())
    # an Argo Rollout's strategy has no type but one key: canary or blueGreen
    default = next(iter(strategy)) if w.spec_kind.custom and "type" not in strategy \
        else "RollingUpdate"
    return f"{strategy.get('type', default)}" + (f" ({detail})" if detail else "")


def _spread(w: Workload, idx: Index) -> str:
    constraints = as_list(w.pod.get("topologySpreadConstraints"))
    keys = [str(as_dict(t).get("topologyKey")) for t in constraints]
    return ", ".join(keys) if keys else "None"


def _privileged(w: Workload, idx: Index) -> str:
    names = [c.name for c in w.containers if c.security.get("privileged") is True]
    return ", ".join(names) if names else "None"


def _storage(w: Workload, idx: Index) -> str:
    claims = [v for v in w.volumes if v.type == "persistentVolumeClaim"]
    if not claims:
        return "No PVCs"
    parts = []
    for v in claims:
        name = str(v.source.get("claimName", ""))
        pvc = idx.pvcs.get((w.namespace, name))
        modes = ",".join(map(str, as_list(pvc.spec.get("accessModes")))) if pvc else \
            "not in manifests"
        parts.append(f"{name} ({modes})")
    return f"{', '.join(parts)} × {idx.max_replicas(w) or 1} replica(s)"


def _volume_types(w: Workload, idx: Index) -> str:
    counts: dict[str, int] = {}
    for v in w.volumes:
        counts[v.type or "no source"] = counts.get(v.type or "no source", 0) + 1
    return ", ".join(f"{t} {n}" for t, n in counts.items()) if counts else "None"


ROWS = (
    ChecklistRow("Replicas", ("replicas-below-minimum", "hpa-replicas-conflict",
                              "hpa-cannot-scale"), lambda w, idx: str(idx.min_replicas(w))),
    ChecklistRow("Resource Requests", ("cpu-requests-missing", "memory-requests-missing",
                                       "resources-below-profile"),
                 lambda w, idx: _sizes(w, "requests"), ".requests"),
    ChecklistRow("Resource Limits", ("cpu-limits-missing", "memory-limits-missing",
                                     "limits-below-requests", "resources-below-profile"),
                 lambda w, idx: _sizes(w, "limits"), ".limits"),
    ChecklistRow("Health Probes", ("liveness-probe-missing", "readiness-probe-missing",
                                   "startup-probe-missing", "probes-identical",
                                   "probe-port-unknown"), _probes),
    ChecklistRow("Pod Anti-Affinity", ("anti-affinity-missing",), _anti_affinity),
    ChecklistRow("PDB", ("pdb-missing", "pdb-invalid", "pdb-blocks-eviction",
                         "pdb-unhealthy-eviction-policy"), _pdb),
    ChecklistRow("Network Policy", ("network-policy-missing", "network-policy-namespace-label",
                                    "network-policy-egress-open"),
                 lambda w, idx: _names(idx.network_policies.get(w, []))),
    ChecklistRow("Monitoring", ("monitoring-missing",),
                 lambda w, idx: _names(idx.monitors.get(w, []),
                                       "Scrape annotations" if idx.scraped(w) else "Disabled")),
    ChecklistRow("Image Tag", ("image-tag-mutable",), _image),
    ChecklistRow("Image Pull Policy", ("pull-policy-always",), _pull_policy),
    # Ours, beyond the seed's table:
    ChecklistRow("Update Strategy", ("update-strategy-unspecified",), _strategy),
    ChecklistRow("Topology Spread", ("topology-spread-missing", "topology-spread-invalid"),
                 _spread),
    # the state is filled from pss below; the check says whether the namespace admits it
    ChecklistRow("Pod Security Level", ("pod-security-admission",), lambda w, idx: ""),
    ChecklistRow("Privileged Containers", ("privileged-container",
                                           "container-runtime-socket-exposed"), _privileged),
    ChecklistRow("Storage vs Replicas", ("rwo-volume-shared-by-replicas",), _storage),
    ChecklistRow("Volume Sources", ("volume-without-source", "mount-undefined-volume",
                                    "pvc-not-in-manifests", "secret-not-in-manifests",
                                    "configmap-not-in-manifests"), _volume_types),
)
SEED_ROWS = tuple(r.component for r in ROWS[:10])
POLICY = "policy/"  # the checks of admission policies (judge/policy/checks.py)
PSS_STATUS = {"restricted": "pass", "baseline": "warning", "privileged": "fail"}


def build(findings: Iterable[tuple], index: Index, pss: list[PodSecurity] | None = None,
          rules: Mapping[str, str] | None = None) -> list[tuple]:
    """One block of rows per workload, in the order of the manifests: tuples in COLUMNS order,
    from the findings' row tuples (see `frame` for the DataFrame); `pss`: pod_security(index),
    when the caller has it already; `rules`: a profile's rules by id → the checklist row each
    names (Check.checklist)."""
    seen = _Seen(findings, index)
    levels = {(p.kind, p.namespace, p.name): p for p in pss or pod_security(index)}
    policies = _policies(seen)
    rows = (*ROWS, ChecklistRow("Admission Policies", policies, lambda w, idx: ""))
    rows, own = _with_rules(rows, rules or {})
    records = []
    for w in index.workloads:
        key, label = (w.kind, w.namespace, w.name), index.label(w)
        for row, (status, action) in zip(rows, seen.judge(key, rows), strict=True):
            if row.component in own:
                records.append((label, w.namespace, row.component, _rules(seen, key, row),
                                status, action, ",".join(row.checks)))
                continue
            if row.component == "Admission Policies":
                records.append((label, w.namespace, row.component, _admission(seen, key),
                                status, action, ",".join(row.checks)))
                continue
            if row.component == "Pod Security Level":
                pss = levels[key]
                controls = sorted({v["control"] for v in pss.violations})
                state = pss.level + (f" (violates: {', '.join(controls)})" if controls else "")
                # below restricted is a warning, privileged a failure; the namespace's Pod
                # Security admission rejecting the pods (an error) fails it whatever the level
                status = max(status, PSS_STATUS[pss.level], key=STATUSES.index)
                actions = [a for a in (action, "" if pss.level == "restricted" else
                                       "Meet the restricted Pod Security Standard: "
                                       + ", ".join(controls)) if a and a != "—"]
                records.append((label, w.namespace, row.component, state, status,
                                " ".join(actions) or "—", ",".join(row.checks)))
                continue
            records.append((label, w.namespace, row.component, row.state(w, index), status,
                            action, ",".join(row.checks)))
    return records


def _with_rules(rows: tuple[ChecklistRow, ...], rules: Mapping[str, str]) -> tuple[
        tuple[ChecklistRow, ...], set[str]]:
    """The rows with each rule counted in the row it names (an existing row's name, in any
    case: the row's status is then the worst of its checks' and the rule's), or in a row of its
    own after them; and the names of those own rows."""
    by_name = {r.component.casefold(): i for i, r in enumerate(rows)}
    joined: dict[int, list[str]] = defaultdict(list)
    own: dict[str, list[str]] = defaultdict(list)
    for check_id, name in rules.items():
        if name.casefold() in by_name:
            joined[by_name[name.casefold()]].append(check_id)
        else:
            own[name].append(check_id)
    rows = tuple(replace(r, checks=(*r.checks, *joined[i])) if i in joined else r
                 for i, r in enumerate(rows))
    return (*rows, *(ChecklistRow(name, tuple(ids), lambda w, idx: "")
                     for name, ids in own.items())), set(own)


def _rules(seen: _Seen, key: tuple, row: ChecklistRow) -> str:
    """A rules' row's current state: the rules the workload fails, else how many it meets."""
    problems = seen.problems.get(key, {})
    failed = [c for c in row.checks if any(f[finding.STATUS] == "fail" for _, f in
                                           problems.get(c, ()))]
    if failed:
        return "fails " + ", ".join(failed)
    met = [c for c in row.checks if c in problems or c in seen.passed.get(key, ())]
    return f"meets {plural(len(met), 'rule')}" if met else "no rule applies"


def _policies(seen: _Seen) -> tuple[str, ...]:
    """The admission policies' checks (policy/<name>) that judged a workload (none: the row
    "Admission Policies" is ➖, no policy given or none matches)."""
    ids = {c for checks in seen.problems.values() for c in checks}
    ids.update(c for checks in seen.passed.values() for c in checks if isinstance(c, str))
    return tuple(sorted(c for c in ids if c.startswith(POLICY)))


def _admission(seen: _Seen, key: tuple) -> str:
    """What admission does with the workload and its pods: the policies that reject them."""
    rejected = [c for c, found in seen.problems.get(key, {}).items() if c.startswith(POLICY)
                and any(f[finding.STATUS] == "fail" and f[finding.SEVERITY] == "error"
                        for _, f in found)]
    if rejected:
        return "rejected by " + ", ".join(rejected)
    judged = {c for c in (*seen.problems.get(key, {}), *seen.passed.get(key, ()))
              if isinstance(c, str) and c.startswith(POLICY)}
    return f"admitted by {len(judged)} polic{'y' if len(judged) == 1 else 'ies'}" if judged \
        else "no policy given or matching (--policy)"


def frame(records: list[tuple]) -> pd.DataFrame:
    """The checklist DataFrame: `status` an ordered categorical, <NA> where a value is missing."""
    import pandas as pd

    df = pd.DataFrame.from_records(records, columns=COLUMNS)
    return typed(df, {"status": STATUSES}, ("workload", "component", "action"))


# The checklist reads every findings row by position (finding.STATUS…): making a named tuple of
# each took 0.17 of its 1.3 s under cProfile (2,000 Deployments, 111,000 rows).
FILTERED = "resources-below-profile"  # two rows share it, each judging its own paths
PATH_PARTS = tuple(r.path_part for r in ROWS if r.path_part)
_ABOUT = itemgetter(finding.KIND, finding.NAMESPACE, finding.NAME)  # a findings row's object


class _Seen:
    """The findings about each workload (plus those about objects that select it: PDB,
    NetworkPolicy), by check id, made in one pass over the rows: failures and exempt failures
    with their position; passes, most of the rows, only as the checks that passed (a row needs
    to know that one exists, not which). The checklist is built for every report and every
    format, so this pass runs over every finding of a cluster."""

    def __init__(self, findings: Iterable[tuple], index: Index) -> None:
        def key(o: Any) -> tuple[str, str, str]:
            return o.kind, o.namespace, o.name

        targets = {key(w): [key(w)] for w in index.workloads}  # a workload's own findings
        for obj, selected in index.selected.items():
            targets.setdefault(key(obj), [key(w) for w in selected])
        self.problems: dict[tuple, dict[str, list[tuple[int, tuple]]]] = defaultdict(
            lambda: defaultdict(list))
        self.passed: dict[tuple, set[str | tuple[str, str]]] = defaultdict(set)
        none: list[tuple] = []
        rows = iter(findings)
        for n, f in enumerate(rows):
            status = f[finding.STATUS]
            if status == "pass":  # the rest are passes (Findings: problems first)
                self._passes(itertools.chain((f,), rows), targets)
                break
            if status == "skip":
                continue
            for target in targets.get(_ABOUT(f), none):
                self.problems[target][f[finding.CHECK_ID]].append((n, f))

    def _passes(self, rows: Iterator[tuple], targets: dict[tuple, list[tuple]]) -> None:
        """The passes, most of the rows: the engine makes an object's rows one after another,
        so they are taken a run of rows about one object at a time (groupby, at C speed)."""
        for about, run in itertools.groupby(rows, _ABOUT):
            if run_targets := targets.get(about):
                run = list(run)
                checks: set[str | tuple[str, str]] = {f[finding.CHECK_ID] for f in run}
                if FILTERED in checks:  # which of the two rows it passes for
                    checks.update((FILTERED, p) for f in run if f[finding.CHECK_ID] == FILTERED
                                  for p in PATH_PARTS if p in f[finding.PATH])
                for target in run_targets:
                    self.passed[target] |= checks

    def judge(self, target: tuple,
              rows: Iterable[ChecklistRow]) -> Iterator[tuple[ChecklistStatus, str]]:
        """Each row's status and action: the worst of its failures, what they say to do."""
        problems, passed = self.problems.get(target, {}), self.passed.get(target, set())
        for row in rows:
            only = row.path_part
            found = [] if problems.keys().isdisjoint(row.checks) else [  # most rows: nothing
                nf for check in row.checks for nf in problems.get(check, ())
                if not only or check != FILTERED or only in nf[1][finding.PATH]]
            if not found:
                yield ("n/a" if passed.isdisjoint(row.passed_as) else "pass"), "—"
                continue
            found.sort(key=itemgetter(0))  # in the findings' order: it orders the actions
            relevant = [f for _, f in found]
            failed = [f for f in relevant if f[finding.STATUS] == "fail"]
            severities = {f[finding.SEVERITY] for f in failed}
            status = "fail" if "error" in severities else "warning" if "warning" in severities \
                else "pass"
            actions = list(dict.fromkeys(f[finding.REMEDIATION] for f in failed
                                         if f[finding.SEVERITY] != "info"))
            exempt = dict.fromkeys(f[finding.EXEMPT_REASON] for f in relevant
                                   if f[finding.STATUS] == "exempt")
            actions += [f"Exempt: {reason}" for reason in exempt]
            yield status, " ".join(actions) if actions else "—"
