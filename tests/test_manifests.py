import io
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toolman_kit.read.manifests import RELEASE_NAMESPACE, load, split_documents

ROOT = Path(__file__).parents[1]

EXAMPLE = Path(__file__).parents[1] / "examples" / "toolman" / "rendered" / "default.yaml"

POD = """apiVersion: v1
kind: Pod
metadata: {name: %s}
spec: {containers: [{name: c, image: busybox:1.36.1}]}
"""


def test_helm_output_keeps_file_document_line_and_template():
    m = load(EXAMPLE)
    assert not m.errors
    deployment = m.of_kind("Deployment")[0]
    src = deployment.source
    assert src.file == str(EXAMPLE)
    assert src.template == "toolman/templates/deployment.yaml"
    lines = EXAMPLE.read_text().splitlines()
    assert lines[src.line - 1].startswith("apiVersion:")
    assert lines[src.line - 2] == "# Source: toolman/templates/deployment.yaml"
    assert [r.source.document for r in m] == sorted(r.source.document for r in m)


def test_namespace_defaults_to_the_release_namespace_never_default():
    m = load(POD % "a", namespace="toolman")
    assert m.resources[0].namespace == "toolman"
    assert load(POD % "a").resources[0].namespace == RELEASE_NAMESPACE


def test_release_namespace_is_inferred_from_a_single_explicit_namespace():
    text = POD % "a" + "---\n" + (POD % "b").replace("{name: b}", "{name: b, namespace: prod}")
    m = load(text)
    assert [r.namespace for r in m] == ["prod", "prod"]
    cluster = "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: prod}\n"
    assert load(text + cluster).resources[2].namespace == ""


def test_empty_documents_are_skipped_and_bad_documents_reported_with_line(tmp_path):
    path = tmp_path / "mixed.yaml"
    path.write_text("---\n# only a comment\n---\n" + POD % "good" + "---\n- a\n- list\n"
                    "---\njust a string\n---\napiVersion: v1\nmetadata: {name: x}\n---\n"
                    + POD % "also-good")
    m = load(path)
    assert [r.name for r in m] == ["good", "also-good"]
    assert [(e.line, e.message.split(",")[0]) for e in m.errors] == [
        (9, "document is a list"), (12, "document is a string"),
        (14, "not a Kubernetes object: no kind")]


def test_invalid_yaml_names_file_and_line_and_keeps_the_rest(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(POD % "ok" + "---\nkind: [unclosed\n---\n" + POD % "after")
    m = load(path)
    assert [r.name for r in m] == ["ok", "after"]
    (error,) = m.errors
    assert error.file == str(path) and error.line in (6, 7) and "invalid YAML" in error.message


def test_kubectl_list_is_flattened_and_json_is_read(tmp_path):
    items = [json.loads(json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": n},
                                    "spec": {}})) for n in ("a", "b")]
    (tmp_path / "list.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List",
                                                    "items": items}))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "pod.yml").write_text(POD % "c")
    (tmp_path / "notes.txt").write_text("ignored")
    m = load(tmp_path)
    assert sorted(r.name for r in m) == ["a", "b", "c"] and not m.errors


def test_kubectl_list_items_keep_their_own_lines():
    text = ("apiVersion: v1\nkind: List\nitems:\n"
            "- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n  spec: {}\n"
            "- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: b\n    name: b\n"
            "  spec:\n    hostNetwork: true\n")
    a, b = load(text).resources
    assert (a.source.line, b.source.line) == (4, 8)
    assert b.line_of("spec.hostNetwork") == 14
    assert a.duplicates == [] and b.duplicates == [("name", 12)]


def test_stdin_and_text(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(POD % "from-stdin"))
    assert load("-").resources[0].name == "from-stdin"
    assert load(POD % "literal").resources[0].source.file == "<text>"


def test_unreadable_inputs_are_errors_not_exceptions(tmp_path):
    (tmp_path / "bin.yaml").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "latin1.yaml").write_bytes("name: caf\xe9\n".encode("latin-1"))
    (tmp_path / "empty.yaml").write_text("")
    (tmp_path / "comments.yaml").write_text("# nothing\n# here\n")
    m = load(*(tmp_path / n for n in ("bin.yaml", "latin1.yaml", "empty.yaml", "comments.yaml")),
             tmp_path / "missing.yaml")
    messages = [e.message for e in m.errors]
    assert "binary file" in messages[0]
    assert "not UTF-8" in messages[1] and m.errors[1].line == 1
    assert "empty or only comments" in messages[2] and "empty or only comments" in messages[3]
    assert "no such file" in messages[4]


def test_unsafe_tags_are_never_constructed():
    m = load("!!python/object/apply:os.system ['echo pwned']\n")
    assert not m.resources and "invalid YAML" in m.errors[0].message


@given(st.lists(st.sampled_from(["---\n", "--- \n", "...\n", "a: 1\n", "# c\n", "\n", "b: -- x\n",
                                 "----\n", " ---\n", "--- {c: 2}\n"]), max_size=30),
       st.integers(1, 7))
def test_splitting_does_not_depend_on_block_boundaries(lines, size):
    text = "".join(lines)
    blocks = [text[i:i + size] for i in range(0, len(text), size)]
    assert list(split_documents(blocks)) == list(split_documents([text]))


