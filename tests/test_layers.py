"""The layers are true: each module imports only its own layer and the ones before it.

Every module under toolman_kit/ is parsed (not imported), and every import in it counts: at module
level and inside functions. Imports under `if TYPE_CHECKING:` are for the type checker only and do
not count. The deliberate exceptions are listed once, in EXCEPTIONS, each with its reason.
"""

import ast
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "toolman_kit"

# In the order of the flow of data; a name is a module or a package and everything below it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "atomic", "progress", "text", "exits", "__version__"),  # base
    ("read", "config"),  # config: the configuration file, read and validated
    ("judge",),
    ("chart",),  # rendering only
    ("analysis", "comparison"),  # the public API: computed once
    ("values",),  # what each value does (uses the analysis)
    ("present",),  # facts → pages and files
    ("fleet",),
    ("commands",),
)
TOP = ("__init__", "__main__")  # the package's face and `python -m`: they may import anything

# (importing module, imported module, why it may go up a layer)
EXCEPTIONS: tuple[tuple[str, str, str], ...] = (
    ("toolman_kit.analysis", "toolman_kit.present.html",
     "Analysis._repr_html_: the notebook display hook, imported when a notebook shows one"),
    ("toolman_kit.values.suggest", "toolman_kit.present.suggestion_doc",
     "Suggestion.text: the values file as written, imported when it is asked for"),
    ("toolman_kit.values.sets", "toolman_kit.present.comparison_doc",
     "ValuesComparison.document(): the comparison.json of the public API, imported when asked"),
)


class Import(NamedTuple):
    importer: str
    line: int
    imported: str


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module a `from … import` reads from (relative imports made absolute)."""
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    base = base[:len(base) - node.level + is_package]
    return ".".join([*base, *([node.module] if node.module else [])])


def _is_module(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"
            or isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _walk(nodes: list[ast.stmt] | list[ast.AST]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth, except under `if TYPE_CHECKING:`."""
    for node in nodes:
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from _walk(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _walk(list(ast.iter_child_nodes(node)))


def imports(importer: str, source: str, is_package: bool = False) -> Iterator[Import]:
    """The package's own modules that a module's source imports, each as the module it names:
    `from pkg import name` names pkg.name where that is a module, and `from toolman_kit import
    __version__` names the base (toolman_kit.__version__), not the package's face."""
    for node in _walk(ast.parse(source).body):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            module = resolve(importer, is_package, node)
            names = [f"{module}.{alias.name}" if _is_module(f"{module}.{alias.name}")
                     or (module, alias.name) == ("toolman_kit", "__version__") else module
                     for alias in node.names]
        for name in names:
            if name == "toolman_kit" or name.startswith("toolman_kit."):
                yield Import(importer, node.lineno, name)


def imports_of(path: Path) -> Iterator[Import]:
    return imports(module_name(path), path.read_text(), path.name == "__init__.py")


def layer(module: str) -> int:
    """The layer's index; the top (the package itself, __main__) is above every layer."""
    parts = module.split(".")[1:]
    if not parts or parts[0] in TOP:
        return len(LAYERS)
    for index, names in enumerate(LAYERS):
        if parts[0] in names:
            return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS in tests/test_layers.py")


@functools.cache
def upward() -> tuple[Import, ...]:
    """Every import of the package that goes up a layer, exceptions included."""
    found = (i for path in sorted(PACKAGE.rglob("*.py")) for i in imports_of(path))
    return tuple(i for i in found if layer(i.imported) > layer(i.importer))


def test_every_module_is_in_a_layer() -> None:
    for path in PACKAGE.rglob("*.py"):
        layer(module_name(path))


def test_no_import_goes_up_a_layer() -> None:
    allowed = {(importer, imported) for importer, imported, _ in EXCEPTIONS}
    wrong = [f"{i.importer} (line {i.line}) imports {i.imported}" for i in upward()
             if (i.importer, i.imported) not in allowed]
    assert not wrong, ("imports that go up a layer (move the code, or declare a deliberate "
                       "exception in EXCEPTIONS with its reason):\n  " + "\n  ".join(wrong))


def test_every_exception_is_still_needed() -> None:
    used = {(i.importer, i.imported) for i in upward()}
    stale = [f"{importer} → {imported}" for importer, imported, _ in EXCEPTIONS
             if (importer, imported) not in used]
    assert not stale, "EXCEPTIONS that no import needs any more: " + ", ".join(stale)


@pytest.mark.parametrize("source, expected", [
    ("from toolman_kit import __version__", "toolman_kit.__version__"),
    ("from toolman_kit import analysis", "toolman_kit.analysis"),
    ("from toolman_kit import Analysis", "toolman_kit"),
    ("import toolman_kit.present.html", "toolman_kit.present.html"),
    ("from ..present import html", "toolman_kit.present.html"),
    ("from .engine import evaluate", "toolman_kit.judge.engine"),
    ("def f():\n    from toolman_kit.fleet import runner", "toolman_kit.fleet.runner"),
    ("class A:\n    def f(self):\n        import toolman_kit.fleet", "toolman_kit.fleet"),
])
def test_the_parser_reads_every_kind_of_import(source: str, expected: str) -> None:
    assert [i.imported for i in imports("toolman_kit.judge.probe", source)] == [expected]


def test_imports_for_the_type_checker_do_not_count() -> None:
    source = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
              "    from toolman_kit.fleet import runner\nelse:\n    import toolman_kit.read\n")
    assert [i.imported for i in imports("toolman_kit.judge", source, True)] == [
        "toolman_kit.read"]
