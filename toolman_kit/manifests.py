"""load: rendered manifests (files, directories, stdin, text) → Manifests.

Every resource remembers where it came from (file, document index, line, `# Source:` template),
so each finding can point at the manifest line it is about. A document that is not a Kubernetes
object becomes a LoadError naming file and line; the other documents are still loaded.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import yaml

from . import yamlsafe
from .errors import ManifestError

DEFAULT_MAX_BYTES = 512 * 2**20

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
    text: str = field(default="", repr=False)  # the document's YAML, to locate fields later
    text_line: int = 1  # line of the file where `text` starts
    lines: dict[str, int] | None = field(default=None, repr=False)  # path → line, on demand
    duplicates: list[tuple[str, int]] = field(default_factory=list)  # (key, line) repeated keys

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

    def line_of(self, path: str) -> int | None:
        """Line of a field in the source file, e.g. spec.template.spec.containers[1].image (or of
        the deepest part of the path that exists); None when the text is not at hand."""
        if not self.text:
            return None
        if self.lines is None:
            try:  # parsed once already, within bounds; JSON input may still not be YAML
                self.lines = _line_map(self.text)
            except (yaml.YAMLError, RecursionError):
                self.lines = {}
        while path not in self.lines and path:
            path = path[: max(path.rfind("."), path.rfind("["), 0)]
        return self.text_line + self.lines.get(path, self.source.line - self.text_line)

    @property
    def ref(self) -> str:
        """Kind/namespace/name, the way people name an object in a review."""
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace else \
            f"{self.kind}/{self.name}"


@dataclass(frozen=True, slots=True)
class Text:
    """Manifest text with the name to report it by, e.g. a chart's rendering."""

    name: str
    text: str


@dataclass(frozen=True, slots=True)
class LoadError:
    file: str
    line: int | None
    message: str
    column: int | None = None

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.line, self.column) if p is not None)
        return f"{where}: {self.message}"


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


def load(*sources: str | Path | Text | Iterable[str | Path | Text], namespace: str | None = None,
         stdin_text: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> Manifests:
    """Load manifests from paths (files, directories searched recursively for *.yaml, *.yml,
    *.json), `-` (standard input), Text, or literal YAML/JSON text (a string holding a newline).

    `namespace` is the release namespace (`helm -n`): objects without metadata.namespace are
    placed there. Left out, it is inferred when every explicit namespace agrees, as a chart that
    templates `{{ .Release.Namespace }}` into some objects shows it. Files are streamed one
    document at a time; an input larger than `max_bytes` is refused.
    """
    manifests = Manifests()
    for source in _flatten(sources):
        manifests.inputs.append(source.name if isinstance(source, Text) else "<text>"
                                if isinstance(source, str) and "\n" in source else str(source))
        for name, lines in _inputs(source, manifests.errors, stdin_text, max_bytes):
            try:
                _parse_lines(lines, name, manifests)
            except ManifestError as exc:  # raised while streaming: size bound, bad encoding
                manifests.errors.append(LoadError(name, exc.line, exc.message))
    manifests.namespace = namespace or _infer_namespace(manifests.resources)
    for resource in manifests.resources:
        resource.namespace = _namespace_of(resource, manifests.namespace)
    return manifests


def _flatten(sources: tuple) -> Iterator[str | Path | Text]:
    for source in sources:
        if isinstance(source, (str, Path, Text)):
            yield source
        else:
            yield from source


def _inputs(source: str | Path | Text, errors: list[LoadError], stdin_text: str | None,
            max_bytes: int) -> Iterator[tuple[str, Iterable[str]]]:
    """(name, lines) for each input; unreadable inputs become errors."""
    if isinstance(source, Text):
        yield source.name, io.StringIO(source.text)
        return
    if isinstance(source, str) and "\n" in source:
        yield "<text>", io.StringIO(source)
        return
    if str(source) == "-":
        if stdin_text is not None:
            yield "<stdin>", io.StringIO(stdin_text)
        else:
            stream = getattr(sys.stdin, "buffer", None)
            yield "<stdin>", _bounded(_decoded(stream, "<stdin>"), max_bytes, "<stdin>") \
                if stream is not None else _bounded(sys.stdin, max_bytes, "<stdin>")
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
            size = file.stat().st_size
            if size > max_bytes:
                raise ManifestError(f"{size:,} bytes is over the {max_bytes:,}-byte limit "
                                    "(--max-bytes)", str(file))
            stream = file.open("rb")
        except ManifestError as exc:
            errors.append(LoadError(str(file), None, exc.message))
            continue
        except OSError as exc:
            errors.append(LoadError(str(file), None, exc.strerror or str(exc)))
            continue
        with stream:
            yield str(file), _decoded(stream, str(file))


def _decoded(stream: BinaryIO, name: str) -> Iterator[str]:
    """Lines of UTF-8 text; binary and non-UTF-8 input is refused naming the line."""
    head = stream.peek(8192)[:8192] if hasattr(stream, "peek") else b""
    if b"\0" in head:
        raise ManifestError("binary file, not YAML or JSON", name)
    if head.startswith(b"\xef\xbb\xbf"):
        stream.read(3)
    for number, raw in enumerate(stream, 1):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ManifestError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x})", name,
                                number) from None


