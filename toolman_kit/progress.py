"""Progress of long work: a bar redrawn in place on a terminal, one line per item otherwise."""

from __future__ import annotations

import time
from typing import TextIO

WIDTH = 24


class Progress:
    """`with Progress(stream, "production: provenance", total) as p: … p.advance()`; a None
    stream shows nothing."""

    def __init__(self, stream: TextIO | None, label: str, total: int):
        self.stream, self.label, self.total, self.done = stream, label, total, 0
        self.tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)())
        self.started = time.perf_counter()

    def __enter__(self) -> Progress:
        self._draw()
        return self

    def advance(self, n: int = 1) -> None:
        self.done += n
        self._draw()

    def __exit__(self, *exc: object) -> None:
        if self.stream is None:
            return
        seconds = time.perf_counter() - self.started
        line = f"{self.label}: {self.done}/{self.total} in {seconds:.1f}s"
        self.stream.write(("\r\x1b[2K" if self.tty else "") + line + "\n")
        self.stream.flush()

    def _draw(self) -> None:
        if not self.tty or self.stream is None:
            return
        filled = WIDTH * self.done // max(self.total, 1)
        bar = "█" * filled + "░" * (WIDTH - filled)
        self.stream.write(f"\r\x1b[2K{self.label} {bar} {self.done}/{self.total}")
        self.stream.flush()
