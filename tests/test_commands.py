"""The command line as one whole: a flag means the same and reads the same in every command, every
option says what it does and its default, old spellings still work with a warning, an option that
would be ignored is an error, and the exit statuses are defined in one place."""

from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path

import pytest

from toolman_kit import commands
from toolman_kit.commands import main
from toolman_kit.commands.options import DEPRECATED_VALUES, parse_value_sets
from toolman_kit.errors import ToolmanKitError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "toolman"
DEFAULT = str(EXAMPLE / "rendered" / "default.yaml")
FIXTURES = Path(__file__).parent / "fixtures"
WEBAPP = str(FIXTURES / "charts" / "webapp")
PDB = str(FIXTURES / "values" / "webapp-pdb.yaml")
# Options that take a value but have no default to state: the inputs themselves.
NO_DEFAULT = {"--chart", "--values", "--value-set", "--set", "--baseline"}


def parsers() -> dict[str, argparse.ArgumentParser]:
    """Each command's parser, by name."""
    parser = commands._parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(subparsers.choices)


def options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """The parser's options by their long name (or short, if it has no long one)."""
    return {a.option_strings[-1]: a for a in parser._actions
            if a.option_strings and not isinstance(a, argparse._HelpAction)}


def test_an_option_reads_the_same_in_every_command() -> None:
    seen: dict[str, dict[str, argparse.Action]] = {}
    for name, parser in parsers().items():
        for flag, action in options(parser).items():
            seen.setdefault(flag, {})[name] = action
    shared = {flag: by_command for flag, by_command in seen.items() if len(by_command) > 1}
    assert {"--chart", "--values", "--set", "--release", "--namespace", "--profile",
            "--kube-version", "--format", "--output", "--fail-on", "--max-renders",
            "--jobs"} <= set(shared)
    for flag, by_command in shared.items():
        if flag == "--baseline":  # what came before, as each command reads it: report's
            continue  # manifests to compare with, check's findings that are known
        assert len({tuple(a.option_strings) for a in by_command.values()}) == 1, flag
        assert len({a.metavar for a in by_command.values()}) == 1, flag
        if flag != "--jobs":  # -j says, per command, what runs in parallel
            assert len({a.help for a in by_command.values()}) == 1, (flag, list(by_command))
    assert options(parsers()["compare"])["--values"].option_strings == ["-f", "--values"]


def test_jobs_says_what_runs_in_parallel_in_each_command() -> None:
    helps = {name: options(p)["--jobs"].help for name, p in parsers().items()
             if "--jobs" in options(p)}
    assert set(helps) == {"report", "compare", "suggest", "batch"}
    assert all(h.endswith("in parallel (default: the CPU count)") for h in helps.values())
    assert "kernels" in helps["report"] and "targets" in helps["batch"]
    assert "render processes" in helps["compare"] and helps["compare"] == helps["suggest"]


def test_every_option_has_help_that_states_its_default() -> None:
    for name, parser in parsers().items():
        for flag, action in options(parser).items():
            assert action.help, (name, flag)
            if action.nargs != 0 and flag not in NO_DEFAULT:
                assert "default" in action.help, (name, flag, action.help)
        for action in parser._actions:
            if not action.option_strings:
                assert action.help, (name, action.dest)


def test_the_max_renders_help_states_the_values_default() -> None:
    from toolman_kit.chart.values import DEFAULT_MAX_RENDERS

    for name in ("compare", "suggest"):
        assert f"(default: {DEFAULT_MAX_RENDERS})" in options(parsers()[name])["--max-renders"].help


@pytest.mark.parametrize("command", ["compare", "report"])
def test_values_name_file_is_deprecated_for_value_set(
        command: str, capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "odd=name.yaml").write_text("{}\n")  # a file by the whole name is a file
    args = commands._parser().parse_args([
        command, "--chart", "c", "--values", "prod=a.yaml", "--value-set", "dev=b.yaml",
        "--values", "prod=c.yaml", "-f", "s.yaml", "--values", "plain.yaml",
        "--values", "dir/x=y.yaml", "--values", "odd=name.yaml", "-f", "f=g.yaml"])
    assert args.value_sets == ["prod=a.yaml", "dev=b.yaml", "prod=c.yaml"]
    assert args.values == ["s.yaml", "plain.yaml", "dir/x=y.yaml", "odd=name.yaml", "f=g.yaml"]
    assert capsys.readouterr().err == DEPRECATED_VALUES + "\n"  # once, however many sets
    commands._parser().parse_args([command, "--chart", "c", "--value-set", "a=b.yaml",
                                   "--values", "plain.yaml"])
    assert capsys.readouterr().err == ""


