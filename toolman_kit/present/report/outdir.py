"""Where a report goes, and what it may replace there: only what the kit wrote itself.

A report directory carries MARKER, the list of the files the kit wrote in it. `--out DIR`:
- DIR does not exist: the report is made in a staging sibling, renamed into place;
- DIR is a report (its marker lists everything in it): replaced whole the same way, so a reader
  sees the previous report or the new one, never a mix;
- DIR holds other files too, or is `.`, an ancestor of the working directory, the home directory,
  a mount point or a symbolic link: the report is made in a staging directory inside DIR and its
  files are moved in one by one (each atomically), replacing only files the marker lists;
- DIR exists without a marker and is not empty: refused unless `force` (`--force-out`; then
  as above).
A report file that would replace a file the kit did not write is refused either way. Every check
runs, and the staging directory is made (proving DIR writable), before any kernel starts.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from toolman_kit.atomic import existing_mode, new_directory, write_atomic
from toolman_kit.errors import ReportError, ToolmanKitError

MARKER = ".toolman-report"
STAGING = re.compile(r"^\.toolman-report\.[0-9a-f]{8}\.tmp$")  # ours, left by a killed run


@dataclass
class Destination:
    out: Path  # as given, for messages
    real: Path  # where the files go (symbolic links resolved)
    inside: bool  # files moved into `real` one by one; else `real` replaced whole
    listed: frozenset[str]  # what the kit wrote there before (the marker's list)
    staging: Path


def prepare(out: Path, files: list[str], force: bool = False) -> Destination:
    """Check `out` can take a report of `files` and make the staging directory; raise a
    one-line ToolmanKitError otherwise."""
    real = out.resolve()
    try:
        if not os.path.lexists(out):
            real.parent.mkdir(parents=True, exist_ok=True)
            return Destination(out, real, False, frozenset(),
                               new_directory(real.parent, f".{real.name}."))
        if not real.is_dir():
            raise ToolmanKitError("not a directory: give --out a directory", str(out))
        listed, entries = read_marker(real), set(os.listdir(real))
        # A fresh volume's root holds lost+found: still an empty directory.
        entries = {e for e in entries if not STAGING.match(e)} - {MARKER, "lost+found"}
        if listed is None and entries and not force:
            raise ToolmanKitError(
                f"not empty and not a toolman-kit report (no {MARKER}): choose another --out, "
                "or add --force-out to write the report's files into it (the others are kept)",
                str(out))
        listed = listed or frozenset()
        if not (entries - listed) and listed and not (out.is_symlink() or kept_whole(real)):
            return Destination(out, real, False, listed,
                               new_directory(real.parent, f".{real.name}."))
        if clash := sorted(set(files) & entries - listed):
            raise ToolmanKitError("exists and was not written by toolman-kit: move it, or "
                                  "choose another --out", str(out / clash[0]))
        return Destination(out, real, True, listed, new_directory(real, f"{MARKER}."))
    except OSError as exc:
        raise ToolmanKitError(f"cannot write the report here: {exc.strerror}", str(out)) \
            from None


def kept_whole(real: Path) -> bool:
    """Directories never replaced whole: the working directory and its ancestors, the home
    directory, mount points (a rename cannot cross them; a Docker volume is one)."""
    cwd = Path.cwd().resolve()
    return (real == cwd or real in cwd.parents or real == Path.home().resolve()
            or os.path.ismount(real))


def read_marker(directory: Path) -> frozenset[str] | None:
    """The file names the marker lists (None without a marker). Only plain names count: a
    marker someone edited cannot make the kit replace a file elsewhere."""
    try:
        fd = os.open(directory / MARKER, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ToolmanKitError(f"cannot read the report marker: {exc.strerror}",
                              str(directory / MARKER)) from None
    with open(fd, encoding="utf-8", errors="replace") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise ToolmanKitError("the report marker is not a file", str(directory / MARKER))
        lines = f.read(1 << 20).splitlines()
    return frozenset(n for n in lines if n and not n.startswith("#") and "/" not in n
                     and n not in (".", "..", MARKER) and "\0" not in n)


def place(dest: Destination) -> None:
    """Put the finished report in `dest.staging` in place (see the module's docstring)."""
    names = sorted(os.listdir(dest.staging))
    try:
        if dest.inside:
            _move_in(dest, names)
        else:
            _marker(dest.staging, names)
            swap(dest.staging, dest.real)
    except OSError as exc:
        raise ReportError(f"cannot write the report: {exc.strerror}"
                          + (f" ({exc.filename})" if exc.filename else ""), str(dest.out)) \
            from None


def _move_in(dest: Destination, names: list[str]) -> None:
    """Each file renamed into place, keeping the mode of the one it replaces; index.html last,
    so the new index links to pages already there. The marker lists every file of both reports
    while they are moved (an interruption leaves none unlisted), then this report's."""
    real = dest.real
    _marker(real, sorted(dest.listed | set(names)))
    for name in sorted(names, key=lambda n: n == "index.html"):
        target = real / name
        try:
            st = os.lstat(target)
        except FileNotFoundError:
            st = None
        if st is not None:
            if name not in dest.listed:
                raise ReportError("appeared while the report was made and was not written by "
                                  "toolman-kit: not replaced", str(dest.out / name))
            if stat.S_ISREG(st.st_mode):
                os.chmod(dest.staging / name, stat.S_IMODE(st.st_mode))
        os.replace(dest.staging / name, target)
    for stale in dest.listed - set(names):  # the previous report's, not made this time
        path = real / stale
        if os.path.lexists(path) and stat.S_ISREG(os.lstat(path).st_mode):
            path.unlink()
    _marker(real, names)


def _marker(directory: Path, names: list[str]) -> None:
    write_atomic(directory / MARKER,
                 "# toolman-kit report: the files it wrote here, the only ones it replaces\n"
                 + "".join(f"{n}\n" for n in names if n != MARKER))


def swap(staging: Path, out: Path) -> None:
    """Put `staging` in place of `out`: the previous report is moved aside, not overwritten,
    and put back if the rename fails. The new directory keeps the previous one's mode."""
    old = None
    if os.path.lexists(out):
        if (mode := existing_mode(out)) is not None:
            staging.chmod(mode)
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
