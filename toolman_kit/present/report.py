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

Everything goes into a temporary sibling of the output directory, which replaces the previous
report only when every part succeeded; a failure leaves the previous report untouched and names the
notebook and the error of the cell that raised.

With a chart, the values page (05_values) runs last: the main thread hands it out once it has
written comparison.json (chart/compare.py), after the other notebooks are running.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from toolman_kit.errors import ReportError, ToolmanKitError
from toolman_kit.present.sections import NOTEBOOKS, SECTIONS, section

if TYPE_CHECKING:
    from toolman_kit.present.inputs import Inputs

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = Path(__file__).resolve().parent / "templates"
EXAMPLE = ROOT / "examples" / "toolman"
KERNEL = "python3"  # explicit: a user-level kernelspec elsewhere must not run the notebooks
# No history file; no output cache (Out, _1…): a notebook's results live in its own names, and
# with the cache each reset between notebooks ran a full gc.collect (≈ 0.1 s in a kernel
# holding pandas and matplotlib, a third of a kept kernel's CPU per report).
KERNEL_OPTIONS = ["--HistoryManager.hist_file=:memory:", "--InteractiveShell.cache_size=0"]
CELL_TIMEOUT = 600  # seconds; a notebook cell that hangs fails the report instead of blocking it
# Execution order, longest first so that the last notebook to start is a short one.
ORDER = ("00_summary", "01_container_architecture", "04_volumes", "03_high_availability",
         "02_security")
VALUES = "05_values"  # with a chart: last, as it waits for the comparison the report makes
SUGGESTED, SUGGESTION = "suggested-values.yaml", "suggestion.json"  # with --suggest
RESET = "get_ipython().reset(new_session=False)  # toolman-kit: a clean namespace per notebook"
# Per notebook, not per kernel start: a kept kernel serves one report after another.
RECEIVE = "__import__('toolman_kit.present.inputs').present.inputs.receive({path!r})"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
FAILING_LINE = re.compile(r"^-+>\s*\d+\s(.*)$", re.M)


@dataclass
class Result:
    notebook: str
    seconds: float = 0.0
    error: str | None = None


@dataclass
class Report:
    index: Path
    counts: dict[str, Any] = field(default_factory=dict)  # views.counts of the candidate
    baseline_counts: dict[str, Any] | None = None
    seconds: float = 0.0
    input_errors: list[str] = field(default_factory=list)  # shown in the report; exit status 2


# --- the Python API ---------------------------------------------------------------------------