def test_the_old_spelling_compares_as_the_new(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("helm_python")
    argv = ["compare", "--chart", WEBAPP, "--format", "json", "--max-renders", "0", "-j", "1"]
    assert main([*argv, "--value-set", f"pdb={PDB}"]) == 0
    new = capsys.readouterr()
    assert main([*argv, "--values", f"pdb={PDB}"]) == 0
    old = capsys.readouterr()
    assert old.out == new.out and [s["name"] for s in json.loads(old.out)["sets"]] == [
        "defaults", "pdb"]
    assert old.err.splitlines()[0] == DEPRECATED_VALUES
    assert DEPRECATED_VALUES not in new.err


def test_compare_values_file_is_a_values_file_as_everywhere(
        capsys: pytest.CaptureFixture[str]) -> None:
    """`compare --values FILE` (an error before) is `-f FILE`: applied to every set."""
    pytest.importorskip("helm_python")
    argv = ["compare", "--chart", WEBAPP, "--format", "json", "--max-renders", "0", "-j", "1"]
    assert main([*argv, "-f", PDB]) == 0
    short = capsys.readouterr().out
    assert main([*argv, "--values", PDB]) == 0
    long, err = capsys.readouterr()
    assert long == short and err.count("warning") == 0
    sets = json.loads(long)["sets"]
    assert [s["name"] for s in sets] == ["defaults"] and sets[0]["files"] == [PDB]


@pytest.mark.parametrize(("argv", "flag"), [
    (["check", DEFAULT, "-f", PDB], "-f/--values"),
    (["check", DEFAULT, "--values", PDB], "-f/--values"),
    (["check", DEFAULT, "--set", "a=1"], "--set"),
    (["check", DEFAULT, "--release", "r"], "--release"),
    (["report", DEFAULT, "-f", PDB], "-f/--values"),
    (["report", "-f", PDB], "-f/--values"),  # the example: its own values, not these
])
def test_a_chart_option_without_a_chart_is_an_error(
        argv: list[str], flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"toolman-kit: error: {flag} needs --chart DIR: it applies to rendering a " \
        "chart\n"


def test_fail_on_gates_on_the_worst_failure(capsys: pytest.CaptureFixture[str]) -> None:
    warnings_only = str(FIXTURES / "checks" / "network-policy-namespace-label"
                        / "pass-no-namespace-selector.yaml")
    for path, fail_on, code in ((warnings_only, "error", 0), (warnings_only, "warning", 1),
                                (warnings_only, "never", 0), (DEFAULT, "error", 1)):
        assert main(["check", path, "--fail-on", fail_on, "--format", "csv"]) == code, \
            (path, fail_on)
    capsys.readouterr()


def test_parse_value_sets() -> None:
    assert parse_value_sets(["prod=a.yaml", "dev=b.yaml", "prod=c.yaml"]) == [
        ("prod", ["a.yaml", "c.yaml"]), ("dev", ["b.yaml"])]
    for bad in ("a.yaml", "=a.yaml", "prod="):
        with pytest.raises(ToolmanKitError, match="--value-set needs NAME=FILE"):
            parse_value_sets([bad])
    with pytest.raises(ToolmanKitError, match="chart's own defaults"):
        parse_value_sets(["defaults=a.yaml"])


def test_exit_statuses_and_fail_on_are_defined_once() -> None:
    """In toolman_kit/exits.py; the commands and the fleet return its names, not numbers."""
    package = ROOT / "toolman_kit"
    for path in package.rglob("*.py"):
        assigned = {name.id for node in ast.walk(ast.parse(path.read_text()))
                    if isinstance(node, ast.Assign | ast.AnnAssign)
                    for target in getattr(node, "targets", [getattr(node, "target", None)])
                    for name in ast.walk(target) if isinstance(name, ast.Name)}
        constants = {n for n in assigned if n.startswith("EXIT_") or n == "FAIL_ON"}
        if path.name == "exits.py":
            assert constants == {"EXIT_OK", "EXIT_FINDINGS", "EXIT_INPUT", "EXIT_INTERRUPTED",
                                 "EXIT_BROKEN_PIPE", "EXIT_TERMINATED", "FAIL_ON"}
        else:
            assert not constants, (path, constants)
    for path in [*(package / "commands").glob("*.py"), package / "fleet" / "runner.py"]:
        returned = [node.lineno for node in ast.walk(ast.parse(path.read_text()))
                    if isinstance(node, ast.Return) and isinstance(node.value, ast.Constant)
                    and type(node.value.value) is int]
        assert not returned, (path, returned)
