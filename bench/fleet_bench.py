"""How long does `toolman-kit batch` take for a fleet of chart-sized targets?

    .venv/bin/python bench/fleet_bench.py                 # 30 targets, 3 rounds
    .venv/bin/python bench/fleet_bench.py --targets 10 --runs 1 --jobs 2

The fleet: N targets, each the Toolman example chart (examples/toolman/chart, 9 objects with its
production values) rendered with its own values file on top of the production values, so every
target renders differently (replica count, image tag, memory request). Each round uses a fresh
output directory and runs the CLI in a fresh process twice:
  * first: every target rendered, analyzed and reported (the notebooks, HTML, data files);
  * unchanged: the same fleet again, nothing changed: every target is rendered and hashed,
    found unchanged, and the history, summary and fleet page are written.
Targets (issue 9): first ≤ 60 s, unchanged ≤ 5 s for 30 targets on 2 cores. The wall time of the
whole command is measured, start-up included. Results go to bench/results/fleet.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "examples" / "toolman" / "chart"
PROFILE = ROOT / "examples" / "toolman" / "profile.yaml"
CLI = Path(sys.executable).with_name("toolman-kit")
TARGETS = {"first": 60.0, "unchanged": 5.0}


def make_fleet(directory: Path, n: int) -> Path:
    lines = ["defaults: {kube_version: \"1.31\"}", "targets:"]
    for i in range(n):
        values = directory / f"values-{i:02d}.yaml"
        values.write_text(f"replicaCount: {1 + i % 4}\nimage:\n  tag: v0.4.{i}\n"
                          f"resources:\n  requests:\n    memory: {256 + 64 * (i % 5)}Mi\n")
        lines += [f"  - name: service-{i:02d}", f"    chart: {CHART}",
                  f"    values: [{CHART / 'values-production.yaml'}, {values}]",
                  f"    release: service-{i:02d}", "    namespace: toolman",
                  f"    profile: {PROFILE}"]
    fleet = directory / "fleet.yaml"
    fleet.write_text("\n".join(lines) + "\n")
    return fleet


def timed(fleet: Path, out: Path, jobs: int | None) -> tuple[float, float, int, str]:
    """(wall s, CPU s of the whole process tree: the CLI, its workers and their kernels, exit
    status, last line of stderr)."""
    command = [str(CLI), "batch", str(fleet), "--out", str(out), "--fail-on", "never"]
    if jobs:
        command += ["-j", str(jobs)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.returncode, done.stderr.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3, help="rounds (fresh output each)")
    parser.add_argument("--jobs", type=int, help="-j for the batch (default: its own: CPUs)")
    args = parser.parse_args()
    samples: dict[str, list[float]] = {"first": [], "unchanged": []}
    cpu: dict[str, list[float]] = {"first": [], "unchanged": []}
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="fleet-bench-") as tmp:
        fleet = make_fleet(Path(tmp), args.targets)
        for r in range(args.runs):
            out = Path(tmp) / f"out-{r}"
            for stage in ("first", "unchanged"):
                seconds, used, code, last = timed(fleet, out, args.jobs)
                if code != 0:
                    raise SystemExit(f"{stage} run failed ({code}): {last}")
                samples[stage].append(seconds)
                cpu[stage].append(used)
                print(f"round {r + 1} {stage}: {seconds:.1f}s wall, {used:.1f}s CPU  ({last})",
                      file=sys.stderr)
    load.append(os.getloadavg()[0])
    rows = []
    for stage, values in samples.items():
        median = statistics.median(values)
        rows.append({"stage": stage, "median_s": round(median, 2),
                     "cpu_s": round(statistics.median(cpu[stage]), 2),
                     "min_s": round(min(values), 2), "max_s": round(max(values), 2),
                     "per_target_s": round(median / args.targets, 3),
                     "target_s": TARGETS[stage] * args.targets / 30,
                     "met": median <= TARGETS[stage] * args.targets / 30, "samples": values})
    result = {"targets": args.targets, "runs": args.runs, "jobs": args.jobs or os.cpu_count(),
              "cpus": os.cpu_count(), "load_average": load, "rows": rows,
              "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "fleet.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"{args.targets} chart-sized targets, -j {result['jobs']} on {os.cpu_count()} CPUs, "
          f"{args.runs} round(s); load average {load[0]:.2f} at the start, {load[1]:.2f} at "
          "the end\n")
    print("| run | median s | min–max s | CPU s (all processes) | s per target | target | met |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for row in rows:
        print(f"| {row['stage']} | {row['median_s']:.1f} | {row['min_s']:.1f}–{row['max_s']:.1f}"
              f" | {row['cpu_s']:.1f} | {row['per_target_s']:.2f} | ≤ {row['target_s']:.0f} | "
              f"{'yes' if row['met'] else 'NO'} |")
    print(f"\nWith {os.cpu_count()} CPUs to itself, a run cannot take less than CPU s ÷ "
          f"{os.cpu_count()}; under contention wall time is the noisier figure.")


if __name__ == "__main__":
    main()
