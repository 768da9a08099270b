"""What the batch client alone writes under DIR, each file atomically: history.csv (one row per run
and target, never rewritten but appended to), summary.json (the latest run, for notifications),
each target's `latest` link, and the pruning of old runs (`--keep`).

    DIR/index.html               the fleet page (page.py)
    DIR/history.csv              run_id, target, status, errors, warnings, info, passed, new,
                                 resolved, input_hash, seconds, error
    DIR/summary.json             the latest run: per target counts, new and resolved findings
    DIR/<target>/<run-id>/       a report, its manifests and run.json (task.py)
    DIR/<target>/latest          → the newest report of the target

Nothing here follows a symbolic link it did not make: DIR/<target> must be a directory (lstat),
else it is neither listed, pruned nor linked into (the task fails that target, task.target_dir),
and history.csv is read only when it is a file of DIR's own.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import re
import shutil
import stat
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from toolman_kit.atomic import write_atomic
from toolman_kit.errors import FleetError
from toolman_kit.fleet.task import RUN_JSON, Outcome

HISTORY = "history.csv"
SUMMARY = "summary.json"
LATEST = "latest"
COLUMNS = ("run_id", "target", "status", "errors", "warnings", "info", "passed", "new",
           "resolved", "input_hash", "seconds", "error")
RUN_ID = re.compile(r"^\d{8}T\d{6}Z$")  # UTC, sortable: 20261201T020304Z
# What an interrupted task or batch leaves in DIR/<target>: a report's staging directory
# (.<run-id>.<random>.tmp), a previous one moved aside, a `latest` link being replaced.
LEFTOVER = re.compile(r"^\.(\d{8}T\d{6}Z\.|latest\.\d+\.tmp$)")


def read_history(out: Path) -> list[dict[str, str]]:
    try:
        f = open_own(out / HISTORY)
    except FileNotFoundError:
        return []
    with open(f, newline="", encoding="utf-8", errors="replace") as text:
        return list(csv.DictReader(text))


def open_own(path: Path, flags: int = os.O_RDONLY, mode: int = 0o666) -> int:
    """A descriptor of the regular file at `path`, opened without following a symbolic link
    (nor blocking on a FIFO): anything else there is a FleetError naming it."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, mode)
    except FileNotFoundError:
        raise
    except OSError as exc:
        what = ("is a symbolic link: not followed; remove it" if exc.errno == errno.ELOOP
                else f"cannot open: {exc.strerror}")
        raise FleetError(what, str(path)) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise FleetError("is not a regular file: remove it", str(path))
    os.set_blocking(fd, True)
    return fd


def append_history(out: Path, outcomes: Iterable[Outcome]) -> None:
    """Add one row per outcome (once: a run and target recorded already is not added again):
    the file is rewritten whole into place, never half-written."""
    rows = read_history(out)
    seen = {(r.get("run_id"), r.get("target")) for r in rows}
    rows += [_row(o) for o in outcomes if (o.run_id, o.target) not in seen]
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


def own_dir(out: Path, target: str) -> Path | None:
    """DIR/<target> when it is a directory (lstat: a symbolic link there is never followed)."""
    try:
        return out / target if stat.S_ISDIR(os.lstat(out / target).st_mode) else None
    except OSError:
        return None


def runs(out: Path, target: str, until: str | None = None) -> list[str]:
    """The target's finished runs (directories with run.json), oldest first; with `until`,
    those up to that run id (a run recorded in the future is not the last one)."""
    directory = own_dir(out, target)
    if directory is None:
        return []
    return sorted(d.name for d in directory.iterdir()
                  if RUN_ID.match(d.name) and (until is None or d.name <= until)
                  and not d.is_symlink() and (d / RUN_JSON).is_file())


def latest_outcome(out: Path, target: str) -> Outcome | None:
    for run_id in reversed(runs(out, target)):
        try:
            return Outcome.read(out / target / run_id / RUN_JSON)
        except (OSError, ValueError, TypeError):
            continue
    return None


def point_latest(out: Path, target: str, run_id: str) -> None:
    """DIR/<target>/latest → <run_id>, replaced atomically (a relative link: DIR may move)."""
    if own_dir(out, target) is None:
        return
    link = out / target / LATEST
    tmp = link.with_name(f".{LATEST}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    os.symlink(run_id, tmp)
    os.replace(tmp, link)


def prune(out: Path, target: str, keep: int | None, until: str | None = None) -> list[str]:
    """Remove what no run needs: leftovers of interrupted tasks (LEFTOVER, runs without
    run.json) and, with `keep`, all but the newest `keep` runs up to `until` (later ones, in the
    future, are left alone). Only the kit's names in a DIR/<target> of DIR's own are touched,
    never through a symbolic link. History keeps their rows. Returns the run ids removed."""
    directory = own_dir(out, target)
    if directory is None:
        return []
    finished = runs(out, target)
    counted = runs(out, target, until)
    removed = counted[:-keep] if keep else []
    for entry in directory.iterdir():
        st = os.lstat(entry)
        leftover = LEFTOVER.match(entry.name) or (RUN_ID.match(entry.name)
                                                  and entry.name not in finished)
        if stat.S_ISDIR(st.st_mode) and (leftover or entry.name in removed):
            shutil.rmtree(entry, ignore_errors=True)
        elif stat.S_ISLNK(st.st_mode) and leftover and entry.name.startswith(".latest."):
            entry.unlink()
    return removed
