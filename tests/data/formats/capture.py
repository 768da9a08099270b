"""Write the expected output of every format for the equivalence corpus (test_formats.py).

    .venv/bin/python tests/data/formats/capture.py

The files were first written by the pandas-based formats before they were made to stream; rerun
this only when checks or the checklist change on purpose, and read the diff.
"""

import contextlib
import io
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
PROFILE = "examples/toolman/profile.yaml"
CASES = {  # name: arguments of `toolman-kit check`
    "default": ["examples/toolman/rendered/default.yaml", "--profile", PROFILE],
    "production": ["examples/toolman/rendered/production.yaml", "--profile", PROFILE],
    "production-builtin": ["examples/toolman/rendered/production.yaml"],
    "mixed": ["tests/data/formats/mixed.yaml"],
    "configured": ["examples/toolman/rendered/default.yaml", "--profile", PROFILE,
                   "--config", "tests/data/formats/config.yaml"],
}
FORMATS = ("table", "json", "csv", "markdown", "sarif", "junit")


def main() -> None:
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    from toolman_kit.commands import main as cli

    codes = {}
    for case, args in CASES.items():
        for fmt in FORMATS:
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = cli(["check", *args, "--format", fmt])
            (HERE / f"{case}.{fmt}").write_text(out.getvalue(), encoding="utf-8")
            codes[f"{case}.{fmt}"] = {"exit": code, "stderr": err.getvalue()}
    (HERE / "exits.json").write_text(json.dumps(codes, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
