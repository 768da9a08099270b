"""Analysis: manifests, their index, a profile and the findings, computed once and shared.

`analyze`, `checklist` and `pod_security` accept either an Analysis or what `load` accepts, so a
notebook can call them on paths directly or reuse one Analysis for every table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import pandas as pd

from toolman_kit.chart.render import Rendered, render
from toolman_kit.judge import engine
from toolman_kit.judge.apis import DEFAULT_KUBE_VERSION
from toolman_kit.judge.apis import kube_version as kube_version_of
from toolman_kit.judge.checklist import build
from toolman_kit.judge.profiles import Profile, load_profile
from toolman_kit.judge.pss import pod_security_frame
from toolman_kit.read.index import Index
from toolman_kit.read.manifests import LoadError, Manifests, Text, gc_paused, load


@dataclass
class Analysis:
    manifests: Manifests
    index: Index
    profile: Profile
    findings: pd.DataFrame
    errors: list[LoadError] = field(default_factory=list)  # load errors, then check errors
    label: str = ""

    @cached_property
    def checklist(self) -> pd.DataFrame:
        """The production-readiness checklist (computed once; treat it as read-only)."""
        return build(self.findings, self.index)

    @classmethod
    def of(cls, *sources: str | Path | Manifests, profile: str | Path | Profile = "production",
           namespace: str | None = None, label: str = "",
           kube_version: str | None = None) -> Analysis:
        """`kube_version` (e.g. "1.29") overrides the profile's target Kubernetes version."""
        prof = with_kube_version(load_profile(profile), kube_version)
        with gc_paused():  # one pause for the whole run: each resume re-scans what it built
            if len(sources) == 1 and isinstance(sources[0], Manifests):
                manifests = sources[0]
            else:
                manifests = load(*sources, namespace=namespace)
            index = Index(manifests)
            findings, check_errors = engine.run(index, prof, label)
        return cls(manifests, index, prof, findings, [*manifests.errors, *check_errors], label)


def with_kube_version(profile: Profile, kube_version: str | None) -> Profile:
    """The profile targeting `kube_version` (None: as it is)."""
    if kube_version is None:
        return profile
    kube_version_of(kube_version)  # a clear error for "1.x"
    return replace(profile, kube_version=str(kube_version))


def load_chart(chart: str | Path, values: Sequence[str | Path] = (),
               set_values: Sequence[str] = (), release: str = "release-name",
               namespace: str | None = None,
               kube_version: str | None = None) -> tuple[Manifests, Rendered]:
    """Render a chart (helm template) and load the result; rows name it `<rendered CHART>`."""
    namespace = namespace or "default"  # helm's own default release namespace
    rendered = render(chart, list(values), list(set_values), release=release,
                      namespace=namespace, kube_version=kube_version)
    manifests = load(Text(f"<rendered {chart}>", rendered.text), namespace=namespace)
    manifests.inputs = [f"helm template {release} {chart} -n {namespace}"
                        + "".join(f" -f {v}" for v in values)
                        + "".join(f" --set {s}" for s in set_values)
                        + (f" --kube-version {kube_version}"
                           if kube_version and kube_version != DEFAULT_KUBE_VERSION else "")]
    return manifests, rendered


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
    return a.checklist.copy()


def pod_security(*sources, namespace: str | None = None) -> pd.DataFrame:
    """The Pod Security Standards level each pod satisfies, with the controls it violates."""
    return pod_security_frame(_analysis(sources, namespace=namespace).index)
