"""Charts from an OCI registry (`oci://host[:port]/path/name[:tag]`, `--version`), as `helm pull`
gets them through the distribution API.

The manifest (`application/vnd.oci.image.manifest.v1+json`) names the chart layer
(`application/vnd.cncf.helm.chart.content.v1.tar+gzip`) by digest; the blob is downloaded unless
the cache has it and checked against that digest. A `--version` range is matched against the
repository's tags (Helm writes `+` as `_` in tags). A 401 is answered as Docker clients do: Basic
credentials, or a Bearer token from the realm the registry names, with the credentials found for
the host (credentials.py). What a tag resolved to is remembered, so --offline needs no registry.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from toolman_kit.chart.sources import cache, http, semver
from toolman_kit.chart.sources.credentials import Login, login
from toolman_kit.errors import FetchError

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CHART_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


def split(ref: str) -> tuple[str, str, str | None]:
    """`oci://host/path/name:tag` → (host, "path/name", tag or None)."""
    rest = ref.removeprefix("oci://").strip("/")
    host, _, path = rest.partition("/")
    if not host or not path:
        raise FetchError("not an OCI chart reference (oci://host/path/name)", file=ref)
    tag = None
    if ":" in path.rsplit("/", 1)[-1]:
        path, _, tag = path.rpartition(":")
    if "@" in path:
        raise FetchError("digest references (@sha256:…) are not supported: name a version",
                         file=ref)
    return host, path, tag


def fetch(ref: str, version: str | None, offline: bool,
          env_host: str | None) -> tuple[Path, str, str]:
    """(chart directory, layer digest, tag) of the chart at `ref`."""
    host, name, tag = split(ref)
    if tag and version and tag != version:
        raise FetchError(f"both a tag ({tag}) and --version {version}: give one", file=ref)
    given = wanted = tag or version
    shown = f"oci://{host}/{name}"
    if offline:
        return _offline(shown, wanted)
    registry = _Registry(host, login(f"https://{host}/", env_host)
                         or login(f"http://{host}/", env_host))
    if not wanted or not semver.is_exact(wanted) and not tag:
        wanted = _newest_tag(registry, name, wanted, shown)
    manifest = registry.get_json(f"/v2/{name}/manifests/{wanted.replace('+', '_')}",
                                 {"Accept": MANIFEST}, f"{shown}:{wanted}")
    layers = [la for la in manifest.get("layers") or () if isinstance(la, dict)
              and la.get("mediaType") == CHART_LAYER]
    if not layers or not str(layers[0].get("digest", "")).startswith("sha256:"):
        raise FetchError("the manifest has no Helm chart layer (not a Helm chart)",
                         file=f"{shown}:{wanted}")
    digest = str(layers[0]["digest"])
    label = f"{shown}:{wanted}"
    if not cache.has(digest):
        blob = registry.get(f"/v2/{name}/blobs/{digest}", {}, label).body
        cache.store(blob, digest, label)
    for seen in {label, f"{shown}:{given}" if given else shown}:  # --offline asks again so
        cache.remember(seen, {"digest": digest, "version": wanted})
    return cache.unpacked(digest, label), digest, wanted


def _offline(shown: str, wanted: str | None) -> tuple[Path, str, str]:
    what = f"{shown}:{wanted}" if wanted else shown
    record = cache.recall(what)
    if not record or not cache.has(record.get("digest")):
        raise FetchError(f"not in the cache ({cache.root()}) and --offline: run once without "
                         "--offline to fetch it", file=what)
    return cache.unpacked(str(record["digest"]), what), str(record["digest"]), \
        str(record.get("version") or wanted)


def _newest_tag(registry: _Registry, name: str, wanted: str | None, shown: str) -> str:
    tags = registry.get_json(f"/v2/{name}/tags/list", {}, shown).get("tags") or []
    versions = [v for t in tags if (v := semver.Version.parse(str(t).replace("_", "+")))]
    try:
        chosen = semver.newest(versions, wanted or "*")
    except semver.RangeError as e:
        raise FetchError(f"--version {wanted!r}: {e}", file=shown) from None
    if chosen is None:
        raise FetchError(f"no tag matches {wanted or '*'!r}", file=shown)
    return chosen.text


class _Registry:
    """Requests to one registry, authenticated on its first 401 and from then on."""

    def __init__(self, host: str, credentials: Login | None):
        self.base = ("http" if http.is_loopback(host) else "https") + f"://{host}"
        self.credentials = credentials
        self.auth: Login | str | None = None

    def get(self, path: str, headers: dict[str, str], label: str) -> http.Response:
        url = self.base + path
        answer = http.get(url, auth=self.auth, headers=headers, ok=(200, 401), what=label)
        if answer.status == 401 and self.auth is None:
            self.auth = self._authenticate(answer, label)
            answer = http.get(url, auth=self.auth, headers=headers, ok=(200, 401), what=label)
        if answer.status == 401:
            why = "credentials refused" if self.credentials else \
                "no credentials for this registry: see README, Charts from anywhere"
            raise FetchError(f"registry answered HTTP 401 Unauthorized ({why})",
                             file=label)
        return answer

    def get_json(self, path: str, headers: dict[str, str], label: str) -> dict[str, Any]:
        try:
            data = json.loads(self.get(path, headers, label).body)
        except ValueError:
            raise FetchError("the registry answered something that is not JSON",
                             file=label) from None
        if not isinstance(data, dict):
            raise FetchError("the registry answered something that is not a JSON object",
                             file=label)
        return data

    def _authenticate(self, answer: http.Response, label: str) -> Login | str | None:
        challenge = next((v for k, v in answer.headers.items()
                          if k.lower() == "www-authenticate"), "")
        scheme = challenge.split(" ", 1)[0].lower()
        if scheme == "bearer":
            params = dict(_CHALLENGE.findall(challenge))
            realm = params.pop("realm", "")
            if not realm:
                raise FetchError("registry asked for a token but named no realm", file=label)
            query = urlencode({k: v for k, v in params.items() if k in ("service", "scope")})
            token = http.get(f"{realm}?{query}" if query else realm, auth=self.credentials,
                             what=f"{label}: token").body
            try:
                data = json.loads(token)
                value = data.get("token") or data.get("access_token")
            except (ValueError, AttributeError):
                value = None
            if not value:
                raise FetchError("the registry's token service answered no token", file=label)
            return f"Bearer {value}"
        return self.credentials  # Basic (or none: the retry says 401)
