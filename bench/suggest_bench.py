"""The suggestion benchmark: `toolman-kit suggest` on the Toolman example and on the generated
platform chart (bench/values_bench.py makes it), and what `--suggest` adds to `toolman-kit report`.

    python bench/suggest_bench.py [--runs 3] [--components 12] [--no-report]

Each measurement is a fresh process (imports included). `suggest` runs with `--jobs 1` (renders
in-process) and `--jobs 2` (the process pool when it pays) alternating; the report runs with and
without `--suggest` alternating, so that other load on the machine hits both alike. Prints
Markdown (medians, render counts, what was fixed); writes bench/results/suggest.json.
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
EXAMPLE = ROOT / "examples" / "toolman"
sys.path.insert(0, str(BENCH))

from values_bench import generate  # noqa: E402 - the same generated platform chart


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "toolman_kit", *argv], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr[-2000:]}")
    return seconds


def suggest_case(name: str, argv: list[str], runs: int) -> dict:
    times: dict[str, list[float]] = {"1": [], "2": []}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "s.json"
        for _ in range(runs):
            for jobs in ("1", "2"):
                times[jobs].append(timed(["suggest", *argv, "--format", "json", "-o", str(out),
                                          "--jobs", jobs]))
        doc = json.loads(out.read_text())
    return {"case": name, "renders": doc["renders"]["count"], "fixed": len(doc["fixed"]),
            "remaining": len(doc["remaining"]), "introduced": len(doc["introduced"]),
            "median_jobs1": statistics.median(times["1"]),
            "median_jobs2": statistics.median(times["2"]), "times": times}


def report_case(runs: int) -> dict:
    times: dict[str, list[float]] = {"plain": [], "suggest": []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(runs):
            for mode in ("plain", "suggest"):
                extra = ["--suggest"] if mode == "suggest" else []
                times[mode].append(timed(["report", "--out", str(Path(tmp) / mode), *extra]))
    return {"case": "toolman report", "median_plain": statistics.median(times["plain"]),
            "median_suggest": statistics.median(times["suggest"]), "times": times}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--components", type=int, default=12, choices=range(1, 17),
                        metavar="N", help="components of the platform chart")
    parser.add_argument("--no-report", action="store_true", help="skip the report A/B")
    args = parser.parse_args()
    big = generate(args.components)
    cases = [
        suggest_case("toolman (from the chart defaults)", [
            "--chart", str(EXAMPLE / "chart"), "--release", "toolman", "-n", "toolman",
            "--profile", str(EXAMPLE / "profile.yaml")], args.runs),
        suggest_case(f"platform, {args.components} components (from the defaults)", [
            "--chart", str(big), "--max-renders", "5000"], args.runs)]
    lines = ["| case | renders | fixed | remain | introduced | median s, --jobs 1 | "
             "median s, --jobs 2 |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {c['case']} | {c['renders']} | {c['fixed']} | {c['remaining']} | "
              f"{c['introduced']} | {c['median_jobs1']:.1f} | {c['median_jobs2']:.1f} |"
              for c in cases]
    results: dict = {"suggest": cases}
    if not args.no_report:
        r = report_case(args.runs)
        results["report"] = r
        lines += ["", "| toolman-kit report (Toolman example) | median s |", "|---|---|",
                  f"| without --suggest | {r['median_plain']:.1f} |",
                  f"| with --suggest | {r['median_suggest']:.1f} |"]
    print("\n".join(lines))
    print(f"\n{args.runs} fresh processes per cell, alternating; {os.cpu_count()} CPUs "
          f"(load average {os.getloadavg()[0]:.1f} at the end).")
    (BENCH / "results").mkdir(exist_ok=True)
    (BENCH / "results" / "suggest.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