def build_report(out: str | os.PathLike[str] = "reports/toolman", manifests: Sequence[str] = (),
                 baseline: Sequence[str] | None = None, chart: str | None = None,
                 values: Sequence[str] = (), baseline_values: Sequence[str] | None = None,
                 set_values: Sequence[str] = (), profile: str = "production",
                 namespace: str | None = None, release: str = "release-name",
                 title: str | None = None, with_code: bool = False, jobs: int | None = None,
                 progress: TextIO | None = None,
                 sets: Sequence[dict[str, Any]] | None = None,
                 kernels: Kernels | None = None, kube_version: str | None = None,
                 suggest: bool = False) -> Report:
    """Write the report for `manifests` (or `chart` rendered with `values`) into `out`.

    With `baseline` paths (or, with a chart, `baseline_values`: [] is the chart's own defaults)
    every section compares baseline and candidate. `sets` generalises that pair to N named sets,
    the first being the reference: `[{"name": "defaults", "values": []}, {"name": "production",
    "values": ["prod.yaml"]}]` with `chart`, or `{"name": ..., "manifests": [paths]}`; it
    replaces `manifests`, `baseline` and the values arguments. With a chart the values page
    compares the chart-rendered sets (comparison.json). `kube_version` ("1.29"; None: the
    profile's) is checked against and rendered for. `suggest` adds the proven values override
    for the first chart-rendered set (chart/suggest.py): suggested-values.yaml, suggestion.json,
    a column of the values comparison and a section of the values page and of the Markdown. A
    line per notebook goes to `progress` (the CLI passes stderr). `kernels` lends started
    kernels and gets them back (default: kernels started for this report and shut down after
    it).

    Inputs are checked before any kernel starts: a missing file is one ToolmanKitError. Raises
    ReportError, leaving any previous report in `out` intact, when a notebook or an output fails.
    """
    from toolman_kit.present.inputs import checked_sets, validate  # analysis: not for `check`

    started = time.perf_counter()
    out = Path(out)
    if sets is None:
        sets = checked_sets(manifests, baseline, chart, values, baseline_values, set_values)
    specs, chart, profile = validate(sets, chart, profile)
    first = specs[-1].get("manifests", [""])[0]
    params = {"sets": specs, "chart": chart, "profile": profile, "namespace": namespace,
              "release": release, "title": title or _default_title(first, chart),
              "kube_version": kube_version, "suggest": suggest}
    if suggest and not _charted(params):
        raise ToolmanKitError("--suggest needs --chart DIR: it renders the chart's values")
    existed = out.exists()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
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
        staging.chmod(0o755)
        _swap(staging, out)
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
    private = Path(tempfile.mkdtemp(prefix="tk-report-"))  # 0700: the analyses hold Secrets
    shared = private / "inputs.pickle"  # the analyses, made once here (inputs.share)
    results: list[Result] = []
    try:
        threads = [threading.Thread(target=_worker, daemon=True, name=f"report-kernel-{i}",
                                    args=(todo, executed, params, pool, shared))
                   for i in range(workers)]
        for t in threads:
            t.start()
        report = Report(staging / "index.html")
        try:
            ins = _analyse(params)
            share(shared, ins)
        except ToolmanKitError as exc:  # bad input: no notebook would get further
            results.append(Result("inputs", 0.0, str(exc)))
        except Exception as exc:  # noqa: BLE001 - reported with the notebooks' results
            results.append(Result("data files", 0.0, _describe(exc)))
        if not results:
            for notebook in ORDER:
                todo.put(notebook)
            try:  # while those run: the comparison, then the files that use it
                report = _write_data_files(staging, params, ins)
                if VALUES in order:
                    todo.put(VALUES)
            except Exception as exc:  # noqa: BLE001 - reported with the notebooks' results
                results.append(Result("data files", 0.0, _describe(exc)))
        for _ in threads:
            todo.put(None)  # one stop per worker
        exporter, running, shown = _exporter(with_code), workers, 0
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
                    page, _ = exporter.from_notebook_node(nb)
                    (staging / f"{notebook}.html").write_text(page, encoding="utf-8")
                    (staging / f"{notebook}.ipynb").write_text(_ipynb(nb), encoding="utf-8")
                except Exception as exc:  # noqa: BLE001
                    error = f"export: {_describe(exc)}"
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


def _ipynb(nb: Any) -> str:
    import nbformat

    return nbformat.writes(nb)


def _worker(todo: queue.SimpleQueue[str | None], executed: queue.SimpleQueue[Any],
            params: dict[str, Any], kernels: Kernels, shared: Path | None = None) -> None:
    """Execute notebooks from `todo` in one kernel until a None; put (notebook, executed
    notebook or None, seconds, error or None) on `executed` for each, then None."""
    km, healthy, clock = None, True, time.perf_counter()  # the first includes the boot
    try:
        km = kernels.take()  # a new kernel boots while papermill is imported
        while (notebook := todo.get()) is not None:
            started = clock
            try:
                nb = execute(km, notebook, params, shared)
                executed.put((notebook, nb, time.perf_counter() - started, None))
            except Exception as exc:  # noqa: BLE001 - every failure is reported per notebook
                healthy = False  # a cell may still run (a timeout): no other report gets it
                executed.put((notebook, None, time.perf_counter() - started, _describe(exc)))
            clock = time.perf_counter()
    except Exception as exc:  # noqa: BLE001 - no kernel: the notebooks left fail with its error
        healthy = False
        while (notebook := todo.get()) is not None:
            executed.put((notebook, None, 0.0, f"kernel: {_describe(exc)}"))
    finally:
        try:
            if km is not None:
                kernels.give(km, healthy)
        finally:
            _close_event_loop()  # else the GC may finalize its socket first and log an error
            executed.put(None)


