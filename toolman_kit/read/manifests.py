"""load: rendered manifests (files, directories, stdin, text) → Manifests.

Every resource remembers where it came from (file, document index, line, `# Source:` template),
so each finding can point at the manifest line it is about. A document that is not a Kubernetes
object becomes a LoadError naming file and line; the other documents are still loaded. An object
defined twice (same API group, kind, namespace and name) is kept once, with a warning.
"""

from __future__ import annotations

import codecs
import gc
import itertools
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from toolman_kit.errors import ManifestError
from toolman_kit.read import yamlsafe

DEFAULT_MAX_BYTES = 512 * 2**20
BLOCK_BYTES = 2**20  # files are read, decoded and split this much at a time

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
_MARKER = re.compile(r"^(?:---(?=[ \t\r\n])|(\.\.\.)[ \t\r]*\n)", re.M)
_LAST_MARKER = re.compile(r"(?:^|\n)---[ \t\r]*\Z")
_PATH_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_CONTENT = re.compile(r"^(?![ \t]*(?:#|\r?$))", re.M)  # first line that is not blank or comment


@dataclass(frozen=True, slots=True)
class Source:
    file: str
    document: int  # 0-based index of the document in its file
    line: int | None  # 1-based line of the document's first content line (None: not from text)
    template: str | None  # the `# Source:` path helm template printed, if any


@dataclass(slots=True, eq=False)  # identity: the index keys on objects
class Resource:
    obj: dict[str, Any]
    source: Source
    namespace: str = ""  # effective namespace: the release namespace when the object has none
    text_line: int = 1  # line of the file where its document starts
    lines: dict[int, Any] = field(default_factory=dict, repr=False)  # see yamlsafe.Loader
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
        """Line of a field in the source file, e.g. spec.template.spec.containers[1].image, or
        of the deepest part of the path that exists; None when it cannot be known."""
        if not self.lines:
            return None
        node: Any = self.obj
        line = self.source.line - self.text_line  # ids below: the objects the parse made
        for key, index in _PATH_STEP.findall(path):
            where = self.lines.get(id(node))
            step: Any = int(index) if index else key
            try:
                line, node = where[step], node[step]  # type: ignore[index]
            except (KeyError, IndexError, TypeError):
                break
        return self.text_line + line

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
    """The Kubernetes objects of some inputs, in input order, with where each came from.

    Attributes:
        resources: the objects (`Resource`: the parsed dict, its `Source`, its namespace).
        errors: what could not be read, one `LoadError` (file, line, message) per problem.
        warnings: what was read but is suspect, e.g. an object defined twice.
        inputs: the inputs as given (paths, `<text>`, `helm template …`).
        namespace: the release namespace objects without one were placed in.
        crds: CustomResourceDefinitions the cluster will have besides the objects (a chart's
            `crds/`, which Helm installs before the templates and never upgrades): the schemas
            of custom resources, not objects analyzed.

    Example:
        >>> m = tk.load("examples/toolman/rendered/production.yaml")
        >>> len(m), m.namespace, sorted(m.of_kind("Deployment")[0].labels)[:1]
        (9, '(release)', ['app.kubernetes.io/instance'])
    """

    resources: list[Resource] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    namespace: str = RELEASE_NAMESPACE
    warnings: list[LoadError] = field(default_factory=list)
    crds: list[Resource] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.resources)

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.resources)

    def of_kind(self, *kinds: str) -> list[Resource]:
        """The objects of these kinds, in input order."""
        return [r for r in self.resources if r.kind in kinds]


def _str_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


Input = str | Path | Text | Mapping[str, Any]


