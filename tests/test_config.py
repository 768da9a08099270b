"""The configuration file: found up to the repository root and not beyond, the command line wins
over it, its errors are one line with file:line, and every output names it."""

import contextlib
import html
import io
import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from toolman_kit.chart.capabilities import _API_VERSION
from toolman_kit.commands import _parser, main
from toolman_kit.commands.options import apply_config
from toolman_kit.config import ConfigError, discover, load_config, schema
from toolman_kit.exits import FAIL_ON
from toolman_kit.present.formats import FORMATS
from toolman_kit.text import md_cell

ROOT = Path(__file__).resolve().parents[1]
RENDERED = ROOT / "examples/toolman/rendered/default.yaml"
SCHEMAS = {"compare": "comparison.schema.json", "suggest": "suggestion.schema.json"}


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A repository (a `.git` directory) with the example manifests in sub/, the cwd."""
    (tmp_path / "repo/.git").mkdir(parents=True)
    (tmp_path / "repo/sub").mkdir()
    shutil.copy(RENDERED, tmp_path / "repo/sub/default.yaml")
    monkeypatch.chdir(tmp_path / "repo/sub")
    return tmp_path / "repo"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def check(capsys, *argv):
    code = main(["check", "default.yaml", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_discovery_goes_up_to_the_repository_root_and_not_beyond(repo):
    assert discover() is None
    above = write(repo.parent / ".toolman-kit.yaml", "fail_on: never\n")
    assert discover() is None  # outside the checkout: not this repository's
    config = write(repo / ".toolman-kit.yaml", "")
    assert discover() == config
    nearer = write(repo / "sub/.toolman-kit.yaml", "")
    assert discover() == nearer
    (repo / ".git").rmdir()
    (repo / ".git").write_text("gitdir: elsewhere\n")  # a worktree's .git is a file
    nearer.unlink()
    config.unlink()
    assert discover() is None
    (repo / ".git").unlink()  # no repository: up to the filesystem root
    assert discover() == above


def test_the_file_sets_checks_defaults_and_flags_win(repo, capsys):
    code, out, err = check(capsys)
    assert code == 1 and "configuration" not in out + err
    write(repo / ".toolman-kit.yaml", "fail_on: never\nformat: json\n")
    code, out, err = check(capsys)
    assert code == 0 and json.loads(out)["config"] == str(repo / ".toolman-kit.yaml")
    assert err.count(f"toolman-kit: configuration: {repo / '.toolman-kit.yaml'}\n") == 1
    code, out, _ = check(capsys, "--fail-on", "error", "--format", "table")
    assert code == 1 and out.rstrip().endswith(f"; configuration {repo / '.toolman-kit.yaml'}")
    code, out, err = check(capsys, "--no-config")
    assert code == 1 and "configuration" not in out + err


def test_profile_is_relative_to_the_file_and_its_keys_derive_a_profile(repo, capsys):
    shutil.copy(ROOT / "examples/toolman/profile.yaml", repo / "team.yaml")
    write(repo / ".toolman-kit.yaml",
          "profile: team.yaml\nformat: json\nexemptions:\n"
          "  - {check: pdb-missing, reason: drained by hand}\n")
    _, out, _ = check(capsys)
    data = json.loads(out)
    assert data["tool"]["profile"] == "toolman-production"  # the named profile's name
    pdb = [f for f in data["findings"] if f["check_id"] == "pdb-missing"]
    assert pdb and all(f["status"] == "exempt" for f in pdb)
    assert pdb[0]["exempt_reason"].endswith("drained by hand")
    _, out, _ = check(capsys, "--profile", "production")
    data = json.loads(out)
    assert data["tool"]["profile"] == "production"
    assert all(f["status"] == "exempt" for f in data["findings"]
               if f["check_id"] == "pdb-missing")  # the exemptions go with any profile


def test_an_explicit_file_and_every_command_takes_the_options(repo, capsys):
    config = write(repo / "ci.yaml", "format: sarif\n")
    _, out, _ = check(capsys, "--config", str(config))
    assert json.loads(out)["runs"][0]["properties"] == {"config": str(config)}
    _, out, _ = check(capsys, "--config", str(config), "--format", "markdown")
    assert out.splitlines()[2] == f"Configuration: {md_cell(config)}"  # escaped, as every cell
    for command in ("check", "checks", "report", "compare", "suggest", "batch"):
        help_text = _parser()._subparsers._group_actions[0].choices[command].format_help()
        assert "--config FILE" in help_text and "--no-config" in help_text


def test_kube_version_and_api_versions_apply_unless_given(repo):
    write(repo / ".toolman-kit.yaml",
          'kube_version: "1.29"\napi_versions: [monitoring.coreos.com/v1]\n')
    args = _parser().parse_args(["check", "x.yaml"])
    with apply_config(args):
        assert (args.kube_version, args.api_versions) == ("1.29", ["monitoring.coreos.com/v1"])
        assert (args.profile, args.format, args.fail_on) == ("production", "table", "error")
    args = _parser().parse_args(["check", "x.yaml", "--kube-version", "1.31", "-a", "a.io/v1"])
    with apply_config(args):
        assert (args.kube_version, args.api_versions) == ("1.31", ["a.io/v1"])


@pytest.mark.parametrize("text, error", [
    ("profil: production\n", "1: profil: unknown key; did you mean 'profile'?"),
    ("fail_on: never\nkube_version: 1.30\n",
     '2: kube_version: must be a quoted version such as "1.31"'),
    ("exemptions:\n  - check: pdb-missing\n    reason: r\n    nmae: x\n",
     "4: exemptions[0].nmae: unknown key; did you mean 'name'?"),
    ("format: html\n", "1: format: must be one of"),
    ("fail_on: never\nfail_on: error\n", "2: fail_on: key given twice"),
    ("profile: [\n", "invalid YAML"),
    ("- a\n", "1: (top level): must be object"),
])
def test_errors_are_one_line_with_file_and_line(repo, capsys, text, error):
    path = write(repo / ".toolman-kit.yaml", text)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value).startswith(f"{path}:") and error in str(raised.value)
    code, out, err = check(capsys)
    assert code == 2 and not out
    assert err == f"toolman-kit: error: {raised.value}\n"


def test_a_missing_explicit_file_is_an_error(repo, capsys):
    code, _, err = check(capsys, "--config", "nope.yaml")
    assert code == 2 and err.startswith("toolman-kit: error: nope.yaml: cannot read")


def test_the_schema_says_what_the_kit_accepts():
    properties = schema()["properties"]
    assert set(properties["format"]["enum"]) == set(FORMATS)
    assert set(properties["fail_on"]["enum"]) == set(FAIL_ON)
    assert properties["api_versions"]["items"]["pattern"] == f"^{_API_VERSION.pattern}$"
    profile_schema = json.loads((ROOT / "toolman_kit/judge/profiles/schema.json").read_text())
    assert properties["exemptions"]["items"] == profile_schema["properties"]["exemptions"]["items"]


@pytest.mark.slow
def test_a_report_names_the_file_in_its_pages_and_files(tmp_path, monkeypatch):
    """`report --config` on the Toolman example: every page's head, deployment-analysis.md,
    findings.json, report.sarif, comparison.json, suggestion.json and suggested-values.yaml
    name the file, escaped where markup could be read."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ci <b>&*x*").mkdir()  # markup in HTML and in Markdown
    config = write(tmp_path / "ci <b>&*x*/c.yaml", "")
    out = tmp_path / "report"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["report", "--config", str(config), "--out", str(out)]) == 0, err.getvalue()
    shown = html.escape(str(config), quote=False)
    for page in [*out.glob("0*.html"), out / "index.html"]:
        text = page.read_text(encoding="utf-8")
        assert f"Configuration: {shown}" in text and str(config) not in text, page.name
    markdown = (out / "deployment-analysis.md").read_text(encoding="utf-8").splitlines()
    assert markdown[2] == f"Configuration: {md_cell(config)}" != f"Configuration: {config}"
    assert json.loads((out / "findings.json").read_text())["config"] == str(config)
    sarif = json.loads((out / "report.sarif").read_text())
    assert sarif["runs"][0]["properties"] == {"config": str(config)}
    for name in ("comparison.json", "suggestion.json"):  # the example's chart, suggested values
        assert json.loads((out / name).read_text())["config"] == str(config), name
    assert f"\n# Configuration: {config}\n" in (out / "suggested-values.yaml").read_text()


