"""load: rendered manifests (files, directories, stdin, text) → Manifests.

Every resource remembers where it came from (file, document index, line, `# Source:` template),
so each finding can point at the manifest line it is about. A document that is not a Kubernetes
object becomes a LoadError naming file and line; the other documents are still loaded.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ManifestError

SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's C loader when present

RELEASE_NAMESPACE = "(release)"  # objects without a namespace, when it cannot be known
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
CLUSTER_SCOPED = frozenset({
    "Namespace", "Node", "PersistentVolume", "StorageClass", "CustomResourceDefinition",
    "ClusterRole", "ClusterRoleBinding", "PriorityClass", "IngressClass", "RuntimeClass",
    "APIService", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "CSIDriver",
    "VolumeAttachment",
    "PodSecurityPolicy", "ClusterIssuer",
})

_DOC_START = re.compile(r"^---(?=[ \t\r]|$)", re.M)
_DOC_END = re.compile(r"^\.\.\.[ \t\r]*$", re.M)
_SOURCE = re.compile(r"^# Source: (.+?)[ \t\r]*$", re.M)
_CONTENT = re.compile(r"^(?![ \t]*(?:#|\r?$))", re.M)  # first line that is not blank or comment


@dataclass(frozen=True, slots=True)
class Source:
    file: str
    document: int  # 0-based index of the document in its file
    line: int  # 1-based line of the document's first content line
    template: str | None  # the `# Source:` path helm template printed, if any


@dataclass(slots=True, eq=False)  # identity: the index keys on objects
class Resource:
    obj: dict[str, Any]
    source: Source
    namespace: str = ""  # effective namespace: the release namespace when the object has none

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind", ""))

    @property
    def api_version(self) -> str:
        return str(self.obj.get("apiVersion", ""))

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.obj.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str:
        meta = self.metadata
        return str(meta.get("name") or meta.get("generateName") or "")

    @property
    def labels(self) -> dict[str, str]:
        return _str_map(self.metadata.get("labels"))

    @property
    def annotations(self) -> dict[str, str]:
        return _str_map(self.metadata.get("annotations"))

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.obj.get("spec")
        return spec if isinstance(spec, dict) else {}

    @property
    def ref(self) -> str:
        """Kind/namespace/name, the way people name an object in a review."""
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace else \
            f"{self.kind}/{self.name}"


@dataclass(frozen=True, slots=True)
class LoadError:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else \
            f"{self.file}: {self.message}"


@dataclass
class Manifests:
    resources: list[Resource] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    namespace: str = RELEASE_NAMESPACE

    def __len__(self) -> int:
        return len(self.resources)

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.resources)

    def of_kind(self, *kinds: str) -> list[Resource]:
        return [r for r in self.resources if r.kind in kinds]


def _str_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


def load(*sources: str | Path | Iterable[str | Path], namespace: str | None = None,
         stdin_text: str | None = None) -> Manifests:
    """Load manifests from paths (files, directories searched recursively for *.yaml, *.yml,
    *.json), `-` (standard input) or literal YAML/JSON text (any string holding a newline).

    `namespace` is the release namespace (`helm -n`): objects without metadata.namespace are
    placed there. Left out, it is inferred when every explicit namespace agrees, as a chart that
    templates `{{ .Release.Namespace }}` into some objects shows it.
    """
    manifests = Manifests()
    for source in _flatten(sources):
        manifests.inputs.append(str(source))
        for name, text in _read(source, manifests.errors, stdin_text):
            _parse_text(text, name, manifests)
    manifests.namespace = namespace or _infer_namespace(manifests.resources)
    for resource in manifests.resources:
        resource.namespace = _namespace_of(resource, manifests.namespace)
    return manifests


def _flatten(sources: tuple) -> Iterator[str | Path]:
    for source in sources:
        if isinstance(source, (str, Path)):
            yield source
        else:
            yield from source


def _read(source: str | Path, errors: list[LoadError],
          stdin_text: str | None) -> Iterator[tuple[str, str]]:
    if isinstance(source, str) and "\n" in source:
        yield "<text>", source
        return
    if str(source) == "-":
        yield "<stdin>", sys.stdin.read() if stdin_text is None else stdin_text
        return
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix in MANIFEST_SUFFIXES and p.is_file())
        if not files:
            errors.append(LoadError(str(path), None, "directory holds no *.yaml, *.yml or *.json"))
    elif path.exists():
        files = [path]
    else:
        errors.append(LoadError(str(path), None, "no such file or directory"))
        return
    for file in files:
        try:
            yield str(file), decode(file.read_bytes(), str(file))
        except ManifestError as exc:
            errors.append(LoadError(str(file), exc.line, exc.message))
        except OSError as exc:
            errors.append(LoadError(str(file), None, exc.strerror or str(exc)))


def decode(data: bytes, name: str) -> str:
    """Manifest bytes → text; binary and non-UTF-8 input is refused with a clear message."""
    if b"\0" in data[:8192]:
        raise ManifestError("binary file, not YAML or JSON", name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ManifestError(f"not UTF-8 text (byte 0x{data[exc.start]:02x})", name, line) from None


def split_documents(text: str) -> Iterator[tuple[int, str]]:
    """(line of the chunk's first character, chunk) for each `---`-separated document.

    A `---` at column 0 always starts a document (the YAML spec forbids it inside content),
    so splitting textually is exact and lets every document be parsed, and fail, on its own.
    """
    starts = [m.start() for m in _DOC_START.finditer(text)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    line, previous = 1, 0
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        line += text.count("\n", previous, start)
        previous = start
        chunk = text[start:end]
        if chunk.startswith("---"):
            chunk = "   " + chunk[3:]  # keep columns; content may follow the marker
        if (stop := _DOC_END.search(chunk)) is not None:
            chunk = chunk[: stop.start()]
        yield line, chunk


def _parse_text(text: str, name: str, manifests: Manifests) -> None:
    stripped = text.lstrip()
    if name.endswith(".json") or stripped[:1] in ("{", "["):
        try:
            _add_object(json.loads(text), Source(name, 0, 1, None), manifests)
            return
        except (json.JSONDecodeError, RecursionError):
            pass  # JSON-looking YAML (flow style): let the YAML parser judge it
    has_content = False
    for index, (line, chunk) in enumerate(split_documents(text)):
        content = _CONTENT.search(chunk)
        if content is None:
            continue  # empty document: helm prints these for disabled templates
        has_content = True
        template = _SOURCE.search(chunk, 0, content.start())
        source = Source(name, index, line + chunk.count("\n", 0, content.start()),
                        template.group(1) if template else None)
        try:
            obj = yaml.load(chunk, Loader=SafeLoader)  # noqa: S506 - safe loader
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            manifests.errors.append(LoadError(
                name, line + mark.line if mark else source.line,
                f"invalid YAML: {exc.problem or exc.context}"
                + (f" (column {mark.column + 1})" if mark else "")))
            continue
        except yaml.YAMLError as exc:
            manifests.errors.append(LoadError(name, source.line, f"invalid YAML: {exc}"))
            continue
        _add_object(obj, source, manifests)
    if not has_content:
        manifests.errors.append(
            LoadError(name, None, "no Kubernetes objects (empty or only comments)"))


def _add_object(obj: Any, source: Source, manifests: Manifests) -> None:
    if obj is None:
        return
    if not isinstance(obj, dict):
        manifests.errors.append(LoadError(
            source.file, source.line,
            f"document is a {_yaml_type(obj)}, not a Kubernetes object"))
        return
    kind = obj.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(obj.get("items"), list):
        for item in obj["items"]:  # kubectl get -o yaml: flatten, keep the List's location
            _add_object(item, source, manifests)
        return
    missing = [key for key in ("apiVersion", "kind") if not isinstance(obj.get(key), str)
               or not obj.get(key)]
    meta = obj.get("metadata")
    named = isinstance(meta, dict) and (meta.get("name") or meta.get("generateName"))
    if not missing and not named:
        missing.append("metadata.name")
    if missing:
        manifests.errors.append(LoadError(
            source.file, source.line, f"not a Kubernetes object: no {' or '.join(missing)}"))
        return
    manifests.resources.append(Resource(obj, source))


def _yaml_type(value: Any) -> str:
    return {list: "list", str: "string", int: "number", float: "number",
            bool: "boolean"}.get(type(value), type(value).__name__)


def _infer_namespace(resources: list[Resource]) -> str:
    explicit = {ns for r in resources if r.kind not in CLUSTER_SCOPED
                and isinstance(ns := r.metadata.get("namespace"), str) and ns}
    return explicit.pop() if len(explicit) == 1 else RELEASE_NAMESPACE


def _namespace_of(resource: Resource, release_namespace: str) -> str:
    if resource.kind in CLUSTER_SCOPED:
        return ""
    namespace = resource.metadata.get("namespace")
    return str(namespace) if isinstance(namespace, str) and namespace else release_namespace
