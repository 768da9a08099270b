"""Progress of long work: a bar redrawn in place on a terminal (with the time left), one line per
item the caller describes otherwise, and a last line saying how long it all took."""

from __future__ import annotations

import time
from typing import TextIO

WIDTH = 24


class Progress:
    """`with Progress(stream, "production: provenance", total) as p: … p.advance()`; a None
    stream shows nothing.

    `advance(line=…)` describes the item done: off a terminal as "[3/10] line"; on a terminal,
    where the bar already counts, only when `always` (a failure), above the bar.
    """

    def __init__(self, stream: TextIO | None, label: str, total: int):
        self.stream, self.label, self.total, self.done = stream, label, total, 0
        self.tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)())
        self.started = time.perf_counter()

    def __enter__(self) -> Progress:
        self._draw()
        return self

    def advance(self, n: int = 1, line: str = "", always: bool = False) -> None:
        self.done += n
        if line and (always or not self.tty):
            self._write(line if self.tty else f"[{self.done}/{self.total}] {line}")
        self._draw()

    def __exit__(self, *exc: object) -> None:
        seconds = time.perf_counter() - self.started
        self._write(f"{self.label}: {self.done}/{self.total} in {seconds:.1f}s")

    def _write(self, line: str) -> None:
        """A line of its own (on a terminal, in place of the bar, which the next draw puts
        back below it)."""
        if self.stream is None:
            return
        self.stream.write(("\r\x1b[2K" if self.tty else "") + line + "\n")
        self.stream.flush()

    def _draw(self) -> None:
        if not self.tty or self.stream is None:
            return
        filled = WIDTH * self.done // max(self.total, 1)
        bar = "█" * filled + "░" * (WIDTH - filled)
        self.stream.write(f"\r\x1b[2K{self.label} {bar} {self.done}/{self.total}{self._left()}")
        self.stream.flush()

    def _left(self) -> str:
        """", 1:05 left" at the pace so far, once an item is done and until the last."""
        if not 0 < self.done < self.total:
            return ""
        seconds = round((time.perf_counter() - self.started) / self.done
                        * (self.total - self.done))
        return f", {seconds // 60}:{seconds % 60:02d} left"
