"""Private temporary directories named after the process that owns them, and the sweep of those
whose owner is gone.

A report keeps Secret-bearing analyses (inputs.pickle), kernel connection files (each holds its
kernel's key) and half-built pages in temporary directories, removed when it ends — but not when
it is killed with SIGKILL or the machine loses power. Each name carries the owner's pid and host
(`tk-report-<pid>-<host>-<n>`), so the next report removes the ones whose process is dead:
only names of this form, only directories (never a symlink, never followed), only the current
user's, only from this host (a pid means nothing on another machine sharing the directory).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import stat
import tempfile
from pathlib import Path


def _host() -> str:
    """A short tag for this host: names stay short (kernels' socket paths have ≤ 107 bytes)."""
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:4]


def owned_prefix(prefix: str) -> str:
    """`prefix` + this process's pid and host tag, for tempfile.mkdtemp."""
    return f"{prefix}{os.getpid()}-{_host()}-"


def private_dir(prefix: str, parent: str | os.PathLike[str] | None = None) -> Path:
    """A new 0700 directory `<prefix><pid>-<host>-<n>` in `parent` (default: TMPDIR), after
    sweeping those of `prefix` whose process has ended. The name is short (a kernel's socket
    path in it must fit in 107 bytes, and TMPDIR may be long) and made with mkdir, which never
    reuses nor follows what is there already."""
    where = Path(parent) if parent is not None else Path(tempfile.gettempdir())
    sweep(where, prefix)
    for n in range(100):
        try:
            (path := where / f"{owned_prefix(prefix)}{n}").mkdir(mode=0o700)
            return path
        except FileExistsError:
            continue  # another report of this process, or a name planted to stop us
    return Path(tempfile.mkdtemp(prefix=owned_prefix(prefix), dir=where))


def sweep(directory: Path, prefix: str) -> list[Path]:
    """Remove `directory`'s `<prefix><pid>-<host>-…` directories left by dead processes of this
    host and user; what is removed is returned. Errors leave an entry as it is: a sweep never
    stops the run that does it."""
    pattern = re.compile(re.escape(prefix) + r"(\d+)-" + _host() + r"-")
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        m = pattern.match(name)
        if not m or _alive(int(m[1])):
            continue
        path = directory / name
        try:
            st = path.lstat()
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
            continue  # a symlink or a file planted under our name, or another user's
        shutil.rmtree(path, ignore_errors=True)  # does not follow symlinks inside it
        removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process holds that pid now
    return True
