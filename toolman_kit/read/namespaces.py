"""The Namespace objects admission sees: the one in the manifests, else the one the API server
would hold (it sets the `kubernetes.io/metadata.name` label on every namespace), with the labels
a user says the cluster's namespaces carry (`--namespace-labels`, a profile's `namespace_labels`)
added — for Pod Security admission and policies' namespaceSelector.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from toolman_kit.read.index import Index

NAME_LABEL = "kubernetes.io/metadata.name"


def namespace_object(index: Index, name: str,
                     extra_labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The Namespace `name` as a plain object: from the manifests when they hold it (its own
    labels win over `extra_labels`), else synthesized; `synthesized` tells which."""
    given = next((r for r in index.of_kind("Namespace") if r.name == name), None)
    labels = {**(extra_labels or {}), **(given.labels if given is not None else {}),
              NAME_LABEL: name}
    obj: dict[str, Any] = dict(given.obj) if given is not None else {
        "apiVersion": "v1", "kind": "Namespace"}
    obj["metadata"] = {**(obj.get("metadata") or {}), "name": name, "labels": labels}
    return obj


def is_synthesized(index: Index, name: str) -> bool:
    """Whether `name` is not among the manifests' Namespaces (the kit made it up)."""
    return not any(r.name == name for r in index.of_kind("Namespace"))