def load(*sources: Input | Iterable[Input], namespace: str | None = None,
         stdin_text: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> Manifests:
    """Load manifests from paths (files, directories searched recursively for *.yaml, *.yml,
    *.json), `-` (standard input), Text, literal YAML/JSON text (a string holding a newline), or
    objects already parsed (dicts, e.g. from the kubernetes client).

    `namespace` is the release namespace (`helm -n`): objects without metadata.namespace are
    placed there. Left out, it is inferred when every explicit namespace agrees, as a chart that
    templates `{{ .Release.Namespace }}` into some objects shows it. Files are streamed one
    document at a time; an input larger than `max_bytes` is refused.
    """
    manifests = Manifests()
    with gc_paused():
        _load_into(manifests, sources, stdin_text, max_bytes)
    return dedupe(place(manifests, namespace or _infer_namespace(manifests.resources)))


def merge(*parts: Manifests) -> Manifests:
    """Several Manifests as one (e.g. files and a chart's rendering), objects defined twice
    kept once; the release namespace is the first part's."""
    merged = Manifests(namespace=parts[0].namespace if parts else RELEASE_NAMESPACE)
    for part in parts:
        merged.resources += part.resources
        merged.errors += part.errors
        merged.warnings += part.warnings
        merged.inputs += part.inputs
        merged.crds += part.crds
    return dedupe(merged)


def dedupe(manifests: Manifests) -> Manifests:
    """Keep the first of objects with the same API group, kind, namespace and name (Kubernetes
    would keep the last applied, but both copies are the same object): one warning each."""
    first: dict[tuple[str, str, str, str], Resource] = {}
    kept, copies = [], {}
    for r in manifests.resources:
        if not r.metadata.get("name"):  # generateName: every copy is a new object
            kept.append(r)
            continue
        key = (r.api_version.rpartition("/")[0], r.kind, r.namespace, r.name)
        if key not in first:
            first[key] = r
            kept.append(r)
        else:
            copies.setdefault(key, []).append(r)
    for key, again in copies.items():
        original, at = first[key].source, again[0].source
        times = "once more" if len(again) == 1 else f"{len(again)} more times"
        manifests.warnings.append(LoadError(
            at.file, at.line, f"{first[key].ref} is defined {times} (first at "
            f"{_where(original)}): analyzed once"))
    if copies:
        manifests.resources = kept
    return manifests


def _where(source: Source) -> str:
    return f"{source.file}:{source.line}" if source.line else source.file


def place(manifests: Manifests, namespace: str) -> Manifests:
    """Put the objects that name no namespace into `namespace`, the release namespace (e.g. to
    compare two renderings of one release in the same namespace)."""
    manifests.namespace = namespace
    for resource in manifests.resources:
        resource.namespace = _namespace_of(resource, namespace)
    return manifests


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building large acyclic object graphs: parsing
    creates millions of objects, and each collection would re-scan all of them for cycles that
    are not there (a quarter of the parse time). On exit the new objects join the oldest
    generation (freeze + unfreeze moves them without a scan), so resuming does not scan them all
    at once either; they stay collectable like any long-lived object."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def _load_into(manifests: Manifests, sources: tuple, stdin_text: str | None,
               max_bytes: int) -> None:
    objects = 0
    for source in _flatten(sources):
        if isinstance(source, Mapping):  # parsed already: no file, no line
            if not objects:
                manifests.inputs.append("<objects>")
            _add_object(dict(source), Source("<objects>", objects, None, None), manifests)
            objects += 1
            continue
        manifests.inputs.append(source.name if isinstance(source, Text) else "<text>"
                                if isinstance(source, str) and "\n" in source else str(source))
        for name, lines in _inputs(source, manifests.errors, stdin_text, max_bytes):
            try:
                _parse_lines(lines, name, manifests)
            except ManifestError as exc:  # raised while streaming: size bound, bad encoding
                manifests.errors.append(LoadError(name, exc.line, exc.message))


def _flatten(sources: Iterable) -> Iterator[Input]:
    for source in sources:
        if isinstance(source, (str, Path, Text, Mapping)):
            yield source
        else:
            yield from _flatten(source)


def _inputs(source: str | Path | Text, errors: list[LoadError], stdin_text: str | None,
            max_bytes: int) -> Iterator[tuple[str, Iterable[str]]]:
    """(name, lines) for each input; unreadable inputs become errors."""
    if isinstance(source, Text):
        yield source.name, (source.text,)
        return
    if isinstance(source, str) and "\n" in source:
        yield "<text>", (source,)
        return
    if str(source) == "-":
        if stdin_text is not None:
            yield "<stdin>", (stdin_text,)
        else:
            stream = getattr(sys.stdin, "buffer", None)
            yield "<stdin>", _bounded(_decoded(stream, "<stdin>"), max_bytes, "<stdin>") \
                if stream is not None else _bounded(iter(sys.stdin.read, ""), max_bytes, "<stdin>")
        return
    path = Path(source)
    if path.is_dir():
        charts = sorted(p.parent for p in path.rglob("Chart.yaml"))
        for chart in charts:  # templates are not manifests until rendered
            errors.append(LoadError(str(chart), None, "this is a Helm chart: use --chart "
                                    "(tk.render in Python) to render it first"))
        files = sorted(p for p in path.rglob("*") if p.suffix in MANIFEST_SUFFIXES and p.is_file()
                       and not any(p.is_relative_to(chart) for chart in charts))
        if not files and not charts:
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
    """Blocks of UTF-8 text; binary and non-UTF-8 input is refused naming the line."""
    head = stream.peek(8192)[:8192] if hasattr(stream, "peek") else b""
    if b"\0" in head:
        raise ManifestError("binary file, not YAML or JSON", name)
    if head.startswith(b"\xef\xbb\xbf"):
        stream.read(3)
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 0
    while True:
        block = stream.read(BLOCK_BYTES)
        try:
            text = decoder.decode(block, final=not block)
        except UnicodeDecodeError as exc:
            line = lines + exc.object[: exc.start].count(b"\n") + 1
            raise ManifestError(f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x})", name,
                                line) from None
        if not block:
            return
        lines += text.count("\n")
        yield text


