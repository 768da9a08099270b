"""`toolman-kit compare` end to end on the embedded Toolman chart and the fixture charts: the seed's
values claims checked by machine, the JSON against its shipped schema, bad input, and the render
cache and process pool (real spawned workers)."""

from __future__ import annotations

import io
import json
import re
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from helpers import CHART, FIXTURES, PRODUCTION, ROOT, line_of

from toolman_kit.chart import batch
from toolman_kit.chart.batch import Renderer
from toolman_kit.commands import main

pytest.importorskip("helm_python")

TOOLMAN = ["compare", "--chart", str(CHART), "--value-set", f"production={PRODUCTION}",
           "--release", "toolman", "-n", "toolman",
           "--profile", str(ROOT / "examples" / "toolman" / "profile.yaml")]


@pytest.fixture(scope="module")
def toolman(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("compare") / "comparison.json"
    assert main([*TOOLMAN, "--format", "json", "-o", str(out)]) == 0
    return json.loads(out.read_text())


def test_json_follows_the_shipped_schema(toolman: dict) -> None:
    schema = json.loads(resources.files("toolman_kit").joinpath(
        "schemas/comparison.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(toolman)
    assert [s["name"] for s in toolman["sets"]] == ["defaults", "production"]
    assert toolman["chart"]["lint"] == [{"severity": "info", "path": "Chart.yaml",
                                         "message": "icon is recommended"}]


def test_what_production_really_changes(toolman: dict) -> None:
    production = toolman["sets"][1]
    assert {o["kind"] for o in production["added"]} == {
        "NetworkPolicy", "PodDisruptionBudget", "ServiceMonitor"}
    changed = {o["kind"]: o["paths"] for o in production["changed"]}
    assert changed["PersistentVolumeClaim"] == ["spec.resources.requests.storage"]
    assert "spec.replicas" in changed["Deployment"]
    rows = {r["component"]: r["status"] for r in production["checklist"]}
    assert rows["PDB"] == "pass" and rows["Network Policy"] == "fail"
    fixed = {f["check_id"] for f in production["fixed"]}
    assert {"pdb-missing", "replicas-below-minimum", "image-tag-mutable"} <= fixed
    assert "rwo-volume-shared-by-replicas" in {f["check_id"] for f in production["introduced"]}


def test_the_dind_resources_of_production_do_nothing(toolman: dict) -> None:
    """values-production.yaml sizes the sidecar, but its resources are hard-coded."""
    production = toolman["sets"][1]
    dead = {i["key"]: i for i in production["ineffective_values"]}
    assert (dead["dind"]["file"], dead["dind"]["line"], dead["dind"]["reason"]) == (
        str(PRODUCTION), line_of(PRODUCTION, "dind:"), "not-read")
    assert dead["podDisruptionBudget.minAvailable"]["reason"] == "equal-to-default"
    assert {u["key"] for u in production["unknown_keys"]} == {"dind"}
    assert "podDisruptionBudget.enabled" not in dead


def test_the_seed_identified_issues_by_machine(toolman: dict) -> None:
    """"DinD Resources Hardcoded" and "Health Probes … commented out in default values"."""
    template = CHART / "templates" / "deployment.yaml"
    lines = template.read_text().splitlines()
    sidecar = line_of(template, "- name: docker-daemon")
    hard = {(h["container"], h["path"].split("containers[1].")[-1]): h
            for h in toolman["hardcoded"]}
    for part in ("requests", "limits"):
        entry = hard[("docker-daemon", f"resources.{part}")]
        assert (entry["template"], entry["value"]) == ("templates/deployment.yaml",
                                                       "cpu: 100m, memory: 128Mi")
        assert entry["line"] == next(n for n in range(sidecar, len(lines) + 1)
                                     if lines[n - 1].strip() == f"{part}:")
    privileged = hard[("docker-daemon", "securityContext.privileged")]
    assert (privileged["value"], privileged["line"]) == ("true",
                                                          line_of(template, "privileged: true"))
    unset = {u["key"]: u for u in toolman["unset_reads"]}
    values = CHART / "values.yaml"
    assert unset["livenessProbe"]["commented_out"] == {
        "file": str(values), "line": line_of(values, "# livenessProbe:")}
    assert unset["livenessProbe"]["sentence"] == (
        "livenessProbe is read by templates/deployment.yaml but commented out in "
        f"values.yaml:{line_of(values, '# livenessProbe:')}")


def test_failing_findings_carry_the_keys_that_control_them(toolman: dict) -> None:
    failing = {(f["check_id"], f["container"]): f["values"]
               for f in toolman["sets"][0]["failing"]}
    assert failing[("replicas-below-minimum", "")] == ["replicaCount"]
    assert failing[("pdb-missing", "")] == ["podDisruptionBudget.enabled"]
    assert failing[("liveness-probe-missing", "toolman")] == ["livenessProbe"]
    assert failing[("resources-below-profile", "toolman")] == ["resources"]
    assert failing[("privileged-container", "docker-daemon")] == []


def test_table_and_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*TOOLMAN, "--max-renders", "0"]) == 0
    table = capsys.readouterr().out
    assert "Checklist" in table and "defaults" in table and "production" in table
    assert "livenessProbe is read by templates/deployment.yaml but commented out" in table
    assert "not explored (--max-renders)" in table
    assert main([*TOOLMAN, "--format", "markdown", "--max-renders", "0"]) == 0
    md = capsys.readouterr().out
    assert md.startswith("# Value sets of toolman 0.1.0") and "| Component |" in md


def test_three_sets_and_shared_overrides(capsys: pytest.CaptureFixture[str]) -> None:
    values = FIXTURES / "values"
    assert main(["compare", "--chart", str(FIXTURES / "charts" / "webapp"),
                 "--value-set", f"dev={values / 'webapp-dead-key.yaml'}",
                 "--value-set", f"staging={values / 'webapp-disabled-switch.yaml'}",
                 "--value-set", f"production={values / 'webapp-pdb.yaml'}",
                 "--set", "image.tag=2.5.0", "--format", "json", "--max-renders", "40"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in doc["sets"]] == ["defaults", "dev", "staging", "production"]
    tags = {s["name"]: next(r["current_state"] for r in s["checklist"]
                            if r["component"] == "Image Tag") for s in doc["sets"]}
    assert set(tags.values()) == {"2.5.0"}  # --set applies to every set, defaults included


def test_bad_input_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    values = FIXTURES / "values"
    chart = str(FIXTURES / "charts" / "webapp")
    assert main(["compare", "--chart", chart, "--value-set", str(values / "webapp-pdb.yaml")]) \
        == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("toolman-kit: error: --value-set needs NAME=FILE") and "\n" not in err
    assert main(["compare", "--chart", chart, "--value-set", f"list={values / 'webapp-list.yaml'}",
                 "--value-set", f"pdb={values / 'webapp-pdb.yaml'}", "--format", "json",
                 "--max-renders", "0"]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == (
        f"toolman-kit: error: list: {values / 'webapp-list.yaml'}:1: a values file must be a "
        "mapping of keys, not a list")
    doc = json.loads(captured.out)  # the other sets are still compared
    assert doc["sets"][2]["name"] == "pdb" and doc["sets"][2]["added"]
    assert main(["compare", "--chart", chart, "-f", str(values / "webapp-list.yaml")]) == 2
    assert capsys.readouterr().err == (
        f"toolman-kit: error: {values / 'webapp-list.yaml'}:1: a values file must be a mapping "
        "of keys, not a list\n")  # a shared file: no set can be compared
    assert main(["compare", "--chart", chart, "--value-set", "gone=/nonexistent.yaml",
                 "--max-renders", "0"]) == 2
    assert "gone: /nonexistent.yaml: cannot read values file" in capsys.readouterr().err
    assert main(["compare", "--chart", str(FIXTURES / "charts" / "nope")]) == 2
    assert capsys.readouterr().err == (f"toolman-kit: error: {FIXTURES / 'charts' / 'nope'}: "
                                       "not a Helm chart directory (no Chart.yaml)\n")


def test_the_output_file_is_written_atomically(tmp_path: Path) -> None:
    out = tmp_path / "c.md"
    out.write_text("previous")
    assert main(["compare", "--chart", str(FIXTURES / "charts" / "legacy"), "--format",
                 "markdown", "-o", str(out)]) == 0
    assert out.read_text().startswith("# Value sets of legacy")
    assert [p.name for p in tmp_path.iterdir()] == ["c.md"]  # no temporary left behind


# --- the render cache and the process pool ---------------------------------------------------

def test_renders_are_cached_by_chart_and_values() -> None:
    with Renderer(CHART, "toolman", "toolman") as r:
        first = r.render({"replicaCount": 2})
        again = r.render({"replicaCount": 2})
        assert first is again and r.renders == 1
        assert r.render({"replicaCount": 3}).objects != first.objects and r.renders == 2


def test_the_process_pool_renders_what_this_process_renders(monkeypatch) -> None:
    many = [{"replicaCount": n} for n in range(1, 25)]
    with Renderer(CHART, "toolman", "toolman", jobs=1) as here:
        expected = here.render_many(many)
    # Always worth it: use the workers (fast renders on an idle machine would not pay for them).
    monkeypatch.setattr(batch.Renderer, "_pool_pays", lambda self, left: self.jobs > 1)
    with Renderer(CHART, "toolman", "toolman", jobs=2) as pooled:
        got = pooled.render_many(many)
        assert pooled.pooled > 0
    assert [o.objects for o in got] == [o.objects for o in expected]
    assert [o.text for o in got] == [o.text for o in expected]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal_and_a_line_otherwise() -> None:
    from toolman_kit.progress import Progress

    log = io.StringIO()
    with Progress(log, "production: provenance", 3) as bar:
        for _ in range(3):
            bar.advance()
    assert re.fullmatch(r"production: provenance: 3/3 in \d+\.\ds\n", log.getvalue())
    tty = Terminal()
    with Progress(tty, "production: provenance", 2) as bar:
        bar.advance()
        bar.advance()
    assert "\r\x1b[2Kproduction: provenance ████████████░░░░░░░░░░░░ 1/2, 0:00 left" in \
        tty.getvalue()
    assert tty.getvalue().endswith("2/2 in 0.0s\n")


def test_progress_lines_per_item_and_failures_above_the_bar() -> None:
    from toolman_kit.progress import Progress

    log, tty = io.StringIO(), Terminal()
    for stream in (log, tty):
        with Progress(stream, "targets", 2) as bar:
            bar.advance(line="a: ok")
            bar.advance(line="b: failed", always=True)
    assert re.fullmatch(r"\[1/2\] a: ok\n\[2/2\] b: failed\ntargets: 2/2 in \d+\.\ds\n",
                        log.getvalue())
    assert "a: ok" not in tty.getvalue()  # the bar counts it
    assert "\r\x1b[2Kb: failed\n\r\x1b[2Ktargets ████" in tty.getvalue()  # then the bar again
