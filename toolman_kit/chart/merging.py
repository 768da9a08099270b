"""Helm's merge of values files, in a module of its own: the render and the dependency fetcher
(chart/sources, which the render imports) both merge values the way Helm does."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def merge_values(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's `-f` merge (cli/values.mergeMaps): maps merge deeply, anything else replaces.

    A `None` (YAML `null`) is kept, not dropped: Helm's coalescing with the chart defaults then
    deletes that key, so `null` removes a default as well as an earlier file's value.
    """
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge_values(out[key], value)
        else:
            out[key] = value
    return out
