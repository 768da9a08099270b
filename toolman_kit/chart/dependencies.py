"""Which of a chart's declared dependencies a render needs, as Helm decides it
(pkg/chart/util/dependencies.go, ProcessDependencies).

Every dependency starts enabled. Its `tags` then decide (a tag set true under the top-level
`tags:` map enables it; only false ones disable it), and its `condition` overrides them: a
comma-separated list of values paths, the first that holds a bool wins (a path that is missing
or holds a non-bool is passed over). The values are the chart's values.yaml coalesced with the
user's (-f files, then --set).

A missing subchart that is disabled is what the chart's author intended to be optional: the
render goes on with a warning. A missing enabled one is an error naming the dependency and the
command that fetches it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_NO_VALUE = object()


@dataclass(frozen=True)
class Dependency:
    """One entry of Chart.yaml's `dependencies`, and whether this render uses it."""

    name: str
    alias: str
    enabled: bool
    why: str  # what decided it, no value quoted: "by condition redis.enabled", "by tags cache"

    @property
    def label(self) -> str:
        return f"{self.name} (alias {self.alias})" if self.alias else self.name


def decide(declared: Sequence[Mapping[str, Any]], values: Mapping[str, Any]) -> list[Dependency]:
    """Each declared dependency (Chart.yaml entries), enabled or not under the coalesced
    `values`, with what decided it."""
    tags = values.get("tags")
    tags = tags if isinstance(tags, Mapping) else {}
    out = []
    for dep in declared:
        enabled, why = True, "no condition or tag decides"
        on, off = _tag_votes(dep.get("tags") or (), tags)
        if off and not on:
            enabled, why = False, f"by tags {', '.join(off)}"
        elif on:
            why = f"by tags {', '.join(on)}"
        condition = str(dep.get("condition") or "")
        # Helm splits the trimmed condition on "," and does not trim the parts.
        for path in condition.strip().split(","):
            value = _path_value(values, path) if path else _NO_VALUE
            if isinstance(value, bool):
                enabled, why = value, f"by condition {path}"
                break
        out.append(Dependency(str(dep.get("name") or ""), str(dep.get("alias") or ""),
                              enabled, why))
    return out


def _tag_votes(names: Any, tags: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    on, off = [], []
    for name in names if isinstance(names, list) else ():
        value = tags.get(name)
        if isinstance(value, bool):
            (on if value else off).append(str(name))
    return on, off


def _path_value(values: Mapping[str, Any], path: str) -> Any:
    """Values.PathValue: a leaf at a dotted path (a map there is no value)."""
    node: Any = values
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _NO_VALUE
        node = node[part]
    return _NO_VALUE if isinstance(node, Mapping) else node


def missing(declared: Sequence[Mapping[str, Any]], present: set[str],
            values: Mapping[str, Any]) -> tuple[list[Dependency], list[Dependency]]:
    """The dependencies absent from charts/ (matched by chart name, as Helm's
    CheckDependencies does): (disabled ones, enabled ones)."""
    absent = [d for d in decide(declared, values) if d.name not in present]
    return [d for d in absent if not d.enabled], [d for d in absent if d.enabled]


def skipped_warning(chart_name: str, disabled: Sequence[Dependency]) -> str:
    """One line for all the disabled missing subcharts of a chart."""
    listed = "; ".join(f"{d.label}, disabled {d.why}" for d in disabled)
    return (f"chart {chart_name!r}: skipped disabled dependencies missing from charts/ "
            f"({listed})")


def missing_error(chart_name: str, chart_dir: str, enabled: Sequence[Dependency]) -> str:
    """One line naming the enabled missing subcharts and the command that fetches them."""
    listed = "; ".join(f"{d.label}, enabled {d.why}" for d in enabled)
    return (f"chart {chart_name!r} needs dependencies missing from charts/ ({listed}): "
            f"run `helm dependency build {chart_dir}`")