def execute(km: Any, notebook: str, params: dict[str, Any] | None,
            shared: Path | None = None) -> Any:
    """Run notebooks/<notebook>.ipynb with papermill in the kernel of `km`, `params` injected
    after its `parameters` cell (None: its defaults), in a fresh namespace; with the analyses
    the report `shared` (inputs.share) given to the kernel first."""
    import nbformat
    import papermill

    nb = nbformat.read(NOTEBOOKS / f"{notebook}.ipynb", as_version=4)
    if params is not None:  # each notebook gets the parameters it declares, no others
        params = {k: v for k, v in params.items() if k in _declared(nb)}
    first = RESET if shared is None else RESET + "\n" + RECEIVE.format(path=str(shared))
    nb.cells.insert(0, nbformat.v4.new_code_cell(first))  # the kernel may have run another
    nb = papermill.execute_notebook(
        nb, None, parameters=params, kernel_name=KERNEL, km=km, progress_bar=False,
        request_save_on_cell_execute=False, execution_timeout=CELL_TIMEOUT)
    del nb.cells[0]
    return nb


def _declared(nb: Any) -> set[str]:
    """The names the notebook's `parameters` cell assigns."""
    import ast

    cell = next((c for c in nb.cells if "parameters" in c.metadata.get("tags", [])), None)
    if cell is None:
        return set()
    return {t.id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign)
            for t in node.targets if isinstance(t, ast.Name)}


class Kernels:
    """Started kernels to lend to reports: `take` an idle one (or start one), `give` it back when
    done; `close` shuts them all down, those still lent too (a report stopped by Ctrl-C or
    SIGTERM while its notebooks run: no kernel may outlive it, nor its connection file, which
    holds the kernel's key). Thread-safe; kernels run in the notebooks directory."""

    def __init__(self) -> None:
        self._idle: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._sockets: Path | None = None  # made on the first start; unix socket paths ≤ 107 bytes
        self._started = 0
        self._lent: set[Any] = set()
        self._starting = 0  # kernels being started in other threads: close() waits for them
        self._closed = False
        self._changed = threading.Condition()

    def take(self) -> Any:
        from jupyter_core.utils import run_sync

        while True:
            try:
                km = self._idle.get_nowait()
            except queue.Empty:
                break
            if run_sync(km.is_alive)():
                with self._changed:
                    self._lent.add(km)
                return km
            _shutdown(km)
        with self._changed:
            if self._closed:
                raise ReportError("the report was stopped")
            self._sockets = self._sockets or Path(tempfile.mkdtemp(prefix="tk-kernels-"))
            self._started += 1
            km = _kernel_manager(self._sockets / f"kernel-{self._started}")
            self._lent.add(km)
            self._starting += 1
        try:
            run_sync(km.start_kernel)(extra_arguments=KERNEL_OPTIONS)
        except BaseException:
            with self._changed:
                self._lent.discard(km)
            _shutdown(km)
            raise
        finally:
            with self._changed:
                self._starting -= 1
                self._changed.notify_all()
        return km

    def give(self, km: Any, healthy: bool = True) -> None:
        km.stop_clients()  # in the borrowing thread, whose event loop the client used
        with self._changed:
            self._lent.discard(km)
            closed = self._closed
        if healthy and not closed:
            self._idle.put(km)
        else:
            _shutdown(km)

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.wait_for(lambda: not self._starting, timeout=60)
            lent, self._lent = list(self._lent), set()
        for km in lent:
            _kill(km)
        while True:
            try:
                _shutdown(self._idle.get_nowait())
            except queue.Empty:
                break
        if self._sockets is not None:
            shutil.rmtree(self._sockets, ignore_errors=True)


