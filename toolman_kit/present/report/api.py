"""`toolman-kit report`: run the notebooks with papermill, export them to offline HTML and write the
whole report atomically.

Each worker thread owns one kernel (IPC transport, its own socket path: parallel kernels on TCP
ports race, papermill#511) and runs its share of the notebooks in it one after the other, in a
fresh namespace each: the kernel start and the pandas/matplotlib/toolman_kit imports are paid once
per kernel, not once per notebook. Kernels come from a `Kernels` pool: one report makes its own,
and a caller writing many reports (the fleet batch) passes one pool to keep them across reports.
The main thread meanwhile analyses the inputs once, writes the Markdown, JSON, CSV and SARIF files
and shares the analyses with the kernels (a pickle each notebook is told about in its first cell,
so a kept kernel never shows a previous report's analyses), then exports each executed notebook
to HTML as it arrives.

Everything goes into a staging directory (outdir.py: a sibling of a new or previous report, or
inside a directory that holds other files too), put in place only when every part succeeded; a
failure leaves the previous report untouched and names the notebook and the error of the cell that
raised. The kit replaces only files it wrote: a report directory lists them in its marker.

With a chart, the values page (05_values) runs last: the main thread hands it out once it has
written comparison.json (values/sets.py), after the other notebooks are running.
"""


from __future__ import annotations

import os
import queue
import shutil
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from toolman_kit.errors import ReportError, ToolmanKitError
from toolman_kit.present.report.export import describe, exporter, ipynb
from toolman_kit.present.report.files import (
    DATA_FILES,
    SUGGESTED,
    SUGGESTION,
    Report,
    analyse,
    write_data_files,
)
from toolman_kit.present.report.kernels import Kernels, worker
from toolman_kit.present.report.outdir import place, prepare
from toolman_kit.present.report.scratch import private_dir
from toolman_kit.present.sections import SECTIONS, section, shipped

EXAMPLE = shipped("examples/toolman")
# Execution order, longest first so that the last notebook to start is a short one.
ORDER = ("00_summary", "01_container_architecture", "04_volumes", "03_high_availability",
         "02_security")
VALUES = "05_values"  # with a chart: last, as it waits for the comparison the report makes


@dataclass
class Result:
    notebook: str
    seconds: float = 0.0
    error: str | None = None


