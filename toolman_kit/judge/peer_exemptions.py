"""Peers' exemption annotations (Polaris, kube-score, checkov, kube-linter) read as ours, for teams
migrating: which of our checks an object's annotations exempt, and the annotation that does.
The mapping is data (peer_exemptions.yaml), listed in docs/checks.md."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from importlib import resources

import yaml

POLARIS = "polaris.fairwinds.com/"
KUBE_SCORE = "kube-score/ignore"
CHECKOV = re.compile(r"checkov\.io/skip\d+")
KUBE_LINTER = "ignore-check.kube-linter.io/"


@cache
def mapping() -> dict[str, dict]:
    """{peer: {"annotations": how it is written, "checks": {peer id: [our ids]}}}."""
    text = resources.files(__package__).joinpath("peer_exemptions.yaml").read_text()
    return yaml.safe_load(text)


def exempted(annotations: Mapping[str, str]) -> Iterator[tuple[str, str]]:
    """(our check id, the peer's annotation that exempts it) for each annotation of a peer."""
    for key, value in annotations.items():
        value = str(value)
        if key.startswith(POLARIS) and value.lower() == "true":
            name = key[len(POLARIS):]
            if name == "exempt":  # every Polaris check
                peers: Iterable[str] = mapping()["polaris"]["checks"]
            else:
                peers = (name.removesuffix("-exempt"),) if name.endswith("-exempt") else ()
            for peer in peers:
                yield from _ours("polaris", peer, f"{key}: {value}")
        elif key == KUBE_SCORE:
            for peer in value.split(","):
                yield from _ours("kube-score", peer.strip(), f"{key}: {value}")
        elif CHECKOV.fullmatch(key):
            yield from _ours("checkov", value.partition("=")[0].strip(), f"{key}: {value}")
        elif key.startswith(KUBE_LINTER):
            yield from _ours("kube-linter", key[len(KUBE_LINTER):], f"{key}: {value}")


def _ours(peer: str, peer_id: str, annotation: str) -> Iterator[tuple[str, str]]:
    for check_id in mapping()[peer]["checks"].get(peer_id, ()):
        yield check_id, f"{peer} annotation {annotation}"
