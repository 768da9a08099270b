"""Parse one YAML document from an untrusted source, safely and within bounds.

PyYAML's safe loader never constructs Python objects from tags, but it has three gaps that a
hostile chart can reach, closed here at no cost for ordinary manifests:
  * deep nesting: libyaml's composer recurses in C and crashes the whole process on
    ~100,000 nested brackets, so depth is measured (from the event stream, which is iterative)
    before composing — only for documents that could be deep at all;
  * alias bombs ("billion laughs"): aliases share nodes, so the expanded size is computed over
    the node graph (memoised, linear in distinct nodes) and refused past a bound, as Kubernetes
    refuses excessive aliasing;
  * duplicate keys: silently "last wins" in PyYAML; recorded with their line, since Kubernetes'
    strict field validation rejects them.

Manifests are plain data (maps, lists, strings, numbers, booleans), so documents are built by a
direct walk of the composed nodes (Loader.construct_plain) and only what that walk does not
expect goes through PyYAML's general constructor, which made a load about twice as slow.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from toolman_kit.errors import ToolmanKitError

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's C parser when present

MAX_DEPTH = 256  # Kubernetes objects nest a few dozen levels at most
MAX_EXPANDED_NODES = 1_000_000  # nodes after expanding aliases
MERGE_TAG = "tag:yaml.org,2002:merge"
STR_TAG, MAP_TAG, SEQ_TAG = (f"tag:yaml.org,2002:{t}" for t in ("str", "map", "seq"))
# Scalars whose tag is remembered: the short ones that recur (keys, flags, ports, images); a
# long value (a certificate, a script in a ConfigMap) is rarely seen twice, and remembering it
# would keep it alive after the analysis that read it.
MAX_REMEMBERED = 128


class YAMLInputError(Exception):
    """A document that cannot or must not be parsed; line and column are 0-based in the chunk."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


@dataclass(frozen=True, slots=True)
class DuplicateKey:
    key: str
    line: int  # 0-based in the chunk


class CachedSafeLoader(_Base):  # type: ignore[misc, valid-type]
    """The safe loader, remembering the tag of each scalar (see _scalar_tag)."""

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode and len(value) <= MAX_REMEMBERED:
            return _scalar_tag(value, implicit)
        return super().resolve(kind, value, implicit)


class Loader(CachedSafeLoader):
    """The safe loader, noting duplicate keys and where every field is: `lines` maps the id of
    each constructed dict to {key: line} and of each list to [item line …], so a field's line
    costs nothing more to find than the parse that was done anyway."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.duplicates: list[DuplicateKey] = []
        self.lines: dict[int, dict[Any, int] | list[int]] = {}
        self.made: dict[int, Any] = {}  # id of a collection node → its object (construct_plain)

    def construct_yaml_map(self, node: yaml.MappingNode):
        data: dict = {}
        yield data
        data.update(self.construct_mapping(node))
        self.lines[id(data)] = {k.value: k.start_mark.line for k, _ in node.value}

    def construct_yaml_seq(self, node: yaml.SequenceNode):
        data: list = []
        yield data
        data.extend(self.construct_sequence(node))
        self.lines[id(data)] = [item.start_mark.line for item in node.value]

    def construct_plain(self, node: yaml.Node) -> Any:
        """The document as PyYAML's safe constructor builds it, for plain data only: maps with
        scalar keys and no merge (<<) or repeated key, lists, and the safe scalar types. The
        general constructor queues a generator per collection and dispatches every node through
        several calls; this is one call per node (a load of the 10,000-object corpus: 2.6–3.4 s
        against 4.2–7.1 s). Anything else raises _Unusual, and the document is built the
        general way instead, with the same result or error."""
        tag = node.tag
        if tag == STR_TAG:
            return node.value
        kind = node.__class__
        if kind is yaml.ScalarNode:
            make = _PLAIN_SCALARS.get(tag)
            if make is None:
                raise _Unusual
            return make(self, node)
        made = self.made.get(id(node))  # an alias: the same node, the same object
        if made is not None:
            return made
        if tag == MAP_TAG and kind is yaml.MappingNode:
            data: dict = {}
            lines: dict[Any, int] = {}
            self.made[id(node)], self.lines[id(data)] = data, lines
            for key_node, value_node in node.value:
                key_tag = key_node.tag
                if key_node.__class__ is not yaml.ScalarNode or key_tag == MERGE_TAG:
                    raise _Unusual
                raw = key_node.value
                key = raw if key_tag == STR_TAG else self.construct_plain(key_node)
                data[key] = self.construct_plain(value_node)
                lines[raw] = key_node.start_mark.line
            if len(data) < len(node.value):  # repeated keys: the general path records them
                raise _Unusual
            return data
        if tag == SEQ_TAG and kind is yaml.SequenceNode:
            items: list = []
            self.made[id(node)] = items
            self.lines[id(items)] = [item.start_mark.line for item in node.value]
            for item in node.value:
                items.append(self.construct_plain(item))
            return items
        raise _Unusual

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        """A date that does not exist (2023-02-30) stays a string, as Kubernetes' decoder
        reads it: PyYAML raised a ValueError out of the parse."""
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return node.value

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        own = list(node.value)  # a C-speed copy: merge keys (<<) are flattened in place
        mapping = super().construct_mapping(node, deep=deep)
        if len(mapping) < len(node.value):  # repeated keys, or merged keys overridden (fine)
            seen: set[Any] = set()
            for key_node, _ in own:
                if key_node.tag == MERGE_TAG:
                    continue
                if key_node.value in seen:
                    self.duplicates.append(DuplicateKey(str(key_node.value),
                                                        key_node.start_mark.line))
                seen.add(key_node.value)
        return mapping


class _Unusual(Exception):
    """A node that construct_plain leaves to the general constructor."""


@lru_cache(maxsize=2**16)
def _scalar_tag(value: str, implicit: tuple[bool, bool]) -> str:
    """PyYAML matches every plain scalar against the implicit types' regular expressions (bool,
    int, float, null, timestamp…) to find its tag; in manifests the same few thousand values
    (keys, "true", ports, image names) recur in every document, so each is matched once (the
    10,000-object corpus asks 609,000 times for 3,926 values: 0.78–0.83 s of CPU uncached,
    0.24–0.34 s cached). A pure function of its arguments: the safe loader has no path
    resolvers."""
    return _RESOLVER.resolve(yaml.ScalarNode, value, implicit)


_RESOLVER = yaml.resolver.Resolver()  # the safe loaders' resolver (CSafeLoader's included)
Loader.add_constructor("tag:yaml.org,2002:timestamp", Loader.construct_yaml_timestamp)
Loader.add_constructor("tag:yaml.org,2002:map", Loader.construct_yaml_map)
Loader.add_constructor("tag:yaml.org,2002:seq", Loader.construct_yaml_seq)

_PLAIN_SCALARS = {tag: Loader.yaml_constructors[tag] for tag in (
    "tag:yaml.org,2002:null", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float", "tag:yaml.org,2002:binary", "tag:yaml.org,2002:timestamp")}


@dataclass(frozen=True, slots=True)
class Parsed:
    data: Any
    duplicates: list[DuplicateKey]
    lines: dict[int, dict[Any, int] | list[int]]  # see Loader


def parse(chunk: str) -> Parsed:
    """The document's data, duplicate keys and field lines; YAMLInputError when refused."""
    if _could_be_deep(chunk):
        _check_depth(chunk)
    loader = Loader(chunk)
    try:
        node = loader.get_single_node()
        if node is None:
            return Parsed(None, [], {})
        if "*" in chunk:  # only documents that could hold an alias pay for the count
            _check_aliases(node)
        try:
            data = loader.construct_plain(node)
        except (_Unusual, RecursionError):  # RecursionError: the general path nests less
            loader.lines, loader.made = {}, {}
            data = loader.construct_document(node)
        return Parsed(data, loader.duplicates, loader.lines)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise YAMLInputError(problem, mark.line if mark else None,
                             mark.column if mark else None) from None
    except yaml.YAMLError as exc:
        raise YAMLInputError(str(exc).splitlines()[0]) from None
    except RecursionError:
        raise YAMLInputError(f"nesting deeper than {MAX_DEPTH} levels") from None
    finally:
        loader.dispose()



