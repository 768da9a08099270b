"""Where charts render: child processes that can be stopped.

A chart is untrusted input: its templates can loop for ever, allocate until the machine swaps, or
recurse until Go's runtime aborts the whole process (`fatal error: …`, which no Python code can
catch; while the SDK's C call runs, not even SIGTERM is handled). So every call into the Helm SDK
that executes templates (render, lint) runs in a child process (chart/child.py) — a fresh
interpreter, not a fork: the Go runtime does not survive a fork — kept alive from one render to
the next, with
  * a time bound per render (`--render-timeout`): past it the child is killed, and a new one
    started for the next render;
  * a memory bound (RLIMIT_DATA), so a runaway allocation fails in the child at once instead of
    taking the machine's memory: Go aborts, and the parent says so in one line;
  * an output bound (`--max-bytes`): a larger render is refused before it is parsed.
The parent waits in select() with a deadline, so SIGTERM and Ctrl-C are handled at once and kill
the child on the way out; the child has its own session (the terminal's Ctrl-C is the parent's to
handle) and dies with its parent (PR_SET_PDEATHSIG).

The bounds come from the environment (TOOLMAN_KIT_RENDER_TIMEOUT, TOOLMAN_KIT_RENDER_MAX_BYTES),
which the command line sets from its flags for the command's duration: they then reach every
process the command starts (report kernels, fleet workers) without being passed down each call.
A fleet target's own `render_timeout` holds for the thread that runs it only (timeout_set): a Dask
worker may run several targets at once, in threads of one process.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolman_kit.errors import RenderError

ENV_TIMEOUT = "TOOLMAN_KIT_RENDER_TIMEOUT"
ENV_MAX_BYTES = "TOOLMAN_KIT_RENDER_MAX_BYTES"
DEFAULT_TIMEOUT = 60.0  # seconds; the largest real charts render in well under one
DEFAULT_MAX_BYTES = 512 * 2**20  # as --max-bytes for manifest inputs (read/manifests.py)
MIN_MEMORY = 2 * 2**30
BOOT_SECONDS = 60.0  # a render process's start, at most (≈ 0.3 s; more on a loaded machine)
HEADER = struct.Struct("!Q")  # the length of each pickled message
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


@dataclass(frozen=True)
class Limits:
    timeout: float = DEFAULT_TIMEOUT
    max_bytes: int = DEFAULT_MAX_BYTES
    timeout_from: str = "--render-timeout"  # what set it, for the message past it

    @property
    def memory(self) -> int:
        """The child's RLIMIT_DATA: Go needs several times the output's size to build it (a
        600 MB render peaked past 4 GiB), so the bound follows --max-bytes, at least 2 GiB."""
        return max(MIN_MEMORY, 8 * self.max_bytes)

    def __str__(self) -> str:
        return f"{self.timeout:g} s, {_size(self.max_bytes)} output, {_size(self.memory)} memory"


_thread = threading.local()  # .timeout: this thread's own bound, set by timeout_set


def limits() -> Limits:
    """The bounds in force: this thread's timeout (timeout_set), the environment's, else the
    defaults."""
    def number(name: str, default: float) -> float:
        try:
            value = float(os.environ.get(name, default))
        except ValueError:
            return default
        return value if value > 0 else default

    max_bytes = int(number(ENV_MAX_BYTES, DEFAULT_MAX_BYTES))
    own = getattr(_thread, "timeout", None)
    if own is not None:
        return Limits(own[0], max_bytes, own[1])
    return Limits(number(ENV_TIMEOUT, DEFAULT_TIMEOUT), max_bytes)


@contextlib.contextmanager
def timeout_set(seconds: float | None, source: str) -> Iterator[None]:
    """Renders started in this thread inside the block take `seconds` at most (None: the bound
    in force), past it an error naming `source`, e.g. a fleet file's `render_timeout`."""
    saved = getattr(_thread, "timeout", None)
    if seconds is not None:
        _thread.timeout = (float(seconds), source)
    try:
        yield
    finally:
        _thread.timeout = saved


