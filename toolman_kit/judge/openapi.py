"""What the API server rejects or drops: every object against the OpenAPI schema of its kind.

Built-in kinds are checked against the schemas of the target Kubernetes version that the
`kubernetes-validate` package ships (its data files only: importing it would import jsonschema),
custom resources against the CRDs in the same manifests or in the chart's `crds/`. The schemas
are compiled on first use into small nodes that a hand-written walk checks for what admission
checks first: types, required fields, enum values and fields the schema does not have (which the
API server prunes).
The walk reads each value once; a schema is compiled once per process, per version and kind.
"""

from __future__ import annotations

import importlib.util
import json
import re
from datetime import date, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

import yaml

from toolman_kit.judge.apis import kube_version
from toolman_kit.read.index import Index
from toolman_kit.read.manifests import Resource
from toolman_kit.read.model import as_dict, as_list

SOURCE = "kubernetes-validate"  # the PyPI package whose schemas are used
_DEFS = "#/$defs/"
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")  # a.b[0].c, as findings' paths name fields
_SCHEMA_DIR = re.compile(r"v(\d+)\.(\d+)\.0-local-strict")
# JSON types of the values a YAML parse makes (timestamps are strings once sent as JSON)
_TYPE = {str: "string", bool: "boolean", int: "integer", float: "number", dict: "object",
         list: "array", type(None): "null", date: "string", datetime: "string",
         bytes: "string"}
_NAMES = {"string": "a string", "boolean": "a boolean", "integer": "an integer",
          "number": "a number", "object": "a mapping", "array": "a list", "null": "null"}
# Fields the API server sets itself or ignores on create: never judged (status is reset).
_TOP_IGNORED = frozenset({"apiVersion", "kind", "status"})


class Node:
    """One schema, compiled: the JSON types it accepts (None: any), its properties, what other
    keys may hold (`extra`: a schema for map values; `open`: anything, kept), its items, its
    required properties and its enum. (A plain class: a dataclass costs start-up time.)"""

    __slots__ = ("types", "props", "extra", "open", "items", "required", "enum", "title",
                 "pytypes", "strings")

    def __init__(self, types: frozenset[str] | None = None, props: dict[str, Node] | None = None,
                 extra: Node | None = None, open: bool = True, items: Node | None = None,
                 required: tuple[str, ...] = (), enum: frozenset[str] | None = None,
                 title: str = ""):
        self.types, self.props, self.extra, self.open = types, props or {}, extra, open
        self.items, self.required, self.enum = items, required, enum
        self.title = title  # the definition's short name (Container), for messages
        self.pytypes: frozenset[type] | None = None  # `types` as Python types of parsed YAML
        self.strings = False  # a map of strings (labels, data): judged in one pass when it is
        self.seal()

    def seal(self) -> None:
        """Derive the fast-path fields from the others (after they change)."""
        self.pytypes = None if self.types is None else frozenset(
            t for t, name in _TYPE.items() if name in self.types)
        extra = self.extra
        self.strings = (not self.props and extra is not None and extra.types == {"string"}
                        and extra.enum is None)


ANY = Node()


class Problems:
    """What one object's walk found: (path, message) pairs."""

    __slots__ = ("invalid", "unknown")

    def __init__(self) -> None:
        self.invalid: list[tuple[str, str]] = []
        self.unknown: list[tuple[str, str]] = []


def _path(trail: list[str | int]) -> str:
    out = ""
    for step in trail:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else step)
    return out


def _types(schema: dict[str, Any]) -> frozenset[str] | None:
    declared = schema.get("type")
    names: set[str] = set()
    if declared:
        names.update([declared] if isinstance(declared, str) else declared)
    for alternative in schema.get("oneOf") or schema.get("anyOf") or ():  # int-or-string
        if isinstance(alternative, dict) and "type" in alternative and len(alternative) == 1:
            names.update(_types(alternative) or ())
    if schema.get("x-kubernetes-int-or-string"):
        names.update(("integer", "string"))
    if not names:
        return None
    if "number" in names:
        names.add("integer")
    names.discard("null")  # null is judged by `required`: an optional field may be null
    return frozenset(names)


