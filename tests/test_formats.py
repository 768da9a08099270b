"""Output formats: the same content as the pandas-based formats gave (tests/data/formats, captured
before they were made to stream), compact JSON and SARIF, --only-failed, and a `check` that
imports nothing heavy."""

import csv
import io
import json
import subprocess
import sys

import pytest
from helpers import ROOT, run

from tests.data.formats.capture import CASES, FORMATS

GOLDEN = ROOT / "tests" / "data" / "formats"
EXITS = json.loads((GOLDEN / "exits.json").read_text())
HEAVY = ("pandas", "numpy", "jsonschema", "fastjsonschema", "rfc3987_syntax", "papermill",
         "nbconvert", "nbformat", "matplotlib", "ipykernel", "jupyter_client", "dask",
         "distributed", "pyarrow",
         "cel_expr_python", "re2", "toolman_kit.judge.policy")  # CEL: only with policies
# The report's own modules: what notebooks import, never needed to check or list checks.
REPORT_SIDE = tuple(f"toolman_kit.present.{m}" for m in (
    "inputs", "views", "narrative", "nbsupport", "charts", "html"))
# The values machinery (tk.compare_values, tk.suggest): imported on first use.
CHART_SIDE = ("toolman_kit.values.sets", "toolman_kit.values.suggest",
              "toolman_kit.values.provenance", "toolman_kit.chart.batch", "multiprocessing")


def check(capsys, monkeypatch, *argv):
    monkeypatch.chdir(ROOT)  # the goldens name the inputs by relative path
    return run(capsys, "check", *argv)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", CASES)
def test_every_format_says_what_it_said_before(capsys, monkeypatch, case, fmt):
    code, out, err = check(capsys, monkeypatch, *CASES[case], "--format", fmt)
    before = (GOLDEN / f"{case}.{fmt}").read_text()
    assert {"exit": code, "stderr": err} == EXITS[f"{case}.{fmt}"]
    if fmt in ("json", "sarif"):  # the content is the same; the whitespace is gone
        assert json.loads(out) == json.loads(before)
        compact = json.dumps(json.loads(out), separators=(",", ":"), ensure_ascii=False)
        assert out == compact + "\n"
    else:
        assert out == before


def test_sarif_results_are_failures_and_suppressed_exemptions(capsys, monkeypatch):
    _, out, _ = check(capsys, monkeypatch, *CASES["mixed"], "--format", "sarif")
    results = json.loads(out)["runs"][0]["results"]
    _, rows, _ = check(capsys, monkeypatch, *CASES["mixed"], "--format", "csv")
    statuses = [r["status"] for r in csv.DictReader(io.StringIO(rows))]
    assert len(results) == statuses.count("fail") + statuses.count("exempt")
    assert sum("suppressions" in r for r in results) == statuses.count("exempt") == 2


@pytest.mark.parametrize("fmt", FORMATS)
def test_only_failed_drops_passes_and_skips_from_every_format(capsys, monkeypatch, fmt):
    _, full, _ = check(capsys, monkeypatch, *CASES["mixed"], "--format", fmt)
    code, out, _ = check(capsys, monkeypatch, *CASES["mixed"], "--format", fmt,
                         "--only-failed")
    assert code == 2
    if fmt == "csv":
        statuses = {r["status"] for r in csv.DictReader(io.StringIO(out))}
        assert statuses == {"fail", "exempt"}
    elif fmt == "json":
        doc = json.loads(out)
        assert {f["status"] for f in doc["findings"]} == {"fail", "exempt"}
        assert doc["checklist"] == json.loads(full)["checklist"]
    elif fmt == "junit":
        _, doc, _ = check(capsys, monkeypatch, *CASES["mixed"], "--format", "json")
        statuses = [f["status"] for f in json.loads(doc)["findings"]]
        problems = statuses.count("fail") + statuses.count("exempt")
        assert out.count("<error") == 1  # the input that could not be read: a case in error
        cases = out.count("<testcase") - 1
        assert cases == out.count("<failure") + out.count("<skipped") == problems
        assert full.count("<testcase") - 1 == len(statuses) > problems
    else:  # these list failures only, always
        assert out == full


def test_streamed_output_file_is_complete_and_atomic(capsys, monkeypatch, tmp_path):
    target = tmp_path / "out.json"
    target.write_text("previous")
    code, out, _ = check(capsys, monkeypatch, *CASES["default"], "--format", "json", "-o",
                         str(target))
    assert out == "" and json.loads(target.read_text())["tool"]["name"] == "toolman-kit"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # no temporary file left


