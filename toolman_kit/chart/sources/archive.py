"""A packaged chart (`.tgz`) unpacked safely: the archive is untrusted input.

Every entry is checked before anything is written (tarfile's `data` filter, and stricter): only
regular files and directories; no absolute path, no `..`, no symlink, hard link, device or FIFO;
at most MAX_FILES entries and MAX_BYTES in all. Each refusal is one line naming the archive and
the entry. Files are written by us with plain modes (0644/0755), into a fresh directory that is
renamed into place only when complete, so a half-unpacked chart is never seen.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from toolman_kit.errors import FetchError
from toolman_kit.read import yamlsafe

MAX_FILES = 10_000
MAX_BYTES = 100 * 2**20  # uncompressed; the largest public charts are a few MiB


def unpack(archive: Path, target: Path, label: str | None = None) -> Path:
    """The chart directory inside `archive`, unpacked under `target` (kept when it is there
    already: `target` is named by the archive's digest); a FetchError otherwise."""
    name = label or str(archive)
    publish(target, lambda work: _extract(archive, work, name), ".unpack-")
    return chart_root(target, name)


def publish(target: Path, build: Callable[[Path], None], prefix: str) -> None:
    """`target` made by `build` in a scratch directory beside it, then renamed into place: no
    process sees it half made. Kept when it is there already (cache entries are named by their
    content) or when another process made it first."""
    if target.is_dir():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
    try:
        build(work)
        try:
            os.rename(work, target)
        except OSError:  # another process made it first
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def chart_root(folder: Path, label: str) -> Path:
    """The one top-level directory holding Chart.yaml, as `helm package` makes it."""
    roots = [p for p in sorted(folder.iterdir()) if (p / "Chart.yaml").is_file()]
    if len(roots) != 1:
        raise FetchError("not a packaged Helm chart (no single top-level directory with "
                         "Chart.yaml)", file=label)
    return roots[0]


def top_name(archive: Path) -> str | None:
    """The `name` in a packaged chart's Chart.yaml (None: unreadable), reading no further."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                parts = PurePosixPath(member.name).parts
                if len(parts) == 2 and parts[1] == "Chart.yaml" and member.isfile():
                    f = tar.extractfile(member)
                    data = yamlsafe.parse(f.read(2**20).decode()).data if f else None
                    return str(data.get("name")) if isinstance(data, dict) else None
    except (OSError, tarfile.TarError, zlib.error, EOFError, UnicodeDecodeError,
            yamlsafe.YAMLInputError, ValueError):
        return None
    return None


def _extract(archive: Path, work: Path, label: str) -> None:
    count, total = 0, 0
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                count += 1
                if count > MAX_FILES:
                    raise FetchError(f"archive has more than {MAX_FILES:,} entries (refused at "
                                     f"{_shown(member.name)!r})", file=label)
                path = _safe_path(member, label)
                if not path.parts:  # "./" itself
                    continue
                total += member.size if member.isfile() else 0
                if total > MAX_BYTES:
                    raise FetchError(f"archive unpacks to more than {MAX_BYTES // 2**20} MiB "
                                     f"(refused at {_shown(member.name)!r})", file=label)
                out = work / path
                if member.isdir():
                    out.mkdir(parents=True, exist_ok=True)
                    continue
                out.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                assert source is not None
                with open(out, "xb") as sink:  # x: an entry given twice is an error, not a
                    shutil.copyfileobj(source, sink)  # second write
                os.chmod(out, 0o755 if member.mode & 0o100 else 0o644)
    except FetchError:
        raise
    except FileExistsError as e:
        raise FetchError(f"archive holds {Path(e.filename).relative_to(work)} twice",
                         file=label) from None
    except (tarfile.TarError, zlib.error, EOFError, OSError) as e:
        raise FetchError(f"not a readable .tgz archive: {' '.join(str(e).split())}",
                         file=label) from None


def _safe_path(member: tarfile.TarInfo, label: str) -> PurePosixPath:
    name = member.name
    kind = ("a symlink" if member.issym() else "a hard link" if member.islnk()
            else "a device file" if member.isdev() and not member.isfifo()
            else "a FIFO" if member.isfifo() else None)
    if kind is None and not (member.isfile() or member.isdir()):
        kind = "not a regular file or directory"
    if kind:
        raise FetchError(f"archive entry {_shown(name)!r} is {kind}: refused", file=label)
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith("\\") or name[1:2] == ":":
        raise FetchError(f"archive entry {_shown(name)!r} has an absolute path: refused",
                         file=label)
    if ".." in path.parts or "\\" in name:
        raise FetchError(f"archive entry {_shown(name)!r} points outside the chart: refused",
                         file=label)
    return path


def _shown(name: str) -> str:
    """An entry's name as a message may show it: printable, bounded."""
    clean = "".join(c if c.isprintable() else "?" for c in name)
    return clean if len(clean) <= 200 else clean[:200] + "…"
