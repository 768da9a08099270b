"""What `toolman-kit suggest` reasons about: failures, candidate values, the reasons a failure gets
none, and the context candidates are made from (values/recipes.py makes them).

Keys come from the chart: those provenance ties to the failing field (values/provenance.py), and
well-known key shapes (`replicaCount`, `podDisruptionBudget.enabled`, `affinity` …) among the
keys the chart knows (values.yaml, the templates' reads, its commented-out blocks, the
properties of values.schema.json, which may also forbid a key). Content comes from the profile
(replicas, sizing), from the render (the workload's own pod labels, its declared ports, the
replica count a PDB must leave room in) and from the chart (a commented-out block, appVersion).

A failure no candidate can reach gets a reason instead (`Unreached`): no values key controls the
field (the template line to change), a decision about the cluster, or a judgement the kit does
not make. Candidates are proposals only: values/suggest.py keeps what a re-render proves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from toolman_kit.analysis import Analysis
from toolman_kit.chart.values import ChartFacts
from toolman_kit.chart.valuesfile import Key, get_in, paths, set_in, show
from toolman_kit.judge.checklist import ROWS
from toolman_kit.judge.findings import Row, SeverityName
from toolman_kit.judge.profiles import Profile
from toolman_kit.read.model import Container, Workload, as_dict
from toolman_kit.values.provenance import Field, Hardcoded, Provenance

SINGLE_NODE = {"ReadWriteOnce", "ReadWriteOncePod"}
PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
HOSTNAME, ZONE = "kubernetes.io/hostname", "topology.kubernetes.io/zone"


@dataclass(frozen=True)
class Failure:
    """A failing finding, identified as the findings comparison does."""

    check_id: str
    severity: SeverityName
    kind: str
    namespace: str
    name: str
    container: str
    path: str
    message: str = ""

    @property
    def key(self) -> tuple[str, str, str, str, str, str]:
        return (self.check_id, self.kind, self.namespace, self.name, self.container, self.path)

    @property
    def object(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def row(self) -> str:
        """The checklist row that shows it ("" when none does)."""
        for r in ROWS:
            if self.check_id in r.checks and (
                    not r.path_part or self.check_id != "resources-below-profile"
                    or r.path_part in self.path):
                return r.component
        return ""

    def where(self) -> str:
        return self.object + (f" [{self.container}]" if self.container else "")


def failures(a: Analysis) -> dict[tuple, Failure]:
    """The failing findings of an analysis, in the findings' order (most severe first)."""
    out: dict[tuple, Failure] = {}
    for r in map(Row._make, a.rows.failed()):
        item = Failure(r.check_id, r.severity, r.kind, r.namespace, r.name, r.container,
                       r.path, r.message)
        out.setdefault(item.key, item)
    return out


SEVERITY_RANK = {"error": 3, "warning": 2, "info": 1}


def rank(severity: Any) -> int:
    """error > warning > info, whether severities are strings or categoricals."""
    return SEVERITY_RANK.get(str(severity), 0)


@dataclass(eq=False)
class Candidate:
    """Values to add to the override, the failures they aim at, and why these values."""

    values: tuple[tuple[Key, Any], ...]
    targets: tuple[tuple, ...]  # Failure keys
    why: str  # the reason, and where the content comes from (a comment of the suggested file)
    note: str = ""  # what the user still has to decide or make sure of

    @cached_property
    def digest(self) -> str:
        return json.dumps([[list(k), v] for k, v in self.values], sort_keys=True, default=str)

    @property
    def keys(self) -> list[Key]:
        return [k for k, _ in self.values]

    def apply(self, override: dict[str, Any]) -> dict[str, Any]:
        for key, value in self.values:
            override = set_in(override, key, value)
        return override

    def shows(self) -> str:
        return ", ".join(f"{show(k)}: {_compact(v)}" for k, v in self.values)


def _compact(value: Any) -> str:
    return json.dumps(value, default=str) if isinstance(value, dict | list) else \
        str(value).lower() if isinstance(value, bool) else str(value)


UnreachedKind = Literal["template", "decision", "judgement"]


@dataclass(frozen=True)
class Unreached:
    """Why no candidate is proposed for a failure."""

    reason: str
    kind: UnreachedKind
    template: str = ""  # "templates/deployment.yaml:243": the template line to change


# --- what the chart knows -----------------------------------------------------------------------

def schema_keys(schema: Any, prefix: Key = ()) -> Iterator[Key]:
    """The key paths a values.schema.json declares (its `properties`, nested)."""
    if isinstance(schema, dict):
        for name, sub in as_dict(schema.get("properties")).items():
            yield (*prefix, str(name))
            yield from schema_keys(sub, (*prefix, str(name)))


