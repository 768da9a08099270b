"""Analysis: manifests, their index, a profile and the findings, computed once and shared.

`analyze`, `checklist` and `pod_security` accept either an Analysis or what `load` accepts, so a
notebook can call them on paths directly or reuse one Analysis for every table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import engine
from .checklist import build
from .index import Index
from .manifests import LoadError, Manifests, load
from .profiles import Profile, load_profile
from .pss import pod_security_frame


@dataclass
class Analysis:
    manifests: Manifests
    index: Index
    profile: Profile
    findings: pd.DataFrame
    errors: list[LoadError] = field(default_factory=list)  # load errors, then check errors
    label: str = ""

    @classmethod
    def of(cls, *sources: str | Path | Manifests, profile: str | Path | Profile = "production",
           namespace: str | None = None, label: str = "") -> Analysis:
        if len(sources) == 1 and isinstance(sources[0], Manifests):
            manifests = sources[0]
        else:
            manifests = load(*sources, namespace=namespace)
        prof = load_profile(profile)
        index = Index(manifests)
        findings, check_errors = engine.run(index, prof, label)
        return cls(manifests, index, prof, findings, [*manifests.errors, *check_errors], label)


def _analysis(sources: tuple, **options) -> Analysis:
    if len(sources) == 1 and isinstance(sources[0], Analysis):
        return sources[0]
    return Analysis.of(*sources, **options)


def analyze(*sources, profile: str | Path | Profile = "production", namespace: str | None = None,
            label: str = "") -> pd.DataFrame:
    """The findings frame: one row per (check, object, container) examined."""
    return _analysis(sources, profile=profile, namespace=namespace, label=label).findings


def checklist(*sources, profile: str | Path | Profile = "production",
              namespace: str | None = None) -> pd.DataFrame:
    """The production-readiness checklist: the seed's rows (and ours) for every workload."""
    a = _analysis(sources, profile=profile, namespace=namespace)
    return build(a.findings, a.index)


def pod_security(*sources, namespace: str | None = None) -> pd.DataFrame:
    """The Pod Security Standards level each pod satisfies, with the controls it violates."""
    return pod_security_frame(_analysis(sources, namespace=namespace).index)
