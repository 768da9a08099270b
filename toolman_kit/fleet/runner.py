"""`toolman-kit batch`: run a fleet's targets, then write what only the client writes.

The targets run as tasks (task.run_target) in a local process pool (`jobs` worker processes, each
keeping its kernels across the targets it runs) or on a Dask cluster (`dask_scheduler`); both run
the same function and return the same small Outcomes. Then this process alone, holding DIR's lock,
points each `latest` link, appends to history.csv, prunes old runs, writes summary.json and the
fleet page. A second batch on the same DIR meanwhile stops at once with a clear error.

Stopped (Ctrl-C, SIGTERM), a batch starts no more targets, lets the reports being made finish
(the worker processes ignore Ctrl-C: the batch alone decides), records in history every target
it reported, then exits; a run directory is complete (run.json) or removed.
"""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import signal
import socket
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from toolman_kit.atomic import write_atomic
from toolman_kit.errors import FleetError, ToolmanKitWarning
from toolman_kit.exits import EXIT_FINDINGS, EXIT_INPUT, EXIT_OK, FAIL_ON
from toolman_kit.fleet.fleetfile import load_fleet
from toolman_kit.fleet.history import (
    append_history,
    open_own,
    point_latest,
    prune,
    read_history,
    runs,
    write_summary,
)
from toolman_kit.fleet.page import write_page
from toolman_kit.fleet.task import MARKER, Job, Outcome, run_target
from toolman_kit.progress import Progress
from toolman_kit.text import plural, terminal_safe

LOCK = ".toolman-batch.lock"
DASK_TIMEOUT = 15  # seconds to reach the Dask scheduler and hear it say it is one
RUN_ID_FORMAT = "%Y%m%dT%H%M%SZ"


@dataclass
class Batch:
    out: Path
    run_id: str
    outcomes: list[Outcome]  # in the fleet file's order
    exit_status: int  # 2 a target failed; else 1 findings at or above fail_on; else 0


def run_batch(fleet_file: str | os.PathLike[str], out: str | os.PathLike[str] | None = None,
              jobs: int | None = None, only: Sequence[str] | None = None, force: bool = False,
              keep: int | None = None, fail_on: str = "error", dask_scheduler: str | None = None,
              progress: TextIO | None = None, config: str | None = None) -> Batch:
    """Run the fleet's targets (or those named in `only`) and record the run under `out`
    (default: reports/<fleet file name>); `config`, the configuration file the command used,
    is named in summary.json and on the fleet page. Raises FleetError when the batch cannot
    start: a bad fleet file, an unknown target, DIR locked by another batch, no Dask
    scheduler."""
    fleet = load_fleet(fleet_file)
    targets = fleet.only(list(only or ()))
    if keep is not None and keep < 1:
        raise FleetError(f"--keep {keep}: keep at least the newest run")
    if fail_on not in FAIL_ON:
        raise FleetError(f"--fail-on {fail_on}: expected one of {', '.join(FAIL_ON)}")
    if dask_scheduler:
        _ask_scheduler(dask_scheduler)  # before anything is written or shown
    out = Path(out) if out else Path("reports") / fleet.path.stem
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FleetError(f"cannot create the output directory: {exc.strerror}", str(out)) from None
    out = out.resolve()
    # A fresh volume's root (a Kubernetes PVC) holds lost+found: still an empty DIR.
    if not os.path.lexists(out / MARKER) and set(os.listdir(out)) - {LOCK, "lost+found"}:
        raise FleetError(f"not empty and not a toolman-kit fleet directory (no {MARKER}): "
                         "choose another --out (the batch writes index.html, history.csv … "
                         "there)", str(out))
    with batch_lock(out):
        token, started = _token(out), _now()
        run_id = _new_run_id(out, [t.name for t in targets], progress)
        todo = [Job(t, str(out), run_id, token, (runs(out, t.name, run_id) or [None])[-1], force)
                for t in targets]
        done: dict[str, Outcome] = {}
        try:
            with Progress(progress, "targets", len(todo)) as bar:
                def finished(outcome: Outcome) -> None:
                    done[outcome.target] = outcome
                    bar.advance(line=describe(outcome), always=outcome.status == "failed")

                if dask_scheduler:
                    _run_dask(todo, dask_scheduler, finished)
                else:
                    _run_local(todo, jobs or os.cpu_count() or 1, finished)
        except BaseException:  # stopped: what was reported is recorded, then the stop goes on
            if reported := [done[t.name] for t in targets if t.name in done]:
                _record(out, run_id, reported)
                write_page(out, [t.name for t in fleet.targets],
                           title=f"Fleet report: {fleet.path.name}", config=config)
            raise
        outcomes = [done[t.name] for t in targets]
        _record(out, run_id, outcomes)
        for t in targets:
            prune(out, t.name, keep, run_id)
        status = exit_status(outcomes, fail_on)
        write_summary(out, {"run_id": run_id, "fleet": str(fleet.path.resolve()),
                            "config": config, "out": str(out), "started": started,
                            "finished": _now(), "exit_status": status}, outcomes)
        write_page(out, [t.name for t in fleet.targets], title=f"Fleet report: {fleet.path.name}",
                   config=config)
    return Batch(out, run_id, outcomes, status)


