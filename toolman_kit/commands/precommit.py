"""The pre-commit hook for charts (`toolman-kit-chart` in .pre-commit-hooks.yaml): the changed
files pre-commit passes → the charts that hold them → `toolman-kit check --chart` on each.

    python -m toolman_kit.commands.precommit [check's options …] FILE …

A file belongs to the outermost directory with a Chart.yaml between it and the working directory
(pre-commit runs hooks at the repository root), so a changed subchart is checked as its parent
renders it; a file in no chart is not this hook's. The options are check's (pre-commit puts the
hook's `args` before the files); the configuration file applies as to any command. The exit
status is the worst chart's (2 over 1 over 0): a chart that does not render is never hidden by a
clean one after it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from toolman_kit.commands import _parser, main
from toolman_kit.exits import EXIT_FINDINGS, EXIT_INPUT, EXIT_OK


def charts(files: Sequence[str]) -> list[Path]:
    """The charts the files belong to, in first-seen order, as paths relative to the working
    directory (files outside it are looked for in their own parents only)."""
    found: dict[Path, None] = {}
    for file in files:
        path = Path(os.path.relpath(file))
        holders = [d for d in path.parents if ".." not in d.parts and (d / "Chart.yaml").is_file()]
        if holders:
            found[holders[-1]] = None  # parents go up: the last is the outermost
    return list(found)


def run(argv: Sequence[str]) -> int:
    files = _parser().parse_args(["check", *argv]).paths  # a usage error exits 2, as check's
    options = list(argv[:len(argv) - len(files)])
    if list(argv[len(options):]) != files:
        print("toolman-kit: error: give the files after the options", file=sys.stderr)
        return EXIT_INPUT
    worst = EXIT_OK
    for chart in charts(files):
        print(f"toolman-kit: chart {chart}", file=sys.stderr, flush=True)
        code = main(["check", *options, "--chart", str(chart)])
        if code not in (EXIT_OK, EXIT_FINDINGS, EXIT_INPUT):  # interrupted, terminated
            return code
        worst = max(worst, code)
        sys.stdout.flush()
    return worst


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
