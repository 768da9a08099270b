"""What several test modules need: the repository's paths and small helpers (fixtures are in
conftest.py). Test modules import from here: `from helpers import EXAMPLE, line_of`."""

import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from toolman_kit.commands import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "toolman"  # the embedded Toolman example: chart, renders, profile
CHART = EXAMPLE / "chart"
PRODUCTION = CHART / "values-production.yaml"
FIXTURES = ROOT / "tests" / "fixtures"


def line_of(path: Path, text: str) -> int:
    """The number of the first line of a file that contains the text."""
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`toolman-kit ARGV` in this process: the exit code, stdout and stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def make_chart(root: Path, templates: dict[str, str], values: str = "",
               chart_yaml: str = "apiVersion: v2\nname: demo\nversion: 0.1.0\n") -> Path:
    """A chart at root: Chart.yaml, values.yaml and the templates (dedented) by file name."""
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text(chart_yaml)
    (root / "values.yaml").write_text(values)
    for name, text in templates.items():
        (root / "templates" / name).write_text(textwrap.dedent(text))
    return root


def source_copy(to: Path) -> Path:
    """The kit's source as a clean clone has it, for a build (pip builds in the tree it is
    given: build/ and egg-info go there, not into this checkout): the files git tracks or would
    (not ignored), without tests/, bench/ and docs/."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the git checkout to know the source files")
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], capture_output=True,
                            check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file() and not name.startswith(("tests/", "bench/", "docs/")):
            (to / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, to / name)
    return to