def build_report(out: str | os.PathLike[str] = "reports/toolman", manifests: Sequence[str] = (),
                 baseline: Sequence[str] | None = None, chart: str | None = None,
                 values: Sequence[str] = (), baseline_values: Sequence[str] | None = None,
                 set_values: Sequence[str] = (), profile: str = "production",
                 namespace: str | None = None, release: str | None = None,
                 title: str | None = None, with_code: bool = False, jobs: int | None = None,
                 progress: TextIO | None = None,
                 sets: Sequence[dict[str, Any]] | None = None,
                 kernels: Kernels | None = None, kube_version: str | None = None,
                 suggest: bool = False, force: bool = False,
                 api_versions: Sequence[str] = (), config: str | None = None) -> Report:
    """Write the report for `manifests` (or `chart` rendered with `values`) into `out`.

    With `baseline` paths (or, with a chart, `baseline_values`: [] is the chart's own defaults)
    every section compares baseline and candidate. `sets` generalises that pair to N named sets,
    the first being the reference: `[{"name": "defaults", "values": []}, {"name": "production",
    "values": ["prod.yaml"]}]` with `chart`, or `{"name": ..., "manifests": [paths]}`; it
    replaces `manifests`, `baseline` and the values arguments. With a chart the values page
    compares the chart-rendered sets (comparison.json). `kube_version` ("1.29"; None: the
    profile's) is checked against and rendered for; charts render with `api_versions`
    (GROUP/VERSION[/KIND], `--api-versions`) served besides its built-ins, the chart's CRDs and
    the profile's `api_versions`. `release` None renders with helm's "release-name" (and a
    suggestion says when its values name it). `suggest` adds the proven values override for the
    first chart-rendered set after the reference (with `values` and `set_values`: not the chart
    defaults it is compared with; values/suggest.py): suggested-values.yaml, suggestion.json,
    a column of the values comparison and a section of the values page and of the Markdown. A
    line per notebook goes to `progress` (the CLI passes stderr). `kernels` lends started
    kernels and gets them back (default: kernels started for this report and shut down after
    it). `config`, the configuration file the command used, is named in the pages' and the
    files' heads (not in findings.csv: it has none).

    `out` may exist: a previous report is replaced, a directory holding other files gets the
    report's files (outdir.py); one that is not empty and holds no report needs `force`.
    Inputs and `out` are checked before any kernel starts: a missing file, or an `out` that
    cannot take the report, is one ToolmanKitError. Raises ReportError, leaving any previous
    report in `out` intact, when a notebook or an output fails.
    """
    from toolman_kit.chart.capabilities import api_version
    from toolman_kit.chart.render import RELEASE
    from toolman_kit.present.inputs import checked_sets, validate  # analysis: not for `check`

    started = time.perf_counter()
    out = Path(out)
    if sets is None:
        sets = checked_sets(manifests, baseline, chart, values, baseline_values, set_values)
    specs, chart, profile = validate(sets, chart, profile)
    first = specs[-1].get("manifests", [""])[0]
    params = {"sets": specs, "chart": chart, "profile": profile, "namespace": namespace,
              "release": release or RELEASE, "release_given": release is not None,
              "title": title or _default_title(first, chart),
              "kube_version": kube_version, "suggest": suggest,
              "api_versions": [api_version(a) for a in api_versions], "config": config}
    if suggest and not _charted(params):
        raise ToolmanKitError("--suggest needs --chart DIR: it renders the chart's values")
    existed = out.exists()
    dest = prepare(out, planned_files(params), force)
    staging = dest.staging
    try:
        results, report = _build(staging, params, with_code, jobs, progress, kernels)
        failed: dict[str, list[str]] = {}  # error → the notebooks it failed
        for r in results:
            if r.error:
                failed.setdefault(r.error, []).append(r.notebook)
        if failed:
            state = f" ({out} is unchanged)" if existed else ""
            raise ReportError(f"report not written{state}: " + "; ".join(
                f"{', '.join(names)}: {error}" if names != ["inputs"] else error
                for error, names in failed.items()))
        shutil.copyfile(staging / f"{SECTIONS[0].notebook}.html", staging / "index.html")
        place(dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    report.index = out / "index.html"
    report.seconds = time.perf_counter() - started
    return report


def _default_title(manifest: str, chart: str | None) -> str:
    name = Path(chart).name if chart else Path(manifest).stem
    return f"{name} Deployment Analysis".strip()


def notebooks(params: dict[str, Any]) -> tuple[str, ...]:
    """The notebooks of a report: the values page when sets are rendered from a chart."""
    return (*ORDER, VALUES) if _charted(params) else ORDER


def planned_files(params: dict[str, Any]) -> list[str]:
    """The files a report of `params` writes (its pages, notebooks and data files)."""
    names = ["index.html", *DATA_FILES]
    names += [f"{n}.{ext}" for n in notebooks(params) for ext in ("html", "ipynb")]
    if VALUES in notebooks(params):
        names.append("comparison.json")
    return names + ([SUGGESTED, SUGGESTION] if params.get("suggest") else [])


def _charted(params: dict[str, Any]) -> bool:
    return bool(params.get("chart")) and any("values" in s for s in params["sets"])


def _build(staging: Path, params: dict[str, Any], with_code: bool, jobs: int | None,
           progress: TextIO | None, kernels: Kernels | None) -> tuple[list[Result], Report]:
    """Workers take their kernels (booting them if new) while this thread analyses the inputs
    and shares the analyses; only then are the notebooks handed out (bad input: one error, no
    notebook run). While they run, this thread writes the data files (with a chart, the values
    comparison first; then the values page is handed out), then exports each executed notebook
    as it arrives."""
    from toolman_kit.present.inputs import share

    todo: queue.SimpleQueue[str | None] = queue.SimpleQueue()
    executed: queue.SimpleQueue[Any] = queue.SimpleQueue()
    order = notebooks(params)
    workers = max(1, min(jobs or os.cpu_count() or 1, len(order)))
    if VALUES in order:
        params = {**params, "comparison": str(staging / "comparison.json")}
    if params.get("suggest"):
        params = {**params, "suggestion": str(staging / SUGGESTION)}
    pool = kernels or Kernels()
    private = private_dir("tk-report-")  # 0700: the analyses hold Secrets
    shared = private / "inputs.pickle"  # the analyses, made once here (inputs.share)
    results: list[Result] = []
    try:
        threads = [threading.Thread(target=worker, daemon=True, name=f"report-kernel-{i}",
                                    args=(todo, executed, params, pool, shared))
                   for i in range(workers)]
        for t in threads:
            t.start()
        report = Report(staging / "index.html")
        try:
            ins = analyse(params)
            share(shared, ins)
        except ToolmanKitError as exc:  # bad input: no notebook would get further
            results.append(Result("inputs", 0.0, str(exc)))
        except Exception as exc:  # noqa: BLE001 - reported with the notebooks' results
            results.append(Result("data files", 0.0, describe(exc)))
        if not results:
            for notebook in ORDER:
                todo.put(notebook)
            try:  # while those run: the comparison, then the files that use it
                report = write_data_files(staging, params, ins)
                if VALUES in order:
                    todo.put(VALUES)
            except Exception as exc:  # noqa: BLE001 - reported with the notebooks' results
                results.append(Result("data files", 0.0, describe(exc)))
        for _ in threads:
            todo.put(None)  # one stop per worker
        export, running, shown = exporter(with_code), workers, 0
        while running:
            item = executed.get()
            if item is None:  # a worker is done
                running -= 1
                continue
            notebook, nb, seconds, error = item
            started = time.perf_counter()
            if nb is not None:
                try:
                    nb.metadata["title"] = f"{params['title']} — {section(notebook).title}"
                    page, _ = export.from_notebook_node(nb)
                    (staging / f"{notebook}.html").write_text(page, encoding="utf-8")
                    (staging / f"{notebook}.ipynb").write_text(ipynb(nb), encoding="utf-8")
                except Exception as exc:  # noqa: BLE001
                    error = f"export: {describe(exc)}"
            results.append(Result(notebook, seconds + time.perf_counter() - started, error))
            shown += 1
            if progress:
                state = f"ok {results[-1].seconds:.1f}s" if not error else \
                    f"FAILED {results[-1].seconds:.1f}s\n      {error}"
                print(f"[{shown}/{len(order)}] {notebook} ... {state}", file=progress,
                      flush=True)
        for t in threads:
            t.join()
    finally:
        shutil.rmtree(private, ignore_errors=True)
        if kernels is None:
            pool.close()
    if not any(r.notebook == "inputs" for r in results):
        missing = set(order) - {r.notebook for r in results}
        results += [Result(n, 0.0, "not executed") for n in sorted(missing)]
    return sorted(results, key=lambda r: r.notebook), report


