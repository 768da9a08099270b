"""The public API: an Analysis (manifests, their index, a profile and the findings) computed once.

`analyze`, `checklist` and `pod_security` accept what a user has at hand — paths, YAML text,
`Manifests`, a `Rendered` chart, an `Analysis`, Kubernetes objects as dicts — so a notebook can
call them on paths directly or reuse one Analysis for every table.

Input that cannot be read, or that holds no Kubernetes object, raises a `ManifestError` naming
the file and line (`errors="raise"`, the default); `errors="warn"` turns each problem into a
`ToolmanKitWarning` and analyzes the good documents; `errors="ignore"` only keeps them in
`Analysis.errors`.

Nothing here imports pandas until a DataFrame is asked for: `toolman-kit check` streams its
formats from the findings' row tuples.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from toolman_kit.chart.render import Rendered, crd_objects
from toolman_kit.chart.sources import shown
from toolman_kit.errors import ManifestError, PolicyError, ToolmanKitWarning
from toolman_kit.judge import checklist as checklist_table
from toolman_kit.judge import engine
from toolman_kit.judge.apis import kube_version as kube_version_of
from toolman_kit.judge.findings import Findings
from toolman_kit.judge.profiles import Profile, load_profile
from toolman_kit.judge.pss import PodSecurity, pod_security_frame
from toolman_kit.judge.pss import pod_security as pss_levels
from toolman_kit.judge.registry import Check, catalogue
from toolman_kit.read import manifests as read
from toolman_kit.read.index import Index
from toolman_kit.read.manifests import LoadError, Manifests, Text, gc_paused
from toolman_kit.text import plural

if TYPE_CHECKING:
    import pandas as pd

Errors = Literal["raise", "warn", "ignore"]
Input = str | Path | Manifests | Rendered | Mapping[str, Any] | Iterable[Any]


@dataclass(repr=False, eq=False)
class Analysis:
    """One analysis: the manifests, their index, the profile, the findings; every table and
    report of the same input reuses it.

    Attributes:
        manifests: the objects analyzed (`Manifests`).
        index: the workloads and what links to them (PDBs, Services, policies…).
        profile: the `Profile` the checks were judged against.
        rows: the findings as row tuples (`Findings`), what the output formats stream.
        errors: input problems, then checks that failed, as `LoadError`s (file, line, message).
        values_set: the label every findings row carries in `values_set` (e.g. "production").
        policies: the checks of the admission policies evaluated (`policy/<name>`: the
            profile's `policies` and those shipped in the manifests) and of the profile's
            `rules` (their own ids), by id.

    `findings` and `checklist` are DataFrames built on first use (pandas is imported then).

    Example:
        >>> a = tk.Analysis.of("examples/toolman/rendered/default.yaml",
        ...                    profile="examples/toolman/profile.yaml")
        >>> repr(a).startswith("Analysis(6 objects, 1 workload, profile toolman-production: ")
        True
        >>> a.checklist.set_index("component").loc["Replicas", "status"]
        'fail'
        >>> a.findings.query("status == 'fail'").severity.max()
        'error'
    """

    manifests: Manifests
    index: Index
    profile: Profile
    rows: Findings
    errors: list[LoadError] = field(default_factory=list)  # load errors, then check errors
    values_set: str = ""
    policies: dict[str, Check] = field(default_factory=dict)

    @classmethod
    def of(cls, *sources: Input, profile: str | Path | Profile = "production",
           namespace: str | None = None, values_set: str = "",
           errors: Errors = "raise", kube_version: str | None = None) -> Analysis:
        """Load `sources` and run every check of `profile` on them.

        Args:
            *sources: paths (files, directories, "-" for stdin), YAML or JSON text (a string with
                a newline), `Manifests`, a `Rendered` chart (from `render`), an `Analysis` (its
                manifests are analyzed again), or Kubernetes objects as dicts (one, or a list).
            profile: a built-in profile name ("production"), a profile YAML path, or a `Profile`.
            namespace: the release namespace for objects that name none (default: the one
                namespace the objects name, else "(release)"). Ignored for `Manifests`.
            values_set: a label for this run, carried by every findings row.
            errors: "raise" (default): unreadable input, or input without any Kubernetes
                object, raises `ManifestError`; "warn": a `ToolmanKitWarning` per problem, the
                good documents analyzed; "ignore": problems only listed in `errors`.
            kube_version: the Kubernetes version to judge apiVersions against, e.g. "1.29"
                (None: the profile's `kube_version`).

        Returns:
            The Analysis.

        Raises:
            ManifestError: with `errors="raise"`, for the first input problem (file and line).
            ProfileError: a profile that does not exist or is malformed.

        Example:
            >>> a = tk.Analysis.of("examples/toolman/rendered/production.yaml",
            ...                    values_set="production")
            >>> a.findings["values_set"].unique().tolist()
            ['production']
        """
        _check_policy(errors)
        prof = with_kube_version(load_profile(profile), kube_version)
        with gc_paused():  # one pause for the whole run: each resume re-scans what it built
            manifests = _manifests(sources, namespace, errors)
            index = Index(manifests, prof.workload_kinds)
            policies, policy_errors = engine.policy_checks(index, prof)
            findings, check_errors = engine.run(index, prof, values_set, policies)
        if check_errors and errors != "ignore":  # a bug of ours, not the input's: never raised
            _warn("; ".join(map(str, check_errors)))
        for e in policy_errors if errors != "ignore" else ():
            if errors == "raise":
                raise PolicyError(e.message, e.file, e.line, e.column)
            _warn(str(e))
        return cls(manifests, index, prof, findings,
                   [*manifests.errors, *policy_errors, *check_errors], values_set, policies)

    @property
    def checks(self) -> dict[str, Check]:
        """Every check of this analysis by id: the catalogue, then its policies' and rules'."""
        return {**catalogue(), **self.policies}

    @cached_property
    def findings(self) -> pd.DataFrame:
        """The findings DataFrame: one row per (check, object, container) examined, problems
        first (see `toolman_kit.judge.findings` for the columns, dtypes and statuses).
        Computed once; treat it as read-only."""
        return self.rows.frame()

    @cached_property
    def checklist_rows(self) -> list[tuple]:
        """The checklist as row tuples (workload, namespace, component, current_state, status,
        action, checks)."""
        with gc_paused():  # 100,000s of small objects among millions: see gc_paused
            return checklist_table.build(self.rows, self.index, self.pod_security,
                                         {c.id: c.checklist for c in self.policies.values()
                                          if c.checklist})

    @cached_property
    def pod_security(self) -> list[PodSecurity]:
        """The Pod Security Standards level of each workload's pod (see `pod_security`)."""
        return pss_levels(self.index)

    @cached_property
    def checklist(self) -> pd.DataFrame:
        """The production-readiness checklist DataFrame (computed once; treat it as read-only)."""
        return checklist_table.frame(self.checklist_rows)

    @property
    def warnings(self) -> list[LoadError]:
        """Suspect input that was still analyzed, e.g. an object defined twice, and a chart's
        render warnings (a disabled subchart missing from charts/, skipped)."""
        return self.manifests.warnings

    def summary(self) -> str:
        """One line: objects, workloads, profile and the failures by severity."""
        counts = self.rows.counts()
        parts = [plural(counts["error"], "error"), plural(counts["warning"], "warning"),
                 f"{counts['info']} info", plural(counts["pass"], "pass", "passes")]
        if counts["exempt"]:
            parts.append(f"{counts['exempt']} exempt")
        if self.errors:
            parts.append(plural(len(self.errors), "input error"))
        return (f"{plural(len(self.manifests), 'object')}, "
                f"{plural(len(self.index.workloads), 'workload')}, profile {self.profile.name}: "
                + ", ".join(parts))

    def __repr__(self) -> str:
        return f"Analysis({self.summary()})"

    def _repr_html_(self) -> str:
        """What a notebook shows: the summary and the checklist (present/html.py)."""
        from toolman_kit.present.html import analysis_html  # a view: see test_layers

        return analysis_html(self)

def with_kube_version(profile: Profile, kube_version: str | None) -> Profile:
    """The profile targeting `kube_version` (None: as it is)."""
    if kube_version is None:
        return profile
    kube_version_of(kube_version)  # a clear error for "1.x"
    return replace(profile, kube_version=str(kube_version))


def load(*sources: Input, namespace: str | None = None, errors: Errors = "raise") -> Manifests:
    """Load manifests: files, directories (searched for *.yaml, *.yml, *.json), "-" (stdin),
    YAML or JSON text, a `Rendered` chart, or objects as dicts.

    Args:
        *sources: what to load (see `Analysis.of`).
        namespace: the release namespace for objects that name none.
        errors: "raise", "warn" or "ignore" (see `Analysis.of`).

    Returns:
        The `Manifests`; objects defined twice are kept once, with a warning.

    Raises:
        ManifestError: with `errors="raise"`, for the first input problem (file and line).

    Example:
        >>> m = tk.load("examples/toolman/rendered/production.yaml")
        >>> [r.kind for r in m][:3]
        ['NetworkPolicy', 'PodDisruptionBudget', 'ServiceAccount']
        >>> len(tk.load([{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}]))
        1
    """
    _check_policy(errors)
    return _manifests(sources, namespace, errors)


def analyze(*sources: Input, profile: str | Path | Profile = "production",
            namespace: str | None = None, values_set: str = "",
            errors: Errors = "raise") -> pd.DataFrame:
    """The findings DataFrame: one row per (check, object, container) examined.

    Args:
        *sources: what to analyze (see `Analysis.of`); an `Analysis` is used as it is.
        profile, namespace, values_set, errors: as for `Analysis.of`.

    Returns:
        Columns check_id, area, severity, status, kind, namespace, name, container, message,
        remediation, path, file, line, template, values_set, exempt_reason; problems first.
        `severity` (info < warning < error) and `status` (pass < skip < exempt < fail) are
        ordered categoricals, `line` is Int64, missing values are <NA>.

    Raises:
        ManifestError: with `errors="raise"`, when an input cannot be read or holds no object.

    Example:
        >>> df = tk.analyze("examples/toolman/rendered/default.yaml")
        >>> df.sort_values("severity", ascending=False).iloc[0].severity
        'error'
        >>> df.loc[df.check_id == "pdb-missing", ["name", "container", "status"]].iloc[0].tolist()
        ['toolman', <NA>, 'fail']
    """
    return _analysis(sources, profile=profile, namespace=namespace, values_set=values_set,
                     errors=errors).findings


def checklist(*sources: Input, profile: str | Path | Profile = "production",
              namespace: str | None = None, errors: Errors = "raise") -> pd.DataFrame:
    """The production-readiness checklist: the seed's rows (and ours) for every workload.

    Args:
        *sources: what to analyze (see `Analysis.of`); an `Analysis` is used as it is.
        profile, namespace, errors: as for `Analysis.of`.

    Returns:
        Columns workload, namespace, component, current_state, status, action, checks. `status`
        is an ordered categorical: n/a < pass < warning < fail (see `toolman_kit.judge.findings`
        for how it summarises the findings' statuses).

    Example:
        >>> cl = tk.checklist("examples/toolman/rendered/default.yaml")
        >>> cl.set_index("component").loc["Replicas", ["current_state", "status"]].tolist()
        ['1', 'fail']
    """
    a = _analysis(sources, profile=profile, namespace=namespace, errors=errors)
    return a.checklist.copy()


def pod_security(*sources: Input, namespace: str | None = None,
                 errors: Errors = "raise") -> pd.DataFrame:
    """The Pod Security Standards level each pod satisfies, with the controls it violates.

    Args:
        *sources: what to assess (see `Analysis.of`); an `Analysis` is used as it is.
        namespace, errors: as for `Analysis.of`.

    Returns:
        Columns kind, namespace, name, level ("privileged", "baseline" or "restricted": the
        highest the pod meets) and violations (a list of {control, level, detail}).

    Example:
        >>> tk.pod_security("examples/toolman/rendered/production.yaml")["level"].tolist()
        ['privileged']
    """
    if len(sources) == 1 and isinstance(sources[0], Analysis):
        return pod_security_frame(sources[0].index)
    _check_policy(errors)
    with gc_paused():
        index = Index(_manifests(sources, namespace, errors))
    return pod_security_frame(index)


def _analysis(sources: tuple, **options: Any) -> Analysis:
    if len(sources) == 1 and isinstance(sources[0], Analysis):
        return sources[0]
    return Analysis.of(*sources, **options)


def _check_policy(errors: str) -> None:
    if errors not in ("raise", "warn", "ignore"):
        raise ValueError(f"errors must be 'raise', 'warn' or 'ignore', not {errors!r}")


def _text(rendered: Rendered) -> Text:
    return Text(f"<rendered {rendered.chart}>", rendered.text)


def _manifests(sources: tuple, namespace: str | None, errors: Errors) -> Manifests:
    """Manifests from any mix of inputs. Input problems are judged by `errors` for what is loaded
    here; Manifests and Analyses were loaded (and judged) before, and are taken as they are."""
    given, rest, said, crds = [], [], [], []
    for source in sources:
        source = source.manifests if isinstance(source, Analysis) else source
        if isinstance(source, Manifests):
            given.append(source)
        elif isinstance(source, Rendered):
            rest.append(_text(source))
            said += [LoadError(shown(Path(source.directory or source.chart) / "Chart.yaml"),
                               None, w)
                     for w in source.warnings]  # the render's own, e.g. skipped subcharts
            crds += source.crds  # the chart's crds/: schemas for its custom resources
        else:
            rest.append(source)
    if not rest:
        if not given:
            raise ManifestError("nothing to analyze: give paths, text, Manifests or objects")
        return given[0] if len(given) == 1 else read.merge(*given)
    loaded = read.load(*rest, namespace=namespace)
    loaded.warnings += said
    loaded.crds += crd_objects(crds, loaded.namespace)
    _judge_input(loaded, errors)
    return read.merge(*given, loaded) if given else loaded


def _judge_input(m: Manifests, errors: Errors) -> None:
    if errors == "ignore":
        return
    if m.warnings:
        shown = "; ".join(map(str, m.warnings[:3]))
        more = f" (+{len(m.warnings) - 3} more)" if len(m.warnings) > 3 else ""
        _warn(shown + more)
    problems = list(m.errors)
    if not m.resources and not problems:
        problems.append(LoadError(", ".join(m.inputs) or "<input>", None,
                                  "no Kubernetes objects"))
    if not problems:
        return
    if errors == "raise":
        first = problems[0]
        more = f" (and {plural(len(problems) - 1, 'other input error')})" \
            if len(problems) > 1 else ""
        raise ManifestError(first.message + more, first.file, first.line, first.column)
    for problem in problems:
        _warn(str(problem))


def _warn(message: str) -> None:
    """A ToolmanKitWarning pointing at the user's line that called into the kit."""
    frame, level = sys._getframe(0), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("toolman_kit"):
        frame, level = frame.f_back, level + 1
    warnings.warn(ToolmanKitWarning(message), stacklevel=level)
