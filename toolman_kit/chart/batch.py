"""Many renders of one chart: in-process through the Helm SDK, cached, fanned out over processes.

The values analysis renders a chart once per key it perturbs. Each render is keyed by (chart
content digest, values digest, release, namespace, kube version): the same request is answered
from the cache. Misses render in this process while that is quicker; once the renders left would
take longer than starting workers (measured on the renders already made), they go to a pool of
worker processes — spawned, not forked, as the Go runtime inside the SDK does not survive a fork.
Each worker loads the chart once and returns the documents parsed: the parent only compares.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from toolman_kit.chart.render import (
    check_renderable,
    documents,
    layout,
    load_chart_sdk,
    render_values,
)
from toolman_kit.errors import RenderError
from toolman_kit.progress import Progress

Ident = tuple[str, str, int]  # (template, kind, n-th of that kind in it): survives renames
POOL_START_SECONDS = 3.0  # a worker's start (it imports pandas and the SDK), under load
PROGRESS_MIN = 20  # batches this big show progress
CHUNK = 8  # renders per task sent to a worker


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
                 jobs: int | None = None, progress: TextIO | None = None):
        self.chart = Path(chart)
        self.release, self.namespace, self.kube = release, namespace, kube_version
        self.digest = chart_digest(self.chart)
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        self.progress = progress
        self.cache: dict[str, Output] = {}
        self.renders = 0  # renders actually made (cache misses)
        self.pooled = 0  # of which in worker processes
        self._per_render: float | None = None  # seconds, measured in this process
        self._parsed: dict[str, Any] = {}  # document text → data: most probes change one doc
        self._loaded: Any = None
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        if self._loaded is not None:
            self._loaded.close()
            self._loaded = None

    def render(self, values: Mapping[str, Any]) -> Output:
        return self.render_many([values])[0]

    def render_many(self, many: Sequence[Mapping[str, Any]], label: str = "") -> list[Output]:
        """An Output per values mapping, in order; a bar (or a line) on `progress` for big
        batches when a label is given."""
        keys = [values_digest(v) for v in many]
        todo = {k: v for k, v in zip(keys, many, strict=True) if k not in self.cache}
        show = self.progress if label and len(todo) >= PROGRESS_MIN else None
        with Progress(show, label, len(todo)) as bar:
            left = list(todo)
            while left and not self._pool_pays(len(left)):
                k = left.pop(0)
                started = time.perf_counter()
                self.cache[k] = self._render_here(todo[k])
                seconds = time.perf_counter() - started
                self._per_render = seconds if self._per_render is None else \
                    0.8 * self._per_render + 0.2 * seconds
                bar.advance()
            if left:
                self._fan_out({k: todo[k] for k in left}, bar)
        self.renders += len(todo)
        return [self.cache[k] for k in keys]

    def _pool_pays(self, left: int) -> bool:
        """Whether `left` renders finish sooner in worker processes (started or not)."""
        if self.jobs < 2 or self._per_render is None:
            return False
        here = left * self._per_render
        start = 0.0 if self._pool is not None else POOL_START_SECONDS
        return start + here / self.jobs + 0.05 < here

    def _render_here(self, values: Mapping[str, Any]) -> Output:
        try:
            if self._loaded is None:
                loaded = load_chart_sdk(self.chart)
                try:
                    check_renderable(loaded, self.chart, self.release)
                except RenderError:
                    loaded.close()
                    raise
                self._loaded = loaded
            files = render_values(self._loaded, self.chart, values, self.release,
                                  self.namespace, self.kube)
            return _output(files, self.chart, self._parsed)
        except RenderError as e:
            return Output(error=RenderFailure.of(e))

    def _fan_out(self, todo: dict[str, Mapping[str, Any]], bar: Progress) -> None:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.jobs, mp_context=multiprocessing.get_context("spawn"))
        keys = list(todo)
        chunks = [keys[i:i + CHUNK] for i in range(0, len(keys), CHUNK)]
        try:
            futures = [self._pool.submit(_render_chunk, str(self.chart), self.digest,
                                         [dict(todo[k]) for k in chunk], self.release,
                                         self.namespace, self.kube) for chunk in chunks]
            for chunk, future in zip(chunks, futures, strict=True):
                for k, out in zip(chunk, future.result(), strict=True):
                    self.cache[k] = out
                self.pooled += len(chunk)
                bar.advance(len(chunk))
        except BrokenProcessPool:  # e.g. a script without `if __name__ == "__main__":`
            self._pool, self.jobs = None, 1
            for k in keys:
                if k not in self.cache:
                    self.cache[k] = self._render_here(todo[k])
                    bar.advance()


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


@lru_cache(maxsize=4)
def _worker_chart(chart: str, digest: str) -> tuple[Any, dict[str, Any]]:
    """The loaded chart and its parsed documents, once per worker process (the digest keys a
    changed chart apart)."""
    return load_chart_sdk(Path(chart)), {}


def _render_chunk(chart: str, digest: str, many: list[dict[str, Any]], release: str,
                  namespace: str, kube: str | None) -> list[Output]:
    """In a worker: render each values mapping."""
    outputs = []
    try:
        loaded, parsed = _worker_chart(chart, digest)
        check_renderable(loaded, Path(chart), release)
    except RenderError as e:
        return [Output(error=RenderFailure.of(e))] * len(many)
    for values in many:
        try:
            files = render_values(loaded, Path(chart), values, release, namespace, kube)
            outputs.append(_output(files, Path(chart), parsed))
        except RenderError as e:
            outputs.append(Output(error=RenderFailure.of(e)))
    return outputs
