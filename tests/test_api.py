"""The Python API as a pandas user meets it: clear exceptions, any kind of input, honest dtypes,
a short repr, and docstrings with parameters and a working example for every public name."""

import doctest
import html
import inspect
import warnings
from pathlib import Path

import pandas as pd
import pytest

import toolman_kit as tk
from toolman_kit.judge.findings import COLUMNS

ROOT = Path(__file__).parents[1]
DEFAULT = "examples/toolman/rendered/default.yaml"
PRODUCTION = "examples/toolman/rendered/production.yaml"
POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "web"},
       "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}


@pytest.fixture(autouse=True)
def _at_the_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # the examples name paths relative to the repository


# --- exceptions ---------------------------------------------------------------------------------

@pytest.mark.parametrize("fn", [tk.analyze, tk.checklist, tk.pod_security, tk.load,
                                tk.Analysis.of])
def test_a_typo_in_a_path_raises_naming_it(fn):
    with pytest.raises(tk.ManifestError) as err:
        fn("charts/argo_cd.yaml")
    assert err.value.file == "charts/argo_cd.yaml"
    assert str(err.value) == "charts/argo_cd.yaml: no such file or directory"


def test_a_readme_passed_by_mistake_raises_with_its_line():
    with pytest.raises(tk.ManifestError) as err:
        tk.analyze("README.md")
    assert err.value.file == "README.md" and err.value.line > 0
    assert "invalid YAML" in err.value.message


@pytest.mark.parametrize("text", ["# only a comment\n", "---\n---\n"])
def test_input_without_objects_raises(text):
    with pytest.raises(tk.ManifestError, match="no Kubernetes objects"):
        tk.analyze(text)


def test_a_chart_directory_is_one_clear_error():
    with pytest.raises(tk.ManifestError) as err:
        tk.analyze("examples/toolman/chart")
    assert "this is a Helm chart: use --chart" in str(err.value)
    assert "(and" not in str(err.value)  # not one YAML error per template


