"""What `helm lint` says about a chart: its messages (from the CLI's output or the SDK's report)
and, since neither lint takes the cluster's API versions, its templates rule applied to what the
render printed (`as_rendered`)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from toolman_kit.errors import RenderError
from toolman_kit.judge.findings import SeverityName

_LINT_LINE = re.compile(r"^\[(INFO|WARNING|ERROR|UNKNOWN)\] (.*?): (.*)$")
_SOURCE = re.compile(r"(?:^|\n)---\n# Source: ")  # a document `helm template` prints


@dataclass(frozen=True)
class LintMessage:
    severity: SeverityName
    path: str  # as helm lint prints it, e.g. "Chart.yaml" or "templates/"
    message: str


def lint_cli(chart: Path, args: list[str], timeout: float) -> list[LintMessage]:
    """`helm lint ARGS` through the CLI (within `timeout`): the messages it prints."""
    try:
        linted = subprocess.run(["helm", "lint", *args], capture_output=True, text=True,
                                check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RenderError(f"helm lint took longer than {timeout:g} s "
                          "(--render-timeout)", file=str(chart)) from None
    lint = []
    for line in linted.stdout.splitlines():
        if m := _LINT_LINE.match(line.strip()):
            sev = {"UNKNOWN": "info"}.get(m[1], m[1].lower())
            lint.append(LintMessage(sev, m[2], m[3]))
    return lint


def as_rendered(chart: Path, text: str, messages: Sequence[LintMessage],
                lint: Callable[[Path], Sequence[LintMessage]]) -> tuple[LintMessage, ...]:
    """Lint `messages`, those of its templates rule replaced by the rule's verdict on `text`.

    Neither `helm lint` nor the SDK's lint takes API versions: their templates rule renders with
    Helm's default capabilities, so a chart gated on `.Capabilities.APIVersions.Has` lints
    another branch than the one rendered (a policy/v1beta1 PDB "deprecated", an error from a
    branch the cluster never takes). `lint` runs on a chart whose templates print what this
    render printed for each of the chart's own templates (the rule's scope), so its
    per-template rules (YAML, names, deprecations, selectors) judge the objects analyzed."""
    with tempfile.TemporaryDirectory(prefix="toolman-lint-") as tmp:
        again = lint(_static_chart(chart, text, Path(tmp)))
    return tuple([m for m in messages if not m.path.startswith("templates")]
                 + [m for m in again if m.path.startswith("templates")])


def _static_chart(chart: Path, text: str, into: Path) -> Path:
    """A chart under `into`: `chart`'s Chart.yaml and template files (the same names), each
    printing the documents `text` has from it, `{{` escaped; partials and the rest empty."""
    root = into / "chart"
    (root / "templates").mkdir(parents=True)
    shutil.copyfile(chart / "Chart.yaml", root / "Chart.yaml")
    for path in sorted((chart / "templates").rglob("*")):
        target = root / path.relative_to(chart)
        if path.is_dir():
            target.mkdir(exist_ok=True)
        elif path.is_file():
            target.write_text("")
    docs: dict[str, list[str]] = {}
    for piece in _SOURCE.split(text)[1:]:
        source, _, doc = piece.partition("\n")
        own = source.split("/", 1)
        if len(own) == 2 and own[1].startswith("templates/"):
            docs.setdefault(own[1], []).append(doc)
    for name, texts in docs.items():
        path = root / name
        if path.parent.is_dir() and not path.is_dir():
            path.write_text("---\n".join(texts).replace("{{", '{{"{{"}}'), encoding="utf-8")
    return root
