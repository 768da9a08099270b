"""What the batch client alone writes under DIR, each file atomically: history.csv (one row per run
and target, never rewritten but appended to), summary.json (the latest run, for notifications),
each target's `latest` link, and the pruning of old runs (`--keep`).

    DIR/index.html               the fleet page (page.py)
    DIR/history.csv              run_id, target, status, errors, warnings, info, passed, new,
                                 resolved, input_hash, seconds, error
    DIR/summary.json             the latest run: per target counts, new and resolved findings
    DIR/<target>/<run-id>/       a report, its manifests and run.json (task.py)
    DIR/<target>/latest          → the newest report of the target
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from toolman_kit.atomic import write_atomic
from toolman_kit.fleet.task import RUN_JSON, Outcome

HISTORY = "history.csv"
SUMMARY = "summary.json"
LATEST = "latest"
COLUMNS = ("run_id", "target", "status", "errors", "warnings", "info", "passed", "new",
           "resolved", "input_hash", "seconds", "error")
RUN_ID = re.compile(r"^\d{8}T\d{6}Z$")  # UTC, sortable: 20261201T020304Z


def read_history(out: Path) -> list[dict[str, str]]:
    try:
        with open(out / HISTORY, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    except FileNotFoundError:
        return []


def append_history(out: Path, outcomes: Iterable[Outcome]) -> None:
    """Add one row per outcome: the file is rewritten whole into place, never half-written."""
    rows = read_history(out) + [_row(o) for o in outcomes]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(out / HISTORY, text.getvalue())


def _row(o: Outcome) -> dict[str, Any]:
    c = o.counts
    return {"run_id": o.run_id, "target": o.target, "status": o.status,
            "errors": c.get("error", ""), "warnings": c.get("warning", ""),
            "info": c.get("info", ""), "passed": c.get("pass", ""), "new": len(o.new),
            "resolved": len(o.resolved), "input_hash": o.input_hash,
            "seconds": f"{o.seconds:.2f}", "error": o.error}


def write_summary(out: Path, run: dict[str, Any], outcomes: Sequence[Outcome]) -> None:
    totals = {status: sum(o.status == status for o in outcomes)
              for status in ("ok", "unchanged", "failed")}
    for key, count in (("errors", "error"), ("warnings", "warning")):
        totals[key] = sum(o.counts.get(count, 0) for o in outcomes)
    totals["new"] = sum(len(o.new) for o in outcomes)
    totals["resolved"] = sum(len(o.resolved) for o in outcomes)
    targets = [{k: v for k, v in asdict(o).items() if k not in ("checklist", "worker")}
               for o in outcomes]
    document = {**run, "totals": totals, "targets": targets}
    write_atomic(out / SUMMARY, json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def runs(out: Path, target: str) -> list[str]:
    """The target's finished runs (directories with run.json), oldest first."""
    directory = out / target
    if not directory.is_dir():
        return []
    return sorted(d.name for d in directory.iterdir()
                  if RUN_ID.match(d.name) and (d / RUN_JSON).is_file())


def latest_outcome(out: Path, target: str) -> Outcome | None:
    for run_id in reversed(runs(out, target)):
        try:
            return Outcome.read(out / target / run_id / RUN_JSON)
        except (OSError, ValueError, TypeError):
            continue
    return None


def point_latest(out: Path, target: str, run_id: str) -> None:
    """DIR/<target>/latest → <run_id>, replaced atomically (a relative link: DIR may move)."""
    link = out / target / LATEST
    tmp = link.with_name(f".{LATEST}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    os.symlink(run_id, tmp)
    os.replace(tmp, link)


def prune(out: Path, target: str, keep: int | None) -> list[str]:
    """Remove what no run needs: leftovers of interrupted tasks (hidden staging directories,
    runs without run.json) and, with `keep`, all but the newest `keep` runs. History keeps
    their rows. Returns the run ids removed."""
    directory = out / target
    if not directory.is_dir():
        return []
    finished = runs(out, target)
    removed = finished[:-keep] if keep else []
    for entry in directory.iterdir():
        leftover = entry.name.startswith(".") or (RUN_ID.match(entry.name)
                                                  and entry.name not in finished)
        if entry.is_dir() and not entry.is_symlink() and (leftover or entry.name in removed):
            shutil.rmtree(entry, ignore_errors=True)
    return removed
