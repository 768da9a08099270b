"""Comparing two analyses of one deployment, e.g. the chart's default values and production values.

One `Comparison` answers three questions from one decision about which objects both sides have,
so its views cannot disagree: a workload that only the baseline renders (its component was
disabled) is *removed*, its checklist rows read "removed" and its failures "removed" (with the
workload), never "fixed".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from toolman_kit.analysis import Analysis

if TYPE_CHECKING:  # pandas is imported where a frame is built: `import toolman_kit` stays light
    import pandas as pd

# Checklist status from worst to best; "n/a" (nothing to judge) ranks with a pass.
_RANK = {"fail": 0, "warning": 1, "pass": 2, "n/a": 2}
FINDING_CHANGES = ("introduced", "unchanged", "fixed", "added", "removed")
ROW_CHANGES = ("worse", "still failing", "improved", "fixed", "unchanged", "added", "removed")
_FINDING_KEY = ["check_id", "kind", "namespace", "name", "container", "path"]  # path: which volume
_ROW_KEY = ["workload", "namespace", "component"]


def _owners(a: Analysis) -> dict[tuple[str, str, str], list[tuple[str, str, str]]]:
    """Each object → the workloads it is about: itself, or those it selects (PDB, Service …)."""
    owners = {}
    for r in a.manifests:
        w = a.index.workload_of.get(r)
        owners[(r.kind, r.namespace, r.name)] = [(x.kind, x.namespace, x.name) for x in (
            [w] if w is not None else a.index.selected.get(r, []))]
    return owners


@dataclass
class Comparison:
    """What changes from `baseline` to `candidate` (build it with `compare`).

    - `workloads`: one row per workload of either side, `change` kept, added or removed.
    - `findings`: one row per failure (status fail) of either side, `change` one of
      introduced, unchanged, fixed, added, removed. *Fixed* and *introduced* are about objects
      both sides have; a failure on an object only the baseline has is *removed* (with its
      workload or object), one on an object only the candidate has is *added*.
    - `checklist`: the two checklists side by side, in the candidate's row order, `change`
      one of worse, still failing, improved, fixed, unchanged, added, removed.

    Example:
        >>> import toolman_kit as tk
        >>> c = tk.compare("examples/toolman/rendered/default.yaml",
        ...                "examples/toolman/rendered/production.yaml",
        ...                profile="examples/toolman/profile.yaml", namespace="toolman",
        ...                names=("defaults", "production"))
        >>> c  # doctest: +NORMALIZE_WHITESPACE
        <Comparison defaults → production: failures 4 introduced, 18 unchanged, 12 fixed,
         0 added, 0 removed>
        >>> sorted(set(c.findings.query("change == 'introduced'")["check_id"]))
        ['network-policy-namespace-label', 'rwo-volume-shared-by-replicas', 'startup-probe-missing']
        >>> c.workloads[["workload", "change"]]
                     workload change
        0  Deployment/toolman   kept
    """

    baseline: Analysis
    candidate: Analysis
    names: tuple[str, str] = ("baseline", "candidate")
    _owners: tuple[dict, dict] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._owners = (_owners(self.baseline), _owners(self.candidate))

    def __repr__(self) -> str:
        n = self.findings["change"].value_counts()
        return (f"<Comparison {self.names[0]} → {self.names[1]}: failures "
                + ", ".join(f"{int(n.get(c, 0))} {c}" for c in FINDING_CHANGES) + ">")

    def _presence(self, key: tuple[str, str, str]) -> str:
        """kept, or removed/added: the object is on one side only and so is every workload it
        is about (a NetworkPolicy the candidate adds for a kept workload is kept: its failures
        are introduced)."""
        before, after = (key in owners for owners in self._owners)
        if before and after:
            return "kept"
        owners, other = self._owners if before else self._owners[::-1]
        if any(w in other for w in owners[key]):
            return "kept"
        return "removed" if before else "added"

    @cached_property
    def workloads(self) -> pd.DataFrame:
        import pandas as pd

        rows: dict[tuple, list[Any]] = {}
        for side in (self.baseline, self.candidate):
            for w in side.index.workloads:
                key = (w.kind, w.namespace, w.name)
                rows.setdefault(key, [side.index.label(w), *key, self._presence(key)])
        return pd.DataFrame(list(rows.values()),
                            columns=["workload", "kind", "namespace", "name", "change"])

    @cached_property
    def findings(self) -> pd.DataFrame:
        columns = [*_FINDING_KEY, "severity", "message"]
        before, after = (a.findings for a in (self.baseline, self.candidate))
        before = before.loc[before["status"] == "fail", columns].drop_duplicates(_FINDING_KEY)
        after = after.loc[after["status"] == "fail", columns].drop_duplicates(_FINDING_KEY)
        merged = before.merge(after, on=_FINDING_KEY, how="outer", indicator=True,
                              suffixes=("_baseline", "_candidate"))
        change = []  # (pandas matches <NA> keys with each other: a missing container is one key)
        namespaces = merged["namespace"].fillna("")  # <NA> in a cluster-scoped object's row
        for side, kind, namespace, name in zip(merged["_merge"], merged["kind"], namespaces,
                                               merged["name"], strict=True):
            presence = self._presence((kind, namespace, name))
            change.append("unchanged" if side == "both" else presence if presence != "kept"
                          else "fixed" if side == "left_only" else "introduced")
        merged["change"] = change
        merged["severity"] = merged["severity_candidate"].fillna(merged["severity_baseline"])
        merged["message"] = merged["message_candidate"].fillna(merged["message_baseline"])
        order = {c: i for i, c in enumerate(FINDING_CHANGES)}
        merged = merged.assign(_order=merged["change"].map(order)).sort_values(
            ["_order", "check_id", "kind", "namespace", "name"], kind="stable")
        return merged[[*_FINDING_KEY, "severity", "change", "message", "message_baseline",
                       "message_candidate"]].reset_index(drop=True)

    @cached_property
    def checklist(self) -> pd.DataFrame:
        after = self.candidate.checklist[[*_ROW_KEY, "current_state", "status", "action"]]
        before = self.baseline.checklist[[*_ROW_KEY, "current_state", "status", "action"]]
        merged = after.merge(before, on=_ROW_KEY, how="outer", sort=False,
                             suffixes=("_candidate", "_baseline"))
        order = {k: i for i, k in enumerate(zip(*(after[c] for c in _ROW_KEY), strict=True))}
        merged["_order"] = [order.get(k, len(order))
                            for k in zip(*(merged[c] for c in _ROW_KEY), strict=True)]
        merged = merged.sort_values("_order", kind="stable").reset_index(drop=True)
        labels = dict(zip(zip(self.workloads["workload"], self.workloads["namespace"],
                              strict=True), self.workloads["change"], strict=True))
        # A row only one side has: empty state and status there (object first: a categorical
        # status has no "" category).
        merged = merged.astype(object).fillna("")
        merged["change"] = [
            _row_change(b, c, labels.get((w, ns), "kept")) for w, ns, b, c in zip(
                merged["workload"], merged["namespace"], merged["status_baseline"],
                merged["status_candidate"], strict=True)]
        merged = merged.rename(columns={
            "current_state_baseline": "baseline_state", "status_baseline": "baseline_status",
            "current_state_candidate": "candidate_state", "status_candidate": "candidate_status",
            "action_candidate": "candidate_action", "action_baseline": "baseline_action"})
        return merged[[*_ROW_KEY, "baseline_state", "baseline_status", "candidate_state",
                       "candidate_status", "change", "candidate_action", "baseline_action"]]

    def counts(self) -> dict[str, int]:
        """Failures by change, e.g. {"fixed": 9, "introduced": 1, …} (every change present)."""
        n = self.findings["change"].value_counts()
        return {c: int(n.get(c, 0)) for c in FINDING_CHANGES}


def _row_change(before: str, after: str, presence: str) -> str:
    if presence != "kept":
        return presence
    b, c = _RANK.get(before, 2), _RANK.get(after, 2)
    if c > b:
        return "fixed" if c == 2 else "improved"
    if c < b:
        return "worse"
    return "unchanged" if c == 2 else "still failing"


def compare(baseline: Any, candidate: Any, *, names: tuple[str, str] | None = None,
            **options: Any) -> Comparison:
    """Compare two analyses of one deployment: which failures the candidate fixes, introduces or
    keeps, and how each checklist row changes.

    Args:
        baseline, candidate: `Analysis` objects, or anything `Analysis.of` accepts (paths, text,
            `Manifests`, a `Rendered` chart, objects as dicts); the same `options` are used to
            analyse both. Compare two renderings of one release: objects are matched by (kind,
            namespace, name).
        names: what to call the two sides in text (default: their `values_set`, else
            "baseline" and "candidate").
        **options: passed to `Analysis.of` (e.g. `profile=`, `namespace=`, `errors=`).

    Returns:
        A `Comparison`: `.findings`, `.checklist` and `.workloads` DataFrames with a `change`
        column, and `.counts()`. A workload present only in the baseline (a component the
        candidate's values disable) is "removed", and so are its failures: removing a component
        fixes nothing.

    Example:
        >>> import toolman_kit as tk
        >>> c = tk.compare("examples/toolman/rendered/default.yaml",
        ...                "examples/toolman/rendered/production.yaml",
        ...                profile="examples/toolman/profile.yaml", namespace="toolman")
        >>> c.counts()["fixed"], c.counts()["introduced"]
        (12, 4)
        >>> c.checklist.query("component == 'Replicas'")[["baseline_state", "candidate_state"]]
          baseline_state candidate_state
        0              1               3
    """
    a, b = (x if isinstance(x, Analysis) else Analysis.of(x, **options)
            for x in (baseline, candidate))
    if names is None:
        names = (a.values_set or "baseline", b.values_set or "candidate")
    return Comparison(a, b, names)