def schema_allows(schema: Any, key: Key) -> bool:
    """Whether values.schema.json lets the key exist (`additionalProperties: false` forbids what
    `properties` does not name; what the schema does not describe is allowed)."""
    node = schema
    for part in key:
        if not isinstance(node, dict) or "$ref" in node:
            return True
        props = as_dict(node.get("properties"))
        if part in props:
            node = props[part]
        elif node.get("additionalProperties") is False and not any(
                re.search(p, part) for p in as_dict(node.get("patternProperties"))):
            return False
        else:
            return True
    return True


@dataclass
class Context:
    """What candidates are made from: the chart, the profile, the values as the templates see
    them (chart defaults coalesced with the user's and the suggested values), and the analysis
    of their render. `provenance` and `hardcoded` are known for the starting render's failures."""

    facts: ChartFacts
    profile: Profile
    merged: dict[str, Any]
    analysis: Analysis
    known: list[Key]
    provenance: Provenance | None = None
    hardcoded: dict[Field, Hardcoded] = field(default_factory=dict)

    @cached_property
    def workloads(self) -> dict[tuple[str, str, str], Workload]:
        return {(w.kind, w.namespace, w.name): w for w in self.analysis.index.workloads}

    def workload(self, f: Failure) -> Workload | None:
        return self.workloads.get((f.kind, f.namespace, f.name))

    def container(self, f: Failure) -> Container | None:
        w = self.workload(f)
        return next((c for c in w.containers if c.name == f.container), None) if w else None

    def field(self, f: Failure) -> Field | None:
        if self.provenance is None:
            return None
        return self.provenance.field_of(f.check_id, f.kind, f.namespace, f.name, f.container,
                                        f.path)

    def controls(self, f: Failure) -> list[Key]:
        """The keys provenance found moving the failure's field."""
        at = self.field(f)
        return list(self.provenance.controls.get(at, [])) if at is not None else []

    def switches(self, f: Failure) -> list[tuple[Key, Any]]:
        """(key, value) of probes that fixed the failure with a plain value (a bool switch)."""
        at = self.field(f)
        if at is None or self.provenance is None:
            return []
        return [(k, v) for k in self.provenance.controls.get(at, [])
                if isinstance(v := self.provenance.fixes.get((at, k)), bool)]

    def keys(self, f: Failure, *shapes: str) -> list[Key]:
        """Keys for a failure whose last parts match one of the `shapes` ("replicaCount|replicas",
        "podDisruptionBudget|pdb enabled|create": space-separated parts, case-insensitive):
        those provenance ties to the failing field first, then the chart's known keys, those
        under a prefix named like the workload before top-level ones before others; only keys
        values.schema.json allows."""
        patterns = [[re.compile(p, re.I) for p in shape.split()] for shape in shapes]

        def prefix(key: Key) -> Key | None:
            """The part of the key before the shape it fits (None: it fits none)."""
            return next((key[:len(key) - len(ps)] for ps in patterns if len(key) >= len(ps)
                         and all(p.fullmatch(part) for p, part in zip(
                             ps, key[len(key) - len(ps):], strict=True))), None)

        def fits(key: Key) -> bool:
            return prefix(key) is not None

        tokens = set(re.split(r"[-_.]", f.name.lower()))

        def group(k: Key) -> int:  # 0: under a prefix named like the workload, 1: top-level
            before = prefix(k) or ()
            return 0 if any(p.lower() in tokens for p in before) else 1 if not before else 2

        shaped = sorted((k for k in self.known if fits(k)), key=lambda k: (group(k), len(k), k))
        if shaped and group(shaped[0]) == 0:  # the workload's own block: not its siblings'
            shaped = [k for k in shaped if group(k) < 2]
        found = [k for k in self.controls(f) if fits(k)] + shaped
        return [k for k in dict.fromkeys(found) if schema_allows(self.facts.schema, k)]

    def value(self, key: Key) -> Any:
        return get_in(self.merged, key)

    def replicas(self, w: Workload) -> int:
        """The replica count the suggestion aims at: at least the profile's."""
        return max(self.profile.min_replicas, self.analysis.index.min_replicas(w) or 1)

    def in_template(self, f: Failure) -> Unreached | None:
        """When provenance found that no values key moves the failing field: the template line
        that writes it."""
        at = self.field(f)
        if at is None or at not in self.hardcoded:
            return None
        return Unreached("no values key changes it: change the template", "template",
                         self.template(f))

    def template(self, f: Failure) -> str:
        """Where the template writes the failing field, when no values key controls it."""
        at = self.field(f)
        hard = self.hardcoded.get(at) if at is not None else None
        if hard is not None:
            return f"{hard.template}:{hard.line}" if hard.line else hard.template
        if at is not None:
            return at.ident[0].split("/", 1)[-1]
        return ""


def known_keys(facts: ChartFacts, merged: dict[str, Any]) -> list[Key]:
    """Every key the chart knows: in its values, read by its templates (and their parents),
    commented out in values.yaml, or declared by values.schema.json."""
    keys = set(paths(merged)) | set(facts.commented) | set(schema_keys(facts.schema))
    keys |= {r.key[:n] for r in facts.reads.reads for n in range(1, len(r.key) + 1)}
    return sorted(keys)
