"""Whole-process timings, the way users run the kit: every sample is a fresh process, timed from
outside (wall clock) with its peak RSS from wait4; the report gives medians. formats and api run
their commands in rounds (each once per round) and give each ratio as the median of the
per-round ratios, so that the machine's drift between rounds cancels out.

  startup   `toolman-kit check examples/toolman/rendered/default.yaml`, `toolman-kit checks` and
            `import toolman_kit` (target: ≤ 0.4 s, also in a venv with the [lab] extra: --python)
  formats   on a cluster-sized List of Deployments (bench/cluster.py): load + analysis alone, then
            `toolman-kit check FILE --format F -o OUT` for every format (targets: time ≤ 1.5× and
            peak RSS ≤ 2× load + analysis)
  api       `tk.analyze(tk.load(F))` on the 10,000-object corpus (bench/corpus.py) next to the
            bare CSafeLoader parse of F in its own process (target: ≤ 1.6×)

    python bench/processes.py [startup] [formats] [api] [--runs 5] [--deployments 20000]
                              [--formats json,markdown]
                              [--python /tmp/lab/bin/python] [--source DIR]

--source runs another checkout's toolman_kit (e.g. `git archive` of an older commit) with the
same interpreter; --compare DIR runs this checkout and DIR's alternately, sample by sample, so a
shared machine's drift hits both alike (before/after figures). Results go to
bench/results/processes.json.
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
from collections.abc import Sequence
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
import cluster  # noqa: E402  (bench/ is not a package)
import corpus  # noqa: E402

FORMATS = ("table", "json", "csv", "markdown", "sarif", "junit")
EXAMPLE = "examples/toolman/rendered/default.yaml"
ANALYSIS = ("import sys\nfrom toolman_kit.analysis import Analysis\n"
            "from toolman_kit.read.manifests import load\n"
            "Analysis.of(load(sys.argv[1]), errors='ignore')")
FLOOR = ("import sys, yaml\ntext = open(sys.argv[1], encoding='utf-8').read()\n"
         "list(yaml.load_all(text, Loader=yaml.CSafeLoader))")
API = "import sys\nimport toolman_kit as tk\ntk.analyze(tk.load(sys.argv[1]))"


def sample(argv: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """(wall seconds, peak RSS MB, CPU seconds) of one fresh process; its output is discarded.
    It runs in the checkout measured: `python -c` puts the working directory first on sys.path.
    CPU time (user + system) moves less than wall time when other work shares the cores."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=env.get("PYTHONPATH", ROOT), env=env,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


COMPARE: dict[str, str] = {}  # --compare: the other checkout's PYTHONPATH


