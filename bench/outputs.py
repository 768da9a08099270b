"""A digest of every output the kit writes, to show that a change of code changes no byte of it.

    python bench/outputs.py > before.json     # on the old code
    python bench/outputs.py > after.json      # on the new code
    diff before.json after.json               # nothing: the outputs are the same

Covered: `check` in every format on each check fixture, on the Toolman examples and on a
2,000-Deployment cluster (bench/cluster.py); `compare` (table, markdown, json) and `suggest`
(yaml, json, markdown) on the Toolman chart; each with its exit status and stderr. The kit's
version string is part of some outputs, so compare trees of the same version.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROFILE = "examples/toolman/profile.yaml"
FORMATS = ("table", "json", "csv", "markdown", "sarif", "junit")
CHART = ["--chart", "examples/toolman/chart", "--release", "toolman", "-n", "toolman",
         "--profile", PROFILE]
PRODUCTION = "examples/toolman/chart/values-production.yaml"


def cases() -> dict[str, list[str]]:
    """name: the command line."""
    from cluster import ensure as cluster  # bench/cluster.py

    inputs = {str(p.relative_to(ROOT)): [str(p.relative_to(ROOT))]
              for p in sorted((ROOT / "tests/fixtures/checks").rglob("*.yaml"))}
    inputs["toolman-default"] = ["examples/toolman/rendered/default.yaml", "--profile", PROFILE]
    inputs["toolman-production"] = ["examples/toolman/rendered/production.yaml",
                                    "--profile", PROFILE]
    inputs["cluster-2000"] = [str(cluster(2000).relative_to(ROOT))]
    runs = {f"check {name} {fmt}": ["check", *args, "--format", fmt]
            for name, args in inputs.items() for fmt in FORMATS}
    for fmt in ("table", "markdown", "json"):
        runs[f"compare {fmt}"] = ["compare", *CHART, "--value-set", f"production={PRODUCTION}",
                                  "--format", fmt, "-j", "1"]
    for fmt in ("yaml", "json", "markdown"):
        runs[f"suggest {fmt}"] = ["suggest", *CHART, "--format", fmt, "-j", "1"]
    return runs


def main() -> None:
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    os.chdir(ROOT)
    try:
        from toolman_kit.commands import main as cli
    except ImportError:
        from toolman_kit.cli import main as cli
    digests = {}
    for name, argv in cases().items():
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli(argv)
            except SystemExit as exc:
                code = exc.code
        digests[name] = {"exit": code, "stdout": _digest(out.getvalue()),
                         "stderr": err.getvalue()[-2000:].replace(str(ROOT), "<ROOT>")}
        print(name, code, file=sys.stderr)
    json.dump(digests, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


def _digest(text: str) -> str:
    """The text's digest, the checkout's own path left out (reports name the chart by it)."""
    return hashlib.sha256(text.replace(str(ROOT), "<ROOT>").encode()).hexdigest()[:16]


if __name__ == "__main__":
    main()
