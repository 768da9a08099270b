"""Subcharts a chart declares, lacks in charts/ and needs (enabled by their condition/tags under
the values, chart/dependencies.py): fetched from their `repository` — `file://` (relative to the
chart), an HTTP chart repository, `oci://`, or `@name`/`alias:name` from Helm's repositories.yaml
— at the version Chart.lock pins, else the newest matching Chart.yaml's range.

The chart directory is never written to: the chart is copied into the cache with the fetched
subcharts in its charts/ (deps/<key>/<name>, the key digesting the chart's files and each
subchart's digest), and that copy is rendered. Disabled missing subcharts are left alone: the
render skips them with one warning, as before.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from toolman_kit.chart import dependencies
from toolman_kit.chart.merging import merge_values
from toolman_kit.chart.sources import archive, cache, credentials, http, oci, repo
from toolman_kit.errors import FetchError
from toolman_kit.read import yamlsafe


def complete(chart: Path, values: Mapping[str, Any] | Sequence[Mapping[str, Any]],
             offline: bool, env_host: str | None = None, plain_http: bool = False) -> Path:
    """`chart`, or its copy with the enabled missing subcharts fetched into charts/. `values`
    may be several value sets (compare's, a report's): a subchart any of them enables is
    fetched, and each set's render still decides by its own condition."""
    meta = _yaml(chart / "Chart.yaml")
    declared = [d for d in meta.get("dependencies") or () if isinstance(d, dict)]
    absent = [d for d in declared if str(d.get("name")) not in present(chart / "charts")]
    if not absent:
        return chart
    need = {}
    for given in [values] if isinstance(values, Mapping) else values or [{}]:
        decided = dependencies.decide(absent, merge_values(_yaml(chart / "values.yaml"), given))
        need.update({str(d["name"]): (d, why) for d, why in zip(absent, decided, strict=True)
                     if why.enabled and str(d["name"]) not in need})
    if not need:
        return chart
    lock = _lock(chart)
    fetched = {name: _fetch(dep, why, chart, str(meta.get("name") or chart.name), lock,
                            offline, env_host, plain_http) for name, (dep, why) in need.items()}
    # the copy is named as its chart is (sources.shown): a fetched one's reference, else its path
    named = cache.name_of(chart) or {"ref": str(chart)}
    key = hashlib.sha256(content_digest(chart).encode())
    key.update(json.dumps(named, sort_keys=True).encode())
    for name, (_, digest) in sorted(fetched.items()):
        key.update(f"\0{name}\0{digest}".encode())
    target = cache.root() / "deps" / key.hexdigest()

    def build(work: Path) -> None:
        shutil.copytree(chart, work / chart.name, symlinks=True)
        (work / cache.SOURCE).write_text(json.dumps(named), encoding="utf-8")
        for name, (folder, _) in fetched.items():
            shutil.copytree(folder, work / chart.name / "charts" / name, symlinks=False)

    archive.publish(target, build, ".deps-")
    return target / chart.name


def present(charts: Path) -> set[str]:
    """The names of the subcharts in charts/ (directories and packaged ones), as Helm loads."""
    names: set[str] = set()
    if not charts.is_dir():
        return names
    for entry in charts.iterdir():
        if entry.is_dir() and (entry / "Chart.yaml").is_file():
            names.add(str(_yaml(entry / "Chart.yaml").get("name") or entry.name))
        elif entry.suffix == ".tgz" and (name := archive.top_name(entry)):
            names.add(name)
    return names


def content_digest(folder: Path) -> str:
    """A digest of a directory's files (paths and bytes), for cache keys."""
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(folder)).encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return "sha256:" + h.hexdigest()


def _fetch(dep: Mapping[str, Any], why: dependencies.Dependency, chart: Path, chart_name: str,
           lock: dict[str, str], offline: bool, env_host: str | None,
           plain_http: bool = False) -> tuple[Path, str]:
    """(subchart directory, its digest), or a FetchError naming the dependency and
    `helm dependency build`."""
    name = str(dep["name"])
    where = str(dep.get("repository") or "")
    version = lock.get(name) or str(dep.get("version") or "") or None
    try:
        if where.startswith("file://"):
            return _local(chart / where.removeprefix("file://"), name)
        if where.startswith(("@", "alias:")):
            named = where.removeprefix("alias:").removeprefix("@")
            url = credentials.repository_named(named)
            if not url:
                raise FetchError(f"no repository {named!r} in {credentials.repositories_file()}")
            where = url
        if where.startswith("oci://"):
            folder, digest, _ = oci.fetch(f"{where.rstrip('/')}/{name}", version, offline,
                                          env_host, plain_http)
            return folder, digest
        if where.startswith(("http://", "https://")):
            folder, digest, _ = repo.fetch(where, name, version, offline, env_host)
            return folder, digest
        raise FetchError("no repository to fetch it from")
    except FetchError as e:
        reason = f"{e.file}: {e.message}" if e.file else e.message
        missing = dependencies.missing_error(chart_name, str(chart), [why])
        head, _, command = missing.partition(": run ")
        raise FetchError(
            f"{head}, and {name} {version or '(any version)'} cannot be fetched from "
            f"{http.redact(where) or '(no repository)'} ({reason}): run {command}",
            file=str(chart / "Chart.yaml")) from None


def _local(path: Path, name: str) -> tuple[Path, str]:
    if path.is_dir() and (path / "Chart.yaml").is_file():
        return path, content_digest(path)
    if path.is_file():
        digest = cache.store(path.read_bytes(), None, str(path))
        return cache.unpacked(digest, str(path)), digest
    raise FetchError(f"{path}: no chart {name!r} there")


def _lock(chart: Path) -> dict[str, str]:
    """Chart.lock's pinned versions by dependency name."""
    data = _yaml(chart / "Chart.lock")
    return {str(d["name"]): str(d["version"]) for d in data.get("dependencies") or ()
            if isinstance(d, dict) and d.get("name") and d.get("version")}


def _yaml(path: Path) -> dict[str, Any]:
    try:
        data = yamlsafe.parse(path.read_text(encoding="utf-8")).data
    except (OSError, UnicodeDecodeError, yamlsafe.YAMLInputError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
