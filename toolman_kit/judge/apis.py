"""Kubernetes versions and the API versions they no longer serve (the table is apis.yaml, data
taken from the Kubernetes Deprecated API Migration Guide, named in the file)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from toolman_kit.errors import ToolmanKitError

# The Kubernetes minor checks and renders target unless told otherwise: the one Helm v4.2 itself
# reports as .Capabilities.KubeVersion, so a default render is exactly `helm template`'s.
DEFAULT_KUBE_VERSION = "1.36"
_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")


def kube_version(text: str) -> tuple[int, int]:
    """(major, minor) of "1.29", "v1.29" or "v1.29.3"; a clear error otherwise."""
    match = _VERSION.fullmatch(str(text).strip())
    if not match:
        raise ToolmanKitError(f"not a Kubernetes version: {text!r} (e.g. 1.29 or v1.29.3)")
    return int(match[1]), int(match[2])


def helm_kube_version(text: str) -> str:
    """The form Helm prints as .Capabilities.KubeVersion.Version: v1.29.0."""
    major, minor = kube_version(text)
    patch = _VERSION.fullmatch(str(text).strip())[3] or "0"  # type: ignore[index]
    return f"v{major}.{minor}.{patch}"


@dataclass(frozen=True)
class Removal:
    api_version: str
    kind: str
    removed_in: str
    replacement: str  # "" when there is nothing to migrate to
    available_since: str  # the release from which the replacement is served ("" if none)
    deprecated_in: str = ""
    note: str = ""

    def removed(self, target: str) -> bool:
        return kube_version(target) >= kube_version(self.removed_in)

    def deprecated(self, target: str) -> bool:
        """Still served by `target`, and either deprecated there or its replacement is served."""
        since = self.deprecated_in or self.available_since
        return not self.removed(target) and bool(since) and \
            kube_version(target) >= kube_version(since)


@cache
def _data() -> dict:
    return yaml.safe_load(resources.files(__package__).joinpath("apis.yaml").read_text())


@cache
def removals() -> dict[tuple[str, str], Removal]:
    """(apiVersion, kind) → its removal."""
    table = {}
    for removed_in, entries in _data()["removals"].items():
        for e in entries:
            for kind in e["kinds"]:
                table[(e["api_version"], kind)] = Removal(
                    e["api_version"], kind, removed_in, e.get("replacement", ""),
                    e.get("available_since", ""), e.get("deprecated_in", ""), e.get("note", ""))
    return table


def source() -> str:
    """Where the table comes from (a URL)."""
    return _data()["source"]


@cache
def served(target: str) -> tuple[str, ...]:
    """The built-in `group/version` and `group/version/kind` strings Kubernetes `target` serves
    (as .Capabilities.APIVersions holds them): the `served` table from each entry's release on,
    and every API of `removals` before its removal."""
    version = kube_version(target)
    kinds: set[tuple[str, str]] = set()
    for e in _data()["served"]:
        if not e["since"] or version >= kube_version(e["since"]):
            kinds.update((e["api_version"], k) for k in e["kinds"])
    kinds.update(key for key, r in removals().items() if not r.removed(target))
    return tuple(sorted({gv for gv, _ in kinds} | {f"{gv}/{k}" for gv, k in kinds}))