def _kernel_manager(socket: Path) -> Any:
    """An AsyncKernelManager on IPC sockets at `socket` (TCP ports race between parallel kernels:
    papermill#511), started in the notebooks directory with this toolman_kit importable."""
    from jupyter_client.asynchronous import AsyncKernelClient
    from jupyter_client.manager import AsyncKernelManager

    class KeptClient(AsyncKernelClient):
        """Started and ready once: a new client's wait_for_ready ends by draining IOPub until
        it has been quiet for 0.2 s, idle kernel time that papermill, opening a client per
        notebook, paid for every notebook (measured: a fleet target took 3.1 s, now 1.8 s)."""

        ready = False

        def start_channels(self, *args: Any, **kw: Any) -> None:
            if not self.channels_running:
                super().start_channels(*args, **kw)

        async def wait_for_ready(self, timeout: float | None = None) -> None:
            if not self.ready:
                await super().wait_for_ready(timeout=timeout)
                self.ready = True

    class IPCKernelManager(AsyncKernelManager):
        kept: Any = None

        def client(self, **kw: Any) -> Any:
            """One client for all the notebooks of a loan (nbclient ignores the messages that
            answer other requests, so one notebook's leftovers cannot reach the next)."""
            if self.kept is None:
                self.kept = super().client(**kw)
            return self.kept

        def stop_clients(self) -> None:
            """End the loan: the client's sockets belong to the borrowing thread's event loop."""
            if self.kept is not None:
                self.kept.stop_channels()
                self.kept = None

        async def _async_pre_start_kernel(self, **kw: Any) -> Any:
            env = dict(kw.pop("env", None) or os.environ)
            env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(ROOT), env.get("PYTHONPATH"))))
            env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
            kw.setdefault("cwd", str(NOTEBOOKS))
            return await super()._async_pre_start_kernel(env=env, **kw)

    return IPCKernelManager(kernel_name=KERNEL, transport="ipc", ip=str(socket),
                            client_factory=KeptClient)


def _close_event_loop() -> None:
    """Close the event loop that jupyter_core's run_sync made for this thread."""
    from jupyter_core.utils import ensure_event_loop

    loop = ensure_event_loop()
    if not loop.is_running():
        loop.close()


def _kill(km: Any) -> None:
    """Stop a kernel that another thread may still be driving: its process and its files only
    (the client's sockets belong to that thread's event loop)."""
    process = getattr(km.provisioner, "process", None)
    if process is not None and process.poll() is None:
        process.kill()
        process.wait()
    km.cleanup_connection_file()
    km.cleanup_ipc_files()


def _shutdown(km: Any) -> None:
    from jupyter_core.utils import run_sync

    km.stop_clients()
    if km.has_kernel:
        run_sync(km.shutdown_kernel)(now=True)
    run_sync(km.cleanup_resources)()


_EXPORTERS = threading.local()


def _exporter(with_code: bool) -> Any:
    """The HTML exporter, one per thread and setting, kept: its templates compile once (≈ 0.7 s
    of CPU), not once per report, when one process writes many reports (the fleet batch)."""
    kept = _EXPORTERS.__dict__.setdefault("by_setting", {})
    if with_code not in kept:
        kept[with_code] = _new_exporter(with_code)
    return kept[with_code]


