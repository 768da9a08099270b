"""Kernels for the report's notebooks: a pool that lends started kernels and the worker that runs
notebooks in one of them.

Each worker thread owns one kernel (IPC transport, its own socket path: parallel kernels on TCP
ports race, papermill#511) and runs its share of the notebooks in it one after the other, in a
fresh namespace each: the kernel start and the pandas/matplotlib/toolman_kit imports are paid once
per kernel, not once per notebook. Kernels come from a `Kernels` pool: one report makes its own,
and a caller writing many reports (the fleet batch) passes one pool to keep them across reports.

jupyter_client, nbformat and papermill are imported in the worker threads that use them: the
imports (≈ 1 s) then overlap the kernel's boot and the main thread's analysis.
"""

from __future__ import annotations

import ast
import os
import queue
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from toolman_kit.chart.redact import redact_set
from toolman_kit.errors import ReportError
from toolman_kit.present.report.export import describe
from toolman_kit.present.report.scratch import private_dir
from toolman_kit.present.sections import NOTEBOOKS

ROOT = Path(__file__).resolve().parents[3]  # where toolman_kit is: the kernels import it
KERNEL = "python3"  # explicit: a user-level kernelspec elsewhere must not run the notebooks
# No history file; no output cache (Out, _1…): a notebook's results live in its own names, and
# with the cache each reset between notebooks ran a full gc.collect (≈ 0.1 s in a kernel
# holding pandas and matplotlib, a third of a kept kernel's CPU per report).
KERNEL_OPTIONS = ["--HistoryManager.hist_file=:memory:", "--InteractiveShell.cache_size=0"]
CELL_TIMEOUT = 600  # seconds; a notebook cell that hangs fails the report instead of blocking it
RESET = "get_ipython().reset(new_session=False)  # toolman-kit: a clean namespace per notebook"
# Per notebook, not per kernel start: a kept kernel serves one report after another.
RECEIVE = "__import__('toolman_kit.present.inputs').present.inputs.receive({path!r})"


def worker(todo: queue.SimpleQueue[str | None], executed: queue.SimpleQueue[Any],
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
                executed.put((notebook, None, time.perf_counter() - started, describe(exc)))
            clock = time.perf_counter()
    except Exception as exc:  # noqa: BLE001 - no kernel: the notebooks left fail with its error
        healthy = False
        while (notebook := todo.get()) is not None:
            executed.put((notebook, None, 0.0, f"kernel: {describe(exc)}"))
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
    if params:
        _show_parameters(nb, params)
    return nb


def _show_parameters(nb: Any, params: dict[str, Any]) -> None:
    """The parameters as the saved notebook shows them (its injected cell and papermill's
    metadata): each set's --set expressions as keys only, for the notebook is published."""
    from papermill.translators import translate_parameters

    shown = {**params, "sets": [{**s, "set": list(map(redact_set, s["set"]))} if s.get("set")
                                else s for s in params.get("sets") or ()]} \
        if "sets" in params else params
    nb.metadata.get("papermill", {})["parameters"] = shown
    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", ()):
            cell.source = translate_parameters(KERNEL, "python", shown, "Parameters")


def _declared(nb: Any) -> set[str]:
    """The names the notebook's `parameters` cell assigns."""
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
            self._sockets = self._sockets or private_dir("tk-kernels-")
            self._started += 1
            km = _kernel_manager(self._sockets / f"k{self._started}")  # ≤ 107 bytes in all
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

    # The connection file (it holds the kernel's key) beside the sockets, not in Jupyter's
    # runtime directory: a killed report's are swept with the directory (scratch.py).
    return IPCKernelManager(kernel_name=KERNEL, transport="ipc", ip=str(socket),
                            connection_file=f"{socket}.json", client_factory=KeptClient)


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


