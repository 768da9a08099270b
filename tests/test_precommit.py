"""The pre-commit hooks (.pre-commit-hooks.yaml): changed files → the charts holding them, and
both hooks installed and run by the real `pre-commit` on a temporary repository."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import CHART, ROOT, make_chart

from toolman_kit.commands.precommit import charts, run

CONFIG_MAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: '1'\n"
BAD = (ROOT / "examples/toolman/rendered/default.yaml").read_text()
GIT = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
       "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_NOSYSTEM": "1"}


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """deploy/bad.yaml (fails), deploy/ok.yaml (passes), bad/ (the example chart, with a
    subchart in charts/), ok/ (a chart of one ConfigMap), notes.txt; the cwd."""
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy/bad.yaml").write_text(BAD)
    (tmp_path / "deploy/ok.yaml").write_text(CONFIG_MAP)
    shutil.copytree(CHART, tmp_path / "bad")
    make_chart(tmp_path / "bad/charts/sub", {"cm.yaml": CONFIG_MAP},
               chart_yaml="apiVersion: v2\nname: sub\nversion: 0.1.0\n")
    make_chart(tmp_path / "ok", {"cm.yaml": CONFIG_MAP})
    (tmp_path / "notes.txt").write_text("not a chart\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_files_map_to_the_outermost_chart_holding_them(repo):
    assert charts(["bad/charts/sub/templates/cm.yaml", "notes.txt", "ok/values.yaml",
                   "bad/Chart.yaml", str(repo / "ok/templates/cm.yaml")]) == [Path("bad"),
                                                                              Path("ok")]
    assert charts(["notes.txt", "deploy/ok.yaml"]) == []


def test_each_chart_is_checked_and_the_worst_status_wins(repo, sdk, capsys):
    assert run(["ok/values.yaml", "notes.txt"]) == 0
    assert "toolman-kit: chart ok\n" in capsys.readouterr().err
    assert run(["--format", "json", "bad/values.yaml", "ok/values.yaml"]) == 1
    out, err = capsys.readouterr()
    assert err.count("toolman-kit: chart ") == 2 and out.count('"tool":') == 2
    assert run(["--fail-on", "never", "bad/templates/deployment.yaml"]) == 0  # options apply
    capsys.readouterr()
    assert run(["notes.txt"]) == 0 and capsys.readouterr() == ("", "")


def test_a_chart_that_does_not_render_is_not_hidden_by_a_clean_one(repo, sdk, capsys):
    (repo / "bad/templates/broken.yaml").write_text("{{ fail \"broken on purpose\" }}\n")
    assert run(["bad/values.yaml", "ok/values.yaml"]) == 2
    assert "broken on purpose" in capsys.readouterr().err


def _git(cwd: Path, *argv: str) -> str:
    return subprocess.run(["git", *argv], cwd=cwd, check=True, capture_output=True, text=True,
                          env={**os.environ, **GIT}).stdout.strip()


@pytest.mark.slow
def test_the_hooks_run_by_pre_commit(repo, tmp_path_factory):
    """The kit as pre-commit gets it, a commit of this checkout's files (uncommitted work too):
    a user's .pre-commit-config.yaml names it by path and revision, pre-commit installs it
    (with the Helm SDK) into its own environment, once for both hooks, and runs them."""
    pytest.importorskip("pre_commit")
    kit = tmp_path_factory.mktemp("kit")
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, check=True, capture_output=True, text=True).stdout
    for name in listed.splitlines():
        if (ROOT / name).is_file():
            (kit / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, kit / name)
    _git(kit, "init", "-q", ".")
    _git(kit, "add", "-A")
    _git(kit, "commit", "-qm", "kit")
    hooks = [{"id": "toolman-kit-check"}, {"id": "toolman-kit-chart"}]
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump({"repos": [
        {"repo": str(kit), "rev": _git(kit, "rev-parse", "HEAD"), "hooks": hooks}]}))
    _git(repo, "init", "-q", ".")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "repo")
    env = {**os.environ, **GIT, "PRE_COMMIT_HOME": str(tmp_path_factory.mktemp("cache")),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}

    def hook(hook_id: str, *files: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pre_commit", "run", hook_id, "--verbose",
                               "--files", *files], cwd=repo, env=env, capture_output=True,
                              text=True, timeout=900)

    failed = hook("toolman-kit-check", "deploy/bad.yaml", "bad/values.yaml", "notes.txt")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "privileged-container" in failed.stdout and "<rendered" not in failed.stdout
    passed = hook("toolman-kit-check", "deploy/ok.yaml", ".pre-commit-config.yaml",
                  "ok/Chart.yaml", "ok/templates/cm.yaml")  # only deploy/ok.yaml is a manifest
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "1 object, 0 workloads: 0 errors" in passed.stdout
    failed = hook("toolman-kit-chart", "bad/charts/sub/values.yaml", "ok/values.yaml")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "toolman-kit: chart bad" in failed.stdout and "<rendered bad>" in failed.stdout
    passed = hook("toolman-kit-chart", "ok/templates/cm.yaml", "notes.txt", "deploy/bad.yaml")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "toolman-kit: chart ok" in passed.stdout and "chart bad" not in passed.stdout
