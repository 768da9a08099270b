"""toolman-kit: is this Kubernetes deployment ready for production, and if not, what must change?

    render(chart) → text    load(paths) → Manifests    analyze(...) → findings DataFrame
    checklist(...) → the production-readiness table    pod_security(...) → PSS level per pod
"""

# `checklist` the function shadows `toolman_kit.checklist` the module: analysis imports the module
# first, so the function binds last and wins the package attribute.
from .analysis import Analysis, analyze, checklist, pod_security
from .errors import ManifestError, ProfileError, RenderError, ReportError, ToolmanKitError
from .manifests import Manifests, load
from .profiles import Profile, load_profile
from .render import render

__version__ = "0.1.0"
__all__ = [
    "Analysis", "Manifests", "Profile", "analyze", "checklist", "load", "load_profile",
    "pod_security", "render",
    "ManifestError", "ProfileError", "RenderError", "ReportError", "ToolmanKitError",
]
