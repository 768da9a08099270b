"""The cost of `check --baseline` on a cluster: loading a baseline and matching a run to it.

    python bench/baseline_bench.py [--deployments 20000] [--rounds 3]

The cluster is bench/cluster.py's; the baselines are the kit's own outputs of the same run (a
full `--format json`, an `--only-failed` one and SARIF), so every failure is known: the match
does the most work it can. Prints, per baseline, its size and the median seconds to load it and
to mark the run's rows, and the median seconds of a whole `check --format json` in a process,
with and without the baseline.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def median_seconds(rounds: int, work) -> tuple[float, object]:
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deployments", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from bench.cluster import ensure
    from toolman_kit.analysis import Analysis
    from toolman_kit.judge import baseline
    from toolman_kit.present import formats

    path = ensure(args.deployments)
    a = Analysis.of(str(path))
    failed = sum(1 for _ in a.rows.failed())
    print(f"{path.name}: {len(a.rows):,} rows, {failed:,} failures")
    with tempfile.TemporaryDirectory() as tmp:
        files = {"json": Path(tmp, "b.json"), "json --only-failed": Path(tmp, "f.json"),
                 "sarif": Path(tmp, "b.sarif")}
        files["json"].write_text(formats.to_json(a), encoding="utf-8")
        files["json --only-failed"].write_text(formats.to_json(a, True), encoding="utf-8")
        files["sarif"].write_text(formats.to_sarif(a), encoding="utf-8")
        for name, file in files.items():
            load, b = median_seconds(args.rounds, lambda f=file: baseline.load(str(f)))
            match, marks = median_seconds(args.rounds, lambda b=b: baseline.mark(b, a.rows))
            assert marks.known_failures(a.rows) == failed  # every failure is known
            print(f"{name:>18}: {file.stat().st_size / 1e6:6.1f} MB, load {load:.2f} s, "
                  f"match {match:.2f} s")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        for extra in ([], ["--baseline", str(files["json --only-failed"])]):
            command = [sys.executable, "-m", "toolman_kit", "check", str(path), "--format",
                       "json", "-o", os.devnull, *extra]
            whole, _ = median_seconds(args.rounds, lambda c=command: subprocess.run(
                c, env=env, check=False, capture_output=True))
            print(f"check --format json {' '.join(extra[:1]) or '(no baseline)'}: {whole:.2f} s")


if __name__ == "__main__":
    main()