def _record(out: Path, run_id: str, outcomes: Sequence[Outcome]) -> None:
    """Each reported target's `latest` link, then its history row."""
    for o in outcomes:
        if o.report.startswith(f"{o.target}/{run_id}/"):
            point_latest(out, o.target, run_id)
    append_history(out, outcomes)


def exit_status(outcomes: Sequence[Outcome], fail_on: str) -> int:
    if any(o.status == "failed" for o in outcomes):
        return EXIT_INPUT  # a failed target is an input error, as a file `check` cannot read
    if any(o.counts.get(severity, 0) for o in outcomes for severity in FAIL_ON[fail_on]):
        return EXIT_FINDINGS
    return EXIT_OK


@contextmanager
def batch_lock(out: Path) -> Iterator[None]:
    """Hold DIR's lock for the whole batch (released by the OS if this process dies). The lock
    file is opened without following a symbolic link: one there is refused, never truncated."""
    f = open(open_own(out / LOCK, os.O_RDWR | os.O_CREAT),  # noqa: SIM115 - held for the batch
             "r+", encoding="utf-8")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.seek(0)
        holder = f.read().strip() or "another process"
        f.close()
        raise FleetError(f"another batch is writing this directory ({holder}); this one did "
                         "not start: wait for it to finish", str(out)) from None
    try:
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()} on {socket.gethostname()} since {_now()}\n")
        f.flush()
        yield
    finally:
        f.truncate(0)
        f.close()  # closing releases the lock


def _token(out: Path) -> str:
    """DIR's marker, made once: tasks check they see it, i.e. that DIR is shared with them."""
    marker = out / MARKER
    if not os.path.lexists(marker):
        write_atomic(marker, uuid.uuid4().hex + "\n")
    with open(open_own(marker), encoding="utf-8", errors="replace") as f:
        return f.read(4096).strip()


def _new_run_id(out: Path, targets: Sequence[str], progress: TextIO | None = None) -> str:
    """The UTC time, later than every run recorded in DIR (so run ids sort and never repeat:
    a batch started within the same second as the last one waits for the next second). Runs
    recorded after the present (a clock that was ahead) are reported once and ignored."""
    now = time.strftime(RUN_ID_FORMAT, time.gmtime())
    recorded = ([h.get("run_id") or "" for h in read_history(out)]
                + [r for t in targets for r in runs(out, t)[-1:]])
    if future := sorted(r for r in recorded if r > now):
        warning = (f"toolman-kit: warning: {out}: {plural(len(set(future)), 'run')} recorded "
                   f"after the present ({now}), the latest {future[-1]}: was the clock ahead? "
                   "Ignored when naming this run")
        if progress is not None:
            print(warning, file=progress, flush=True)
        else:
            warnings.warn(warning, ToolmanKitWarning, stacklevel=3)
    last = max((r for r in recorded if r <= now), default="")
    deadline = time.monotonic() + 2
    while True:
        run_id = time.strftime(RUN_ID_FORMAT, time.gmtime())
        if run_id > last:
            return run_id
        if time.monotonic() > deadline:
            raise FleetError(f"the clock is behind the last run recorded here ({last})", str(out))
        time.sleep(0.1)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- where the tasks run -----------------------------------------------------------------------

