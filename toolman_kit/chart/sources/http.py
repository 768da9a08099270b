"""HTTP for chart sources: GET with a size bound, a timeout and credentials; every failure a
FetchError in one line that names the URL without its userinfo and never a credential.

Plain http is for repositories and for registries on the loopback address (127.0.0.1, ::1,
localhost: a local registry, as Docker allows); an `oci://` reference elsewhere is HTTPS.
Credentials go to the host they are for: a redirect to another host (a registry sending a blob to
its object store) is followed without them.
"""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from toolman_kit.chart.sources.credentials import Login
from toolman_kit.errors import FetchError

TIMEOUT = 30.0  # seconds per request
MAX_DOWNLOAD = 100 * 2**20  # an index or an archive; real charts are well under 1 MiB
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: Mapping[str, str]
    url: str


def redact(url: str) -> str:
    """`url` without userinfo (https://user:pw@host/x → https://host/x)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    netloc += f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=netloc))


def is_loopback(host: str) -> bool:
    return host.split(":")[0] in LOOPBACK or host.startswith("[::1]")


class _Redirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urlsplit(newurl).netloc != urlsplit(req.full_url).netloc:
            new.remove_header("Authorization")
        return new


_OPENER = urllib.request.build_opener(_Redirect)


def get(url: str, *, auth: Login | str | None = None, headers: Mapping[str, str] = (),
        ok: tuple[int, ...] = (200,), what: str = "download",
        method: str = "GET") -> Response:
    """The response to `url` (status in `ok`, else a FetchError); `auth` is (user, password)
    for Basic or a string `Bearer …` header value."""
    clean = redact(url)
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    request = urllib.request.Request(urlunsplit(parts._replace(netloc=netloc)),
                                     headers=dict(headers), method=method)
    request.add_header("User-Agent", "toolman-kit")
    if isinstance(auth, tuple):
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    elif auth:
        request.add_header("Authorization", auth)
    try:
        with _OPENER.open(request, timeout=TIMEOUT) as answer:
            return Response(answer.status, _bounded(answer, clean, what),
                            dict(answer.headers.items()), answer.geturl())
    except urllib.error.HTTPError as e:
        if e.code in ok:
            return Response(e.code, _bounded(e, clean, what), dict(e.headers.items()), clean)
        raise FetchError(f"{what} failed: HTTP {e.code} {_reason(e.code, e.reason)}",
                         file=clean) from None
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", None) or e
        raise FetchError(f"{what} failed: {_one_line(str(reason))}", file=clean) from None


def _bounded(answer: object, url: str, what: str) -> bytes:
    body = answer.read(MAX_DOWNLOAD + 1)  # type: ignore[attr-defined]
    if len(body) > MAX_DOWNLOAD:
        raise FetchError(f"{what} larger than {MAX_DOWNLOAD // 2**20} MiB: refused", file=url)
    return bytes(body)


def _reason(code: int, reason: object) -> str:
    hint = {401: " (credentials missing or refused: see README, Charts from anywhere)",
            403: " (credentials refused)", 404: " (no such chart or version)"}.get(code, "")
    return f"{_one_line(str(reason or ''))}{hint}"


def _one_line(text: str) -> str:
    return " ".join(text.split())
