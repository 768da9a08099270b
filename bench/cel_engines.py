"""The CEL engines for Python compared on what Kubernetes policies need (issue 20): optional
syntax, the strings extension, has(), functions written in Python, a runaway expression, and the
time to compile and evaluate a typical ValidatingAdmissionPolicy expression. A candidate that is
not installed is skipped; run it in a throwaway venv that has all three:

    python3 -m venv /tmp/celcmp
    /tmp/celcmp/bin/pip install cel-expr-python common-expression-language cel-python
    /tmp/celcmp/bin/python bench/cel_engines.py [--runs 1000]

Prints a Markdown table (the README's "Policies: the CEL implementation" has the figures).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
    "spec": {"replicas": 3, "template": {"spec": {"containers": [
        {"name": name, "image": f"registry.example.com/{name}:1.0"}
        for name in ("app", "proxy", "metrics")]}}},
}
VAP = "object.spec.template.spec.containers.all(c, c.image.startsWith('registry.example.com/'))"
PROBES = {
    "optional syntax": ("object.?spec.?replicas.orValue(1)", 3),
    "strings extension": ("'a,b'.split(',')", ["a", "b"]),
    "has()": ("has(object.spec.replicas) && !has(object.spec.paused)", True),
    "Python function": ("twice(object.spec.replicas)", 6),
}
RUNAWAY = "object.items.all(x, object.items.all(y, x != y || x == y))"
# name → (pip name, module to import)
CANDIDATES = {"cel-expr-python": "cel_expr_python.cel", "common-expression-language": "cel",
              "cel-python": "celpy"}


class Engine:
    """compile(text) → program; run(program, object) → value (an exception on CEL errors)."""

    def __init__(self, compile_: Callable[[str], Any], run: Callable[[Any, Any], Any]):
        self.compile, self.run = compile_, run


def cel_expr_python() -> Engine:
    from cel_expr_python import cel
    from cel_expr_python.ext import ext_optional, ext_strings
    twice = cel.FunctionDecl("twice", [cel.Overload(
        "twice_int", cel.Type.INT, [cel.Type.INT], impl=lambda n: 2 * n)])
    env = cel.NewEnv(variables={"object": cel.Type.DYN}, functions=[twice], extensions=[
        ext_strings.ExtStrings(version=2), ext_optional.ExtOptional()])

    def run(program: Any, obj: Any) -> Any:
        value = program.eval(data={"object": obj})
        if value.type() == cel.Type.ERROR:
            raise RuntimeError(value.value())
        return value.plain_value()
    return Engine(env.compile, run)


def common_expression_language() -> Engine:
    import cel
    context = cel.Context()
    context.add_function("twice", lambda n: 2 * n)

    def run(program: Any, obj: Any) -> Any:
        context.add_variable("object", obj)
        return program.execute(context)
    return Engine(cel.compile, run)


def cel_python() -> Engine:
    import celpy
    env = celpy.Environment()

    def compile_(text: str) -> Any:
        return env.program(env.compile(text), functions={"twice": lambda n: 2 * n})

    def run(program: Any, obj: Any) -> Any:
        value = program.evaluate({"object": celpy.json_to_cel(obj)})
        if isinstance(value, Exception):
            raise value
        return value
    return Engine(compile_, run)


FACTORIES = {"cel-expr-python": cel_expr_python,
             "common-expression-language": common_expression_language, "cel-python": cel_python}


def probe(engine: Engine, text: str, expected: Any) -> str:
    try:
        value = engine.run(engine.compile(text), DEPLOYMENT)
    except Exception as exc:  # noqa: BLE001 - what the engine says is the finding
        return "no (" + (str(exc).splitlines() or [type(exc).__name__])[0][:60] + ")"
    return "yes" if value == expected else f"wrong ({value!r})"


def per_evaluation(engine: Engine, runs: int, compile_each: bool) -> float:
    """Median µs of one evaluation (with its compilation when compile_each), over 5 rounds."""
    rounds = []
    program = engine.compile(VAP)
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(runs):
            assert engine.run(engine.compile(VAP) if compile_each else program, DEPLOYMENT)
        rounds.append((time.perf_counter() - started) / runs * 1e6)
    return statistics.median(rounds)


def runaway(engine: Engine, size: int) -> str:
    started = time.perf_counter()
    try:
        engine.run(engine.compile(RUNAWAY), {"items": list(range(size))})
    except Exception as exc:  # noqa: BLE001
        return f"stopped in {(time.perf_counter() - started) * 1000:.0f} ms ({str(exc)[:40]})"
    return f"no bound ({size}² ran {time.perf_counter() - started:.1f} s)"


def import_ms(module: str) -> float:
    code = (f"import time; t = time.perf_counter(); import {module}; "
            "print((time.perf_counter() - t) * 1000)")
    return statistics.median(float(subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(3))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="evaluations per round (5 rounds)")
    parser.add_argument("--runaway", type=int, default=300, help="list size of the nested all()")
    args = parser.parse_args()
    rows: dict[str, list[str]] = {name: [] for name in (
        *PROBES, "µs: compile + evaluate", "µs: evaluate (compiled once)", "runaway nested all()",
        "import (ms)")}
    names = []
    for name, factory in FACTORIES.items():
        try:
            engine = factory()
        except ImportError:
            print(f"{name}: not installed, skipped", file=sys.stderr)
            continue
        names.append(name)
        for label, (text, expected) in PROBES.items():
            rows[label].append(probe(engine, text, expected))
        rows["µs: compile + evaluate"].append(f"{per_evaluation(engine, args.runs, True):,.0f}")
        rows["µs: evaluate (compiled once)"].append(
            f"{per_evaluation(engine, args.runs, False):,.0f}")
        rows["runaway nested all()"].append(runaway(engine, args.runaway))
        rows["import (ms)"].append(f"{import_ms(CANDIDATES[name]):.0f}")
    print(f"| ({sys.version.split()[0]}, {args.runs} evaluations × 5, median) | "
          + " | ".join(names) + " |")
    print("| --- " * (len(names) + 1) + "|")
    for label, cells in rows.items():
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