def _run_local(jobs: list[Job], workers: int, done: Callable[[Outcome], None]) -> None:
    """A pool of `workers` processes (spawned: the Helm SDK's Go runtime must not be forked).
    A target is handed to the pool only when a worker is free, so a batch stopped (SIGTERM,
    Ctrl-C) starts no more: the reports being made finish (seconds), and nothing is left
    running. A worker process that dies breaks the pool: the targets it took down, and those not
    yet started, run once more in a new pool, like a Dask task whose worker died. Stopped, it
    waits for the running reports and hands on those that finished before the stop goes on."""
    size = max(1, min(workers, len(jobs)))
    for _attempt in range(2):
        if not jobs:
            return
        waiting = jobs[::-1]  # popped from the end: in the fleet's order
        running: dict[Future, Job] = {}
        broken: list[Job] = []
        with ProcessPoolExecutor(max_workers=size, initializer=_ignore_interrupts,
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            try:
                while running or (waiting and not broken):
                    while waiting and not broken and len(running) < size:
                        job = waiting.pop()
                        running[pool.submit(run_target, job)] = job
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        try:
                            done(future.result())
                        except BrokenProcessPool:
                            broken.append(running[future])
                        del running[future]
            except BaseException:
                pool.shutdown(wait=True)
                for future in running:
                    if not future.cancelled() and future.exception() is None:
                        done(future.result())
                raise
        jobs = broken + waiting[::-1]
    for job in jobs:
        done(Outcome(job.target.name, job.run_id, "failed",
                     "the worker process running this target died, twice"))


def _ignore_interrupts() -> None:
    """A pool worker's start: Ctrl-C reaches the whole terminal's process group, and the batch
    alone decides what a stop means (a worker interrupted mid-report would leave half of it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_dask(jobs: list[Job], address: str, done: Callable[[Outcome], None]) -> None:
    """One task per target on the cluster at `address`. The scheduler reruns the tasks of a
    worker that dies on another worker; a task that takes several workers down is failed.
    TLS (`tls://`) takes its certificates from distributed's configuration, as `dask` does."""
    from distributed import Client, as_completed  # there: _ask_scheduler found it

    try:
        client = Client(address, timeout=f"{DASK_TIMEOUT}s")
    except Exception as exc:  # noqa: BLE001 - whatever it is, there is no cluster to run on
        raise FleetError(f"cannot use the Dask scheduler: {type(exc).__name__}: {exc}",
                         address) from None
    with client:
        futures = {client.submit(run_target, job, pure=False,
                                 key=f"toolman-kit-{job.target.name}-{job.run_id}"): job
                   for job in jobs}
        for future in as_completed(futures):
            job = futures[future]
            try:
                done(future.result())
            except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker: this target only
                done(Outcome(job.target.name, job.run_id, "failed",
                             f"Dask: {type(exc).__name__}: {exc}"))


def _ask_scheduler(address: str) -> None:
    """Connect, handshake and ask the scheduler who it is, all within DASK_TIMEOUT. The Client's
    own timeout covers the TCP connect only: anything else that accepts connections (a web
    server, a port forward to nothing, a silent listener) would keep its handshake waiting for
    ever. An address distributed cannot use (`foo://x`) is an error here too, in one line."""
    import asyncio

    try:
        from distributed.comm import connect
        from distributed.security import Security
    except ImportError:
        raise FleetError("--dask-scheduler needs Dask: pip install 'toolman-kit[dask]'") from None

    try:
        security = Security().get_connection_args("client")  # distributed's config and env
    except Exception as exc:  # noqa: BLE001 - e.g. a certificate file that is not there
        raise FleetError(f"distributed's TLS configuration: {type(exc).__name__}: {exc}",
                         address) from None
    if address.startswith("tls://") and security["ssl_context"] is None:
        raise FleetError("tls:// needs the client's certificates in distributed's configuration "
                         "(distributed.comm.tls.ca-file, .client.cert, .client.key; see the "
                         "README)", address)

    _listening(address)

    async def identity() -> object:
        comm = await connect(address, timeout=DASK_TIMEOUT, **security)
        try:
            await comm.write({"op": "identity", "n_workers": 0, "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    got: dict[str, object] = {}

    def ask() -> None:  # in a thread of its own: the caller may be in an event loop (Jupyter)
        try:
            got["answer"] = asyncio.run(asyncio.wait_for(identity(), DASK_TIMEOUT))
        except Exception as exc:  # noqa: BLE001 - said below, in the caller's thread
            got["error"] = exc

    asker = threading.Thread(target=ask, name="toolman-kit-dask-probe", daemon=True)
    asker.start()
    asker.join()  # wait_for bounds it
    error, answer = got.get("error"), got.get("answer")
    if isinstance(error, TimeoutError):
        raise FleetError(f"no answer from a Dask scheduler within {DASK_TIMEOUT} s: is this "
                         "address a Dask scheduler's?", address)
    if error is not None:  # a bad address, refused, TLS, not Dask's protocol
        raise FleetError(f"cannot reach a Dask scheduler: {type(error).__name__}: {error}",
                         address)
    kind = answer.get("type") if isinstance(answer, dict) else None
    if kind is None or kind in ("Worker", "Nanny"):
        raise FleetError(f"not a Dask scheduler (it answers as {kind or 'something else'})",
                         address)


def _listening(address: str) -> None:
    """Refused at once when nothing listens at a tcp:// or tls:// address: distributed would
    retry the connection until its timeout and leave the user 15 s for a typo'd port."""
    where = urlsplit(address)
    try:
        host, port = where.hostname, where.port
    except ValueError:
        return  # distributed says what is wrong with it
    if where.scheme not in ("tcp", "tls") or not host or port is None:
        return
    try:
        socket.create_connection((host, port), timeout=DASK_TIMEOUT).close()
    except OSError as exc:
        raise FleetError(f"cannot reach a Dask scheduler: {exc.strerror or exc}", address) from None


def describe(o: Outcome) -> str:
    """A target's line, e.g. "web: ok  ❌ 2  ⚠️ 3  ✅ 40  (5 errors, 2 warnings; +1 new, −0
    resolved)  2.1s": its checklist rows by status as `report` prints them, then its failing
    findings in words."""
    text = f"{o.target}: {o.status}"
    if c := o.checklist_counts:
        text += f"  ❌ {c['fail']}  ⚠️ {c['warning']}  ✅ {c['pass']}"
    details = []
    if f := o.counts:
        details.append(f"{plural(f['error'], 'error')}, {plural(f['warning'], 'warning')}")
    if o.new or o.resolved:
        details.append(f"+{len(o.new)} new, −{len(o.resolved)} resolved")
    if details:
        text += f"  ({'; '.join(details)})"
    text += f"  {o.seconds:.1f}s"
    return terminal_safe(text) + (f"\n    {terminal_safe(o.error)}" if o.error else "")