def compile_tree(tree: Path) -> None:
    """Bytecode for the package measured, as a user's install has it (pip compiles on install,
    an editable checkout writes __pycache__ on its first import). Without it, where
    PYTHONDONTWRITEBYTECODE is set (CI, this machine), every sample compiles the package again."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "toolman_kit")],
                   check=True)


def summary(shown: str, argv: list[str], samples: list[tuple[float, float, float]]) -> dict:
    """The samples of one command with their medians, printed as one line."""
    r: dict = {"name": shown, "argv": argv, "wall": [x[0] for x in samples],
               "rss_mb": [x[1] for x in samples], "cpu": [x[2] for x in samples]}
    r["median_s"] = statistics.median(r["wall"])
    r["median_rss_mb"] = statistics.median(r["rss_mb"])
    r["median_cpu_s"] = statistics.median(r["cpu"])
    print(f"  {shown:<44} {r['median_s']:8.3f} s  (min {min(r['wall']):.3f}, max "
          f"{max(r['wall']):.3f})  CPU {r['median_cpu_s']:7.3f} s  {r['median_rss_mb']:8.1f} MB",
          flush=True)
    return r


def measure(name: str, argv: list[str], env: dict[str, str], runs: int) -> dict:
    envs = {"": env}
    if COMPARE:
        envs["compared"] = {**env, **COMPARE}
    samples: dict[str, list[tuple[float, float, float]]] = {label: [] for label in envs}
    for _ in range(runs):  # alternate, so that the machine's drift hits both alike
        for label, e in envs.items():
            samples[label].append(sample(argv, e))
    result = {}
    for label, got in samples.items():
        r = summary(f"{name} [{label}]" if label else name, argv, got)
        if label:
            result[label] = r
        else:
            result.update(r)
    return result


def startup(python: str, env: dict[str, str], runs: int) -> list[dict]:
    cli = [python, "-m", "toolman_kit"]
    print(f"start-up ({python}), median of {runs}:")
    return [measure("python -c pass", [python, "-c", "pass"], env, runs),
            measure("import toolman_kit", [python, "-c", "import toolman_kit"], env, runs),
            measure("check default.yaml", [*cli, "check", EXAMPLE], env, runs),
            measure("check default.yaml --format sarif", [*cli, "check", EXAMPLE, "--format",
                                                          "sarif"], env, runs),
            measure("checks", [*cli, "checks"], env, runs)]


def rounds(commands: dict[str, list[str]], env: dict[str, str], runs: int,
           reference: str) -> dict[str, dict]:
    """Every command once per round, round after round, and each command's ratio to
    `reference` taken within each round (the median of those is reported): this VM's speed
    drifts by a third within minutes, which a ratio of medians taken minutes apart would
    measure instead of the code."""
    got: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            got[name].append(sample(argv, env))
    results = {}
    for name, samples in got.items():
        pairs = list(zip(samples, got[reference], strict=True))
        r = summary(name, commands[name], samples)
        r["time_ratio"] = statistics.median(x[0] / y[0] for x, y in pairs)
        r["cpu_ratio"] = statistics.median(x[2] / y[2] for x, y in pairs)
        r["rss_ratio"] = statistics.median(x[1] / y[1] for x, y in pairs)
        if name != reference:
            print(f"    ×{r['time_ratio']:.2f} time, ×{r['cpu_ratio']:.2f} CPU, "
                  f"×{r['rss_ratio']:.2f} peak RSS of {reference} (medians of the per-round "
                  "ratios)")
        results[name] = r
    return results


def formats(python: str, env: dict[str, str], runs: int, deployments: int,
            which: Sequence[str] = FORMATS) -> list[dict]:
    path = cluster.ensure(deployments)
    print(f"formats on {path.name} ({path.stat().st_size / 2**20:.1f} MB), {runs} rounds:")
    with tempfile.TemporaryDirectory() as tmp:
        outs = {f"check --format {fmt}": Path(tmp) / f"out.{fmt}" for fmt in which}
        commands = {"load + analysis": [python, "-c", ANALYSIS, str(path)],
                    **{name: [python, "-m", "toolman_kit", "check", str(path), "--format",
                              name.rsplit(" ", 1)[1], "-o", str(out), "--fail-on", "never"]
                       for name, out in outs.items()}}
        results = rounds(commands, env, runs, "load + analysis")
        for name, out in outs.items():
            results[name]["output_mb"] = out.stat().st_size / 2**20
            print(f"  {name}: {results[name]['output_mb']:.1f} MB written")
    return list(results.values())


def api(python: str, env: dict[str, str], runs: int) -> list[dict]:
    path = corpus.CORPUS_DIR / "toolman-10000.yaml"
    if not path.exists():
        subprocess.run([python, str(BENCH / "corpus.py"), "--sizes", "10000"], check=True,
                       cwd=ROOT, env=env)
    print(f"whole process on {path.name}, {runs} rounds (target ≤ 1.6× the parse):")
    return list(rounds({"CSafeLoader parse": [python, "-c", FLOOR, str(path)],
                        "tk.analyze(tk.load(F))": [python, "-c", API, str(path)]},
                       env, runs, "CSafeLoader parse").values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="*", default=["startup", "formats", "api"],
                        choices=("startup", "formats", "api"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--deployments", type=int, default=cluster.DEFAULT_DEPLOYMENTS)
    parser.add_argument("--formats", type=lambda s: s.split(","), default=FORMATS,
                        help="formats to time, comma-separated (default: all)")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--source", type=Path, help="a checkout whose toolman_kit to run")
    parser.add_argument("--compare", type=Path, help="a checkout to run alternately with this")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.source:
        env["PYTHONPATH"] = str(args.source.resolve())
    if args.compare:
        COMPARE["PYTHONPATH"] = str(args.compare.resolve())
    for tree in {(args.source or ROOT).resolve(), *([args.compare.resolve()] if args.compare
                                                     else [])}:
        compile_tree(tree)
    load_before = os.getloadavg()[0]
    report = {"python": args.python, "source": str(args.source or ROOT), "runs": args.runs,
              "nproc": os.cpu_count(), "load_average_start": load_before}
    for what in args.what:
        runner = {"startup": lambda: startup(args.python, env, args.runs),
                  "formats": lambda: formats(args.python, env, args.runs, args.deployments,
                                             args.formats),
                  "api": lambda: api(args.python, env, args.runs)}[what]
        report[what] = runner()
    report["load_average_end"] = os.getloadavg()[0]
    print(f"load average {load_before:.2f} → {report['load_average_end']:.2f} on "
          f"{os.cpu_count()} cores")
    out = BENCH / "results" / "processes.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
