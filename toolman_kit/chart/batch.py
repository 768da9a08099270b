"""Many renders of one chart: through the Helm SDK in render processes, cached, spread over
several processes when that pays.

The values analysis renders a chart once per key it perturbs. Each render is keyed by (chart
content digest, values digest, release, namespace, kube version, API versions): the same
request is answered from the cache. Misses go to render processes (chart/sandbox.py: each render
bounded in time, memory and size, each process loading the chart once): one while that is
quicker; once the renders left would take longer than starting more (measured on the renders
already made), up to `jobs` at once. This process parses what they print, sharing one parse
between renders that print the same document (most probes change one), and compares.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from toolman_kit.chart.capabilities import api_version, chart_crds
from toolman_kit.chart.lint import LintMessage
from toolman_kit.chart.render import crd_objects, documents, layout
from toolman_kit.chart.sandbox import Sandbox
from toolman_kit.chart.untrusted import check_chart_files
from toolman_kit.errors import RenderError
from toolman_kit.progress import Progress

Ident = tuple[str, str, int]  # (template, kind, n-th of that kind in it): survives renames
PROCESS_START_SECONDS = 0.5  # a render process's start (Python, the SDK), under load
PROGRESS_MIN = 20  # batches this big show progress


class RenderFailure(NamedTuple):
    """Why a render failed, as Helm said it (picklable: renders run in worker processes)."""

    message: str
    file: str | None
    line: int | None

    @classmethod
    def of(cls, e: RenderError) -> RenderFailure:
        return cls(e.message, e.file, e.line)


@dataclass(frozen=True)
class Output:
    """One render: the `helm template` text, the documents by Ident, or the error."""

    text: str = ""
    objects: dict[Ident, Any] = field(default_factory=dict)
    error: RenderFailure | None = None

    @property
    def exception(self) -> RenderError | None:
        e = self.error
        return None if e is None else RenderError(e.message, file=e.file, line=e.line)


def chart_digest(chart: str | Path) -> str:
    """sha256 over every file of the chart directory (paths and bytes)."""
    h = hashlib.sha256()
    root = Path(chart)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def values_digest(values: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()


class Renderer:
    """Renders of one chart, release, namespace and kube version under many values."""

    def __init__(self, chart: str | Path, release: str = "release-name",
                 namespace: str = "default", kube_version: str | None = None,
                 jobs: int | None = None, progress: TextIO | None = None,
                 api_versions: Sequence[str] = ()):
        self.chart = Path(chart)
        self.release, self.namespace, self.kube = release, namespace, kube_version
        self.api_versions = tuple(api_version(a) for a in api_versions)  # besides the built-ins
        check_chart_files(self.chart)  # before the digest reads what a symlink points at
        self.digest = chart_digest(self.chart)
        self.crds = crd_objects(chart_crds(self.chart), namespace)  # for each render's Manifests
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        self.progress = progress
        self.cache: dict[str, Output] = {}
        self.renders = 0  # renders actually made (cache misses)
        self.pooled = 0  # of which beside the first render process
        self._per_render: float | None = None  # seconds, measured
        self._parsed: dict[str, Any] = {}  # document text → data: most probes change one doc
        self.warnings: list[str] = []  # each once, in the order renders first said them
        self.sandbox = Sandbox(self.jobs)

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.sandbox.close()

    def render(self, values: Mapping[str, Any]) -> Output:
        return self.render_many([values])[0]

    def lint(self, values: Mapping[str, Any], text: str | None = None
             ) -> tuple[LintMessage, ...]:
        """`helm lint` with these values, in a render process (lint executes the templates);
        `text`, their render, is what its templates rule judges (lint.as_rendered)."""
        return self.sandbox.call("lint", str(self.chart), dict(values), self.namespace,
                                 self.kube, text, where=str(self.chart))

    def render_many(self, many: Sequence[Mapping[str, Any]], label: str = "") -> list[Output]:
        """An Output per values mapping, in order; a bar (or a line) on `progress` for big
        batches when a label is given."""
        keys = [values_digest(v) + "|".join(("", *self.api_versions)) for v in many]
        todo = {k: v for k, v in zip(keys, many, strict=True) if k not in self.cache}
        show = self.progress if label and len(todo) >= PROGRESS_MIN else None
        with Progress(show, label, len(todo)) as bar:
            left = list(todo)
            if self._per_render is None:  # alone first: the first also starts a process
                for _ in range(min(2, len(left))):
                    started = time.perf_counter()
                    self._render([left.pop(0)], todo, 1, bar)
                    self._per_render = time.perf_counter() - started
            if left:
                width = self.jobs if self._pool_pays(len(left)) else 1
                started = time.perf_counter()
                self._render(left, todo, width, bar)
                if width == 1:
                    seconds = (time.perf_counter() - started) / len(left)
                    self._per_render = 0.8 * self._per_render + 0.2 * seconds
                else:
                    self.pooled += len(left)
        self.renders += len(todo)
        return [self.cache[k] for k in keys]

    def _pool_pays(self, left: int) -> bool:
        """Whether `left` renders finish sooner in `jobs` render processes than in one."""
        if self.jobs < 2 or self._per_render is None:
            return False
        here = left * self._per_render
        start = 0.0 if self.sandbox.started >= self.jobs else PROCESS_START_SECONDS
        return start + here / self.jobs + 0.05 < here

    def _render(self, keys: list[str], todo: dict[str, Mapping[str, Any]], width: int,
                bar: Progress) -> None:
        def done(i: int, result: Any) -> None:
            if isinstance(result, RenderError):
                self.cache[keys[i]] = Output(error=RenderFailure.of(result))
            else:
                files, warnings = result
                self.warnings += [w for w in warnings if w not in self.warnings]
                try:
                    self.cache[keys[i]] = _output(files, self.chart, self._parsed)
                except RenderError as e:
                    self.cache[keys[i]] = Output(error=RenderFailure.of(e))
            bar.advance()

        self.sandbox.map("render", [(str(self.chart), self.digest, dict(todo[k]), self.release,
                                     self.namespace, self.kube, self.api_versions)
                                    for k in keys],
                         where=str(self.chart), width=width, done=done)


def _output(files: Mapping[str, str], chart: Path, parsed: dict[str, Any]) -> Output:
    """The documents keyed by Ident (their data shared with `parsed`: read-only)."""
    docs = documents(files, chart, parsed)
    objects: dict[Ident, Any] = {}
    seen: dict[tuple[str, str], int] = {}
    for d in docs:
        if isinstance(d.data, dict) and d.kind:
            n = seen[(d.template, d.kind)] = seen.get((d.template, d.kind), -1) + 1
            objects[(d.template, d.kind, n)] = d.data
    return Output(layout(docs), objects)