def test_json_rows_with_repeated_and_odd_values_are_whole_objects():
    """The JSON encodes runs of repeated columns once per output: rows sharing them, and a row
    whose value is not a string (a list of values keys, a number), still come out whole."""
    from dataclasses import replace

    import toolman_kit as tk
    from toolman_kit.judge.findings import COLUMNS, Findings
    from toolman_kit.present.formats import write_json

    a = tk.Analysis.of(ROOT / "examples/toolman/rendered/production.yaml")
    rows = list(a.rows)
    odd = rows[0][:COLUMNS.index("message")] + (42,) + rows[0][COLUMNS.index("message") + 1:-1] \
        + (["replicaCount", "pdb.enabled"],)
    b = replace(a, rows=Findings([*rows, odd, *rows]))
    out = io.StringIO()
    write_json(b, out)
    written = json.loads(out.getvalue())["findings"]
    assert written == [dict(zip(COLUMNS, r, strict=True)) for r in b.rows]
    assert written[len(rows)]["message"] == 42 and written[-1] == written[len(rows) - 1]


def _modules_after(code: str) -> set[str]:
    result = subprocess.run([sys.executable, "-c", code + "\nimport sys\n"
                             "print('\\n'.join(sys.modules))"], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    return set(result.stdout.split())


def test_import_and_check_import_nothing_heavy():
    """Start-up is most of a `check` in a pre-commit hook: no pandas, numpy, jsonschema or
    notebook machinery on this path (bench/startup.py measures it)."""
    imported = _modules_after("import toolman_kit")
    assert not imported & set(HEAVY), imported & set(HEAVY)
    assert not imported & set(CHART_SIDE), imported & set(CHART_SIDE)
    for argv in (["check", "examples/toolman/rendered/default.yaml"],
                 ["check", "examples/toolman/rendered/default.yaml", "--format", "sarif"],
                 ["checks"], ["checks", "--format", "json"]):
        imported = _modules_after(
            "import contextlib, io\nfrom toolman_kit.commands import main\n"
            f"with contextlib.redirect_stdout(io.StringIO()): main({argv!r})")
        assert not imported & set(HEAVY), (argv, imported & set(HEAVY))
        assert not imported & set(REPORT_SIDE), (argv, imported & set(REPORT_SIDE))
        assert not imported & set(CHART_SIDE), (argv, imported & set(CHART_SIDE))


def test_the_values_api_is_there_when_asked_for():
    import toolman_kit as tk
    from toolman_kit.values.sets import compare_values
    from toolman_kit.values.suggest import suggest

    assert {"compare_values", "suggest"} <= set(dir(tk)) and set(tk.__all__) <= set(dir(tk))
    assert tk.compare_values is compare_values and tk.suggest is suggest
    with pytest.raises(AttributeError, match="no attribute 'suggests'"):
        tk.suggests  # noqa: B018


def test_a_user_profile_is_validated_without_jsonschema():
    imported = _modules_after(
        "from toolman_kit.judge.profiles import load_profile\n"
        "load_profile('examples/toolman/profile.yaml')")
    assert "fastjsonschema" in imported and "jsonschema" not in imported


def test_builtin_profiles_satisfy_the_schema():
    """They are not validated at run time (that would cost every `check`), so here."""
    import jsonschema
    import yaml

    from toolman_kit.judge.profiles import BUILT_IN, _validate, schema

    jsonschema.Draft202012Validator.check_schema(schema())
    for name in BUILT_IN:
        path = ROOT / "toolman_kit" / "judge" / "profiles" / f"{name}.yaml"
        data = yaml.safe_load(path.read_text())
        jsonschema.Draft202012Validator(schema()).validate(data)
        _validate(data, name)  # and the run-time validator agrees


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path):
    many = tmp_path / "pods.yaml"
    many.write_text("".join(f"---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}}}\n"
                            "spec: {containers: [{name: c, image: nginx}]}\n"
                            for i in range(500)))
    proc = subprocess.Popen([sys.executable, "-m", "toolman_kit", "check", str(many), "--format",
                             "junit"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.read(100)  # `| head -c 100`
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait() == 141 and b"Traceback" not in err, err


def test_every_format_with_a_head_names_the_configuration():
    """The "configured" case differs from "default" only by naming its configuration file, in
    every format but CSV (no head: see present/formats.py), which is byte for byte the same."""
    config = CASES["configured"][-1]
    for fmt in FORMATS:
        named, plain = ((GOLDEN / f"{case}.{fmt}").read_text() for case in ("configured",
                                                                           "default"))
        assert (config in named) == (fmt != "csv") and config not in plain, fmt
        assert EXITS[f"configured.{fmt}"]["stderr"] == f"toolman-kit: configuration: {config}\n"
    assert (GOLDEN / "configured.csv").read_text() == (GOLDEN / "default.csv").read_text()
    junit = (GOLDEN / "configured.junit").read_text().splitlines()
    assert junit[2] == f'    <properties><property name="config" value="{config}"/></properties>'