def test_errors_warn_analyzes_the_good_documents():
    bad = "tests/data/formats/mixed.yaml"
    with pytest.raises(tk.ManifestError, match=r"mixed.yaml:42: document is a list"):
        tk.analyze(bad)
    with pytest.warns(tk.ToolmanKitWarning, match="document is a list") as caught:
        df = tk.analyze(bad, errors="warn")
    assert caught[0].filename == __file__  # points at the caller's line, not the kit's
    assert set(df["name"]) == {"web", "pipe|and<angle>", "db", "reader"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = tk.Analysis.of(bad, errors="ignore")
    assert [e.line for e in a.errors] == [42]


def test_errors_must_be_a_known_policy():
    with pytest.raises(ValueError, match="errors must be"):
        tk.analyze(DEFAULT, errors="strict")


def test_duplicate_objects_are_analyzed_once_with_one_warning_each():
    once = tk.Analysis.of(DEFAULT)
    with pytest.warns(tk.ToolmanKitWarning, match="defined once more") as caught:
        twice = tk.Analysis.of(DEFAULT, DEFAULT)
    assert len(caught) == 1 and len(twice.warnings) == len(once.manifests)
    assert len(twice.manifests) == len(once.manifests)
    assert twice.findings.equals(once.findings)


def test_same_name_in_another_api_group_or_namespace_is_not_a_duplicate():
    other_group = {**POD, "apiVersion": "example.com/v1"}
    other_namespace = {**POD, "metadata": {"name": "p", "namespace": "api"}}
    m = tk.load([POD, other_group, other_namespace])
    assert len(m) == 3 and not m.warnings


# --- inputs -------------------------------------------------------------------------------------

def test_every_kind_of_input_gives_the_same_findings():
    expected = tk.analyze(DEFAULT)
    text = Path(DEFAULT).read_text()
    manifests = tk.load(DEFAULT)
    analysis = tk.Analysis.of(DEFAULT)
    for given in (Path(DEFAULT), [DEFAULT], manifests, analysis):
        assert tk.analyze(given).equals(expected), type(given)
    from_text = tk.analyze(text)
    assert from_text.drop(columns="file").equals(expected.drop(columns="file"))
    assert set(from_text["file"]) == {"<text>"}
    assert tk.checklist(manifests).equals(tk.checklist(DEFAULT))
    assert tk.pod_security(analysis).equals(tk.pod_security(DEFAULT))
    assert len(tk.Analysis.of(analysis, profile="examples/toolman/profile.yaml").findings)


def test_objects_as_dicts_have_no_file_line():
    df = tk.analyze([POD])
    assert set(df["file"]) == {"<objects>"} and df["line"].isna().all()
    assert set(df["namespace"]) == {"web"}
    assert tk.pod_security(POD)["name"].tolist() == ["p"]


def test_a_rendered_chart_is_analyzed_as_it_is():
    pytest.importorskip("helm_python")
    rendered = tk.render("examples/toolman/chart",
                         ["examples/toolman/chart/values-production.yaml"],
                         release="toolman", namespace="toolman")
    df = tk.analyze(rendered, namespace="toolman")
    assert set(df["file"]) == {"<rendered examples/toolman/chart>"}
    assert set(df["namespace"].dropna()) == {"toolman"}
    replicas = tk.checklist(rendered).set_index("component").loc["Replicas"]
    assert replicas["status"] == "pass"


# --- dtypes -------------------------------------------------------------------------------------

def test_findings_dtypes_are_honest():
    df = tk.analyze(DEFAULT)
    assert list(df.columns) == list(COLUMNS)
    assert df["severity"].dtype == pd.CategoricalDtype(["info", "warning", "error"], ordered=True)
    assert df["status"].dtype == pd.CategoricalDtype(["pass", "skip", "exempt", "fail"],
                                                     ordered=True)
    assert df["line"].dtype == "Int64"
    for column in ("check_id", "kind", "namespace", "name", "container", "message", "path",
                   "template", "values_set", "exempt_reason"):
        assert df[column].dtype == "string", column
    assert df.sort_values("severity", ascending=False)["severity"].iloc[0] == "error"
    assert (df["severity"] >= "warning").sum() == df["severity"].isin(["warning", "error"]).sum()
    workload_level = df[df["check_id"] == "pdb-missing"]
    assert workload_level["container"].isna().all()  # NA, not ""
    passes = df[df["status"] == "pass"]
    assert passes["message"].isna().all() and passes["exempt_reason"].isna().all()
    assert not (df.select_dtypes("string") == "").any().any()


def test_checklist_dtypes_and_status_vocabulary():
    cl = tk.checklist(DEFAULT)
    assert cl["status"].dtype == pd.CategoricalDtype(["n/a", "pass", "warning", "fail"],
                                                     ordered=True)
    assert set(cl["status"]) <= {"n/a", "pass", "warning", "fail"}
    pss_row = cl[cl["component"] == "Pod Security Level"]
    assert (pss_row["checks"] == "pod-security-admission").all()
    assert not (cl.select_dtypes("string") == "").any().any()  # empty values are NA, not ""
    assert cl.sort_values("status", ascending=False)["status"].iloc[0] == "fail"


def test_values_set_is_one_name_for_the_parameter_and_the_column():
    df = tk.analyze(DEFAULT, values_set="defaults")
    assert set(df["values_set"]) == {"defaults"}
    assert tk.Analysis.of(DEFAULT, values_set="x").values_set == "x"
    with pytest.raises(TypeError):
        tk.analyze(DEFAULT, label="defaults")


# --- repr ---------------------------------------------------------------------------------------

def test_repr_is_one_short_line():
    a = tk.Analysis.of(DEFAULT)
    text = repr(a)
    assert text.startswith("Analysis(6 objects, 1 workload, profile production: ")
    assert "\n" not in text and len(text) < 200


def test_repr_html_shows_counts_and_the_checklist_escaped():
    a = tk.Analysis.of("tests/data/formats/mixed.yaml", errors="ignore")
    page = a._repr_html_()
    assert "pipe|and&lt;angle&gt;" in page and "<angle>" not in page
    assert "Replicas" in page and "❌" in page and "input error" in page
    assert "http" not in page and "<script" not in page
    one = tk.Analysis.of(DEFAULT)._repr_html_()
    assert "Current State" in one and "Action Required" in one
    html.unescape(one)  # well-formed enough to unescape


# --- docstrings ---------------------------------------------------------------------------------

def _public():
    for name in tk.__all__:
        obj = getattr(tk, name)
        yield name, obj
        if inspect.isclass(obj) and not issubclass(obj, BaseException):
            for attr, member in vars(obj).items():
                if not attr.startswith("_") and (callable(member) or isinstance(
                        member, (property, classmethod))) or attr == "of":
                    yield f"{name}.{attr}", getattr(obj, attr)


@pytest.mark.parametrize("name, obj", list(_public()), ids=[n for n, _ in _public()])
def test_every_public_name_has_a_docstring(name, obj):
    doc = inspect.getdoc(obj) or ""
    assert doc.strip(), f"{name} has no docstring"
    if "." in name:
        return
    assert "Example" in doc or issubclass(obj, tk.ToolmanKitError) and \
        obj is not tk.ToolmanKitError, f"{name}: no example"
    if inspect.isfunction(obj) or name == "Analysis":
        target = obj.of if name == "Analysis" else obj
        assert "Args:" in inspect.getdoc(target), f"{name}: parameters not described"


def test_docstring_examples_run():
    """Every `>>>` example of the public API, run as written (from the repository root)."""
    pytest.importorskip("helm_python")
    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    seen = 0
    for name in tk.__all__:
        for test in finder.find(getattr(tk, name), name, globs={"tk": tk}):
            seen += len(test.examples)
            runner.run(test)
    results = runner.summarize(verbose=False)
    assert seen >= 20 and results.failed == 0, results


def test_api_pages_are_current(tmp_path):
    pytest.importorskip("pdoc")
    from toolman_kit.present.docs import api_pages

    api_pages(tmp_path)
    committed = ROOT / "docs" / "api"
    made = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.html"))
    assert made == sorted(p.relative_to(committed) for p in committed.rglob("*.html")), \
        "run `make docs` and commit docs/api"
    for page in made:
        assert (tmp_path / page).read_text() == (committed / page).read_text(), \
            f"docs/api/{page} is stale: run `make docs`"