class _Compiler:
    """Schemas → Nodes; definitions ($ref) compiled once each, so recursive ones terminate."""

    def __init__(self, defs: dict[str, Any], enums: dict[str, dict[str, list[str]]]):
        self.defs, self.enums = defs, enums
        self.done: dict[str, Node] = {}

    def ref(self, name: str) -> Node:
        node = self.done.get(name)
        if node is None:
            node = self.done[name] = Node(title=name.rpartition(".")[2])
            self.fill(node, self.defs.get(name, {}), self.enums.get(name.removeprefix(
                "io.k8s.api."), {}))
        return node

    def compile(self, schema: Any) -> Node:
        if not isinstance(schema, dict):
            return ANY
        ref = schema.get("$ref")
        if isinstance(ref, str) and _DEFS in ref:
            return self.ref(ref.partition(_DEFS)[2])
        node = Node()
        self.fill(node, schema, {})
        return node

    def fill(self, node: Node, schema: dict[str, Any], enums: dict[str, list[str]]) -> None:
        node.types = _types(schema)
        props = schema.get("properties")
        if isinstance(props, dict):
            for name, sub in props.items():
                child = self.compile(sub)
                if name in enums:
                    child = _with_enum(child, enums[name])
                node.props[name] = child
        extra = schema.get("additionalProperties")
        node.extra = self.compile(extra) if isinstance(extra, dict) else None
        preserve = schema.get("x-kubernetes-preserve-unknown-fields") is True
        node.open = preserve or extra is True or (
            extra is None and not props and not self.closes_empty(schema))
        if schema.get("x-kubernetes-embedded-resource"):
            for name in ("apiVersion", "kind", "metadata"):
                node.props.setdefault(name, ANY)
        if "items" in schema:
            node.items = self.compile(schema["items"])
        node.required = tuple(r for r in schema.get("required") or () if isinstance(r, str))
        if isinstance(schema.get("enum"), list) and node.types == frozenset({"string"}):
            node.enum = frozenset(str(v) for v in schema["enum"]) | {""}
        node.seal()

    def closes_empty(self, schema: dict[str, Any]) -> bool:
        """Whether an object schema without properties keeps no field: built-in schemas say
        so with `additionalProperties: false`; a CRD's structural schema prunes every field
        it does not name unless it preserves unknown fields."""
        return False


class _CRDCompiler(_Compiler):
    def closes_empty(self, schema: dict[str, Any]) -> bool:
        return schema.get("type") == "object"


def _with_enum(node: Node, values: list[str]) -> Node:
    allowed = frozenset(values) | {""}
    if node.items is not None:
        return Node(node.types, node.props, node.extra, node.open,
                    _with_enum(node.items, values), node.required, node.enum, node.title)
    return Node(node.types, node.props, node.extra, node.open, node.items, node.required,
                allowed, node.title)


# ---------------------------------------------------------------------------------------------
# The built-in schemas, per Kubernetes version

@cache
def _schema_root() -> Path | None:
    """kubernetes-validate's schema folder, found without importing the package (its
    __init__ imports jsonschema)."""
    spec = importlib.util.find_spec("kubernetes_validate")
    for location in (spec.submodule_search_locations or ()) if spec else ():
        root = Path(location) / "kubernetes-json-schema"
        if root.is_dir():
            return root
    return None


@cache
def shipped_versions() -> tuple[tuple[int, int], ...]:
    """The Kubernetes minors whose schemas are installed, oldest first."""
    root = _schema_root()
    found = (_SCHEMA_DIR.fullmatch(p.name) for p in root.iterdir()) if root else ()
    return tuple(sorted((int(m[1]), int(m[2])) for m in found if m))


@cache
def schema_version(target: str) -> str | None:
    """The schemas used for `target`: its own, else the nearest shipped ("1.36"); None when
    kubernetes-validate is not installed."""
    versions = shipped_versions()
    if not versions:
        return None
    wanted = kube_version(target)
    older = [v for v in versions if v <= wanted]
    major, minor = older[-1] if older else versions[0]
    return f"{major}.{minor}"


@cache
def _enums() -> dict[str, dict[str, list[str]]]:
    return yaml.safe_load(resources.files(__package__).joinpath("enums.yaml").read_text())


