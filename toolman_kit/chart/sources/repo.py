"""Charts from an HTTP chart repository (`--repo URL NAME --version RANGE`) and archive URLs.

The repository's `index.yaml` names each version's archive URLs and sha256 `digest`: the newest
version matching the range is taken (semver.py), its archive downloaded unless the cache holds
that digest already, and checked against it. The index is cached too, so --offline resolves the
range from the last index fetched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from toolman_kit.chart.sources import cache, http, semver
from toolman_kit.chart.sources.credentials import login
from toolman_kit.errors import FetchError
from toolman_kit.read import yamlsafe


def fetch(repo: str, name: str, version: str | None, offline: bool,
          env_host: str | None) -> tuple[Path, str, str]:
    """(chart directory, archive digest, version) of `name` at the newest version matching
    `version` (None: the newest release) in the repository at `repo`."""
    base = repo.rstrip("/")
    shown = f"{http.redact(base)} {name}"
    entries = _index(base, offline, env_host, shown).get(name)
    if not isinstance(entries, list) or not entries:
        raise FetchError(f"no chart {name!r} in the repository's index.yaml",
                         file=http.redact(base))
    versions = {}
    for entry in entries:
        parsed = semver.Version.parse(str(entry.get("version"))) if isinstance(entry, dict) \
            else None
        if parsed:
            versions[parsed] = entry
    try:
        chosen = semver.newest(list(versions), version or "*")
    except semver.RangeError as e:
        raise FetchError(f"--version {version!r}: {e}", file=shown) from None
    if chosen is None:
        listed = ", ".join(v.text for v in sorted(versions, key=semver.Version.key)[-5:])
        raise FetchError(f"no version of {name!r} matches {version or '*'!r} "
                         f"(newest: {listed or 'none'})", file=http.redact(base))
    entry = versions[chosen]
    urls = entry.get("urls") or []
    if not urls:
        raise FetchError(f"index.yaml gives no URL for {name} {chosen.text}",
                         file=http.redact(base))
    url = urljoin(base + "/", str(urls[0]))
    digest = str(entry.get("digest") or "") or None
    label = f"{http.redact(base)} {name} {chosen.text}"
    return archive_url(url, offline, env_host, digest=digest, label=label), \
        _digest_of(url, digest), chosen.text


def archive_url(url: str, offline: bool, env_host: str | None, digest: str | None = None,
                label: str | None = None) -> Path:
    """The chart directory of the archive at `url` (verified against `digest` when given)."""
    label = label or http.redact(url)
    known = _digest_of(url, digest)
    if not cache.has(known):
        if offline:
            raise FetchError(f"not in the cache ({cache.root()}) and --offline: run once "
                             "without --offline to fetch it", file=label)
        body = http.get(url, auth=login(url, env_host), what="chart download").body
        known = cache.store(body, digest, label)
        cache.remember(http.redact(url), {"digest": known})
    assert known is not None
    return cache.unpacked(known, label)


def _digest_of(url: str, digest: str | None) -> str | None:
    if digest:
        hexa = digest.lower().removeprefix("sha256:")
        return f"sha256:{hexa}"
    recalled = cache.recall(http.redact(url))
    return str(recalled["digest"]) if recalled and recalled.get("digest") else None


def _index(base: str, offline: bool, env_host: str | None, shown: str) -> dict[str, Any]:
    url = base + "/index.yaml"
    path = cache.index_path(http.redact(url))
    if offline:
        try:
            text = path.read_bytes()
        except OSError:
            raise FetchError(f"the repository's index.yaml is not in the cache ({cache.root()}) "
                             "and --offline: run once without --offline to fetch it",
                             file=shown) from None
    else:
        text = http.get(url, auth=login(url, env_host), what="repository index").body
        cache.write(path, text)
    try:
        data = yamlsafe.parse(text.decode("utf-8")).data
    except (UnicodeDecodeError, yamlsafe.YAMLInputError, ValueError) as e:
        raise FetchError(f"index.yaml is not YAML: {' '.join(str(e).split())[:200]}",
                         file=http.redact(url)) from None
    entries = data.get("entries") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise FetchError("index.yaml has no `entries`: not a chart repository",
                         file=http.redact(url))
    return entries
