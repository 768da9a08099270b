"""Hostile and broken input: clear one-line errors, bounded time and memory, nothing lost."""

import json
import subprocess
import sys
import time
import tracemalloc

import pytest
from helpers import ROOT, run

from toolman_kit.analysis import Analysis
from toolman_kit.present.formats import FORMATS, render
from toolman_kit.read.manifests import load

POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec: {containers: []}\n"


@pytest.mark.parametrize("text, line, col", [
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: [unclosed\n", 4, 1),
    ("apiVersion: v1\nkind: Pod\nmetadata:\n\tname: tabbed\n", 4, 1),
    ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: 'trunc", 4, 15),
])
def test_malformed_yaml_is_one_line_with_file_line_col(capsys, tmp_path, text, line, col):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    code, _, err = run(capsys, "check", str(path))
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"{path}:{line}:{col}: invalid YAML:"), err


@pytest.mark.parametrize("content, message", [
    (b"\x7fELF\x02\x01\x01\x00\x00\x00", "binary file"),
    ("kind: caf\xe9\n".encode("latin-1"), "not UTF-8"),
    (b"", "empty or only comments"),
    (b"# just a comment\n---\n# another\n", "empty or only comments"),
])
def test_unreadable_files_name_the_file(capsys, tmp_path, content, message):
    path = tmp_path / "input.yaml"
    path.write_bytes(content)
    code, _, err = run(capsys, "check", str(path))
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(str(path)) and message in err


def test_alias_bomb_is_refused_fast_and_small(tmp_path):
    bomb = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n"
    bomb += '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        bomb += f"  {name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]\n"
    tracemalloc.start()
    started = time.perf_counter()
    m = load(bomb)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert not m.resources and "excessive aliasing" in m.errors[0].message
    assert elapsed < 0.5 and peak < 5 * 2**20


@pytest.mark.parametrize("data", ["&r {a: *r}", "&r [1, [2, *r]]", "{a: &r [*r]}"])
def test_a_recursive_alias_is_refused_with_its_line_not_followed(data):
    """An alias inside its own anchor's node makes a cycle: expanding it would never end
    (it used to exhaust memory); Kubernetes' YAML decoder refuses it too."""
    started = time.perf_counter()
    m = load(POD % "before" + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
             f"data: {data}\n---\n" + POD % "after")
    assert time.perf_counter() - started < 1
    assert [r.name for r in m] == ["before", "after"]
    (error,) = m.errors
    assert "recursive alias" in error.message and error.line == 9


def test_ordinary_aliases_still_work():
    m = load("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, labels: &l {a: b}}\n"
             "data: {copy: '*not-an-alias'}\nbinaryData: {}\nimmutable: false\n")
    assert m.resources and not m.errors


@pytest.mark.parametrize("nesting", ["[" * 100_000 + "]" * 100_000, "{a: " * 50_000 + "1" +
                                     "}" * 50_000, "- " * 100_000 + "x"])
def test_pathological_nesting_is_refused_without_crashing_the_process(tmp_path, nesting):
    path = tmp_path / "deep.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\n---\n" + nesting
                    + "\n---\n" + POD % "after")
    result = subprocess.run([sys.executable, "-m", "toolman_kit", "check", str(path),
                             "--format", "json"], capture_output=True, text=True, timeout=120,
                            cwd=ROOT)
    assert result.returncode == 2, result.stderr[-2000:]  # a crash would be negative (signal)
    assert "nesting" in result.stderr and "Traceback" not in result.stderr
    names = {f["name"] for f in json.loads(result.stdout)["findings"]}
    assert names == {"deep", "after"}


@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system ['touch /tmp/pwned']",
                                 "!!python/name:os.system", "!custom {a: 1}"])
def test_language_and_unknown_tags_are_refused_never_constructed(capsys, tmp_path, tag):
    path = tmp_path / "tags.yaml"
    path.write_text(POD % "ok" + "---\n" + f"apiVersion: v1\nkind: ConfigMap\nmetadata: "
                    f"{{name: x}}\ndata: {tag}\n")
    code, out, err = run(capsys, "check", str(path), "--format", "json")
    assert code == 2 and "constructor" in err
    assert {f["name"] for f in json.loads(out)["findings"]} == {"ok"}


