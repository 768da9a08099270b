"""The composite GitHub action (action.yml), its steps run as a script: each `run:` step with
bash as GitHub runs it (`bash --noprofile --norc -eo pipefail`), after the `${{ … }}`
expressions are given this test's values; `uses:` steps are what a runner would do (setup-python:
a Python on PATH; upload-sarif: the file it would upload, read here)."""

import json
import os
import re
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import CHART, EXAMPLE, PRODUCTION, ROOT, source_copy

ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
RENDERED = str(EXAMPLE / "rendered" / "default.yaml")
SETUP, UPLOAD = "actions/setup-python@v5", "github/codeql-action/upload-sarif@v3"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def _value(expr: str, ctx: dict[str, Any]) -> str:
    if expr.startswith("inputs."):
        return ctx["inputs"][expr.removeprefix("inputs.")]
    if expr == "github.action_path":
        return str(ctx["action_path"])
    step, _, output = expr.removeprefix("steps.").partition(".outputs.")
    return ctx["outputs"].get(step, {})[output]


def _substitute(text: str, ctx: dict[str, Any]) -> str:
    return EXPRESSION.sub(lambda m: _value(m.group(1), ctx), text)


def _condition(text: str, ctx: dict[str, Any], failed: bool) -> bool:
    """`if:` as the action writes it: terms joined by &&, each always(), `inputs.x == 'v'` or
    `hashFiles(inputs.x) != ''`; no `if` means success()."""
    result = not failed
    for term in (t.strip() for t in text.split("&&") if text):
        if term == "always()":
            result = True
        elif m := re.fullmatch(r"hashFiles\(([\w.-]+)\) != ''", term):
            result = result and (ctx["cwd"] / _value(m.group(1), ctx)).is_file()
        elif m := re.fullmatch(r"([\w.-]+) == '([^']*)'", term):
            result = result and _value(m.group(1), ctx) == m.group(2)
        else:
            raise AssertionError(f"an `if:` this test cannot evaluate: {term}")
    return result


def run_action(cwd: Path, python: Path, install: bool = False,
               environ: dict[str, str] | None = None, action_path: Path = ROOT,
               **given: str) -> dict[str, Any]:
    """The action's steps in order, as a runner does: after a failed step only those whose
    `if` says always() run. `python` is the interpreter setup-python would give; without
    `install` the install step is left out (the kit is already in `python`'s environment);
    `action_path`: the action's checkout."""
    inputs = {name: spec.get("default", "") for name, spec in ACTION["inputs"].items()}
    assert set(given) <= set(inputs), set(given) - set(inputs)
    inputs.update({k: str(v) for k, v in given.items()})
    ctx: dict[str, Any] = {"inputs": inputs, "outputs": {}, "cwd": cwd,
                           "action_path": action_path}
    environ = dict(os.environ) if environ is None else environ
    path = f"{python.parent}{os.pathsep}{environ['PATH']}"
    failed, uploaded, statuses = False, None, {}
    for step in ACTION["runs"]["steps"]:
        if not _condition(step.get("if", ""), ctx, failed):
            continue
        if step.get("uses") == SETUP:
            assert step["with"]["python-version"] == "${{ inputs.python-version }}"
            continue  # `python` is on PATH
        if step.get("uses") == UPLOAD:
            uploaded = cwd / _substitute(step["with"]["sarif_file"], ctx)
            continue
        if step.get("id") == "install" and not install:
            continue
        outputs = cwd / f"output-{step['id']}"
        outputs.write_text("")
        env = {**environ, "PATH": path, "GITHUB_OUTPUT": str(outputs),
               **{k: _substitute(str(v), ctx) for k, v in step.get("env", {}).items()}}
        assert step["shell"] == "bash" and "${{" not in step["run"]  # inputs come by env
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                               step["run"]], cwd=cwd, env=env, capture_output=True, text=True)
        statuses[step["id"]] = done.returncode
        ctx["outputs"][step["id"]] = dict(line.split("=", 1) for line in
                                          outputs.read_text().splitlines())
        ctx["log"] = ctx.get("log", "") + done.stdout + done.stderr
        failed = failed or done.returncode != 0
    return {"failed": failed, "statuses": statuses, "uploaded": uploaded, "log": ctx["log"],
            "outputs": {k: _substitute(v["value"], ctx) for k, v in ACTION["outputs"].items()}}


