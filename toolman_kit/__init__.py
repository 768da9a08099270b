"""toolman-kit: is this Kubernetes deployment ready for production, and if not, what must change?

    render(chart) → Rendered    load(inputs) → Manifests    analyze(inputs) → findings DataFrame
    checklist(inputs) → the production-readiness table    pod_security(inputs) → PSS level per pod
    Analysis.of(inputs) → all of them, computed once
    compare(baseline, candidate) → what changes: failures fixed, introduced, removed …
    compare_values(chart, [(name, files)]) → value sets side by side (values/sets.py)
    suggest(chart, files) → a proven values override and what values cannot fix (values/suggest.py)

Inputs are paths, YAML text, Manifests, a Rendered chart, an Analysis or objects as dicts.
Unreadable input raises a `ToolmanKitError` subclass naming file and line (or warns, with
`errors="warn"`).

Layout, following the flow of data: read/ (text → typed objects), judge/ (objects + profile →
findings, checklist), chart/ (chart + values → facts), present/ (facts → pages and files).
Importing the package is light: pandas is imported when a DataFrame is first asked for, the
values machinery (process pools, template scans) when compare_values or suggest is first used.
"""

import importlib
from typing import TYPE_CHECKING, Any

from toolman_kit.analysis import Analysis, analyze, checklist, load, pod_security
from toolman_kit.chart.render import Rendered, render
from toolman_kit.comparison import Comparison, compare
from toolman_kit.errors import (
    ManifestError,
    ProfileError,
    RenderError,
    ReportError,
    ToolmanKitError,
    ToolmanKitWarning,
)
from toolman_kit.judge.profiles import Profile, load_profile
from toolman_kit.read.manifests import Manifests

__version__ = "0.1.0"

if TYPE_CHECKING:
    from toolman_kit.values.sets import compare_values
    from toolman_kit.values.suggest import suggest

_LAZY = {"compare_values": "toolman_kit.values.sets", "suggest": "toolman_kit.values.suggest"}


def __getattr__(name: str) -> Any:
    """compare_values and suggest, imported on first use: `check` never needs them."""
    if name not in _LAZY:
        raise AttributeError(f"module 'toolman_kit' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:  # tab completion lists them before their first use
    return sorted({*globals(), *_LAZY})
__all__ = [
    "Analysis", "Comparison", "Manifests", "Profile", "Rendered", "analyze", "checklist",
    "compare", "compare_values", "load", "load_profile", "pod_security", "render", "suggest",
    "ManifestError", "ProfileError", "RenderError", "ReportError", "ToolmanKitError",
    "ToolmanKitWarning",
]
