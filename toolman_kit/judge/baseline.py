"""`check --baseline FILE`: the findings a previous run reported, so that only new ones fail.

A baseline is the kit's own output: a findings.json (`check --format json`, a report's
findings.json) or a SARIF file it wrote. A finding is known when the baseline holds one of the
same check, object (kind, namespace, name) and container; line and message are not compared, so
an edit above a workload or a reworded message does not make its old findings new. Both formats
are read to the same key: the check and SARIF's logical location name (`kind/namespace/name/
container`). The baseline is a multiset: two findings of one key in it cover two now, a third
is new.

A baseline is untrusted input like any other: what cannot be read is one error naming the file.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from toolman_kit.errors import ToolmanKitError
from toolman_kit.judge.findings import CHECK_ID, CONTAINER, KIND, NAME, NAMESPACE, STATUS

PROBLEMS = ("fail", "exempt")  # what a baseline holds: SARIF carries no passes or skips


def target(kind: str, namespace: str, name: str, container: str) -> str:
    """An object and container as SARIF's logical location names it (the formats use this)."""
    where = f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"
    return f"{where}/{container}" if container else where


def row_key(r: tuple) -> tuple[str, str]:
    return r[CHECK_ID], target(r[KIND], r[NAMESPACE], r[NAME], r[CONTAINER])


@dataclass(frozen=True)
class Baseline:
    file: str
    keys: Counter  # (check id, target) → how many findings the baseline has of it


@dataclass(frozen=True)
class Marks:
    """The findings of this run against a baseline: which rows it already knew.

    Rows are the run's own tuples, held by its Findings for as long as the Marks are used, so
    their identity marks them (two identical tuples can be one known and one new)."""

    file: str
    known: frozenset[int]  # id() of each known row

    def state(self, r: tuple) -> str | None:
        """"known" or "new" for a failure or exemption; None for a pass or skip (no finding)."""
        if id(r) in self.known:
            return "known"
        return "new" if r[STATUS] in PROBLEMS else None

    def new(self, rows: Iterable[tuple]) -> list[tuple]:
        return [r for r in rows if id(r) not in self.known]

    def known_failures(self, rows: Iterable[tuple]) -> int:
        return sum(1 for r in rows if r[STATUS] == "fail" and id(r) in self.known)


def mark(baseline: Baseline, rows: Iterable[tuple]) -> Marks:
    """Match this run's failures and exemptions to the baseline, in findings order."""
    left = Counter(baseline.keys)
    known = set()
    for r in rows:
        if r[STATUS] not in PROBLEMS:
            continue
        key = row_key(r)
        if left[key] > 0:  # a Counter's missing key reads 0 and is not added
            left[key] -= 1
            known.add(id(r))
    return Marks(baseline.file, frozenset(known))


def load(path: str) -> Baseline:
    """The baseline in `path`; ToolmanKitError naming it when it cannot be read as one."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as exc:
        raise ToolmanKitError(f"cannot read the baseline: {exc.strerror or exc}", path) from None
    except UnicodeDecodeError:
        raise ToolmanKitError("not a baseline: not UTF-8 text", path) from None
    except json.JSONDecodeError as exc:
        raise ToolmanKitError(f"not a baseline: invalid JSON ({exc.msg})", path,
                              exc.lineno) from None
    except RecursionError:
        raise ToolmanKitError("not a baseline: JSON nested too deeply", path) from None
    try:
        keys = _sarif_keys(doc) if isinstance(doc, dict) and "runs" in doc else _json_keys(doc)
    except (TypeError, KeyError, AttributeError, IndexError) as exc:
        raise ToolmanKitError(f"not a baseline: a finding without its check or object "
                              f"({type(exc).__name__}: {exc})", path) from None
    if keys is None:
        raise ToolmanKitError("not a baseline: neither a toolman-kit findings.json "
                              "(`check --format json`) nor a SARIF file it wrote", path)
    return Baseline(path, Counter(keys))


def _json_keys(doc: Any) -> list[tuple[str, str]] | None:
    if not isinstance(doc, dict) or not isinstance(doc.get("findings"), list):
        return None
    return [(_text(f["check_id"]), target(*(_text(f.get(c) or "") for c in
                                             ("kind", "namespace", "name", "container"))))
            for f in doc["findings"] if f["status"] in PROBLEMS]


def _sarif_keys(doc: dict) -> list[tuple[str, str]] | None:
    keys = []
    for run in doc["runs"]:
        if run["tool"]["driver"].get("name") != "toolman-kit":
            return None  # another tool's rules and locations mean other things
        for result in run.get("results") or ():
            where = result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
            keys.append((_text(result["ruleId"]), _text(where)))
    return keys


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {type(value).__name__}")  # no value echoed
    return value