@pytest.mark.parametrize("command", ["compare", "suggest"])
def test_compare_and_suggest_name_the_file_in_their_documents_and_heads(tmp_path, capsys,
                                                                         command):
    """`config` in comparison.json and suggestion.json (null without a file, as their schemas
    say), and the head of every text format."""
    pytest.importorskip("helm_python")
    (tmp_path / "ci *x*").mkdir()
    config = write(tmp_path / "ci *x*/c.yaml", "")
    schema = json.loads((ROOT / f"toolman_kit/schemas/{SCHEMAS[command]}").read_text())
    chart = ["--chart", str(ROOT / "tests/fixtures/charts/suggest-pdb")]

    def run(*argv: str) -> str:
        assert main([command, *chart, *argv]) == 0
        return capsys.readouterr().out

    for argv, named in ((["--config", str(config)], str(config)), (["--no-config"], None)):
        doc = json.loads(run(*argv, "--format", "json"))
        jsonschema.Draft202012Validator(schema).validate(doc)
        assert doc["config"] == named
    heads = {"compare": {"table": f"configuration {config}",
                         "markdown": f"\nConfiguration: {md_cell(config)}\n"},
             "suggest": {"yaml": f"\n# Configuration: {config}\n",
                         "markdown": f"\nConfiguration: {md_cell(config)}\n"}}[command]
    for fmt, head in heads.items():
        assert head in run("--config", str(config), "--format", fmt), fmt
        assert "onfiguration" not in run("--no-config", "--format", fmt), fmt
