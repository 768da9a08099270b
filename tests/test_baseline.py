"""`check --baseline FILE`: only findings the baseline does not hold fail the run; every format
marks new and known ones; a baseline that cannot be read is one line and exit 2."""

import csv
import io
import json
from pathlib import Path

import pytest
from helpers import EXAMPLE, run

DEFAULT = str(EXAMPLE / "rendered" / "default.yaml")
PRODUCTION = str(EXAMPLE / "rendered" / "production.yaml")


def check(capsys, *argv):
    return run(capsys, "check", *argv)


def baseline_of(capsys, tmp_path: Path, path: str, fmt: str = "json", *extra: str) -> Path:
    out = tmp_path / f"baseline.{fmt}"
    code, _, err = check(capsys, path, "--format", fmt, "-o", str(out), *extra)
    assert code == 1 and not err  # the example has failures: the baseline is not empty
    return out


def failures(doc: dict) -> list[dict]:
    return [f for f in doc["findings"] if f["status"] == "fail"]


def rewrite(path: Path, edit) -> Path:
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_a_run_against_its_own_output_knows_every_failure(capsys, tmp_path, fmt):
    baseline = baseline_of(capsys, tmp_path, DEFAULT, fmt)
    code, out, err = check(capsys, DEFAULT, "--baseline", str(baseline), "--fail-on", "warning")
    assert (code, err) == (0, "")
    every = json.loads(check(capsys, DEFAULT, "--format", "json")[1])
    known = len(failures(every))
    assert out.splitlines()[-1] == (f"6 objects, 1 workload: 0 new errors, 0 new warnings, "
                                    f"0 new info; {known} known from the baseline {baseline}; "
                                    "profile production")
    assert "ERROR " not in out and "WARNING " not in out  # no failure line: all known
    code, out, _ = check(capsys, DEFAULT, "--baseline", str(baseline), "--format", "json")
    doc = json.loads(out)
    assert doc["baseline"] == {"file": str(baseline), "known": known, "new": 0}
    assert {f["baseline"] for f in failures(doc)} == {"known"}
    assert {f["baseline"] for f in doc["findings"] if f["status"] in ("pass", "skip")} == {None}


def test_only_new_failures_fail_and_fail_on_applies_to_them(capsys, tmp_path):
    baseline = baseline_of(capsys, tmp_path, DEFAULT)
    doc = json.loads(baseline.read_text())
    warning = next(f for f in failures(doc) if f["severity"] == "warning")
    rewrite(baseline, lambda d: d["findings"].remove(warning))
    code, out, _ = check(capsys, DEFAULT, "--baseline", str(baseline))
    assert code == 0  # the one new failure is a warning; --fail-on error
    lines = [line for line in out.splitlines() if line.startswith(("ERROR", "WARNING", "INFO"))]
    assert len(lines) == 1 and warning["check_id"] in lines[0]
    assert "0 new errors, 1 new warning, 0 new info" in out.splitlines()[-1]
    assert check(capsys, DEFAULT, "--baseline", str(baseline), "--fail-on", "warning")[0] == 1
    out = check(capsys, DEFAULT, "--baseline", str(baseline), "--format", "json")[1]
    new = [f for f in failures(json.loads(out)) if f["baseline"] == "new"]
    assert [(f["check_id"], f["name"], f["container"]) for f in new] == [
        (warning["check_id"], warning["name"], warning["container"])]


def test_a_new_object_fails_against_an_old_baseline(capsys, tmp_path):
    """The production render has checks the default one does not fail: those are new."""
    baseline = baseline_of(capsys, tmp_path, DEFAULT)
    old = {(f["check_id"], f["kind"], f["name"], f["container"])
           for f in failures(json.loads(baseline.read_text()))}
    code, out, _ = check(capsys, PRODUCTION, "--baseline", str(baseline), "--format", "json")
    assert code == 1
    for f in failures(json.loads(out)):
        assert f["baseline"] == ("known" if (f["check_id"], f["kind"], f["name"],
                                             f["container"]) in old else "new")


def test_matched_by_check_object_and_container_not_line_or_message(capsys, tmp_path):
    baseline = baseline_of(capsys, tmp_path, DEFAULT)

    def moved(doc):  # an edit above the workload, a reworded message
        for f in doc["findings"]:
            f["line"], f["message"] = (f["line"] or 0) + 40, "said otherwise"
    rewrite(baseline, moved)
    assert check(capsys, DEFAULT, "--baseline", str(baseline), "--fail-on", "warning")[0] == 0

    def renamed_container(doc):
        for f in doc["findings"]:
            if f["container"]:
                f["container"] += "-old"
    rewrite(baseline, renamed_container)
    out = check(capsys, DEFAULT, "--baseline", str(baseline), "--format", "json")[1]
    for f in failures(json.loads(out)):
        assert f["baseline"] == ("new" if f["container"] else "known")