@contextlib.contextmanager
def limits_set(timeout: float | None = None, max_bytes: int | None = None) -> Iterator[None]:
    """The bounds for what runs inside the block, this process and those it starts."""
    with environment({ENV_TIMEOUT: None if timeout is None else repr(timeout),
                      ENV_MAX_BYTES: None if max_bytes is None else repr(max_bytes)}):
        yield


@contextlib.contextmanager
def environment(values: dict[str, str | None]) -> Iterator[None]:
    """The environment variables `values` set (None: left as they are) for the block, so the
    processes it starts inherit them; restored afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update({name: value for name, value in values.items() if value is not None})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _cwd() -> str | None:
    """The working directory a request's relative paths mean (None: it was removed)."""
    try:
        return os.getcwd()
    except FileNotFoundError:
        return None


class Child:
    """One render process; started on first use, and again after it was killed or died."""

    def __init__(self, bounds: Limits):
        self.bounds = bounds
        self.proc: subprocess.Popen[bytes] | None = None
        self.stderr: Any = None  # a temporary file: Go's crash dump lands there, not on ours
        self.started_seconds = 0.0
        self.ready = False
        self.busy_since = 0.0
        self.where = ""  # what the request in flight renders, for messages

    def start(self) -> None:
        started = time.perf_counter()
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the child
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            filter(None, [_PACKAGE_ROOT, os.environ.get("PYTHONPATH")])))
        env[ENV_MAX_BYTES] = str(self.bounds.max_bytes)
        env["TOOLMAN_KIT_RENDER_MEMORY"] = str(self.bounds.memory)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "toolman_kit.chart.child"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self.stderr, env=env, start_new_session=True)
        self.ready = False
        self.started_seconds = time.perf_counter() - started

    def _wait_ready(self) -> None:
        """Until the child says it is ready (an empty message): its start-up is not counted
        against the render's time bound, which a busy machine could otherwise exceed."""
        deadline = time.monotonic() + max(BOOT_SECONDS, self.bounds.timeout)
        while not select.select([self], [], [], max(0.0, deadline - time.monotonic()))[0]:
            if time.monotonic() >= deadline:
                self.kill()
                raise RenderError(f"the render process did not start within "
                                  f"{max(BOOT_SECONDS, self.bounds.timeout):g} s")
        if self._read(HEADER.size) is None:
            raise self._died()
        self.ready = True

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def send(self, op: str, args: tuple[Any, ...], where: str) -> None:
        """Send a request (starting the child if need be); a RenderError if it cannot start."""
        self.where = where
        if not self.alive:
            self.kill()
            self.start()
        if not self.ready:
            self._wait_ready()
        assert self.proc is not None and self.proc.stdin is not None
        body = pickle.dumps((op, args, _cwd()), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self.proc.stdin.write(HEADER.pack(len(body)) + body)
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass  # it died: receive() says why
        self.busy_since = time.monotonic()

    def fileno(self) -> int:
        assert self.proc is not None and self.proc.stdout is not None
        return self.proc.stdout.fileno()

    def receive(self) -> Any:
        """The answer to the request in flight (call once fileno() is readable): its value, or
        a RenderError (Helm's message, or why the child died)."""
        header = self._read(HEADER.size)
        if header is None:
            raise self._died()
        (size,) = HEADER.unpack(header)
        body = self._read(size)
        if body is None:
            raise self._died()
        status, value = pickle.loads(body)  # noqa: S301 - our own child's answer
        if status == "error":
            return RenderError(*value)
        return value

    def _read(self, size: int) -> bytes | None:
        chunks, left = [], size
        while left:
            chunk = os.read(self.fileno(), min(left, 2**20))
            if not chunk:
                return None
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _died(self) -> RenderError:
        """Why the child ended mid-request, in one line (Go's dump is hundreds)."""
        assert self.proc is not None
        code = self.proc.wait()
        self.stderr.seek(0)
        dump = self.stderr.read(64 * 2**10).decode("utf-8", "replace")
        self.kill()
        fatal = next((line for line in dump.splitlines() if line.startswith("fatal error:")), "")
        if "out of memory" in fatal or "malloc failed" in fatal or "MemoryError" in dump:
            why = (f"Helm ran out of memory (the render process may use "
                   f"{_size(self.bounds.memory)}: a template makes too much)")
        elif "stack overflow" in fatal or "stack exceeds" in dump:
            why = "Helm's stack overflowed (a template recurses without end)"
        else:
            signum = -code if code < 0 else None
            how = f"killed by {signal.Signals(signum).name}" if signum else f"exit status {code}"
            why = f"the render process died ({how}){': ' + fatal if fatal else ''}"
        return RenderError(why, file=self.where or None)

    def kill(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            for pipe in (self.proc.stdin, self.proc.stdout):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()
            self.proc = None
        if self.stderr is not None:
            self.stderr.close()
            self.stderr = None

    def close(self) -> None:
        """End the child: EOF on its input ends its loop; kill() if it does not go at once."""
        if self.alive and self.proc is not None and self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=1)
        self.kill()


class Sandbox:
    """Up to `size` render processes; calls go to them, each bounded in time."""

    def __init__(self, size: int = 1, bounds: Limits | None = None):
        self.bounds = bounds or limits()
        self.children = [Child(self.bounds) for _ in range(max(1, size))]
        self.started = 0  # children started so far (for the pool's cost model)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for child in self.children:
            child.close()

    def call(self, op: str, *args: Any, where: str = "") -> Any:
        """One request, in the first child: its value, or the RenderError raised."""
        (result,) = self.map(op, [args], where=where, width=1)
        if isinstance(result, RenderError):
            raise result
        return result

    def map(self, op: str, many: Sequence[tuple[Any, ...]], where: str = "",
            width: int | None = None,
            done: Callable[[int, Any], None] | None = None) -> list[Any]:
        """Each request in one of the first `width` children (default all), as they come free:
        its value or a RenderError, in order (and to `done(index, result)` as each comes). A
        request past the time bound kills its child (the next request starts a new one).
        Anything raised here (Ctrl-C, SIGTERM) kills the children at work before it goes on."""
        children = self.children[:width or len(self.children)]
        results: list[Any] = [None] * len(many)
        todo = list(range(len(many)))[::-1]
        busy: dict[Child, int] = {}
        try:
            for child in children[:len(many)]:  # the starts overlap
                if not child.alive:
                    child.kill()
                    child.start()
                    self.started += 1
            while todo or busy:
                for child in children:
                    if todo and child not in busy:
                        if not child.alive:
                            self.started += 1
                        i = todo.pop()
                        try:
                            child.send(op, many[i], where)
                        except RenderError as e:
                            results[i] = e
                            if done:
                                done(i, e)
                            continue
                        busy[child] = i
                if not busy:
                    continue
                now = time.monotonic()
                wait = min(c.busy_since + self.bounds.timeout for c in busy) - now
                ready, _, _ = select.select(list(busy), [], [], max(0.0, wait))
                for child in ready:
                    i = busy.pop(child)
                    try:
                        results[i] = child.receive()
                    except RenderError as e:
                        results[i] = e
                    if done:
                        done(i, results[i])
                now = time.monotonic()
                for child in [c for c in busy if now >= c.busy_since + self.bounds.timeout]:
                    child.kill()
                    i = busy.pop(child)
                    results[i] = RenderError(
                        f"render took longer than {self.bounds.timeout:g} s "
                        f"({self.bounds.timeout_from})",
                        file=where or None)
                    if done:
                        done(i, results[i])
        except BaseException:
            for child in busy:
                child.kill()
            raise
        return results


def _size(n: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n} bytes"


# The render() of a process (check, report inputs, a fleet target): one child per thread (a child
# answers one request at a time), kept for the next render.
_local = threading.local()
_every: list[Sandbox] = []


def shared() -> Sandbox:
    """This thread's sandbox for single renders, restarted when the bounds change."""
    bounds = limits()
    mine: Sandbox | None = getattr(_local, "sandbox", None)
    if mine is None or mine.bounds != bounds:
        if mine is not None:
            mine.close()
            _every.remove(mine)
        mine = _local.sandbox = Sandbox(1, bounds)
        _every.append(mine)
    return mine


def close_shared() -> None:
    for sandbox in _every:
        sandbox.close()
    _every.clear()


atexit.register(close_shared)
