"""Write files atomically: a temporary file in the same directory, renamed into place, so a
reader never sees half a file and a failed run leaves the previous one intact."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def open_atomic(path: str | Path, binary: bool = False) -> Iterator[IO[Any]]:
    """A stream (UTF-8 text, or bytes) whose content replaces `path` when the block ends without
    an exception, and is discarded otherwise: for outputs written as they are produced."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with (os.fdopen(fd, "wb") if binary else
              os.fdopen(fd, "w", encoding="utf-8", newline="")) as out:
            yield out
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    with open_atomic(path, binary=isinstance(data, bytes)) as out:
        out.write(data)
    return Path(path)
