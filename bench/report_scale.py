"""The report at the sizes users have: wall time and page size of `toolman-kit report`.

    toolman   the embedded example (`toolman-kit report`: production values against the defaults)
    cluster   14 releases of the 12-service platform (bench/platform_chart.py): 168 workloads in
              1,059 objects, no baseline

Targets: the cluster report ≤ 8 s on 2 cores with its index.html ≤ 300 KB; the Toolman report no
slower than before. `--against DIR` runs the same commands with another checkout of the kit
first on PYTHONPATH (e.g. `git worktree add /tmp/before main`), alternating A and B run by run so
that load from other processes hits both alike; each run is a fresh process.

    python bench/report_scale.py [--runs 5] [--against /tmp/before] [--inputs toolman,cluster]

Prints a Markdown table and writes bench/results/report-scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
import platform_chart  # noqa: E402

TARGET_SECONDS, TARGET_BYTES = 8.0, 300_000


def run(tree: Path, args: list[str], out: Path) -> tuple[float, int]:
    """(wall seconds, index.html bytes) of one `toolman-kit report` in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "toolman_kit", "report", *args, "--out", str(out)],
                   cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - started, (out / "index.html").stat().st_size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--against", type=Path, help="another checkout to compare with")
    parser.add_argument("--inputs", default="toolman,cluster")
    args = parser.parse_args()
    trees = {"this": ROOT, **({"against": args.against.resolve()} if args.against else {})}
    results: dict[str, dict[str, list]] = {}
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="tk-report-scale-") as tmp:
        work = Path(tmp)
        (work / "cluster.yaml").write_text(platform_chart.cluster(14))
        commands = {"toolman": [], "cluster": [str(work / "cluster.yaml")]}
        for name in args.inputs.split(","):
            for label, tree in trees.items():
                run(tree, commands[name], work / "warm")  # page cache, bytecode
                results[f"{name} {label}"] = {"seconds": [], "bytes": []}
            for i in range(args.runs):
                for label, tree in trees.items():
                    seconds, size = run(tree, commands[name], work / f"{label}-{i}")
                    results[f"{name} {label}"]["seconds"].append(seconds)
                    results[f"{name} {label}"]["bytes"].append(size)
            load.append(os.getloadavg()[0])
    print(f"| report | median s of {args.runs} | min–max s | index.html KB |\n|---|---:|---:|---:|")
    for key, r in results.items():
        s = r["seconds"]
        print(f"| {key} | {statistics.median(s):.2f} | {min(s):.2f}–{max(s):.2f} | "
              f"{r['bytes'][-1] / 1000:.0f} |")
    print(f"\n{os.cpu_count()} CPUs; 1-minute load average {', '.join(f'{x:.2f}' for x in load)} "
          f"(start, after each input). Targets: cluster ≤ {TARGET_SECONDS:.0f} s and index.html "
          f"≤ {TARGET_BYTES // 1000} KB; toolman no slower than before.")
    (BENCH / "results").mkdir(exist_ok=True)
    (BENCH / "results" / "report-scale.json").write_text(json.dumps(
        {"runs": args.runs, "trees": {k: str(v) for k, v in trees.items()}, "load": load,
         "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
