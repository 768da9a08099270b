"""toolman-kit: is this Kubernetes deployment ready for production, and if not, what must change?

    render(chart) → text    load(paths) → Manifests    analyze(...) → findings DataFrame
    checklist(...) → the production-readiness table    pod_security(...) → PSS level per pod
    compare(baseline, candidate) → what changes: failures fixed, introduced, removed …

Layout, following the flow of data: read/ (text → typed objects), judge/ (objects + profile →
findings, checklist), chart/ (chart + values → facts), present/ (facts → pages and files).
"""

from toolman_kit.analysis import Analysis, analyze, checklist, pod_security
from toolman_kit.chart.render import render
from toolman_kit.comparison import Comparison, compare
from toolman_kit.errors import (
    ManifestError,
    ProfileError,
    RenderError,
    ReportError,
    ToolmanKitError,
)
from toolman_kit.judge.profiles import Profile, load_profile
from toolman_kit.read.manifests import Manifests, load

__version__ = "0.1.0"
__all__ = [
    "Analysis", "Comparison", "Manifests", "Profile", "analyze", "checklist", "compare", "load",
    "load_profile", "pod_security", "render",
    "ManifestError", "ProfileError", "RenderError", "ReportError", "ToolmanKitError",
]
