"""What a report shows: N named analyses ("sets"), the first being the reference.

A set is described by a dict, `{"name": "production", "manifests": [paths]}`, or with a chart
`{"name": "production", "values": [files], "set": ["key=value"]}` (`"values": []` is the chart's
own defaults). A manifests set may add `"crds": [files]`: CustomResourceDefinitions that are
schemas for its custom resources (a chart's crds/, as a rendered set has them), not objects.
`named_sets` turns the CLI's baseline/candidate pair into two such sets, so the
pair is the two-set case and nothing else. The report validates every set before a kernel starts
(`validate`), and each notebook calls `inputs()` to get the analyses.

Relative paths are resolved against the working directory, then against notebooks/ (where the
notebooks' defaults point), so papermill can run a notebook from anywhere; a missing input is one
error naming the parameter that holds it.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolman_kit.analysis import Analysis, with_kube_version
from toolman_kit.atomic import write_atomic
from toolman_kit.chart.render import crd_objects, load_chart
from toolman_kit.comparison import Comparison
from toolman_kit.errors import ManifestError, ToolmanKitError
from toolman_kit.judge.profiles import BUILT_IN, Profile, load_profile
from toolman_kit.present.sections import NOTEBOOKS
from toolman_kit.read.manifests import RELEASE_NAMESPACE, Manifests, load, place


@dataclass
class Inputs:
    """The named analyses a notebook shows; the first is the reference every other set is
    compared with, the last is the subject of the narrative (issues, recommendations) and of
    the data files. The baseline/candidate pair is the two-set case."""

    sets: list[tuple[str, Analysis]]
    rendered: dict[str, Any] = field(default_factory=dict)  # set name → Rendered (charts)
    key: Any = field(default=None, repr=False)  # inputs()' arguments and files' stamps
    _comparisons: list[tuple[str, Comparison]] | None = field(default=None, repr=False)

    @property
    def analysis(self) -> Analysis:
        return self.sets[-1][1]

    @property
    def label(self) -> str:
        return self.sets[-1][0]

    @property
    def baseline(self) -> Analysis | None:
        return self.sets[0][1] if len(self.sets) > 1 else None

    @property
    def baseline_label(self) -> str:
        return self.sets[0][0]

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.sets]

    def comparisons(self) -> list[tuple[str, Comparison]]:
        """(name, comparison with the reference) of every set after the first."""
        if self._comparisons is None:
            (ref_name, ref), rest = self.sets[0], self.sets[1:]
            self._comparisons = [(name, Comparison(ref, a, (ref_name, name)))
                                 for name, a in rest]
        return self._comparisons


def named_sets(manifests: Sequence[Any] = (), baseline: Sequence[Any] | None = None,
               chart: Any = None, values: Sequence[Any] = (),
               baseline_values: Sequence[Any] | None = (),
               set_values: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """The baseline/candidate parameters as sets: the baseline (if any), then the candidate.

    Without a chart: `manifests` vs `baseline` paths. With a chart: rendered with `values` and
    `set_values`, against `baseline` paths if given, else against `baseline_values` ([] is the
    chart's defaults, None no baseline; skipped when it would render the same)."""
    def names(paths: Sequence[Any], none: str) -> str:
        return ", ".join(Path(str(p)).name for p in paths) or none

    if chart is None:
        sets = [{"name": names(manifests, "candidate"), "manifests": list(manifests)}]
        if baseline:
            sets.insert(0, {"name": names(baseline, "baseline"), "manifests": list(baseline)})
        return sets
    sets = [{"name": names(values, "chart defaults"), "values": list(values),
             "set": list(set_values)}]
    if baseline:
        sets.insert(0, {"name": names(baseline, "baseline"), "manifests": list(baseline)})
    elif baseline_values is not None and (list(baseline_values) != list(values) or set_values):
        sets.insert(0, {"name": names(baseline_values, "chart defaults"),
                        "values": list(baseline_values)})
    if len(sets) == 2 and sets[0]["name"] == sets[1]["name"]:
        sets[0]["name"], sets[1]["name"] = "baseline", "candidate"
    return sets


def checked_sets(manifests: Sequence[Any] = (), baseline: Sequence[Any] | None = None,
                 chart: Any = None, values: Sequence[Any] = (),
                 baseline_values: Sequence[Any] | None = (),
                 set_values: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """`named_sets` after checking that every path exists (an error names its parameter)."""
    if chart is None and not manifests:
        raise ManifestError("nothing to report on: no manifests given (parameter manifests)")
    for parameter, paths in (("manifests", manifests), ("baseline", baseline),
                             ("values", values), ("baseline_values", baseline_values)):
        for p in paths or ():
            _resolve(p, parameter)
    return named_sets(manifests, baseline, chart, values, baseline_values, set_values)


def _resolve(path: Any, parameter: str, directory: bool = False) -> str:
    """An existing path: as given (absolute, or relative to the working directory), else
    relative to notebooks/; else one error naming the parameter."""
    text = os.fspath(path)
    for candidate in (Path(text), NOTEBOOKS / text):
        if candidate.exists() and (not directory or candidate.is_dir()):
            return str(candidate.resolve())
    what = "directory" if directory else "file or directory"
    raise ManifestError(f"no such {what} (parameter {parameter})", file=text)


def resolve_profile(profile: Any) -> Any:
    if isinstance(profile, Profile) or str(profile) in BUILT_IN:
        return profile
    return _resolve(profile, "profile")


def validate(sets: Sequence[Any], chart: Any = None, profile: Any = "production"
             ) -> tuple[list[dict[str, Any]], Any, Any]:
    """(sets, chart, profile) with every path resolved and checked, without reading manifests:
    the cheap checks `report` makes before it starts any kernel. Raises one ToolmanKitError."""
    if not sets:
        raise ToolmanKitError("sets: nothing to report on (give at least one set)")
    chart = None if chart is None else _resolve(chart, "chart", directory=True)
    if chart is not None and not (Path(chart) / "Chart.yaml").is_file():
        raise ToolmanKitError("not a Helm chart: no Chart.yaml (parameter chart)", file=chart)
    resolved, seen = [], set()
    for i, spec in enumerate(sets):
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise ToolmanKitError(f"sets[{i}]: expected {{'name': ..., 'manifests': [...]}} or "
                                  "{'name': ..., 'values': [...]}")
        where = f"sets[{i}] {spec['name']!r}"
        if spec["name"] in seen:
            raise ToolmanKitError(f"{where}: two sets have this name")
        seen.add(spec["name"])
        if ("manifests" in spec) == ("values" in spec):
            raise ToolmanKitError(f"{where}: give either 'manifests' or 'values'")
        if "manifests" in spec:
            if not spec["manifests"]:
                raise ToolmanKitError(f"{where}: no manifests given")
            paths = [_resolve(p, f"{where}, manifests") for p in spec["manifests"]]
            resolved.append({"name": spec["name"], "manifests": paths})
            if spec.get("crds"):
                resolved[-1]["crds"] = [_resolve(p, f"{where}, crds") for p in spec["crds"]]
        else:
            if chart is None:
                raise ToolmanKitError(f"{where}: values need a chart")
            resolved.append({"name": spec["name"],
                             "values": [_resolve(v, f"{where}, values") for v in spec["values"]],
                             "set": list(map(str, spec.get("set", ())))})
    return resolved, chart, resolve_profile(profile)


_LAST: list[tuple[Any, Inputs]] = []  # the last inputs() result, with its arguments and files
# `toolman-kit report` analyses the inputs once and shares them with its kernels through a pickle
# in its private (0700) temporary directory (share), which each notebook receives first (receive).
_RECEIVED: list[str] = []  # the pickle _LAST came from, if it did


def inputs(manifests: Sequence[Any] = (), baseline: Sequence[Any] | None = None,
           chart: Any = None, values: Sequence[Any] = (),
           baseline_values: Sequence[Any] | None = (), set_values: Sequence[Any] = (),
           profile: Any = "production", namespace: str | None = None,
           release: str = "release-name", sets: Sequence[Any] | None = None,
           kube_version: str | None = None, api_versions: Sequence[str] = ()) -> Inputs:
    """The analyses to show, from the notebook parameters.

    `sets` (a list of set dicts, or of (name, Analysis) pairs already made) wins over the
    baseline/candidate parameters, which mean the same as `named_sets`. `kube_version` ("1.29",
    None: the profile's) is the version checked against and, for charts, rendered for, with
    `api_versions` (--api-versions, after the profile's) served besides its built-ins. The
    report runs several notebooks in one kernel: the same arguments over unchanged files (path,
    size and mtime of every input) return the analyses already made."""
    if sets and all(isinstance(s, tuple | list) and len(s) == 2
                    and isinstance(s[1], Analysis) for s in sets):
        return Inputs([(str(name), a) for name, a in sets])
    if not sets:
        sets = checked_sets(manifests, baseline, chart, values, baseline_values, set_values)
    specs, chart, profile = validate(sets, chart, profile)
    files = [p for s in specs for p in (*s.get("manifests", ()), *s.get("values", ()))]
    files += [chart] if chart else []
    files += [profile] if isinstance(profile, str) and Path(profile).is_file() else []
    key = (repr((specs, chart, str(profile), namespace, release, kube_version,
                 list(api_versions))),
           _stamp(files))
    if _LAST and _LAST[0][0] == key:
        return _LAST[0][1]
    result = _analyses(specs, chart, profile, namespace, release, kube_version, api_versions)
    result.key = key
    _LAST[:], _RECEIVED[:] = [(key, result)], []
    return result


def share(path: Path, ins: Inputs) -> None:
    """Write `ins` (an inputs() result) where the report's kernels receive it: the same
    arguments over the same files then cost an unpickling instead of an analysis."""
    write_atomic(path, pickle.dumps((ins.key, ins), protocol=pickle.HIGHEST_PROTOCOL))


def receive(path: str) -> None:
    """In a report's kernel, before each notebook: hold the analyses its report shared at `path`
    in place of any previous ones. A kernel may serve one report after another (the fleet
    batch keeps them), so the path comes with each notebook rather than with the kernel's start,
    and a kept kernel never shows a previous report's analyses."""
    if _RECEIVED != [path]:  # the report's other notebooks in this kernel: already held
        with open(path, "rb") as shared:
            _LAST[:] = [pickle.load(shared)]
        _RECEIVED[:] = [path]


def _stamp(paths: Sequence[str]) -> tuple:
    stamps = []
    for path in map(Path, paths):
        for f in sorted(path.rglob("*")) if path.is_dir() else [path]:
            try:
                st = f.stat()
                stamps.append((str(f), st.st_size, st.st_mtime_ns))
            except OSError:
                stamps.append((str(f), None, None))
    return tuple(stamps)


def _analyses(specs: list[dict[str, Any]], chart: str | None, profile: Any,
              namespace: str | None, release: str, kube_version: str | None = None,
              api_versions: Sequence[str] = ()) -> Inputs:
    profile = with_kube_version(load_profile(profile), kube_version)  # charts render for it
    loaded: list[tuple[str, Manifests, Any]] = []
    for spec in specs:
        if "manifests" in spec:
            m = load(*map(Path, spec["manifests"]), namespace=namespace)
            m.crds = crd_objects([(p, Path(p).read_text(encoding="utf-8"))
                                  for p in spec.get("crds", ())], m.namespace)
            loaded.append((spec["name"], m, None))
        else:
            m, r = load_chart(chart, spec["values"], spec["set"], release=release,
                              namespace=namespace, kube_version=profile.kube_version,
                              api_versions=profile.served(api_versions))
            loaded.append((spec["name"], m, r))
    if namespace is None:  # renderings of one release: one release namespace, or nothing lines up
        named = [m.namespace for _, m, _ in loaded if m.namespace != RELEASE_NAMESPACE]
        common = named[-1] if named else RELEASE_NAMESPACE
        for _, m, _ in loaded:
            if m.namespace != common:
                place(m, common)
    out = Inputs([])
    for (name, m, r), spec in zip(loaded, specs, strict=True):
        a = Analysis.of(m, profile=profile)
        if not len(a.manifests):
            detail = "; ".join(str(e) for e in a.errors) or "no Kubernetes objects"
            raise ManifestError(f"nothing to report on: {detail}",
                                file=", ".join(spec.get("manifests", [str(chart)])))
        out.sets.append((name, a))
        if r is not None:
            out.rendered[name] = r
    return out


def each(ins: Inputs) -> list[tuple[str | None, Analysis]]:
    """(label, analysis) to show in turn: every set, or the only one without a label."""
    if len(ins.sets) == 1:
        return [(None, ins.analysis)]
    return [(name, a) for name, a in ins.sets]
