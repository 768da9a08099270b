"""`toolman-kit batch FLEET.yaml`: reports for every target of a fleet, with history.

Exit status: 2 a target failed (or the batch could not start); else 1 when a target has findings
at or above --fail-on (default: error); else 0.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from toolman_kit.commands.options import (
    add_fail_on,
    add_jobs,
    add_offline,
    add_out_dir,
    add_render_bounds,
)


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "batch", help="report on every target of a fleet file, with history and a fleet page",
        description="Render and report on each target of FLEET.yaml into DIR/<target>/<run-id>/, "
                    "skip targets whose input did not change since their last run, and write "
                    "DIR/index.html (the fleet page), DIR/history.csv and DIR/summary.json.")
    p.add_argument("fleet", metavar="FLEET.yaml", help="the fleet file (see README: Fleet runs)")
    add_out_dir(p)
    add_jobs(p, "targets (each in its own worker process)")
    add_render_bounds(p)
    add_offline(p)
    p.add_argument("--only", action="append", metavar="NAME",
                   help="run only this target (repeatable; default: all); the page still shows "
                        "them all")
    p.add_argument("--force", action="store_true", help="redo targets whose input is unchanged")
    p.add_argument("--keep", type=int, metavar="N",
                   help="keep only the newest N runs of each target (default: all; history "
                        "keeps every row)")
    add_fail_on(p)
    p.add_argument("--dask-scheduler", metavar="ADDRESS",
                   help="run the targets on this Dask cluster (e.g. tcp://scheduler:8786); "
                        "DIR must be storage the workers share (default: local processes)")
    p.set_defaults(run=_batch)


def _batch(args: argparse.Namespace) -> int:
    from toolman_kit.fleet.runner import run_batch

    batch = run_batch(args.fleet, out=args.out, jobs=args.jobs, only=args.only,
                      force=args.force, keep=args.keep, fail_on=args.fail_on,
                      dask_scheduler=args.dask_scheduler, progress=sys.stderr,
                      config=args.config_path)
    counts = {s: sum(o.status == s for o in batch.outcomes) for s in ("ok", "unchanged",
                                                                      "failed")}
    print(f"{batch.out / 'index.html'}  run {batch.run_id}: {counts['ok']} reported, "
          f"{counts['unchanged']} unchanged, {counts['failed']} failed", file=sys.stderr)
    return batch.exit_status
