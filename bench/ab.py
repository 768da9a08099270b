"""A/B: the analysis of one corpus by two source trees, alternated in the same period.

On a shared machine two benchmark runs minutes apart are not comparable; this runs the base tree
and this tree turn about, each in a fresh process with the same interpreter and libraries, and
reports the medians of the wall and CPU time of `Analysis.of(corpus, profile="production")`.

    python bench/ab.py --base /tmp/base-checkout [--size 10000] [--runs 7]

The base is a plain checkout of another commit (e.g. `git archive <commit> | tar -x -C DIR`);
its `toolman_kit` is put first on the path of its worker processes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
import corpus  # noqa: E402  (bench/ is not a package)

WORKER = """
import gc, json, sys, time
sys.path.insert(0, sys.argv[1])
import toolman_kit
from toolman_kit.analysis import Analysis
from toolman_kit.judge.registry import catalogue
catalogue()
gc.collect()
wall, cpu = time.perf_counter(), time.process_time()
a = Analysis.of(sys.argv[2], profile="production")
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
assert toolman_kit.__file__.startswith(sys.argv[1]), toolman_kit.__file__
print(json.dumps({"wall": wall, "cpu": cpu, "rows": len(a.findings)}))
"""


def measure(tree: Path, path: Path) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run([sys.executable, "-c", WORKER, str(tree), str(path)],
                          capture_output=True, text=True, cwd=tree, env=env)
    if done.returncode != 0:
        raise SystemExit(f"worker in {tree} failed:\n{done.stderr.strip()}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, type=Path, help="checkout of the base commit")
    parser.add_argument("--size", type=int, default=10000, help="corpus size in objects")
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per tree")
    args = parser.parse_args(argv)
    path, _ = corpus.ensure(args.size)
    trees = {"base": args.base.resolve(), "head": ROOT}
    samples: dict[str, list[dict]] = {name: [] for name in trees}
    load = os.getloadavg()[0]
    for i in range(args.runs):
        order = list(trees) if i % 2 == 0 else list(reversed(trees))  # no tree always goes first
        for name in order:
            samples[name].append(measure(trees[name], path))
    print(f"{args.size:,} objects, {args.runs} fresh processes per tree, alternated; load "
          f"average {load:.2f} at the start, {os.getloadavg()[0]:.2f} at the end")
    print("| tree | median wall s | min wall s | median CPU s | rows |")
    print("|---|---:|---:|---:|---:|")
    medians = {}
    for name, runs in samples.items():
        wall = statistics.median(r["wall"] for r in runs)
        cpu = medians[name] = statistics.median(r["cpu"] for r in runs)
        print(f"| {name} | {wall:.3f} | {min(r['wall'] for r in runs):.3f} | {cpu:.3f} | "
              f"{runs[0]['rows']:,} |")
    print(f"head vs base (median CPU): {medians['head'] / medians['base'] - 1:+.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