def _bounded(blocks: Iterable[str], max_bytes: int, name: str) -> Iterator[str]:
    total = 0
    for block in blocks:
        total += len(block)
        if total > max_bytes:
            raise ManifestError(f"input is over the {max_bytes:,}-byte limit (--max-bytes)", name)
        yield block


def split_documents(blocks: Iterable[str]) -> Iterator[tuple[int, str]]:
    """(line of the chunk's first character, chunk) for each `---`-separated document.

    A `---` at column 0 always starts a document and a `...` line ends one (the YAML spec
    forbids both inside content), so splitting textually is exact and lets every document be
    parsed, and fail, on its own. Text comes in blocks; only the pending document is kept.
    """
    pending, line = "", 1  # the text not yet yielded, and the line it starts on
    for block in blocks:
        scan_from = max(len(pending) - 4, 0)  # a marker may straddle two blocks
        pending += block
        start = 0
        for marker in _MARKER.finditer(pending, scan_from):
            if marker.start() > start:
                yield line, _unmark(pending[start:marker.start()])
                line += pending.count("\n", start, marker.start())
                start = marker.start()
            if marker[1]:  # "...": the document ends; the next starts on the following line
                line += pending.count("\n", start, marker.end())
                start = marker.end()
        pending = pending[start:]
    if pending:  # a last line `---` without a newline starts no document: drop it
        yield line, _unmark(_LAST_MARKER.sub("", pending))


def _unmark(chunk: str) -> str:
    return "   " + chunk[3:] if chunk.startswith("---") else chunk  # keep columns


def _parse_lines(lines: Iterable[str], name: str, manifests: Manifests) -> None:
    lines = iter(lines)
    first = next(lines, "")
    if name.endswith(".json") or first.lstrip()[:1] in ("{", "["):
        text = first + "".join(lines)  # JSON is one document: read it whole
        try:
            _add_object(json.loads(text), Source(name, 0, 1, None), manifests)
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
            parsed = yamlsafe.parse(chunk)
        except yamlsafe.YAMLInputError as exc:
            at = line + exc.line if exc.line is not None else source.line
            manifests.errors.append(LoadError(
                name, at, f"invalid YAML: {exc.message}",
                exc.column + 1 if exc.column is not None else None))
            continue
        _add_object(parsed.data, source, manifests, parsed, line)
    if not has_content:
        manifests.errors.append(
            LoadError(name, None, "no Kubernetes objects (empty or only comments)"))


def _add_object(obj: Any, source: Source, manifests: Manifests,
                parsed: yamlsafe.Parsed | None = None, text_line: int = 1,
                lines: tuple[int, float] = (0, float("inf"))) -> None:
    """Add one object, or each item of a List (`kubectl get -o yaml`) at its own line; `lines`:
    the object's range of lines in the parsed document (its duplicate keys are those in it)."""
    if obj is None:
        return
    if not isinstance(obj, dict):
        manifests.errors.append(LoadError(
            source.file, source.line,
            f"document is a {_yaml_type(obj)}, not a Kubernetes object"))
        return
    kind = obj.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(obj.get("items"), list):
        starts = parsed.lines.get(id(obj["items"])) if parsed else None
        for i, item in enumerate(obj["items"]):
            if not isinstance(starts, list):  # parsed from JSON, or given as objects
                _add_object(item, source, manifests)
                continue
            span = (starts[i], starts[i + 1] if i + 1 < len(starts) else float("inf"))
            at = Source(source.file, source.document, text_line + starts[i], source.template)
            _add_object(item, at, manifests, parsed, text_line, span)
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
        return None
    resource = Resource(obj, source)
    if parsed is not None:
        resource.text_line, resource.lines = text_line, parsed.lines
        resource.duplicates = [(d.key, text_line + d.line) for d in parsed.duplicates
                               if lines[0] <= d.line < lines[1]]
    manifests.resources.append(resource)


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
