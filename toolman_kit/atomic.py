"""Write files atomically: a temporary file in the same directory, renamed into place, so a
reader never sees half a file and a failed run leaves the previous one intact.

Modes are the user's: a file replaced keeps its mode (a 0600 file stays 0600), a new file gets
`mode` less the umask, as `open()` would make it; the kernel applies the umask, so nothing here
reads or changes it (a process-wide setting other threads rely on).
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def open_atomic(path: str | Path, binary: bool = False, mode: int = 0o666) -> Iterator[IO[Any]]:
    """A stream (UTF-8 text, or bytes) whose content replaces `path` when the block ends without
    an exception, and is discarded otherwise: for outputs written as they are produced."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    kept = existing_mode(path)
    # Private while it is written when it replaces a file (which may be 0600).
    fd, tmp = _create(path, 0o600 if kept is not None else mode)
    try:
        with (os.fdopen(fd, "wb") if binary else
              os.fdopen(fd, "w", encoding="utf-8", newline="")) as out:
            yield out
        if kept is not None:
            os.chmod(tmp, kept)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, data: str | bytes, mode: int = 0o666) -> Path:
    with open_atomic(path, binary=isinstance(data, bytes), mode=mode) as out:
        out.write(data)
    return Path(path)


def existing_mode(path: Path) -> int | None:
    """The permission bits of the file at `path`, None when there is none."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None


def new_directory(parent: Path, prefix: str) -> Path:
    """A new directory `parent/<prefix><random>.tmp`, made as `mkdir` makes one (0777 less the
    umask): unlike tempfile.mkdtemp's 0700, what is put in place keeps the user's umask."""
    while True:
        path = parent / f"{prefix}{secrets.token_hex(4)}.tmp"
        try:
            path.mkdir(0o777)
            return path
        except FileExistsError:
            continue


def _create(path: Path, mode: int) -> tuple[int, Path]:
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            return os.open(tmp, flags, mode), tmp
        except FileExistsError:
            continue
        except OSError as exc:  # named by the file asked for, not the temporary one
            raise OSError(exc.errno, exc.strerror, str(path)) from None