def _new_exporter(with_code: bool) -> Any:
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class Exporter(HTMLExporter):
        """HTMLExporter without its final BeautifulSoup pass over the whole page, which gives
        alternative text to images that lack it (ours have it) and a tabindex to outputs: that
        pure-Python re-parse takes seconds on a page of a thousand rows, longer than running
        the notebook. The same filters are registered as HTMLExporter registers them."""

        def from_notebook_node(self, nb: Any, resources: Any = None, **kw: Any) -> Any:
            language = nb.metadata.get("language_info", {})
            lexer = language.get("pygments_lexer", language.get("name"))
            self.register_filter("highlight_code", self.filters.get(
                "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
            resources = self._init_resources(resources)
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources))
            return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

    return Exporter(template_name="offline", extra_template_basedirs=[str(TEMPLATES)],
                    exclude_input=not with_code, exclude_input_prompt=not with_code,
                    exclude_output_prompt=True, embed_images=True,
                    optimistic_validation=True)  # validate once, not after each preprocessor


def _describe(exc: BaseException) -> str:
    """The error in one line, `ename: evalue (in cell: its first line)`, without traceback."""
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        line = next((x for x in str(exc.source).splitlines() if x.strip()), "")
        for entry in exc.traceback or ():  # IPython's: "Cell In[n], line l" … "----> l code"
            text = ANSI.sub("", entry)
            if text.startswith("Cell In") and (arrow := FAILING_LINE.search(text)):
                line = arrow.group(1).strip()
                break
        where = f" (at: {line[:60]}{'…' if len(line) > 60 else ''})" if line else ""
        return _one_line(f"{exc.ename}: {exc.evalue}") + where
    return _one_line(f"{type(exc).__name__}: {exc}")


def _one_line(text: Any, limit: int = 400) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _analyse(params: dict[str, Any]) -> Inputs:
    """The analyses every notebook shows (bad input raises here, before any notebook runs)."""
    from toolman_kit.present.inputs import inputs

    return inputs(sets=params["sets"], chart=params["chart"], profile=params["profile"],
                  namespace=params["namespace"], release=params["release"],
                  kube_version=params["kube_version"])


def _write_data_files(staging: Path, params: dict[str, Any], ins: Inputs) -> Report:
    """With a chart, comparison.json (the values page waits for it); then
    deployment-analysis.md, findings.json, findings.csv and report.sarif, from the same
    analysis the notebooks show (with the values facts of the comparison)."""
    from toolman_kit.present import formats
    from toolman_kit.present.narrative import markdown_report
    from toolman_kit.present.views import counts

    comparison, suggested = None, None
    sets = list(params["sets"])
    if params.get("suggest"):
        suggested, extra = _suggest(staging, params)
        sets.append(extra)
    if "comparison" in params:
        from toolman_kit.chart.compare import compare_sets

        comparison = compare_sets(
            params["chart"], sets, release=params["release"], namespace=params["namespace"],
            profile=params["profile"], kube_version=params["kube_version"], jobs=1)
        (staging / "comparison.json").write_text(
            json.dumps(comparison.document(), indent=2, ensure_ascii=False) + "\n",
            encoding="utf-8")
    a, base = ins.analysis, ins.baseline
    markdown = markdown_report(ins, title=params["title"])
    if comparison is not None:
        from toolman_kit.chart.provenance import with_values as carrying
        from toolman_kit.present.values_views import with_values

        markdown = with_values(markdown, comparison.document(),
                               skip=[sets[-1]["name"]] if suggested else [])
        same = next((s for s in comparison.sets if s.name == ins.label), None)
        if same is not None and same.provenance is not None:
            a = carrying(a, same.provenance)  # findings.json: the keys of each failing field
    if suggested is not None:
        from toolman_kit.present.suggest import section

        markdown = section(markdown, suggested, comparison.document() if comparison else None)
    (staging / "deployment-analysis.md").write_text(markdown, encoding="utf-8")
    (staging / "findings.json").write_text(formats.to_json(a), encoding="utf-8")
    (staging / "findings.csv").write_text(formats.to_csv(a), encoding="utf-8")
    (staging / "report.sarif").write_text(formats.to_sarif(a), encoding="utf-8")
    errors = [str(e) for _, analysis in ins.sets for e in analysis.errors]
    errors += comparison.errors if comparison is not None else []
    return Report(staging / "index.html", counts(a), counts(base) if base is not None else None,
                  input_errors=list(dict.fromkeys(errors)))


