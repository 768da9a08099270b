"""The Kubernetes URL library (apiserver library/urls.go): url, isURL, and on a URL getScheme,
getHost, getHostname, getPort, getEscapedPath, getQuery. Parsing is Go's url.ParseRequestURI,
ported here: an absolute URI or an absolute path, no fragment, error texts as Go words them.

    url('https://example.com:80/').getHost()                      'example.com:80'
    url('https://[::1]:80/').getHostname()                        '::1'
    url('https://example.com/path with spaces/').getEscapedPath() '/path%20with%20spaces/'
    url('https://example.com/path?k1=a&k2=b&k2=c').getQuery()     {'k1': ['a'], 'k2': ['b', 'c']}
    url('not a url')                                              error

Deviations (see opaque.py): a URL is a map at run time, so `url('a') == 'a'` compiles (false);
two URLs are equal when their texts are.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cel_expr_python import cel

from toolman_kit.judge.policy import opaque

T = cel.Type
KIND = "URL"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_UNRESERVED = set(string.ascii_letters + string.digits + "-_.~")
_PATH_KEEP = _UNRESERVED | set("$&+,/:;=@")
_HOST_KEEP = _UNRESERVED | set("!$&'()*+,;=:[]<>\"")
_ENCODED_PATH = _PATH_KEEP | set("!'()*[]%")  # Go's validEncoded: what a raw path may hold


class UrlError(ValueError):
    pass


@dataclass(frozen=True)
class Url:
    scheme: str = ""
    opaque: str = ""
    host: str = ""
    path: str = ""
    raw_path: str = ""
    raw_query: str = ""


def _unescape(text: str, host: bool) -> str:
    """Go's unescape for a host (encodeHost) or a path (encodePath)."""
    if "%" not in text and not host:
        return text
    out, i = bytearray(), 0
    while i < len(text):
        char = text[i]
        if char == "%":
            pair = text[i + 1:i + 3]
            if len(pair) < 2 or not all(c in string.hexdigits for c in pair):
                raise UrlError(f"invalid URL escape {text[i:i + 3]!r}".replace("'", '"'))
            if host and int(pair[0], 16) < 8 and text[i:i + 3] != "%25":
                raise UrlError(f"invalid URL escape {text[i:i + 3]!r}".replace("'", '"'))
            out.append(int(pair, 16))
            i += 3
            continue
        if host and ord(char) < 0x80 and char not in _HOST_KEEP:
            raise UrlError(f"invalid character {char!r} in host name".replace("'", '"'))
        out += char.encode()
        i += 1
    return out.decode("utf-8", "surrogateescape")


def _escape_path(path: str) -> str:
    return "".join(chr(b) if chr(b) in _PATH_KEEP else f"%{b:02X}" for b in path.encode())


def _valid_port(port: str) -> bool:
    return port == "" or (port[0] == ":" and all(c in string.digits for c in port[1:]))


def _host(authority: str) -> str:
    host = authority[authority.rfind("@") + 1:]
    userinfo = authority[:authority.rfind("@")] if "@" in authority else ""
    if any(c not in _UNRESERVED and c not in "-._:~!$&'()*+,;=%@" for c in userinfo):
        raise UrlError("net/url: invalid userinfo")
    if host.startswith("["):
        end = host.rfind("]")
        if end < 0:
            raise UrlError("missing ']' in host")
        if not _valid_port(host[end + 1:]):
            raise UrlError(f'invalid port "{host[end + 1:]}" after host')
    elif ":" in host:
        port = host[host.rfind(":"):]
        if not _valid_port(port):
            raise UrlError(f'invalid port "{port}" after host')
    return _unescape(host, host=True)


@lru_cache(maxsize=512)
def parse(raw: str) -> Url:
    """Go's url.ParseRequestURI; errors read as Go's: parse "x": invalid URI for request."""
    try:
        return _parse(raw)
    except UrlError as exc:
        raise UrlError(f'parse "{raw}": {exc}') from None


def _parse(raw: str) -> Url:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        raise UrlError("net/url: invalid control character in URL")
    if raw == "":
        raise UrlError("empty url")
    if raw == "*":
        return Url(path="*")
    scheme, rest = "", raw
    match = _SCHEME.match(raw)
    if raw.startswith(":"):
        raise UrlError("missing protocol scheme")
    if match and raw[match.end():match.end() + 1] == ":":
        scheme, rest = raw[:match.end()].lower(), raw[match.end() + 1:]
    if rest.endswith("?") and rest.count("?") == 1:
        rest, query = rest[:-1], ""
    else:
        rest, _, query = rest.partition("?")
    if not rest.startswith("/"):
        if scheme:
            return Url(scheme=scheme, opaque=rest, raw_query=query)
        raise UrlError("invalid URI for request")
    host = ""
    if scheme and rest.startswith("//"):
        authority, slash, path = rest[2:].partition("/")
        host, rest = _host(authority), slash + path
    path = _unescape(rest, host=False)
    return Url(scheme, "", host, path, rest if rest != _escape_path(path) else "", query)


def _split_host_port(host: str) -> tuple[str, str]:
    colon = host.rfind(":")
    name, port = (host[:colon], host[colon + 1:]) if colon >= 0 and _valid_port(
        host[colon:]) else (host, "")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    return name, port


def _query(raw: str) -> dict[str, list[str]]:
    """Go's url.ParseQuery, its errors ignored as URL.Query() does (a pair it cannot read is
    skipped: a ';' in the key, a bad %-escape)."""
    values: dict[str, list[str]] = {}
    for pair in raw.split("&"):
        if not pair or ";" in pair:
            continue
        key, _, value = pair.partition("=")
        try:
            key, value = (_unescape(part.replace("+", " "), host=False) for part in (key, value))
        except UrlError:
            continue
        values.setdefault(key, []).append(value)
    return values


def _url(value: Any) -> Url:
    return parse(opaque.unwrap(value, KIND))


def to_url(text: str) -> dict[str, Any]:
    try:
        parse(text)
    except UrlError as exc:
        raise ValueError(f"URL parse error during conversion from string: {exc}") from None
    return opaque.wrap(KIND, text)


def is_url(text: str) -> bool:
    try:
        parse(text)
    except UrlError:
        return False
    return True


def escaped_path(url: Url) -> str:
    if url.raw_path and set(url.raw_path) <= _ENCODED_PATH:
        return url.raw_path
    return "*" if url.path == "*" else _escape_path(url.path)


def declarations() -> list[cel.FunctionDecl]:
    member, function = opaque.member, opaque.function
    return [
        function("url", [cel.Overload("string_to_url", T.DYN, [T.STRING], impl=to_url)]),
        function("isURL", [cel.Overload("is_url_string", T.BOOL, [T.STRING], impl=is_url)]),
        function("getScheme", [member("getScheme", lambda u: _url(u).scheme, T.STRING)]),
        function("getHost", [member("getHost", lambda u: _url(u).host, T.STRING)]),
        function("getHostname", [member(
            "getHostname", lambda u: _split_host_port(_url(u).host)[0], T.STRING)]),
        function("getPort", [member(
            "getPort", lambda u: _split_host_port(_url(u).host)[1], T.STRING)]),
        function("getEscapedPath", [member(
            "getEscapedPath", lambda u: escaped_path(_url(u)), T.STRING)]),
        function("getQuery", [member("getQuery", lambda u: _query(_url(u).raw_query),
                                     T.Map(T.STRING, T.List(T.STRING)))]),
    ]
