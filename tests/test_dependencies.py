"""Subcharts declared in Chart.yaml but missing from charts/: disabled ones (condition, tags, as
Helm decides) are skipped with one warning, enabled ones are a one-line error naming them and
`helm dependency build`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import toolman_kit as tk
from toolman_kit.chart.dependencies import decide
from toolman_kit.errors import RenderError

CHART_YAML = """apiVersion: v2
name: app
version: 0.1.0
dependencies:
  - name: redis
    version: 1.0.0
    repository: https://charts.example.invalid
    condition: redis.enabled,global.redis.enabled
    tags: [cache]
"""


def _chart(root: Path, values: str) -> Path:
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text(CHART_YAML)
    (root / "values.yaml").write_text(values)
    (root / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {a: b}\n")
    return root


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "toolman_kit", *args], capture_output=True,
                          text=True, env=os.environ, check=False)


def _enabled(dep: dict, values: dict) -> tuple[bool, str]:
    (d,) = decide([{"name": "redis", **dep}], values)
    return d.enabled, d.why


def test_condition_first_bool_wins_and_non_bools_are_passed_over() -> None:
    dep = {"condition": "a.on,b.on"}
    assert _enabled(dep, {"a": {"on": False}, "b": {"on": True}}) == (False, "by condition a.on")
    assert _enabled(dep, {"a": {"on": "no"}, "b": {"on": False}}) == (False, "by condition b.on")
    assert _enabled(dep, {"a": {"on": {"x": 1}}}) == (True, "no condition or tag decides")
    assert _enabled(dep, {}) == (True, "no condition or tag decides")


def test_tags_any_true_enables_and_condition_wins_over_tags() -> None:
    dep = {"tags": ["cache", "extra"]}
    assert _enabled(dep, {"tags": {"cache": False, "extra": True}})[0] is True
    assert _enabled(dep, {"tags": {"cache": False}}) == (False, "by tags cache")
    assert _enabled(dep, {"tags": {"cache": "false"}})[0] is True  # not a bool: no vote
    both = {"tags": ["cache"], "condition": "redis.enabled"}
    assert _enabled(both, {"tags": {"cache": False}, "redis": {"enabled": True}}) == \
        (True, "by condition redis.enabled")
    assert _enabled(both, {"tags": {"cache": True}, "redis": {"enabled": False}})[0] is False


def test_a_disabled_missing_subchart_renders_with_one_warning(tmp_path: Path) -> None:
    chart = _chart(tmp_path / "app", "redis:\n  enabled: false\n")
    r = tk.render(chart)
    assert "kind: ConfigMap" in r.text
    assert r.warnings == ("chart 'app': skipped disabled dependencies missing from charts/ "
                          "(redis, disabled by condition redis.enabled)",)
    done = _cli("check", "--chart", str(chart))
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("warning: chart 'app': skipped disabled dependencies") == 1
    assert f"{chart}/Chart.yaml: warning:" in done.stderr


def test_an_enabled_missing_subchart_fails_in_one_line(tmp_path: Path) -> None:
    chart = _chart(tmp_path / "app", "redis:\n  enabled: false\n")
    done = _cli("check", "--chart", str(chart), "--set", "redis.enabled=true", "--offline")
    assert done.returncode == 2
    line, = done.stderr.splitlines()  # one line: fetching it was not allowed (--offline)
    assert line.startswith(f"{chart}/Chart.yaml: chart 'app' needs dependencies missing from "
                           "charts/ (redis, enabled by condition redis.enabled), and redis "
                           "1.0.0 cannot be fetched from https://charts.example.invalid (")
    assert "--offline" in line
    assert line.endswith(f"): run `helm dependency build {chart}`")


def test_tags_from_a_values_file_decide_and_the_condition_overrides_them(tmp_path: Path) -> None:
    chart = _chart(tmp_path / "app", "tags:\n  cache: false\n")
    assert "disabled by tags cache" in tk.render(chart).warnings[0]
    on = tmp_path / "on.yaml"
    on.write_text("redis:\n  enabled: true\n")  # the condition beats the false tag
    with pytest.raises(RenderError, match=r"redis, enabled by condition redis.enabled\)"):
        tk.render(chart, [on])
    tagged = tmp_path / "tagged.yaml"
    tagged.write_text("tags:\n  cache: true\n")
    with pytest.raises(RenderError, match=r"enabled by tags cache"):
        tk.render(chart, [tagged])
    assert tk.render(chart, [tagged], ["redis.enabled=false"]).warnings  # --set last, wins


def test_the_values_analysis_renders_a_chart_with_a_disabled_missing_subchart(
        tmp_path: Path) -> None:
    chart = _chart(tmp_path / "app", "redis:\n  enabled: false\n")
    c = tk.compare_values(chart)
    assert c.set("defaults").errors == []
    assert c.set("defaults").analysis is not None
    assert c.warnings == [{"file": str(chart / "Chart.yaml"),
                           "message": "chart 'app': skipped disabled dependencies missing from "
                                      "charts/ (redis, disabled by condition redis.enabled)"}]


SKIPPED = "warning: chart 'app': skipped disabled dependencies missing from charts/"


def _valid(doc: dict, schema: str) -> None:
    import jsonschema

    path = Path(tk.__file__).parent / "schemas" / schema
    jsonschema.Draft202012Validator(json.loads(path.read_text())).validate(doc)


def test_the_api_analysis_keeps_the_render_warning(tmp_path: Path) -> None:
    chart = _chart(tmp_path / "app", "redis:\n  enabled: false\n")
    a = tk.Analysis.of(tk.render(chart), errors="ignore")
    assert [(w.file, w.message) for w in a.warnings] == [
        (str(chart / "Chart.yaml"), SKIPPED.removeprefix("warning: ")
         + " (redis, disabled by condition redis.enabled)")]
    with pytest.warns(tk.ToolmanKitWarning, match="skipped disabled dependencies") as said:
        tk.analyze(tk.render(chart))
    assert len(said) == 1
    (tmp_path / "app" / "Chart.yaml").write_text("apiVersion: v2\nname: app\nversion: 0.1.0\n")
    assert tk.Analysis.of(tk.render(chart), errors="ignore").warnings == []


def test_compare_shows_the_warning_once_on_stderr_json_table_and_markdown(
        tmp_path: Path) -> None:
    chart = _chart(tmp_path / "app", "redis:\n  enabled: false\n")
    prod = tmp_path / "prod.yaml"
    prod.write_text("a: 1\n")
    args = ("compare", "--chart", str(chart), "--value-set", f"prod={prod}", "-j", "1")
    done = _cli(*args, "--format", "json")
    assert done.returncode == 0, done.stderr
    assert done.stderr.count(SKIPPED) == 1  # many renders, one warning
    assert f"{chart}/Chart.yaml: {SKIPPED}" in done.stderr
    doc = json.loads(done.stdout)
    _valid(doc, "comparison.schema.json")
    assert [w["file"] for w in doc["warnings"]] == [str(chart / "Chart.yaml")]
    table = _cli(*args).stdout
    assert table.count(SKIPPED) == 1 and table.index(SKIPPED) < table.index("Checklist")
    markdown = _cli(*args, "--format", "markdown").stdout
    assert markdown.count("skipped disabled dependencies") == 1
    assert "> **Warning:** chart 'app': skipped" in markdown


def test_suggest_shows_the_warning_once_on_stderr_and_in_json(tmp_path: Path) -> None:
    chart = _chart(tmp_path / "app", "redis:\n  enabled: false\n")
    done = _cli("suggest", "--chart", str(chart), "--format", "json", "-j", "1")
    assert done.returncode == 0, done.stderr
    assert done.stderr.count(SKIPPED) == 1
    doc = json.loads(done.stdout)
    _valid(doc, "suggestion.schema.json")
    assert doc["warnings"] == [{"file": str(chart / "Chart.yaml"),
                                "message": SKIPPED.removeprefix("warning: ")
                                + " (redis, disabled by condition redis.enabled)"}]
