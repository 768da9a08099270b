"""What a render sees as .Capabilities.APIVersions: the API versions the target cluster serves.

Helm's SDK adds what it is given to its own fixed list (group/versions only, the same at every
--kube-version), so `Has "policy/v1/PodDisruptionBudget"` is false and a chart's CRDs are
unknown unless we say so. We give, like `helm install` against a real cluster would see:
  * every built-in group/version and group/version/kind served at --kube-version (judge/apis.yaml,
    the data the API checks use);
  * the CRDs of the chart and its subcharts (`crds/`, unpacked or packaged in charts/*.tgz, at
    any depth, as Helm installs them), and those its templates render;
  * what the user names with --api-versions (Helm's `-a`).
"""

from __future__ import annotations

import io
import re
import tarfile
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from toolman_kit.chart.sources.archive import MAX_BYTES, MAX_FILES
from toolman_kit.errors import RenderError, ToolmanKitError
from toolman_kit.judge.apis import DEFAULT_KUBE_VERSION, served
from toolman_kit.read import yamlsafe

CRD_KIND = "CustomResourceDefinition"
# GROUP/VERSION[/KIND], or a core VERSION[/KIND] (v1, v1/Pod), as Helm's -a takes them.
_API_VERSION = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?/)?v[a-z0-9]+(?:/[A-Za-z][A-Za-z0-9]*)?")
_SEP = re.compile(r"(?:^|\n)---[^\n]*")
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")  # Helm's hasManifestExtension
MAX_NESTING = 5  # packaged subcharts inside packaged subcharts; real charts nest one or two


def api_version(text: str) -> str:
    """`text` as given to --api-versions, or a clear error when it is not GROUP/VERSION[/KIND]."""
    text = str(text).strip()
    if not _API_VERSION.fullmatch(text):
        raise ToolmanKitError(f"not an API version: {text!r} (GROUP/VERSION or "
                              "GROUP/VERSION/KIND, e.g. monitoring.coreos.com/v1)")
    return text


def api_versions(chart: Path, kube: str | None, extra: Sequence[str] = ()) -> list[str]:
    """Built-ins served at `kube` (None: the default target), the chart's `crds/`, `extra`."""
    found = set(served(kube or DEFAULT_KUBE_VERSION)) | set(extra)
    found |= crd_versions(data for _, text in chart_crds(chart) for data in _documents(text))
    return sorted(found)


def chart_crds(chart: Path) -> list[tuple[str, str]]:
    """(where, text) of each manifest file in the `crds/` of the chart and of its subcharts,
    unpacked or packaged (charts/*.tgz, read in memory within the bounds of an unpacked
    archive; `where` is then ARCHIVE/MEMBER): what Helm installs before the templates."""
    out = []
    crds = chart / "crds"
    for path in sorted(crds.rglob("*")) if crds.is_dir() else ():
        if path.suffix in MANIFEST_SUFFIXES and path.is_file():
            out.append((str(path), path.read_text(encoding="utf-8", errors="replace")))
    for sub in sorted((chart / "charts").glob("*")):
        if sub.is_dir():
            out += chart_crds(sub)
        elif sub.suffix == ".tgz" and sub.is_file():
            out += _packaged_crds(sub.read_bytes(), str(sub), [0, 0], 1)
    return out


def _packaged_crds(data: bytes, label: str, spent: list[int], depth: int
                   ) -> list[tuple[str, str]]:
    """The crds/ files of a packaged chart (TOP/crds/…, TOP/charts/SUB/crds/…) and of the
    packaged charts in it; `spent` counts entries and bytes across them all. An archive that
    does not read serves nothing: Helm, loading the chart, says why."""
    out = []
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar:
                spent[0] += 1
                spent[1] += member.size if member.isfile() else 0
                if spent[0] > MAX_FILES or spent[1] > MAX_BYTES:
                    raise RenderError(f"packaged subchart over {MAX_FILES:,} entries or "
                                      f"{MAX_BYTES // 2**20} MiB: refused", file=label)
                parts = member.name.split("/")[1:]  # below the chart's top directory
                while len(parts) > 2 and parts[0] == "charts":
                    parts = parts[2:]  # in an unpacked subchart inside the archive
                if not member.isfile() or ".." in parts:
                    continue
                if parts[:1] == ["crds"] and member.name.endswith(MANIFEST_SUFFIXES):
                    body = tar.extractfile(member)
                    text = body.read().decode("utf-8", "replace") if body else ""
                    out.append((f"{label}/{member.name}", text))
                elif (len(parts) == 2 and parts[0] == "charts" and parts[1].endswith(".tgz")
                      and depth < MAX_NESTING):
                    body = tar.extractfile(member)
                    out += _packaged_crds(body.read() if body else b"",
                                          f"{label}/{member.name}", spent, depth + 1)
    except (tarfile.TarError, zlib.error, EOFError, OSError):
        return out
    return out


def crd_versions(objects: Iterable[Any]) -> set[str]:
    """`group/version` and `group/version/kind` of each CRD among `objects` (served versions)."""
    out: set[str] = set()
    for obj in objects:
        if not isinstance(obj, dict) or obj.get("kind") != CRD_KIND:
            continue
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
        group, kind = spec.get("group"), names.get("kind")
        versions = [v.get("name") for v in spec.get("versions") or () if isinstance(v, dict)
                    and v.get("served", True) is not False]
        if spec.get("version"):  # apiextensions.k8s.io/v1beta1's single version
            versions.append(spec["version"])
        for version in versions:
            if isinstance(group, str) and group and isinstance(version, str) and version:
                out.add(f"{group}/{version}")
                if isinstance(kind, str) and kind:
                    out.add(f"{group}/{version}/{kind}")
    return out


def rendered_crd_versions(files: dict[str, str]) -> set[str]:
    """The API versions of the CRDs a render printed (only texts naming the kind are parsed)."""
    return crd_versions(data for text in files.values() if CRD_KIND in text
                        for data in _documents(text))


def _documents(text: str) -> list[Any]:
    """Each YAML document's data; one that is not YAML (or is hostile) is skipped: a CRD that
    does not parse serves nothing."""
    out = []
    for chunk in _SEP.split(text):
        if chunk.strip():
            try:
                out.append(yamlsafe.parse(chunk).data)
            except yamlsafe.YAMLInputError:
                continue
    return out