def test_the_baseline_counts_findings_of_one_key(capsys, tmp_path):
    """Two failures of one check on one object (two namespace selectors): a baseline holding
    one of them knows one, and the other is new."""
    baseline = baseline_of(capsys, tmp_path, PRODUCTION)
    doc = json.loads(baseline.read_text())
    twice = [f for f in failures(doc) if f["check_id"] == "network-policy-namespace-label"]
    assert len(twice) == 2
    rewrite(baseline, lambda d: d["findings"].remove(twice[1]))
    out = check(capsys, PRODUCTION, "--baseline", str(baseline), "--format", "json")[1]
    states = [f["baseline"] for f in failures(json.loads(out))
              if f["check_id"] == "network-policy-namespace-label"]
    assert sorted(states) == ["known", "new"]


def test_only_failed_json_and_sarif_baselines_match_the_same(capsys, tmp_path):
    from_json = baseline_of(capsys, tmp_path, DEFAULT, "json", "--only-failed")
    from_sarif = baseline_of(capsys, tmp_path, DEFAULT, "sarif")
    outs = [check(capsys, PRODUCTION, "--baseline", str(b), "--format", "csv")[1]
            for b in (from_json, from_sarif)]
    assert outs[0] == outs[1]


def test_every_format_marks_new_and_known(capsys, tmp_path):
    baseline = baseline_of(capsys, tmp_path, DEFAULT)
    plain = json.loads(check(capsys, PRODUCTION, "--format", "json")[1])
    marked = json.loads(check(capsys, PRODUCTION, "--baseline", str(baseline),
                              "--format", "json")[1])
    new = sum(f["baseline"] == "new" for f in failures(marked))
    known = sum(f["baseline"] == "known" for f in failures(marked))
    assert new and known and new + known == len(failures(plain))

    rows = list(csv.DictReader(io.StringIO(
        check(capsys, PRODUCTION, "--baseline", str(baseline), "--format", "csv")[1])))
    assert [r["baseline"] for r in rows] == [f["baseline"] or "" for f in marked["findings"]]

    sarif = json.loads(check(capsys, PRODUCTION, "--baseline", str(baseline),
                             "--format", "sarif")[1])
    states = [r["baselineState"] for r in sarif["runs"][0]["results"]
              if "suppressions" not in r]
    assert (states.count("new"), states.count("unchanged")) == (new, known)

    junit = check(capsys, PRODUCTION, "--baseline", str(baseline), "--format", "junit")[1]
    assert f'failures="{new}"' in junit
    assert junit.count('<skipped message="known from the baseline: ') == known

    md = check(capsys, PRODUCTION, "--baseline", str(baseline), "--format", "markdown")[1]
    assert f"\n{known} known failures from the baseline " in md  # the path, escaped
    assert "are not listed.\n" in md
    table_rows = md.split("## Findings")[1].split("\n| ")[2:]  # after the header and rule
    assert len(table_rows) == new

    table = check(capsys, PRODUCTION, "--baseline", str(baseline))[1]
    lines = [line for line in table.splitlines() if line.startswith(("ERROR", "WARNING", "INFO"))]
    assert len(lines) == new
    assert f"; {known} known from the baseline {baseline}; " in table.splitlines()[-1]


def test_without_a_baseline_no_output_marks_findings(capsys):
    """(The goldens of tests/test_formats.py hold every format byte for byte.)"""
    for fmt, mark in (("json", '"baseline":'), ("csv", ",baseline"), ("sarif", "baselineState"),
                      ("junit", "known from the baseline"), ("markdown", "from the baseline"),
                      ("table", "from the baseline")):
        assert mark not in check(capsys, PRODUCTION, "--format", fmt)[1], fmt


def sarif_of_another_tool(path: Path) -> None:
    path.write_text(json.dumps({"version": "2.1.0", "runs": [
        {"tool": {"driver": {"name": "kube-linter"}}, "results": []}]}))


@pytest.mark.parametrize(("make", "message"), [
    (None, "cannot read the baseline: No such file or directory"),
    (lambda p: p.mkdir(), "cannot read the baseline: Is a directory"),
    (lambda p: p.write_text("{not json"), "not a baseline: invalid JSON"),
    (lambda p: p.write_bytes(b"\xff\xfe{}"), "not a baseline: not UTF-8 text"),
    (lambda p: p.write_text("[1, 2]"), "not a baseline: neither a toolman-kit findings.json"),
    (sarif_of_another_tool, "not a baseline: neither a toolman-kit findings.json"),
    (lambda p: p.write_text('{"findings": [{"status": "fail", "kind": "Deployment"}]}'),
     "not a baseline: a finding without its check or object"),
    (lambda p: p.write_text('{"findings": [{"status": "fail", "check_id": 7, "kind": "x"}]}'),
     "not a baseline: a finding without its check or object"),
])
def test_a_baseline_that_cannot_be_read_is_one_line_and_exit_2(capsys, tmp_path, make, message):
    path = tmp_path / "old.json"
    if make:
        make(path)
    code, out, err = check(capsys, DEFAULT, "--baseline", str(path))
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1
    assert err.startswith(f"toolman-kit: error: {path}") and message in err
