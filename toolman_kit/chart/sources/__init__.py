"""Charts from anywhere: what `--chart` (with `--repo`, `--version`), `tk.render` and a fleet
target's `chart:` may name, made into a chart directory to render.

  a directory                          as it is
  a packaged chart (a .tgz file)       unpacked into the cache
  http(s)://…/name-1.2.3.tgz           downloaded, cached by digest
  --repo URL NAME --version RANGE      the newest match in URL's index.yaml (repo.py)
  oci://host/path/name[:tag]           from an OCI registry (oci.py)
  oci://host/path/name@sha256:<hex>    the same, by the manifest's digest
Downloads are verified (index digest, manifest layer digest), cached by digest (cache.py) and
unpacked safely (archive.py). With `offline` (--offline, TOOLMAN_KIT_OFFLINE=1) nothing touches
the network: what the cache lacks is one error saying so. With `plain_http` (--plain-http,
TOOLMAN_KIT_PLAIN_HTTP=1, a fleet target's plain_http) OCI registries are plain HTTP wherever
they are, not only on the loopback address.

A chart fetched is rendered from a copy kept for its name (cache.named): outputs name it by the
reference given and its digest (shown, named), never by the cache's folders.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from toolman_kit.chart.sources import cache, http, oci, repo
from toolman_kit.errors import FetchError

ENV_OFFLINE = "TOOLMAN_KIT_OFFLINE"
ENV_PLAIN_HTTP = "TOOLMAN_KIT_PLAIN_HTTP"


@dataclass(frozen=True)
class Source:
    """A chart made local: the directory to render, what was named, and the archive's digest."""

    path: Path
    ref: str  # as named, credentials removed (e.g. "oci://r.example/charts/app:1.2.3",
    #           "app 1.2.3 from https://charts.example.com")
    digest: str | None = None  # sha256:… of the archive (None: a directory as it is)
    version: str | None = None  # the version chosen
    helm: str = ""  # the chart as `helm template` takes it ("app --repo URL --version 1.2.3")

    @property
    def label(self) -> str:
        """The reference and the digest, as outputs name the chart."""
        return f"{self.ref} ({self.digest})" if self.digest else self.ref


def named(chart: str | os.PathLike[str]) -> Source | None:
    """What the chart directory `chart` was fetched as (None: a directory of the user's)."""
    record = cache.name_of(chart)
    if not record or not isinstance(record.get("ref"), str):
        return None
    return Source(Path(chart), record["ref"], record.get("digest"), record.get("version"),
                  str(record.get("helm") or record["ref"]))


def shown(path: str | os.PathLike[str]) -> str:
    """`path` as outputs show it: a fetched chart's directory (or a file in it) by the chart's
    reference, anything else as it is."""
    text = str(path)
    for folder in (Path(text), *Path(text).parents[:3]):
        if source := named(folder):
            rest = Path(text).relative_to(folder).as_posix()
            return source.ref if rest == "." else f"{source.ref}/{rest}"
    return text


def offline_default() -> bool:
    return os.environ.get(ENV_OFFLINE, "") not in ("", "0")


def plain_http_default() -> bool:
    return os.environ.get(ENV_PLAIN_HTTP, "") not in ("", "0")


def is_remote(chart: str | os.PathLike[str], repo_url: str | None = None) -> bool:
    """Whether `chart` names something other than a directory (so resolve() has work to do)."""
    text = str(chart)
    return bool(repo_url) or "://" in text or Path(text).is_file()


def resolve(chart: str | os.PathLike[str], repo_url: str | None = None,
            version: str | None = None, offline: bool | None = None,
            plain_http: bool | None = None) -> Source:
    """The chart named, as a local directory; a FetchError when it cannot be had."""
    text = str(chart)
    offline = offline_default() if offline is None else offline
    plain_http = plain_http_default() if plain_http is None else plain_http
    if repo_url:
        if repo_url.startswith("oci://"):
            return resolve(f"{repo_url.rstrip('/')}/{text}", None, version, offline, plain_http)
        if "://" in text or "/" in text:
            raise FetchError(f"--repo takes a chart name, not {http.redact(text)!r}")
        path, digest, chosen = repo.fetch(repo_url, text, version, offline,
                                          urlsplit(repo_url).netloc)
        base = http.redact(repo_url.rstrip("/"))
        return _named(Source(path, f"{text} {chosen} from {base}", digest, chosen,
                             f"{text} --repo {base} --version {chosen}"))
    if text.startswith("oci://"):
        path, digest, chosen = oci.fetch(text, version, offline,
                                         urlsplit(text.replace("oci://", "https://")).netloc,
                                         plain_http)
        host, name, tag = oci.split(text)
        if oci.is_digest(tag):  # named by its manifest's digest: so it stays in every output
            return _named(Source(path, f"oci://{host}/{name}@{tag}", digest, chosen or None,
                                 f"oci://{host}/{name}@{tag}"))
        return _named(Source(path, f"oci://{host}/{name}:{chosen}", digest, chosen,
                             f"oci://{host}/{name} --version {chosen}"))
    if version:
        raise FetchError("--version applies to --repo and oci:// charts: "
                         f"{http.redact(text)} names one version already", file=None)
    if text.startswith(("http://", "https://")):
        path = repo.archive_url(text, offline, urlsplit(text).netloc)
        recalled = cache.recall(http.redact(text)) or {}
        return _named(Source(path, http.redact(text), recalled.get("digest")))
    local = Path(text)
    if local.is_file():
        try:
            data = local.read_bytes()
        except OSError as e:
            raise FetchError(f"cannot read the chart archive: {e.strerror}", file=text) from None
        digest = cache.store(data, None, text)
        return _named(Source(cache.unpacked(digest, text), text, digest))
    return Source(local, text)


def _named(source: Source) -> Source:
    """`source` rendered from the copy kept for its name (cache.named)."""
    helm = source.helm or source.ref
    record = {"ref": source.ref, "digest": source.digest, "version": source.version,
              "helm": helm}
    return Source(cache.named(source.path, record), source.ref, source.digest, source.version,
                  helm)