class _Builtin:
    """One version's definitions: (apiVersion, kind) → its definition, compiled on demand."""

    def __init__(self, version: str):
        path = _schema_root() / f"v{version}.0-local-strict" / "_definitions.json"  # type: ignore[operator]
        defs = json.loads(path.read_text(encoding="utf-8"))["$defs"]
        self.compiler = _Compiler(defs, _enums())
        self.kinds: dict[tuple[str, str], str] = {}
        for name, schema in defs.items():
            for gvk in schema.get("x-kubernetes-group-version-kind") or ():
                group, version_, kind = gvk.get("group"), gvk.get("version"), gvk.get("kind")
                api_version = f"{group}/{version_}" if group else version_
                self.kinds.setdefault((api_version, kind), name)

    def node(self, api_version: str, kind: str) -> Node | None:
        name = self.kinds.get((api_version, kind))
        return self.compiler.ref(name) if name else None


@cache
def _builtin(version: str) -> _Builtin:
    return _Builtin(version)


def builtin_node(target: str, api_version: str, kind: str) -> Node | None:
    """The compiled schema of a built-in kind at Kubernetes `target`, or None (not served
    there, not a built-in kind, or no schemas installed)."""
    version = schema_version(target)
    return _builtin(version).node(api_version, kind) if version else None


# ---------------------------------------------------------------------------------------------
# Custom resources: the CRDs in the manifests

def crd_nodes(resources_: list[Resource]) -> dict[tuple[str, str], Node]:
    """(apiVersion, kind) → the compiled schema of every served version of every
    apiextensions.k8s.io/v1 CustomResourceDefinition among `resources_`."""
    nodes = {}
    for crd in resources_:
        if crd.kind != "CustomResourceDefinition" or not crd.api_version.startswith(
                "apiextensions.k8s.io/"):
            continue
        spec = crd.spec
        group, kind = spec.get("group"), as_dict(spec.get("names")).get("kind")
        if not isinstance(group, str) or not isinstance(kind, str):
            continue
        for version in as_list(spec.get("versions")):
            version = as_dict(version)
            schema = as_dict(as_dict(version.get("schema")).get("openAPIV3Schema"))
            if schema and isinstance(version.get("name"), str):
                node = _CRDCompiler({}, {}).compile(schema)
                for name in ("apiVersion", "kind", "metadata"):
                    node.props.setdefault(name, ANY)  # always kept; metadata is ObjectMeta
                node.seal()
                nodes[(f"{group}/{version['name']}", kind)] = node
    return nodes


# ---------------------------------------------------------------------------------------------
# The walk

def _suggest(key: str, known: dict[str, Node]) -> str:
    """The property a misspelt key most likely meant: a case-insensitive match first."""
    lowered = {name.lower(): name for name in known}
    if key.lower() in lowered:
        return lowered[key.lower()]
    import difflib

    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.75)
    return close[0] if close else ""


def _fits(value: Any, node: Node, trail: list[str | int], step: str | int,
          out: Problems) -> bool:
    """Whether a value has one of the node's types (an integral float passes for an integer);
    if not, the problem is recorded at trail + step."""
    types = node.types
    kind = _TYPE.get(type(value))
    if types is None or kind in types or (kind == "number" and "integer" in types
                                          and value.is_integer()):
        return True
    want = " or ".join(sorted(_NAMES[t] for t in types))
    _report(out.invalid, trail, step, f"must be {want}, not {_shown(value)}")
    return False


def _report(found: list[tuple[str, str]], trail: list[str | int], step: str | int,
            message: str) -> None:
    trail.append(step)
    found.append((_path(trail), message))
    trail.pop()


# The walk is the one part of validation that grows with the manifests (≈ 40 values per object):
# fields and items are judged alike (_value), only mappings and lists recurse, and a map of
# strings (labels, annotations, data) is one pass over its values.
def _object(value: dict[Any, Any], node: Node, trail: list[str | int], out: Problems) -> None:
    if node.strings:
        for sub in value.values():
            if type(sub) is not str:
                break
        else:
            return
    props, extra, required = node.props, node.extra, node.required
    for key, sub in value.items():
        child = props.get(key)
        if child is None:
            if extra is not None:
                child = extra
            elif not node.open:
                _unknown(str(key), node, trail, out)
                continue
            else:
                continue
        if sub is None:
            if key in required:
                _report(out.invalid, trail, key, "is required, and null here")
            continue
        if child is not ANY:
            _value(sub, child, trail, key, out)
    if required:
        for key in required:
            if key not in value:
                _report(out.invalid, trail, key, "is required")


