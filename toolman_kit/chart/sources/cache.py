"""The chart cache: `$XDG_CACHE_HOME/toolman-kit/charts/` (default ~/.cache/toolman-kit/charts).

  sha256-<hex>.tgz         an archive, verified, named by its digest
  sha256-<hex>/<name>/     that archive unpacked (archive.py)
  index/<key>.yaml         a repository's index.yaml, as last fetched (for --offline)
  refs/<key>.json          what a reference resolved to ({"digest", "version"}): an OCI tag or
                           an archive URL, so --offline finds its archive without the network
  deps/<key>/<name>/       a chart with the dependencies it lacked fetched into charts/
  named/<key>/<name>/      a chart as the user named it, beside named/<key>/source.json (the
                           reference, the digest): what outputs call it (sources.shown)
Keys are sha256 of the URL (without credentials). Everything is written to a temporary file or
directory and renamed into place, so concurrent runs (a fleet's workers) never see half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from toolman_kit.chart.sources import archive
from toolman_kit.errors import FetchError


def root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "toolman-kit" / "charts"


def key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def archive_path(digest: str) -> Path:
    return root() / f"{digest.replace(':', '-')}.tgz"


def has(digest: str | None) -> bool:
    return bool(digest) and archive_path(digest).is_file()  # type: ignore[arg-type]


def store(data: bytes, expected: str | None, label: str) -> str:
    """Keep `data` under its digest (`sha256:<hex>`); a FetchError when it is not `expected`."""
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    if expected and _normal(expected) != digest:
        raise FetchError(f"digest mismatch: expected {_normal(expected)}, downloaded {digest} "
                         "(the download is corrupt or was tampered with)", file=label)
    path = archive_path(digest)
    if not path.is_file():
        write(path, data)
    return digest


def unpacked(digest: str, label: str) -> Path:
    """The chart directory of the cached archive `digest`."""
    return archive.unpack(archive_path(digest), root() / digest.replace(":", "-"), label)


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remember(ref: str, record: dict[str, Any]) -> None:
    write(root() / "refs" / f"{key(ref)}.json", json.dumps(record).encode())


def recall(ref: str) -> dict[str, Any] | None:
    try:
        data = json.loads((root() / "refs" / f"{key(ref)}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def index_path(url: str) -> Path:
    return root() / "index" / f"{key(url)}.yaml"


def _normal(digest: str) -> str:
    """An index's bare hex digest, or `sha256:<hex>`, as `sha256:<hex>` (lower case)."""
    digest = digest.strip().lower()
    return digest if digest.startswith("sha256:") else "sha256:" + digest


SOURCE = "source.json"


def named(chart: Path, record: dict[str, Any]) -> Path:
    """A copy of `chart` kept for the name in `record` (its reference and digest), so that a
    path is enough to know what the user called it, in this process and the ones it starts
    (report kernels, fleet workers). The copy is keyed by the name: two references to one
    archive get a copy each, and never each other's name."""
    target = root() / "named" / key(json.dumps(record, sort_keys=True))

    def build(work: Path) -> None:
        shutil.copytree(chart, work / chart.name, symlinks=True)
        (work / SOURCE).write_text(json.dumps(record), encoding="utf-8")

    archive.publish(target, build, ".named-")
    return target / chart.name


def name_of(chart: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The record named() keeps for the chart directory `chart` (None: not one of those)."""
    path = Path(os.path.abspath(chart))
    folder = path.parent.parent
    if folder.parent != Path(os.path.abspath(root())) or folder.name not in ("named", "deps"):
        return None
    try:
        data = json.loads((path.parent / SOURCE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