def _bounded(lines: Iterable[str], max_bytes: int, name: str) -> Iterator[str]:
    total = 0
    for line in lines:
        total += len(line)
        if total > max_bytes:
            raise ManifestError(f"input is over the {max_bytes:,}-byte limit (--max-bytes)", name)
        yield line


def split_documents(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """(line of the chunk's first character, chunk) for each `---`-separated document.

    A `---` at column 0 always starts a document (the YAML spec forbids it inside content),
    so splitting textually is exact and lets every document be parsed, and fail, on its own.
    """
    chunk: list[str] = []
    start = 1
    for number, line in enumerate(lines, 1):
        if line.startswith("---") and (len(line) == 3 or line[3] in " \t\r\n"):
            if chunk:
                yield start, "".join(chunk)
            chunk, start = ["   " + line[3:]], number  # keep columns: content may follow
        elif line.startswith("...") and not line[3:].strip():
            if chunk:
                yield start, "".join(chunk)
            chunk, start = [], number + 1
        else:
            chunk.append(line)
    if chunk:
        yield start, "".join(chunk)


def _parse_lines(lines: Iterable[str], name: str, manifests: Manifests) -> None:
    lines = iter(lines)
    first = next(lines, "")
    if name.endswith(".json") or first.lstrip()[:1] in ("{", "["):
        text = first + "".join(lines)  # JSON is one document: read it whole
        try:
            _add_object(json.loads(text), Source(name, 0, 1, None), manifests, text)
            return
        except (json.JSONDecodeError, RecursionError):
            lines = iter(text.splitlines(keepends=True))  # JSON-looking YAML: let YAML judge
    else:
        lines = itertools.chain((first,), lines)
    has_content = False
    for index, (line, chunk) in enumerate(split_documents(lines)):
        content = _CONTENT.search(chunk)
        if content is None:
            continue  # empty document: helm prints these for disabled templates
        has_content = True
        template = _SOURCE.search(chunk, 0, content.start())
        source = Source(name, index, line + chunk.count("\n", 0, content.start()),
                        template.group(1) if template else None)
        try:
            obj, duplicates = yamlsafe.parse(chunk)
        except yamlsafe.YAMLInputError as exc:
            at = line + exc.line if exc.line is not None else source.line
            manifests.errors.append(LoadError(
                name, at, f"invalid YAML: {exc.message}",
                exc.column + 1 if exc.column is not None else None))
            continue
        resource = _add_object(obj, source, manifests, chunk)
        if resource is not None:
            resource.text_line = line
            resource.duplicates = [(d.key, line + d.line) for d in duplicates]
    if not has_content:
        manifests.errors.append(
            LoadError(name, None, "no Kubernetes objects (empty or only comments)"))


def _add_object(obj: Any, source: Source, manifests: Manifests, text: str) -> Resource | None:
    if obj is None:
        return None
    if not isinstance(obj, dict):
        manifests.errors.append(LoadError(
            source.file, source.line,
            f"document is a {_yaml_type(obj)}, not a Kubernetes object"))
        return None
    kind = obj.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(obj.get("items"), list):
        for item in obj["items"]:  # kubectl get -o yaml: flatten, keep the List's location
            _add_object(item, source, manifests, "")
        return None
    missing = [key for key in ("apiVersion", "kind") if not isinstance(obj.get(key), str)
               or not obj.get(key)]
    meta = obj.get("metadata")
    named = isinstance(meta, dict) and (meta.get("name") or meta.get("generateName"))
    if not missing and not named:
        missing.append("metadata.name")
    if missing:
        manifests.errors.append(LoadError(
            source.file, source.line, f"not a Kubernetes object: no {' or '.join(missing)}"))
        return None
    resource = Resource(obj, source, text=text)
    manifests.resources.append(resource)
    return resource


def _line_map(text: str) -> dict[str, int]:
    """Every field path of a document → its 0-based line (a mapping value: its key's line).

    Built from the parser's event stream, which libyaml produces in C: a fraction of the cost of
    composing nodes, whose tags PyYAML resolves in Python."""
    lines: dict[str, int] = {}
    stack: list[list] = []  # per open collection: [path, is_mapping, awaiting_key, key, key_line]
    for event in yaml.parse(text, Loader=yamlsafe.Loader):
        if not isinstance(event, _NODE_EVENTS):
            if isinstance(event, _END_EVENTS):
                stack.pop()
            continue
        if not stack:
            path, line = "", event.start_mark.line
        elif stack[-1][1]:  # inside a mapping: a key, then its value
            top = stack[-1]
            if top[2]:
                top[2], top[3], top[4] = False, getattr(event, "value", None), \
                    event.start_mark.line
                if isinstance(event, _START_EVENTS):  # a complex key: track it, record nothing
                    stack.append(["\0", isinstance(event, yaml.MappingStartEvent), True, None, 0])
                continue
            top[2] = True
            path, line = (f"{top[0]}.{top[3]}" if top[0] else str(top[3])), top[4]
        else:
            top = stack[-1]
            path, line = f"{top[0]}[{top[3] or 0}]", event.start_mark.line
            top[3] = (top[3] or 0) + 1
        lines[path] = line
        if isinstance(event, _START_EVENTS):
            stack.append([path, isinstance(event, yaml.MappingStartEvent), True, None, 0])
    return lines


_START_EVENTS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_END_EVENTS = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_NODE_EVENTS = (*_START_EVENTS, yaml.ScalarEvent, yaml.AliasEvent)


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