def _array(value: list[Any], items: Node, trail: list[str | int], out: Problems) -> None:
    for i, item in enumerate(value):
        if item is None:
            _report(out.invalid, trail, i, "must not be null")
        else:
            _value(item, items, trail, i, out)


def _value(value: Any, node: Node, trail: list[str | int], step: str | int,
           out: Problems) -> None:
    """A value that is not null, at trail + step, against its node: its type, then its
    fields, its items or its enum."""
    t = type(value)
    if node.pytypes is not None and t not in node.pytypes \
            and not _fits(value, node, trail, step, out):
        return
    if t is dict:
        trail.append(step)
        _object(value, node, trail, out)
        trail.pop()
    elif t is list:
        if node.items is not None and node.items is not ANY:
            trail.append(step)
            _array(value, node.items, trail, out)
            trail.pop()
    elif node.enum is not None and str(value) not in node.enum:
        _report(out.invalid, trail, step, _not_one_of(node, value))


def _not_one_of(node: Node, value: Any) -> str:
    return f"must be one of {', '.join(sorted((node.enum or set()) - {''}))}, not {_shown(value)}"


def _unknown(key: str, node: Node, trail: list[str | int], out: Problems) -> None:
    trail.append(key)
    path = _path(trail)
    trail.pop()
    meant = _suggest(key, node.props)
    where = f"a field of {node.title}" if node.title else "a field here"
    out.unknown.append((path, f"`{path}` is dropped by the API server: did you mean `{meant}`?"
                        if meant else f"`{path}` is not {where}: the API server drops it"))


def _shown(value: Any) -> str:
    text = _NAMES[_TYPE[type(value)]] if isinstance(value, dict | list) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def validate(obj: dict[str, Any], node: Node) -> Problems:
    """Everything `obj` breaks in `node`'s schema; its status, apiVersion and kind aside."""
    out = Problems()
    trail: list[str | int] = []
    _object({k: v for k, v in obj.items() if k not in _TOP_IGNORED}, node, trail, out)
    return out


class Validator:
    """One run's schemas: the target version's, and those of the CRDs in its manifests and its
    chart's crds/ (a rendered CRD wins: it is the one the objects are analyzed with). The two
    validity checks ask about the same object in turn, so the last walk is kept."""

    def __init__(self, index: Index, target: str):
        self.target = target
        self.crds = crd_nodes([*index.manifests.crds, *index.manifests.resources])
        self._last: tuple[Resource | None, Problems | None] = (None, None)

    def node(self, resource: Resource) -> Node | None:
        key = (resource.api_version, resource.kind)
        return self.crds.get(key) or builtin_node(self.target, *key)

    def problems(self, resource: Resource) -> Problems | None:
        """What the object's schema rejects or drops; None when there is no schema for it."""
        last, found = self._last
        if last is resource:
            return found
        node = self.node(resource)
        found = validate(resource.obj, node) if node is not None else None
        if found is not None and found.unknown and node is not self.crds.get(
                (resource.api_version, resource.kind)):
            found.unknown = [(path, self._later(resource, path, message))
                             for path, message in found.unknown]
        self._last = (resource, found)
        return found

    def _later(self, resource: Resource, path: str, message: str) -> str:
        """The message, saying so when a later Kubernetes has the field: the chart may be
        right, and --kube-version older than the cluster it is meant for."""
        target = kube_version(self.target)
        for major, minor in shipped_versions():
            if (major, minor) > target and _has(
                    builtin_node(f"{major}.{minor}", resource.api_version, resource.kind), path):
                return (f"`{path}` is not in the schema of Kubernetes {self.target}, only from "
                        f"{major}.{minor}: the API server of {self.target} drops it "
                        f"(--kube-version sets the target)")
        return message


def _has(node: Node | None, path: str) -> bool:
    """Whether the schema has a field at `path` (a.b[0].c)."""
    for key, index in _STEP.findall(path):
        if node is None:
            return False
        node = node.items if index else (node.props.get(key) or node.extra)
    return node is not None


_VALIDATORS: WeakKeyDictionary[Index, dict[str, Validator]] = WeakKeyDictionary()


def validator(index: Index, target: str) -> Validator:
    """The Validator of a run (an Index) for Kubernetes `target`, made once."""
    per_index = _VALIDATORS.setdefault(index, {})
    if target not in per_index:
        per_index[target] = Validator(index, target)
    return per_index[target]