def _suggest(staging: Path, params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The suggestion for the first chart-rendered set: its files written, its document, and
    the set it adds to the values comparison (that set's values, then the suggested file)."""
    from dataclasses import replace

    from toolman_kit.chart.suggest import suggest
    from toolman_kit.chart.valuesfile import read_values_file
    from toolman_kit.present.suggest import document

    start = next(s for s in params["sets"] if "values" in s)
    s = suggest(params["chart"], start["values"], start["set"], release=params["release"],
                namespace=params["namespace"], profile=params["profile"],
                kube_version=params["kube_version"], jobs=1)
    doc = document(s)
    (staging / SUGGESTED).write_text(s.text, encoding="utf-8")
    (staging / SUGGESTION).write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n",
                                      encoding="utf-8")
    names = {spec["name"] for spec in params["sets"]}
    name = next(n for n in ("suggested", "suggested values", "toolman-kit suggestion")
                if n not in names)
    file = replace(read_values_file(staging / SUGGESTED), path=SUGGESTED)
    return doc, {"name": name, "values": [*start["values"], file], "set": start["set"]}


def _swap(staging: Path, out: Path) -> None:
    """Put `staging` in place of `out`: the previous report is moved aside, not overwritten,
    and put back if the rename fails."""
    old = None
    if out.exists() or out.is_symlink():
        old = out.with_name(f".{out.name}.old-{os.getpid()}-{time.monotonic_ns()}")
        os.rename(out, old)
    try:
        os.rename(staging, out)
    except BaseException:
        if old is not None:
            os.rename(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# --- the command ------------------------------------------------------------------------------

class _NamedValues(argparse.Action):
    """`--values NAME=FILE` adds FILE to the named set NAME; `--values FILE` stays `-f FILE`
    (a NAME has no `/`, and an existing file named `a=b.yaml` is a file)."""

    def __call__(self, parser: Any, namespace: argparse.Namespace, value: Any,
                 option_string: str | None = None) -> None:
        name, eq, file = str(value).partition("=")
        if eq and name and file and "/" not in name and not Path(value).exists():
            namespace.named_values = [*namespace.named_values, value]
        else:
            namespace.values = [*namespace.values, value]


def add_report_command(subparsers: Any, add_input_options: Any) -> None:
    p = subparsers.add_parser(
        "report", help="write the HTML/Markdown/JSON/SARIF report (default: the Toolman example)",
        description="Execute the analysis notebooks and write a self-contained report. With no "
                    "input, report on the embedded Toolman example: its production values "
                    "against the chart defaults, with the Toolman profile, and the values "
                    "toolman-kit suggests. With --values "
                    "NAME=FILE, every section shows the chart defaults and each named set side "
                    "by side.", conflict_handler="resolve")  # our --values replaces -f's alias
    p.add_argument("paths", nargs="*", metavar="PATH", help="rendered manifest files or dirs")
    add_input_options(p)
    p.add_argument("--values", action=_NamedValues, dest="named_values", default=[],
                   metavar="NAME=FILE",
                   help="with --chart: a named value set, compared with the chart defaults in "
                        "every section (repeat NAME to give a set several files, later wins; "
                        "-f and --set then apply to every set); `--values FILE` is `-f FILE`")
    p.add_argument("--baseline", nargs="+", metavar="PATH",
                   help="manifests to compare against (e.g. the default values rendering)")
    p.add_argument("--baseline-values", action="append", metavar="FILE",
                   help="with --chart: render the baseline with these values (repeatable); "
                        "default: the chart's own values when -f is given")
    p.add_argument("--no-baseline", action="store_true", help="no comparison")
    p.add_argument("--suggest", action=argparse.BooleanOptionalAction, default=None,
                   help="with --chart: add the suggested values (toolman-kit suggest) for the "
                        "first set, as a column of the values comparison and a section "
                        "(default: on for the Toolman example, off otherwise)")
    p.add_argument("--out", metavar="DIR", help="output directory (default: reports/NAME)")
    p.add_argument("--title", help="report title")
    p.add_argument("--with-code", action="store_true", help="show the notebooks' code cells")
    p.add_argument("-j", "--jobs", type=int, metavar="N",
                   help="kernels to run in parallel (default: the CPU count)")
    p.set_defaults(run=_report, profile=None, release=None)


def _named_sets(args: argparse.Namespace) -> list[dict[str, Any]]:
    """`--values NAME=FILE …`: the chart defaults, then each named set; -f and --set shared."""
    from toolman_kit.chart.values import DEFAULTS, parse_named

    if args.paths:
        raise ToolmanKitError("--values NAME=FILE needs --chart DIR (it renders value sets)")
    if args.baseline or args.baseline_values or args.no_baseline:
        raise ToolmanKitError("--values NAME=FILE sets are compared with the chart defaults: "
                              "not with --baseline, --baseline-values or --no-baseline")
    shared, expressions = list(args.values), list(args.set_values)
    return [{"name": DEFAULTS, "values": shared, "set": expressions},
            *({"name": name, "values": [*files, *shared], "set": expressions}
              for name, files in parse_named(args.named_values))]


def _report(args: argparse.Namespace) -> int:
    if "-" in args.paths:
        raise ToolmanKitError("report reads files: save standard input to a file first")
    if args.paths and args.chart:
        raise ToolmanKitError("give manifest paths or --chart DIR, not both")
    if args.baseline_values and not (args.chart or not args.paths):
        raise ToolmanKitError("--baseline-values needs --chart (use --baseline for manifests)")
    example = not args.paths and not args.chart
    chart = str(EXAMPLE / "chart") if example else args.chart
    name = "toolman" if example else Path(chart or args.paths[0]).resolve().stem or "report"
    common = {
        "out": args.out or Path("reports") / name, "chart": chart,
        "profile": args.profile or str(EXAMPLE / "profile.yaml" if example else "production"),
        "namespace": args.namespace or ("toolman" if example else None),
        "release": args.release or ("toolman" if example else "release-name"),
        "title": args.title or ("Toolman Deployment Analysis" if example else None),
        "with_code": args.with_code, "jobs": args.jobs, "progress": sys.stderr,
        "kube_version": args.kube_version,
        "suggest": example if args.suggest is None else args.suggest}
    if args.named_values:
        return _print_report(build_report(sets=_named_sets(args), **common))
    values = [str(EXAMPLE / "chart" / "values-production.yaml")] if example else args.values
    baseline_values = args.baseline_values
    if args.no_baseline:
        baseline_values = None
    elif chart and baseline_values is None and values and not args.baseline:
        baseline_values = []  # the values against the chart's own defaults
    return _print_report(build_report(
        manifests=args.paths, baseline=None if args.no_baseline else args.baseline,
        values=values, baseline_values=baseline_values, set_values=args.set_values, **common))


def _print_report(report: Report) -> int:
    """The one-line summary on stderr, then the input errors; the exit status."""
    c = report.counts
    line = (f"{report.index}  ❌ {c.get('fail', 0)}  ⚠️ {c.get('warning', 0)}  "
            f"✅ {c.get('pass', 0)}")
    if b := report.baseline_counts:
        line += f"  (baseline ❌ {b['fail']}  ⚠️ {b['warning']}  ✅ {b['pass']})"
    print(f"{line}  in {report.seconds:.1f}s", file=sys.stderr)
    for error in report.input_errors:  # the good documents are in the report; these are not
        print(error, file=sys.stderr)
    return 2 if report.input_errors else 0