def parse_file(path: Path, what: str, error: type[ToolmanKitError]) -> Parsed:
    """A user's YAML file (the fleet file, the configuration file) parsed, or `error` in one line
    naming the file and, 1-based, the line: unreadable, invalid YAML, or a key given twice."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"cannot read the {what}: {getattr(exc, 'strerror', None) or exc}",
                    str(path)) from None
    try:
        parsed = parse(text)
    except YAMLInputError as exc:
        raise error(f"invalid YAML: {exc.message}", str(path),
                    None if exc.line is None else exc.line + 1) from None
    if parsed.duplicates:
        dup = parsed.duplicates[0]
        raise error(f"{dup.key}: key given twice", str(path), dup.line + 1)
    return parsed

def _could_be_deep(chunk: str) -> bool:
    """Cheap (C-speed) necessary conditions for nesting past MAX_DEPTH: enough brackets, dashes
    (compact "- - - …" sequences) or indentation to get there."""
    return (chunk.count("[") + chunk.count("{") > MAX_DEPTH or chunk.count("-") > MAX_DEPTH
            or " " * (MAX_DEPTH // 2) in chunk)


def _check_depth(chunk: str) -> None:
    depth = 0
    try:
        for event in yaml.parse(chunk, Loader=_Base):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    raise YAMLInputError(f"nesting deeper than {MAX_DEPTH} levels",
                                         mark.line, mark.column)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.MarkedYAMLError:
        return  # a syntax error: the real parse reports it with its position


def _check_aliases(root: yaml.Node) -> None:
    sizes: dict[int, int] = {}
    entered: set[int] = set()  # nodes whose children are being walked
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:  # iterative post-order walk: a node's size once its children are known
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if not children_done and id(node) in entered:  # met again below itself: a cycle
            raise YAMLInputError("recursive alias: a node contains itself (Kubernetes refuses "
                                 "it too)", node.start_mark.line, node.start_mark.column)
        if isinstance(node, yaml.ScalarNode):
            sizes[id(node)] = 1
            continue
        children = [n for pair in node.value for n in pair] if isinstance(
            node, yaml.MappingNode) else list(node.value)
        if children_done:
            total = 1 + sum(sizes.get(id(c), 0) for c in children)
            if total > MAX_EXPANDED_NODES:
                raise YAMLInputError(f"excessive aliasing: expands to more than "
                                     f"{MAX_EXPANDED_NODES:,} nodes", node.start_mark.line,
                                     node.start_mark.column)
            sizes[id(node)] = total
        else:
            entered.add(id(node))
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
