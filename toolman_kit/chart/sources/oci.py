"""Charts from an OCI registry (`oci://host[:port]/path/name[:tag]`, `--version`, or
`…/name@sha256:<hex>`), as `helm pull` gets them through the distribution API.

The manifest (`application/vnd.oci.image.manifest.v1+json`) names the chart layer
(`application/vnd.cncf.helm.chart.content.v1.tar+gzip`) by digest; the blob is downloaded unless
the cache has it and checked against that digest. A `--version` range is matched against the
repository's tags (Helm writes `+` as `_` in tags). A digest reference fetches the manifest by
that digest and checks the bytes answered against it before trusting the layer digest in them:
content-addressed all the way, so once cached it needs no registry at all. A 401 is answered as
Docker clients do: Basic credentials, or a Bearer token from the realm the registry names, with
the credentials found for the host (credentials.py). What a tag or a manifest digest resolved to
is remembered, so --offline needs no registry. Registries are HTTPS except on the loopback
address, or anywhere with `plain_http` (helm --plain-http).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from toolman_kit.chart.sources import cache, http, semver
from toolman_kit.chart.sources.credentials import Login, login
from toolman_kit.errors import FetchError
from toolman_kit.read import yamlsafe

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CHART_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def split(ref: str) -> tuple[str, str, str | None]:
    """`oci://host/path/name:tag` → (host, "path/name", tag or None); `…/name@sha256:<hex>`
    → (host, "path/name", "sha256:<hex>") (a tag cannot hold `:`, so is_digest tells them
    apart)."""
    rest = ref.removeprefix("oci://").strip("/")
    host, _, path = rest.partition("/")
    if not host or not path:
        raise FetchError("not an OCI chart reference (oci://host/path/name)", file=ref)
    digest = None
    if "@" in path:
        path, _, digest = path.rpartition("@")
        if not _DIGEST.fullmatch(digest):
            raise FetchError("a digest reference is @sha256: and 64 lower-case hex digits",
                             file=ref)
    tag = None
    if ":" in path.rsplit("/", 1)[-1]:
        path, _, tag = path.rpartition(":")
    if tag and digest:
        raise FetchError("both a tag and a digest: give one", file=ref)
    return host, path, digest or tag


def is_digest(tag: str | None) -> bool:
    return bool(tag) and _DIGEST.fullmatch(tag or "") is not None


def scheme(host: str, plain_http: bool = False) -> str:
    """How to reach the registry at `host`: plain HTTP on the loopback address (a local
    registry, as Docker allows) or when asked (--plain-http, a fleet target's plain_http),
    else HTTPS."""
    return "http" if plain_http or http.is_loopback(host) else "https"


def fetch(ref: str, version: str | None, offline: bool, env_host: str | None,
          plain_http: bool = False) -> tuple[Path, str, str]:
    """(chart directory, layer digest, tag or the chart's version) of the chart at `ref`."""
    host, name, tag = split(ref)
    if tag and version and tag != version:
        what = "a digest" if is_digest(tag) else f"a tag ({tag})"
        raise FetchError(f"both {what} and --version {version}: give one", file=ref)
    shown = f"oci://{host}/{name}"
    if is_digest(tag):
        assert tag is not None
        return _by_digest(host, name, tag, offline, env_host, plain_http)
    given = wanted = tag or version
    if offline:
        return _offline(shown, wanted)
    registry = _registry(host, env_host, plain_http)
    if not wanted or not semver.is_exact(wanted) and not tag:
        wanted = _newest_tag(registry, name, wanted, shown)
    label = f"{shown}:{wanted}"
    manifest, digest = _chart_layer(registry, name, wanted.replace("+", "_"), label)
    if not cache.has(digest):
        blob = registry.get(f"/v2/{name}/blobs/{digest}", {}, label).body
        cache.store(blob, digest, label)
    record = {"digest": digest, "version": wanted}
    for seen in {label, f"{shown}:{given}" if given else shown}:  # --offline asks again so
        cache.remember(seen, record)
    cache.remember(f"{shown}@{manifest}", record)  # and a digest reference finds it too
    return cache.unpacked(digest, label), digest, wanted


def _by_digest(host: str, name: str, manifest: str, offline: bool, env_host: str | None,
               plain_http: bool) -> tuple[Path, str, str]:
    """A chart by its manifest's digest: from the cache when the manifest was seen before
    (the digest names its content: nothing to ask), else fetched and verified."""
    label = f"oci://{host}/{name}@{manifest}"
    record = cache.recall(label)
    if not (record and cache.has(record.get("digest"))):
        if offline:
            return _offline(label, None)
        registry = _registry(host, env_host, plain_http)
        _, digest = _chart_layer(registry, name, manifest, label)
        if not cache.has(digest):
            cache.store(registry.get(f"/v2/{name}/blobs/{digest}", {}, label).body, digest,
                        label)
        path = cache.unpacked(digest, label)
        record = {"digest": digest, "version": _chart_version(path)}
        cache.remember(label, record)
    digest = str(record["digest"])
    return cache.unpacked(digest, label), digest, str(record.get("version") or "")


def _chart_layer(registry: _Registry, name: str, reference: str,
                 label: str) -> tuple[str, str]:
    """(the manifest's digest, the chart layer's digest) of the manifest at `reference` (a tag
    or a digest: then the manifest answered must have that digest)."""
    body = registry.get(f"/v2/{name}/manifests/{reference}", {"Accept": MANIFEST}, label).body
    manifest = "sha256:" + hashlib.sha256(body).hexdigest()
    if is_digest(reference) and manifest != reference:
        raise FetchError(f"manifest digest mismatch: asked for {reference}, the registry "
                         f"answered {manifest} (corrupt or tampered with)", file=label)
    data = _json(body, label)
    layers = [la for la in data.get("layers") or () if isinstance(la, dict)
              and la.get("mediaType") == CHART_LAYER]
    if not layers or not _DIGEST.fullmatch(str(layers[0].get("digest", ""))):
        raise FetchError("the manifest has no Helm chart layer (not a Helm chart)", file=label)
    return manifest, str(layers[0]["digest"])


def _chart_version(chart: Path) -> str:
    try:
        data = yamlsafe.parse((chart / "Chart.yaml").read_text(encoding="utf-8")).data
    except (OSError, UnicodeDecodeError, yamlsafe.YAMLInputError, ValueError):
        return ""
    return str(data.get("version") or "") if isinstance(data, dict) else ""


def _registry(host: str, env_host: str | None, plain_http: bool) -> _Registry:
    return _Registry(host, login(f"https://{host}/", env_host)
                     or login(f"http://{host}/", env_host), scheme(host, plain_http))


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


def _json(body: bytes, label: str) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        raise FetchError("the registry answered something that is not JSON", file=label) from None
    if not isinstance(data, dict):
        raise FetchError("the registry answered something that is not a JSON object",
                         file=label)
    return data


class _Registry:
    """Requests to one registry, authenticated on its first 401 and from then on."""

    def __init__(self, host: str, credentials: Login | None, how: str = "https"):
        self.base = f"{how}://{host}"
        self.credentials = credentials
        self.auth: Login | str | None = None

    def get(self, path: str, headers: dict[str, str], label: str) -> http.Response:
        answer = self._get(path, headers, label)
        if answer.status == 401 and self.auth is None:
            self.auth = self._authenticate(answer, label)
            answer = self._get(path, headers, label)
        if answer.status == 401:
            why = "credentials refused" if self.credentials else \
                "no credentials for this registry: see README, Charts from anywhere"
            raise FetchError(f"registry answered HTTP 401 Unauthorized ({why})",
                             file=label)
        return answer

    def _get(self, path: str, headers: dict[str, str], label: str) -> http.Response:
        try:
            return http.get(self.base + path, auth=self.auth, headers=headers, ok=(200, 401),
                            what=label)
        except FetchError as e:  # TLS to a registry that speaks plain HTTP: say what to do
            if self.base.startswith("https:") and "WRONG_VERSION_NUMBER" in e.message:
                raise FetchError(f"{e.message} (the registry answers plain HTTP: "
                                 "--plain-http, or a fleet target's plain_http: true)",
                                 file=e.file) from None
            raise

    def get_json(self, path: str, headers: dict[str, str], label: str) -> dict[str, Any]:
        return _json(self.get(path, headers, label).body, label)

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