def test_document_markers():
    text = "a: 1\n---\nb: 2\n...\nc: 3\n--- {d: 4}\n"
    assert list(split_documents([text])) == [(1, "a: 1\n"), (2, "   \nb: 2\n"),
                                            (5, "c: 3\n"), (6, "    {d: 4}\n")]


def test_a_last_line_marker_without_newline():
    m = load(POD % "a" + "---")
    assert [r.name for r in m] == ["a"] and not m.errors


SCALARS = ["yes", "no", "on", "off", "true", "True", "false", "null", "~", "", "0o17", "017",
           "0x1F", "1_000", "1:20", "190:20:30", "3.14", "1e3", ".inf", "-.Inf", ".NaN",
           "2001-12-14", "2001-12-14t21:59:43.10-05:00", "8080", "-1", "+12", "v1.2.3",
           "busybox:1.36.1", "<<", "1" * 200, "x" * 200]


def test_scalars_get_the_safe_loaders_types_plain_and_quoted_every_time():
    """The loader remembers each short scalar's tag: the types stay PyYAML's safe ones (long
    values too), a quoted value stays a string, and a value seen before resolves as it did the
    first time."""
    import yaml

    from toolman_kit.read.yamlsafe import parse

    plain = "\n".join(f"k{i}: {s}" if s != "<<" else f"k{i}: '<<'"
                      for i, s in enumerate(SCALARS))
    quoted = "\n".join(f"q{i}: {json.dumps(s)}" for i, s in enumerate(SCALARS))
    for text in (plain, quoted, plain + "\n" + quoted, plain):
        got = parse(text).data
        want = yaml.safe_load(text)
        assert got == want and [type(v) for v in got.values()] == \
            [type(v) for v in want.values()]
    assert all(isinstance(v, str) for v in parse(quoted).data.values())


BEYOND_PLAIN = [
    "a: 1\na: 2\nb: {c: 1, c: 3}\n",  # repeated keys, recorded
    "base: &b {x: 1, y: 2}\nover: {<<: *b, y: 3}\n",  # merge keys
    "a: &l [1, {b: 2}]\nc: *l\nd: [*l, *l]\n",  # shared nodes stay shared
    "s: !!set {x, y}\no: !!omap [{a: 1}, {b: 2}]\n",  # the safe loader's other types
    "1: one\n2.5: two\nnull: three\ntrue: four\n2001-12-14: five\n",  # keys not strings
    "b: !!binary aGVsbG8=\nt: 2001-12-14t21:59:43.10-05:00\nn: .NaN\n",
    "? [1, 2]\n: unhashable\n", "a: !custom 1\n",  # refused
]


@pytest.mark.parametrize("text", BEYOND_PLAIN)
def test_documents_beyond_plain_data_are_built_as_pyyamls_safe_loader_builds_them(text):
    """Plain maps, lists and scalars take the loader's direct walk; everything else (merges,
    repeated keys, aliases, other tags, errors) must come out as PyYAML's safe loader makes
    it: same data, same sharing, same error."""
    import yaml

    from toolman_kit.read.yamlsafe import YAMLInputError, parse

    try:
        want = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        with pytest.raises(YAMLInputError) as refused:
            parse(text)
        assert (refused.value.message, refused.value.line) == (exc.problem, exc.problem_mark.line)
        return
    got = parse(text)
    assert repr(got.data) == repr(want)
    if "*l" in text:
        assert got.data["c"] is got.data["d"][0] is got.data["d"][1]
    if "a: 2" in text:
        assert [(d.key, d.line) for d in got.duplicates] == [("a", 1), ("c", 2)]


def test_a_date_that_does_not_exist_stays_a_string():
    """As Kubernetes' decoder reads it; PyYAML's constructor raised a ValueError (a traceback)."""
    m = load("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
             "data: {a: 2023-02-30, b: 2023-02-28}\n")
    assert not m.errors
    assert m.resources[0].obj["data"]["a"] == "2023-02-30"
    assert m.resources[0].obj["data"]["b"].isoformat() == "2023-02-28"


def test_plain_manifests_are_built_without_the_general_constructor(monkeypatch):
    """The direct walk is what makes a load cheaper than PyYAML's own parse: the example's
    documents all take it, with the same data and field lines as the general constructor."""
    from toolman_kit.read import yamlsafe

    text = (ROOT / "examples/toolman/rendered/production.yaml").read_text()
    with monkeypatch.context() as patch:
        patch.setattr(yamlsafe.Loader, "construct_document", _refuse)
        direct = [(r.obj, _lines_by_path(r.obj, r.lines)) for r in load(text)]
    monkeypatch.setattr(yamlsafe.Loader, "construct_plain", _unusual)
    general = [(r.obj, _lines_by_path(r.obj, r.lines)) for r in load(text)]
    assert len(direct) == 9 and direct == general


def _refuse(*args):
    raise AssertionError("the general constructor was used")


def _unusual(*args):
    from toolman_kit.read.yamlsafe import _Unusual

    raise _Unusual


def _lines_by_path(obj, lines, path="$"):
    """The field-line tables (keyed by object id) as {path: table}, to compare two loads."""
    found = {path: lines.get(id(obj))} if isinstance(obj, dict | list) else {}
    children = obj.items() if isinstance(obj, dict) else enumerate(obj) \
        if isinstance(obj, list) else ()
    for key, value in children:
        found.update(_lines_by_path(value, lines, f"{path}/{key}"))
    return found
