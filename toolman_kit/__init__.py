"""toolman-kit: is this Kubernetes deployment ready for production, and if not, what must change?

    render(chart) → Rendered    load(inputs) → Manifests    analyze(inputs) → findings DataFrame
    checklist(inputs) → the production-readiness table    pod_security(inputs) → PSS level per pod
    Analysis.of(inputs) → all of them, computed once
    compare(baseline, candidate) → what changes: failures fixed, introduced, removed …

Inputs are paths, YAML text, Manifests, a Rendered chart, an Analysis or objects as dicts.
Unreadable input raises a `ToolmanKitError` subclass naming file and line (or warns, with
`errors="warn"`).

Layout, following the flow of data: read/ (text → typed objects), judge/ (objects + profile →
findings, checklist), chart/ (chart + values → facts), present/ (facts → pages and files).
Importing the package is light: pandas is imported when a DataFrame is first asked for.
"""

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
__all__ = [
    "Analysis", "Comparison", "Manifests", "Profile", "Rendered", "analyze", "checklist",
    "compare", "load", "load_profile", "pod_security", "render",
    "ManifestError", "ProfileError", "RenderError", "ReportError", "ToolmanKitError",
    "ToolmanKitWarning",
]
