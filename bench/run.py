"""The benchmark: how fast and how big is an analysis, next to the bare YAML parse it cannot beat?

For each corpus size (bench/corpus.py makes them) every measurement runs in a fresh Python process,
so imports, the check catalogue, caches and a warm heap never flatter a later run; the parent only
collects numbers. Stages, each timed with time.perf_counter around the one call (imports and
reading the corpus for the floor happen before the clock starts):

  floor     list(yaml.load_all(text, Loader=yaml.CSafeLoader))   the text already in memory
  load      toolman_kit.load(path)                               read + split + parse + Resources
  analysis  Analysis.of(path, profile="production").findings     load + index + checks + frame

plus, unless --quick, a per-phase split of the analysis (load / profile / index / checks / frame),
each check's own time, one tracemalloc run per stage, and a cProfile of the analysis of the
largest corpus.

    python bench/run.py [--sizes 1000,10000] [--runs 5] [--quick] [--no-profile] [--check]
                        [--readme]

Prints a Markdown report and writes bench/results/latest.json (--quick: quick.json), the
profile as bench/results/profile-<N>.prof and its top functions as profile-<N>.txt.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
STAGES = ("floor", "load", "analysis")
PHASES = ("load", "profile", "index", "checks", "frame", "other")
GROWTH_LIMIT = 1.5  # --check: analysis time ratio ÷ object ratio
OVERHEAD_TARGET = 50.0  # % of the floor that the whole analysis may add
TOP = 10

sys.path.insert(0, str(BENCH))
import corpus  # noqa: E402  (bench/ is not a package)

# ---------------------------------------------------------------------------------------------
# The worker: one measurement in a fresh process; prints one JSON line.

def worker(stage: str, path: str, memory: bool, profile_out: str | None) -> dict:
    import resource

    def maxrss_mb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB

    started = time.perf_counter()
    import yaml

    if stage != "floor":
        sys.path.insert(0, str(ROOT))
        import toolman_kit  # noqa: F401
        from toolman_kit import Analysis, load
    if stage not in ("floor", "load"):  # the findings frame needs it; a notebook has it already
        import pandas  # noqa: F401
    imported = time.perf_counter() - started
    text = Path(path).read_text(encoding="utf-8") if stage == "floor" else None
    loader = getattr(yaml, "CSafeLoader", None)
    if loader is None:
        raise SystemExit("PyYAML has no CSafeLoader (no libyaml): the floor would be meaningless")

    phases: dict[str, float] = {}
    if stage == "floor":
        def op():
            return len(list(yaml.load_all(text, Loader=loader)))
    elif stage == "load":
        def op():
            return len(load(path))
    elif stage == "analysis":
        def op():
            a = Analysis.of(path, profile="production")
            return len(a.manifests), len(a.findings), len(a.errors)
    elif stage == "phases":  # Analysis.of itself, with what it calls wrapped in clocks
        from toolman_kit import analysis as analysis_module
        from toolman_kit.judge import engine

        def clocked(phase, fn, exclude=()):
            def wrapper(*args, **kwargs):
                t = time.perf_counter()
                try:
                    return fn(*args, **kwargs)
                finally:
                    spent = time.perf_counter() - t - sum(phases.get(e, 0.0) for e in exclude)
                    phases[phase] = phases.get(phase, 0.0) + spent
            return wrapper

        from toolman_kit.judge import findings as findings_module

        # Analysis.of loads, indexes and runs the checks; the findings frame is built when
        # a.findings is first read, as a notebook does
        analysis_module.read.load = clocked("load", analysis_module.read.load)
        findings_module.frame = clocked("frame", findings_module.frame)
        for name, phase in (("load_profile", "profile"), ("Index", "index")):
            setattr(analysis_module, name, clocked(phase, getattr(analysis_module, name)))
        analysis_module.engine = type("EngineClock", (), {
            "run": staticmethod(clocked("checks", engine.run))})

        def op():
            a = Analysis.of(path, profile="production")
            return len(a.manifests), len(a.findings), len(a.errors)
    elif stage == "percheck":  # every check's own time, summed over the objects it ran on
        import dataclasses

        from toolman_kit.judge import registry

        registry.catalogue()
        per_check: dict[str, list] = {}

        def timed(check_id, fn):
            cell = per_check.setdefault(check_id, [0.0, 0])

            def wrapper(*args):
                t = time.perf_counter()
                try:
                    outcomes = list(fn(*args))
                except Exception as exc:  # the engine records it: hand it over unchanged
                    def fail(exc=exc):
                        raise exc
                        yield  # noqa: B901 - makes this a generator
                    outcomes = fail()
                cell[0] += time.perf_counter() - t
                cell[1] += 1
                return iter(outcomes) if isinstance(outcomes, list) else outcomes
            return wrapper

        for check_id, c in list(registry.CATALOGUE.items()):
            registry.CATALOGUE[check_id] = dataclasses.replace(c, fn=timed(check_id, c.fn))

        def op():
            a = Analysis.of(path, profile="production")
            phases.update({k: v[0] for k, v in per_check.items()})
            phases.update({f"{k}#calls": v[1] for k, v in per_check.items()})
            return len(a.manifests), len(a.findings), len(a.errors)
    else:
        raise SystemExit(f"unknown stage {stage!r}")

    rss_before = maxrss_mb()
    if memory:
        import tracemalloc

        tracemalloc.start()
    profiler = None
    if profile_out:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    t, cpu = time.perf_counter(), time.process_time()
    result = op()
    seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
    if stage == "phases":
        phases["other"] = seconds - sum(phases.values())
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile_out)
    out = {"stage": stage, "seconds": seconds, "cpu_seconds": cpu, "import_seconds": imported,
           "result": result,
           "maxrss_mb": maxrss_mb(), "maxrss_before_mb": rss_before, "phases": phases}
    if memory:
        out["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return out


def measure(stage: str, path: Path, memory: bool = False, profile_out: Path | None = None) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", stage, str(path)]
    if memory:
        cmd.append("--memory")
    if profile_out:
        cmd += ["--profile-out", str(profile_out)]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
    if done.returncode != 0:
        raise SystemExit(f"worker {stage} on {path.name} failed:\n{done.stderr.strip()}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------
# The parent: corpora, repetitions, medians, the report.

def machine() -> dict:
    import yaml

    try:
        cpu = next((line.split(":", 1)[1].strip() for line in
                    Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), platform.processor())
    except OSError:
        cpu = platform.processor()
    pandas_version = subprocess.run(
        [sys.executable, "-c", "import pandas; print(pandas.__version__)"],
        capture_output=True, text=True).stdout.strip()
    return {
        "nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
        "implementation": platform.python_implementation(), "platform": platform.platform(),
        "pyyaml": yaml.__version__, "libyaml": bool(getattr(yaml, "__with_libyaml__", False)),
        "pandas": pandas_version, "loadavg_at_start": list(os.getloadavg()),
    }


def git_state() -> dict:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT)
        return done.stdout.strip() if done.returncode == 0 else ""

    digest = hashlib.sha256()
    for file in sorted((ROOT / "toolman_kit").rglob("*")):
        if file.is_file() and file.suffix in (".py", ".yaml", ".json"):
            digest.update(str(file.relative_to(ROOT)).encode() + b"\0" + file.read_bytes())
    return {"commit": git("rev-parse", "--short", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--", "toolman_kit")),
            "toolman_kit_sha256": digest.hexdigest()[:16]}


def run_size(n: int, runs: int, quick: bool, seed: int, namespaces: int) -> dict:
    path, facts = corpus.ensure(n, seed, namespaces)
    stages = STAGES if quick else (*STAGES, "phases")
    samples: dict[str, list[dict]] = {s: [] for s in stages}
    for i in range(runs):  # interleaved, so drift on a shared machine hits every stage alike
        for stage in stages:
            samples[stage].append(measure(stage, path))
        print(f"  {n} objects: run {i + 1}/{runs} "
              + " ".join(f"{s}={samples[s][-1]['seconds']:.2f}s" for s in stages),
              file=sys.stderr, flush=True)
    memory = {} if quick else {s: measure(s, path, memory=True) for s in STAGES}
    per_check = None
    if not quick:
        raw = measure("percheck", path)["phases"]
        per_check = {k: {"seconds": v, "calls": raw[f"{k}#calls"]}
                     for k, v in raw.items() if "#" not in k}
    summary = {}
    for stage in STAGES:
        seconds = [s["seconds"] for s in samples[stage]]
        med = statistics.median(seconds)
        summary[stage] = {
            "median_s": med, "min_s": min(seconds), "max_s": max(seconds),
            "cpu_median_s": statistics.median(s["cpu_seconds"] for s in samples[stage]),
            "objects_per_s": n / med,
            "import_s": statistics.median(s["import_seconds"] for s in samples[stage]),
            "peak_rss_mb": statistics.median(s["maxrss_mb"] for s in samples[stage]),
            "rss_growth_mb": statistics.median(s["maxrss_mb"] - s["maxrss_before_mb"]
                                               for s in samples[stage]),
            "tracemalloc_peak_mb": memory[stage]["tracemalloc_peak_mb"] if memory else None,
            "result": samples[stage][0]["result"],
        }
    floor = summary["floor"]["median_s"]
    for stage in ("load", "analysis"):
        summary[stage]["overhead_pct"] = (summary[stage]["median_s"] / floor - 1) * 100
    phases = None
    if "phases" in samples:
        phases = {p: statistics.median(s["phases"].get(p, 0.0) for s in samples["phases"])
                  for p in PHASES}
    return {"objects": n, "corpus": str(path.relative_to(ROOT)), "facts": facts,
            "stages": summary, "phases_median_s": phases, "per_check": per_check,
            "samples": {s: [x["seconds"] for x in samples[s]] for s in stages}}


def hotspots(prof_path: Path, top: int = TOP) -> dict:
    stats = pstats.Stats(str(prof_path))
    total = stats.total_tt
    rows = []
    for (file, line, func), (_cc, ncalls, tottime, cumtime, _callers) in stats.stats.items():
        short = file
        for prefix in (str(ROOT) + "/", str(Path(sys.prefix)) + "/"):
            short = short.replace(prefix, "")
        if "site-packages/" in short:
            short = short.split("site-packages/", 1)[1]
        where = f"{short}:{line}({func})" if line else func
        rows.append({"function": where, "calls": ncalls, "self_s": tottime, "cum_s": cumtime})
    by_cum = sorted(rows, key=lambda r: -r["cum_s"])
    # the outermost frames (the profiler's own, Analysis.of) say nothing: skip what covers ~all
    by_cum = [r for r in by_cum if r["cum_s"] < 0.98 * total or "toolman_kit" in r["function"]]
    return {"total_s": total, "by_cumulative": by_cum[:top],
            "by_self": sorted(rows, key=lambda r: -r["self_s"])[:top]}


def fmt_s(x: float) -> str:
    return f"{x:.3f}" if x < 10 else f"{x:.2f}"


def report(results: dict) -> str:
    m = results["machine"]
    lines = [
        f"## toolman-kit benchmark — {results['timestamp']}",
        "",
        f"{m['nproc']} cores ({m['cpu']}), Python {m['python']}, PyYAML {m['pyyaml']} "
        f"(libyaml {'yes' if m['libyaml'] else 'no'}), pandas {m['pandas']}; "
        f"commit {results['git']['commit']}"
        f"{' + uncommitted toolman_kit changes' if results['git']['dirty'] else ''} "
        f"(sources {results['git']['toolman_kit_sha256']}); "
        f"median of {results['runs']} fresh processes per cell"
        + (" (quick)" if results["quick"] else "") + ".",
    ]
    if results["git"].get("changed_during_run"):
        lines += ["", "**Warning:** toolman_kit/ changed while this ran: the cells may measure "
                  "different code. Run again."]
    # the benchmark itself keeps one core busy: more than that is someone else
    if m["loadavg_at_start"][0] > 0.5 or m.get("loadavg_at_end", [0])[0] > 1.5:
        lines += ["", f"**Note:** load average {m['loadavg_at_start'][0]:.2f} at the start, "
                  f"{m.get('loadavg_at_end', [0])[0]:.2f} at the end on {m['nproc']} cores: the "
                  "machine was not idle, so wall times may be noisy; CPU s and min are the "
                  "steadier numbers."]
    lines += [
        "",
        "| objects | stage | median s | min–max s | CPU s | objects/s | vs floor | peak RSS MB "
        "| RSS Δ MB | tracemalloc peak MB |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in results["sizes"]:
        for stage in STAGES:
            s = size["stages"][stage]
            over = f"{s['overhead_pct']:+.0f} %" if "overhead_pct" in s else "—"
            tm = f"{s['tracemalloc_peak_mb']:.0f}" if s["tracemalloc_peak_mb"] is not None else "—"
            lines.append(
                f"| {size['objects']:,} | {stage} | {fmt_s(s['median_s'])} | "
                f"{fmt_s(s['min_s'])}–{fmt_s(s['max_s'])} | {fmt_s(s['cpu_median_s'])} | "
                f"{s['objects_per_s']:,.0f} | {over} | "
                f"{s['peak_rss_mb']:.0f} | {s['rss_growth_mb']:.0f} | {tm} |")
    verdicts = []
    for size in results["sizes"]:
        over = size["stages"]["analysis"]["overhead_pct"]
        verdicts.append(f"{size['objects']:,}: {over:+.0f} % "
                        f"({'met' if over <= OVERHEAD_TARGET else 'MISSED'})")
    lines += ["", f"Target: analysis ≤ +{OVERHEAD_TARGET:.0f} % over the floor. "
              + "; ".join(verdicts)]
    if results.get("growth"):
        g = results["growth"]
        lines += ["", f"Growth {g['from']:,} → {g['to']:,} objects ({g['to'] / g['from']:.0f}× the "
                  "objects; linear = that factor):", "",
                  "| stage | " + " | ".join(f"{s}" for s in STAGES) + " |",
                  "|---|" + "---:|" * len(STAGES),
                  "| time × | " + " | ".join(f"{g['time'][s]:.2f}" for s in STAGES) + " |",
                  "| RSS Δ × | " + " | ".join(f"{g['rss_growth'][s]:.2f}" for s in STAGES) + " |"]
    phased = [s for s in results["sizes"] if s["phases_median_s"]]
    if phased:
        lines += ["", "Where the analysis spends its time (median seconds per phase, separate "
                  "runs of Analysis.of with what it calls wrapped in clocks; other = the rest):",
                  "", "| objects | " + " | ".join(PHASES) + " | sum |",
                  "|---:|" + "---:|" * (len(PHASES) + 1)]
        for size in phased:
            p = size["phases_median_s"]
            lines.append(f"| {size['objects']:,} | " + " | ".join(fmt_s(p[k]) for k in PHASES)
                         + f" | {fmt_s(sum(p.values()))} |")
    checked = [s for s in results["sizes"] if s.get("per_check")]
    if checked:
        first, last = checked[0], checked[-1]
        ranked = sorted(last["per_check"].items(), key=lambda kv: -kv[1]["seconds"])
        total = sum(v["seconds"] for v in last["per_check"].values())
        lines += ["", f"The checks' own time (one run, each check's calls summed; {total:.2f} s in "
                  f"all at {last['objects']:,} objects). µs/call should not grow with the corpus:",
                  "", f"| check | calls at {last['objects']:,} | s at {last['objects']:,} "
                  f"| µs/call at {first['objects']:,} | µs/call at {last['objects']:,} | growth |",
                  "|---|---:|---:|---:|---:|---:|"]
        for check_id, v in ranked[:TOP]:
            before = first["per_check"].get(check_id, {"seconds": 0.0, "calls": 0})
            us_before = before["seconds"] / before["calls"] * 1e6 if before["calls"] else 0.0
            us_after = v["seconds"] / v["calls"] * 1e6 if v["calls"] else 0.0
            growth = f"{us_after / us_before:.1f}×" if us_before else "—"
            lines.append(f"| `{check_id}` | {v['calls']:,} | {v['seconds']:.3f} | "
                         f"{us_before:.1f} | {us_after:.1f} | {growth} |")
    if results.get("profile"):
        prof = results["profile"]
        for key, title in (("by_cumulative", "cumulative"), ("by_self", "self")):
            lines += ["", f"cProfile of the {prof['objects']:,}-object analysis "
                      f"({prof['total_s']:.2f} s under the profiler): top {TOP} by {title} time",
                      "", "| function | calls | self s | cumulative s |", "|---|---:|---:|---:|"]
            lines += [f"| `{r['function']}` | {r['calls']:,} | {r['self_s']:.3f} | "
                      f"{r['cum_s']:.3f} |" for r in prof[key]]
    return "\n".join(lines) + "\n"


README_START, README_END = "<!-- latest:start -->", "<!-- latest:end -->"


def update_readme(text: str, readme: Path = BENCH / "README.md") -> None:
    """Replace what stands between the README's markers with this run's report."""
    current = readme.read_text(encoding="utf-8")
    head, start, rest = current.partition(README_START)
    _, end, tail = rest.partition(README_END)
    if not start or not end:
        raise SystemExit(f"{readme}: markers {README_START} … {README_END} not found")
    body = text.replace("## toolman-kit benchmark — ", "### Run of ", 1)
    tmp = readme.with_name(f".{readme.name}.tmp")
    tmp.write_text(f"{head}{README_START}\n{body}{README_END}{tail}", encoding="utf-8")
    tmp.replace(readme)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="corpus sizes in objects")
    parser.add_argument("--runs", type=int, default=None, help="fresh processes per cell (5)")
    parser.add_argument("--quick", action="store_true",
                        help="3 runs, no phases, tracemalloc or profile; writes quick.json")
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile run")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the analysis grows over 1.5× faster than the "
                             "corpus from the smallest to the largest size (quadratic)")
    parser.add_argument("--readme", action="store_true",
                        help="also put the report into bench/README.md (between its markers)")
    parser.add_argument("--seed", type=int, default=corpus.DEFAULT_SEED)
    parser.add_argument("--namespaces", type=int, default=corpus.DEFAULT_NAMESPACES)
    parser.add_argument("--worker", nargs=2, metavar=("STAGE", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--memory", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        print(json.dumps(worker(args.worker[0], args.worker[1], args.memory, args.profile_out)))
        return 0

    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    runs = args.runs or (3 if args.quick else 5)
    results = {"timestamp": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
               "machine": machine(), "git": git_state(), "runs": runs, "quick": args.quick,
               "overhead_target_pct": OVERHEAD_TARGET, "sizes": []}
    t0 = time.perf_counter()
    for n in sizes:
        results["sizes"].append(run_size(n, runs, args.quick, args.seed, args.namespaces))
    if len(sizes) >= 2:
        a, b = results["sizes"][0], results["sizes"][-1]
        results["growth"] = {
            "from": a["objects"], "to": b["objects"],
            "time": {s: b["stages"][s]["median_s"] / a["stages"][s]["median_s"] for s in STAGES},
            "rss_growth": {s: b["stages"][s]["rss_growth_mb"]
                           / max(a["stages"][s]["rss_growth_mb"], 1e-9) for s in STAGES},
        }
    RESULTS.mkdir(parents=True, exist_ok=True)
    if not args.quick and not args.no_profile:
        n = sizes[-1]
        prof_path = RESULTS / f"profile-{n}.prof"
        measure("analysis", corpus.path_for(n), profile_out=prof_path)
        results["profile"] = {"objects": n, "file": str(prof_path.relative_to(ROOT)),
                              **hotspots(prof_path)}
        with open(RESULTS / f"profile-{n}.txt", "w") as out:
            stats = pstats.Stats(str(prof_path), stream=out).strip_dirs()
            stats.sort_stats("cumulative").print_stats(40)
            stats.sort_stats("tottime").print_stats(40)
    results["wall_s"] = time.perf_counter() - t0
    results["machine"]["loadavg_at_end"] = list(os.getloadavg())
    results["git"]["changed_during_run"] = \
        git_state()["toolman_kit_sha256"] != results["git"]["toolman_kit_sha256"]
    target = RESULTS / ("quick.json" if args.quick else "latest.json")
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(json.dumps(results, indent=2) + "\n")
    tmp.replace(target)
    text = report(results)
    print(text)
    if args.readme:
        update_readme(text)
    print(f"wrote {target.relative_to(ROOT)} ({results['wall_s']:.0f} s)", file=sys.stderr)
    if args.check and results.get("growth"):
        g = results["growth"]
        ratio = g["time"]["analysis"] / (g["to"] / g["from"])
        if ratio > GROWTH_LIMIT:
            print(f"FAIL: the analysis grew {g['time']['analysis']:.1f}× for "
                  f"{g['to'] / g['from']:.0f}× the objects ({ratio:.2f}× linear, limit "
                  f"{GROWTH_LIMIT}×)", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
