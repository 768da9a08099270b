"""Kyverno's CEL libraries that need neither a cluster nor the network, for Kyverno's policies
only (an API server has none of them): the image library and the user library.

    image('nginx').registry()                                   'docker.io'
    image('nginx').repository()                                 'library/nginx'
    image('nginx').tag()                                        'latest'
    image('ghcr.io/a/b@sha256:…').containsDigest()              true
    isImage('Nginx')                                            false
    parseServiceAccount('system:serviceaccount:ns:sa').name     'sa'

An image is parsed as Docker's reference grammar normalizes it (distribution/reference
ParseNormalizedNamed): no registry is docker.io, a single-part repository there is library/…,
index.docker.io is docker.io, and neither tag nor digest is the tag 'latest'. identifier() is the
digest when there is one, else the tag. An image that does not parse is an evaluation error.
"""

from __future__ import annotations

import re
from typing import Any

from cel_expr_python import cel

from toolman_kit.judge.policy import opaque

T = cel.Type
KIND = "Image"
DEFAULT_REGISTRY = "docker.io"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_REFERENCE = re.compile(
    rf"(?:(?P<registry>{_DOMAIN}(?:\.{_DOMAIN})*(?::[0-9]+)?|\[[0-9a-fA-F:.]+\](?::[0-9]+)?)/)?"
    rf"(?P<repository>{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?"
    r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}))?")
_DIGEST_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
_SERVICE_ACCOUNT = "system:serviceaccount:"


def parse(text: str) -> dict[str, str]:
    """{registry, repository, tag, digest} of an image reference, normalized."""
    name, at, digest = text.partition("@")
    first, slash, rest = name.partition("/")
    # distribution's splitDockerDomain: the first part is a registry when it has a '.' or a
    # ':', or is localhost, or has an upper-case letter (then the repository fails below)
    if slash and ("." in first or ":" in first or first == "localhost" or first.lower() != first):
        registry, remainder = first, rest
    else:
        registry, remainder = DEFAULT_REGISTRY, name
    if registry == "index.docker.io":
        registry = DEFAULT_REGISTRY
    if registry == DEFAULT_REGISTRY and "/" not in remainder.partition(":")[0]:
        remainder = "library/" + remainder
    match = _REFERENCE.fullmatch(f"{registry}/{remainder}{at}{digest}")
    if not match or match["registry"] != registry:
        if remainder.lower() != remainder and _REFERENCE.fullmatch(
                f"{registry}/{remainder.lower()}{at}{digest}"):
            raise ValueError(f"invalid image {text!r}: repository name must be lowercase")
        raise ValueError(f"invalid image {text!r}: invalid reference format")
    if len(f"{registry}/{match['repository']}") > 255:
        raise ValueError(f"invalid image {text!r}: repository name must not be more than 255 "
                         "characters")
    if re.fullmatch(r"[a-f0-9]{64}", text):
        raise ValueError(f"invalid image {text!r}: cannot specify 64-byte hexadecimal strings")
    if digest:
        algorithm, _, hexadecimal = digest.partition(":")
        if algorithm not in _DIGEST_LENGTHS:
            raise ValueError(f"invalid image {text!r}: unsupported digest algorithm")
        if len(hexadecimal) != _DIGEST_LENGTHS[algorithm]:
            raise ValueError(f"invalid image {text!r}: invalid checksum digest length")
    tag = match["tag"] or ("" if digest else "latest")
    return {"registry": registry, "repository": match["repository"], "tag": tag,
            "digest": digest}


def to_image(text: str) -> dict[str, Any]:
    # the canonical form: the normalized reference, so image('nginx') == image('nginx:latest')
    p = parse(text)
    return opaque.wrap(KIND, f"{p['registry']}/{p['repository']}"
                       + (f":{p['tag']}" if p["tag"] else "")
                       + (f"@{p['digest']}" if p["digest"] else ""))


def is_image(text: str) -> bool:
    try:
        parse(text)
    except ValueError:
        return False
    return True


def _part(name: str) -> Any:
    return lambda value: parse(opaque.unwrap(value, KIND))[name]


def _identifier(value: Any) -> str:
    p = parse(opaque.unwrap(value, KIND))
    return p["digest"] or p["tag"]


def parse_service_account(username: str) -> dict[str, str]:
    """The user library's parseServiceAccount: a service account's namespace and name, both
    empty for any other user."""
    namespace, name = "", ""
    if username.startswith(_SERVICE_ACCOUNT):
        parts = username.split(":")
        if len(parts) == 4:
            namespace, name = parts[2], parts[3]
    return {"namespace": namespace, "name": name}


def declarations() -> list[cel.FunctionDecl]:
    member, function = opaque.member, opaque.function
    return [
        function("image", [cel.Overload("kyverno_string_to_image", T.DYN, [T.STRING],
                                        impl=to_image)]),
        function("isImage", [cel.Overload("kyverno_is_image_string", T.BOOL, [T.STRING],
                                          impl=is_image)]),
        function("containsDigest", [member("containsDigest", lambda value: bool(
            parse(opaque.unwrap(value, KIND))["digest"]), T.BOOL)]),
        *(function(name, [member(name, _part(name), T.STRING)])
          for name in ("registry", "repository", "tag", "digest")),
        function("identifier", [member("identifier", _identifier, T.STRING)]),
        function("parseServiceAccount", [cel.Overload(
            "kyverno_parse_service_account_string", T.DYN, [T.STRING],
            impl=parse_service_account)]),
    ]