def sarif(path: Path) -> dict[str, Any]:
    doc = json.loads(path.read_text())
    assert doc["version"] == "2.1.0"
    return doc["runs"][0]


def test_the_action_is_composite_and_uses_only_its_inputs():
    assert ACTION["runs"]["using"] == "composite"
    steps = ACTION["runs"]["steps"]
    assert [s.get("uses") or s["id"] for s in steps] == [SETUP, "install", "run", UPLOAD]
    used = set(re.findall(r"inputs\.([\w-]+)", yaml.safe_dump(ACTION)))
    assert used == set(ACTION["inputs"])  # every input is used, and only inputs that exist
    assert "always()" in steps[-1]["if"]  # the SARIF goes up when findings fail the job


def test_check_fails_per_fail_on_and_the_sarif_is_uploaded_either_way(tmp_path):
    python = Path(sys.executable)
    run = run_action(tmp_path, python, paths=RENDERED)
    assert run["failed"] and run["statuses"]["run"] == 1
    assert "privileged-container" in run["log"] and "; profile production" in run["log"]
    assert run["uploaded"] == tmp_path / "toolman-kit.sarif" == tmp_path / run["outputs"][
        "sarif-file"]
    assert any(r["ruleId"] == "privileged-container" for r in sarif(run["uploaded"])["results"])
    run = run_action(tmp_path, python, paths=RENDERED, **{"fail-on": "never",
                                                          "sarif-file": "out.sarif"})
    assert not run["failed"] and sarif(tmp_path / "out.sarif")["results"]
    run = run_action(tmp_path, python, paths=RENDERED, **{"upload-sarif": "false"})
    assert run["failed"] and run["uploaded"] is None


def test_a_chart_with_values_profile_and_configuration(tmp_path, sdk):
    config = tmp_path / "ci.yaml"
    config.write_text("fail_on: never\n")
    run = run_action(tmp_path, Path(sys.executable), chart=str(CHART), values=str(PRODUCTION),
                     profile=str(EXAMPLE / "profile.yaml"), config=str(config))
    assert not run["failed"], run["log"]
    assert "; profile toolman-production" in run["log"]
    assert sarif(run["uploaded"])["properties"] == {"config": str(config)}


def test_an_unknown_command_and_an_input_error_fail_the_job(tmp_path):
    run = run_action(tmp_path, Path(sys.executable), command="lint", paths=RENDERED)
    assert run["statuses"]["run"] == 2 and "must be check or report" in run["log"]
    assert run["uploaded"] is None  # no SARIF was written: nothing to upload
    run = run_action(tmp_path, Path(sys.executable), paths=str(tmp_path / "missing.yaml"))
    assert run["statuses"]["run"] == 2
    assert sarif(run["uploaded"])["invocations"][0]["executionSuccessful"] is False


@pytest.mark.slow
def test_the_install_step_and_a_report(tmp_path):
    """The install step for real, into a new environment (its dependencies are this one's,
    through a .pth file and JUPYTER_PATH: pip sees them installed and builds only the kit, a
    wheel of a clean copy of the checkout), then `report`, which runs the wheel's notebooks."""
    env = tmp_path / "env"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path("
                           "'purelib'))"], check=True, capture_output=True, text=True).stdout
    ours = [p for p in sys.path if p.endswith("site-packages")]
    (Path(site.strip()) / "ours.pth").write_text("\n".join(ours) + "\n")
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the installed kit
    clean["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")  # nbconvert's templates
    work = tmp_path / "work"
    work.mkdir()
    run = run_action(work, python, install=True, environ=clean, command="report",
                     paths=RENDERED, action_path=source_copy(tmp_path / "action"))
    assert run["statuses"] == {"install": 0, "run": 0}, run["log"]
    assert (env / "bin" / "toolman-kit").is_file()
    installed = Path(site.strip()) / "toolman_kit"  # not editable: the notebooks in the wheel
    assert (installed / "notebooks" / "00_summary.ipynb").is_file()
    assert not list(Path(site.strip()).glob("__editable__*"))
    assert (work / "toolman-kit-report" / "index.html").is_file()
    assert sarif(run["uploaded"])["results"]
