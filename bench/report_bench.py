"""The report benchmark: wall time of `toolman-kit report` on the Toolman example against the floor
that any notebook report pays, one bare kernel start and one HTML export.

    report  `python -m toolman_kit report --out <tmp>`: 5 notebooks, HTML, Markdown, JSON, SARIF
    floor   `papermill -k python3 empty.ipynb out.ipynb` + `jupyter nbconvert --to html out.ipynb`
            (both CLIs, as a user would run them; the empty notebook has one empty code cell)

Each is a fresh process, run --runs times (default 5) alternately so that other load on the
machine hits both alike; the medians are compared with the target (report ≤ 2.5 × floor).

    python bench/report_bench.py [--runs 5] [--jobs N]

Prints a small Markdown table and writes bench/results/report.json.
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
TARGET = 2.5


def timed(cmd: list[str], cwd: Path) -> float:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(ROOT),
                                                                    os.environ.get("PYTHONPATH"))))}
    started = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--jobs", type=int, help="passed to toolman-kit report --jobs")
    args = parser.parse_args()
    bindir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="tk-report-bench-") as tmp:
        work = Path(tmp)
        import nbformat

        nbformat.write(nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell("")],
            metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}}), work / "empty.ipynb")
        report = [sys.executable, "-m", "toolman_kit", "report", "--out", str(work / "report")]
        report += ["--jobs", str(args.jobs)] if args.jobs else []
        kernel = [str(bindir / "papermill"), "-k", "python3", "--no-progress-bar",
                  "empty.ipynb", "out.ipynb"]
        export = [str(bindir / "jupyter"), "nbconvert", "--to", "html", "out.ipynb"]
        timed(report, work)  # warm the page cache and the bytecode of both
        timed(kernel, work)
        times: dict[str, list[float]] = {"report": [], "kernel": [], "export": []}
        for _ in range(args.runs):
            times["report"].append(timed(report, work))
            times["kernel"].append(timed(kernel, work))
            times["export"].append(timed(export, work))
    median = {k: statistics.median(v) for k, v in times.items()}
    floor = median["kernel"] + median["export"]
    ratio = median["report"] / floor
    result = {"runs": args.runs, "cpus": os.cpu_count(), "jobs": args.jobs,
              "load_average": os.getloadavg(), "times": times, "median": median,
              "floor": floor, "ratio": ratio, "target": TARGET, "within_target": ratio <= TARGET}
    (BENCH / "results").mkdir(exist_ok=True)
    (BENCH / "results" / "report.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"| what | median of {args.runs} |\n|---|---|")
    print(f"| papermill, empty notebook (kernel start + shutdown) | {median['kernel']:.2f} s |")
    print(f"| jupyter nbconvert --to html | {median['export']:.2f} s |")
    print(f"| **floor** | **{floor:.2f} s** |")
    print(f"| toolman-kit report (5 notebooks, HTML, Markdown, JSON, SARIF) | "
          f"{median['report']:.2f} s |")
    print(f"| ratio (target ≤ {TARGET}×) | **{ratio:.2f}×** "
          f"{'✅' if ratio <= TARGET else '❌'} |")
    print(f"\n{os.cpu_count()} CPUs, load average before/after "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
