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
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's C parser when present

MAX_DEPTH = 256  # Kubernetes objects nest a few dozen levels at most
MAX_EXPANDED_NODES = 1_000_000  # nodes after expanding aliases
_DEEP_BLOCK = re.compile(r"^[ \t]{128}|(?:-[ \t]+){32}", re.M)  # deep indentation, "- - - …"


class YAMLInputError(Exception):
    """A document that cannot or must not be parsed; line and column are 0-based in the chunk."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


@dataclass(frozen=True, slots=True)
class DuplicateKey:
    key: str
    line: int  # 0-based in the chunk


class Loader(_Base):  # type: ignore[misc, valid-type]
    def __init__(self, stream: str):
        super().__init__(stream)
        self.duplicates: list[DuplicateKey] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        merged = any(key.tag == "tag:yaml.org,2002:merge" for key, _ in node.value)
        mapping = super().construct_mapping(node, deep=deep)
        if not merged and len(mapping) < len(node.value):  # merge keys override on purpose
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = key_node.value
                if key in seen:
                    self.duplicates.append(DuplicateKey(str(key), key_node.start_mark.line))
                seen.add(key)
        return mapping


def parse(chunk: str) -> tuple[Any, list[DuplicateKey]]:
    """The document's data and its duplicate keys; YAMLInputError when it is refused."""
    if chunk.count("[") + chunk.count("{") > MAX_DEPTH or _DEEP_BLOCK.search(chunk):
        _check_depth(chunk)
    loader = Loader(chunk)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, []
        if "*" in chunk:  # only documents that could hold an alias pay for the count
            _check_aliases(node)
        return loader.construct_document(node), loader.duplicates
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
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:  # iterative post-order walk: a node's size once its children are known
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
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
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