def test_non_objects_are_named_and_the_rest_analyzed(capsys, tmp_path):
    path = tmp_path / "mixed.yaml"
    path.write_text(POD % "one" + "---\njust a string\n---\n[1, 2]\n---\napiVersion: v1\n"
                    "metadata: {name: nokind}\n---\n" + POD % "two")
    code, out, err = run(capsys, "check", str(path), "--format", "json")
    doc = json.loads(out)
    assert code == 2
    assert {f["name"] for f in doc["findings"]} == {"one", "two"}
    assert [e["line"] for e in doc["errors"]] == [6, 8, 10]
    assert err.count("\n") == 3


def test_wrong_types_become_invalid_field_findings(capsys, tmp_path):
    path = tmp_path / "typed.yaml"
    path.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n"
                    "  replicas: three\n  template:\n    spec:\n      containers:\n"
                    "        - name: c\n          image: 7\n          resources:\n"
                    "            limits: {cpu: lots}\n")
    code, out, _ = run(capsys, "check", str(path), "--format", "json")
    invalid = [f for f in json.loads(out)["findings"]
               if f["check_id"] == "invalid-field" and f["status"] == "fail"]
    assert {(f["path"], f["line"]) for f in invalid} == {
        ("spec.replicas", 5), ("spec.template.spec.containers[0].image", 10),
        ("spec.template.spec.containers[0].resources.limits.cpu", 12),
        ("spec.selector", 4)}  # apps/v1 requires it (the schema); at the line of its parent
    assert all(f["severity"] == "error" for f in invalid) and code == 1


def test_duplicate_keys_are_a_finding(capsys, tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: []\n"
                    "  containers: []\n")
    code, out, _ = run(capsys, "check", str(path), "--format", "json")
    dup = [f for f in json.loads(out)["findings"] if f["check_id"] == "duplicate-key"
           and f["status"] == "fail"]
    assert [(d["line"], "containers" in d["message"]) for d in dup] == [(6, True)]


def test_tens_of_thousands_of_documents_in_one_file(tmp_path):
    path = tmp_path / "many.yaml"
    with path.open("w") as out:
        for i in range(20_000):
            out.write("---\n" + POD % f"p{i}")
    m = load(path)
    assert len(m) == 20_000 and not m.errors
    assert m.resources[-1].source.line == 20_000 * 5 - 3


def test_max_bytes_bound_is_a_clear_error(capsys, tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text(POD % "p" * 100)
    code, _, err = run(capsys, "check", str(path), "--max-bytes", "1K")
    assert code == 2 and "over the 1,024-byte limit" in err and err.count("\n") == 1


def test_secret_values_never_appear_in_any_format():
    text = ("apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\n"
            "stringData: {password: hunter2-plain}\ndata: {token: c2VjcmV0LXRva2Vu}\n---\n"
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec:\n"
            "  template:\n    spec:\n      containers:\n        - name: api\n"
            "          image: example/api:1.0.0\n          env:\n"
            "            - {name: DB_PASSWORD, value: s3cr3t-in-env}\n")
    a = Analysis.of(text)
    fails = a.findings[a.findings["status"] == "fail"]
    assert "secret-in-env-value" in set(fails["check_id"])
    for name in FORMATS:
        output = render(name, a)
        for secret in ("hunter2-plain", "c2VjcmV0LXRva2Vu", "s3cr3t-in-env"):
            assert secret not in output, (name, secret)


def test_one_bad_input_does_not_stop_the_others(capsys, tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(POD % "good")
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: [\n")
    code, out, err = run(capsys, "check", str(bad), str(tmp_path / "missing.yaml"), str(good),
                           "--format", "json")
    doc = json.loads(out)
    assert code == 2 and {f["name"] for f in doc["findings"]} == {"good"}
    assert [e["file"] for e in doc["errors"]] == [str(bad), str(tmp_path / "missing.yaml")]


def test_a_chart_that_does_not_render_does_not_stop_the_files(capsys, tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(POD % "good")
    code, out, err = run(capsys, "check", "--chart", str(tmp_path / "no-chart"), str(good),
                           "--format", "json")
    doc = json.loads(out)
    assert code == 2 and {f["name"] for f in doc["findings"]} == {"good"}
    assert "not a Helm chart directory" in err and err.count("\n") == 1
