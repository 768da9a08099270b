"""The render process (`python -m toolman_kit.chart.child`, started by chart/sandbox.py): reads
requests on standard input, runs them through the Helm SDK, answers on standard output.

Each message is an 8-byte length and a pickle: a request (op, args, the parent's working
directory, which relative paths mean), an answer ("ok", value) or ("error", RenderError's
arguments). The process limits its own data segment first (RLIMIT_DATA:
Go's heap counts, its address-space reservations do not), so a runaway allocation aborts here,
and it points its standard output at its standard error, so that nothing the SDK prints can be
taken for an answer. It ends at the end of its input, or with its parent.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import resource
import signal
import sys
from pathlib import Path
from typing import Any

PR_SET_PDEATHSIG = 1  # linux/prctl.h
MAX_CHARTS = 4  # loaded charts kept (keyed by path and content digest)


def main() -> None:
    memory = int(os.environ.get("TOOLMAN_KIT_RENDER_MEMORY", "0"))
    if memory:
        resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
    _die_with_parent()
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    requests = sys.stdin.buffer

    from toolman_kit.chart import render  # after the limit: what runs here counts
    from toolman_kit.chart.sandbox import HEADER

    render.sdk()  # the SDK loaded before the first request: ready means ready to render
    serve = _Server(int(os.environ.get("TOOLMAN_KIT_RENDER_MAX_BYTES", "0")) or None)
    answers.write(HEADER.pack(0))  # ready
    answers.flush()
    while header := requests.read(HEADER.size):
        (size,) = HEADER.unpack(header)
        op, args, cwd = pickle.loads(requests.read(size))  # noqa: S301 - our parent's request
        if cwd and cwd != os.getcwd():  # a relative chart path means the parent's, which moves
            with contextlib.suppress(OSError):
                os.chdir(cwd)
        answer = serve(op, args)
        body = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        answers.write(HEADER.pack(len(body)) + body)
        answers.flush()


def _die_with_parent() -> None:
    """SIGKILL when the parent goes (even by SIGKILL), so no render outlives the run (Linux)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent went before the line above
        os._exit(1)


class _Server:
    def __init__(self, max_bytes: int | None):
        self.max_bytes = max_bytes
        self.charts: dict[tuple[str, str], Any] = {}

    def __call__(self, op: str, args: tuple[Any, ...]) -> tuple[str, Any]:
        from toolman_kit.errors import RenderError

        try:
            return "ok", getattr(self, op)(*args)
        except RenderError as e:
            return "error", (e.message, e.file, e.line, e.column)
        except MemoryError:
            return "error", ("Helm ran out of memory (a template makes too much)",
                             args[0] if args else None, None, None)
        except RecursionError:
            return "error", ("values nested too deep", args[0] if args else None, None, None)

    def render(self, chart: str, digest: str | None, values: dict[str, Any], release: str,
               namespace: str, kube: str | None,
               extra: tuple[str, ...] = ()) -> tuple[dict[str, str], list[str]]:
        """({template path: text}, warnings), as render.render_values (after check_renderable
        and check_dependencies: which subcharts are needed depends on the values), with the API
        versions served at `kube`, the chart's CRDs and `extra` (chart/capabilities.py)."""
        from toolman_kit.chart.capabilities import api_versions
        from toolman_kit.chart.render import (
            check_dependencies,
            check_renderable,
            load_chart_sdk,
            render_values,
        )

        path = Path(chart)
        if digest is not None and _switchable(path):
            digest = None  # Helm drops disabled subcharts from the loaded chart: load it anew
        loaded = self.charts.get((chart, digest or ""))
        if loaded is None:
            loaded = load_chart_sdk(path)
            try:
                check_renderable(loaded, path, release)
            except BaseException:
                loaded.close()
                raise
            if digest is not None:
                if len(self.charts) >= MAX_CHARTS:
                    self.charts.pop(next(iter(self.charts))).close()
                self.charts[(chart, digest)] = loaded
        try:
            warnings = check_dependencies(loaded, path, values)
            return render_values(loaded, path, values, release, namespace, kube,
                                 self.max_bytes, api_versions(path, kube, extra)), warnings
        finally:
            if digest is None:
                loaded.close()

    def lint(self, chart: str, values: dict[str, Any], namespace: str, kube: str | None,
             text: str | None = None) -> tuple[Any, ...]:
        from toolman_kit.chart.render import lint_sdk

        return lint_sdk(Path(chart), values, namespace, kube, text)


def _switchable(chart: Path) -> bool:
    """Whether the chart declares dependencies with a condition or tags: rendering it removes
    the disabled ones from the loaded chart (Helm's ProcessDependencies), so a loaded chart
    kept for the next values would render without a subchart those values enable."""
    from toolman_kit.read import yamlsafe

    try:
        meta = yamlsafe.parse((chart / "Chart.yaml").read_text(encoding="utf-8")).data
    except (OSError, UnicodeDecodeError, yamlsafe.YAMLInputError, ValueError):
        return False
    deps = meta.get("dependencies") if isinstance(meta, dict) else None
    return any(isinstance(d, dict) and (d.get("condition") or d.get("tags"))
               for d in deps or ())


if __name__ == "__main__":
    main()

