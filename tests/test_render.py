"""toolman_kit.chart.render: `helm template` output and `helm lint` messages from a chart dir."""

from __future__ import annotations

import os
import re
import shutil
import stat
import sys
from pathlib import Path

import pytest
import yaml
from helpers import CHART, PRODUCTION, make_chart

from toolman_kit.chart.lint import LintMessage
from toolman_kit.chart.merging import merge_values
from toolman_kit.chart.render import render
from toolman_kit.errors import RenderError
from toolman_kit.judge.apis import DEFAULT_KUBE_VERSION, served


def sources_and_kinds(text: str) -> list[tuple[str, str]]:
    """(# Source path, kind) for each document of `helm template` output."""
    out = []
    for chunk in text.split("---\n")[1:]:
        source, _, body = chunk.partition("\n")
        assert source.startswith("# Source: ")
        out.append((source.removeprefix("# Source: "), (yaml.safe_load(body) or {}).get("kind")))
    return out


CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name }}\n"
DUMP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: dump
  namespace: {{ .Release.Namespace }}
data:
  values: {{ toJson .Values | quote }}
"""


# --- the example chart ---------------------------------------------------------------------------

def test_example_default_layout_and_lint(sdk) -> None:
    r = render(CHART, release="toolman", namespace="toolman")
    assert r.backend == "helm-sdk" and r.chart == str(CHART) and r.values_files == ()
    assert r.text.startswith("---\n# Source: toolman/templates/serviceaccount.yaml\n")
    assert r.text.endswith("\n") and not r.text.endswith("\n\n")
    assert sources_and_kinds(r.text) == [
        ("toolman/templates/serviceaccount.yaml", "ServiceAccount"),
        ("toolman/templates/secret.yaml", "Secret"),
        ("toolman/templates/configmap.yaml", "ConfigMap"),
        ("toolman/templates/pvc.yaml", "PersistentVolumeClaim"),
        ("toolman/templates/service.yaml", "Service"),
        ("toolman/templates/deployment.yaml", "Deployment"),
    ]
    assert "NOTES" not in r.text and "_helpers" not in r.text
    assert r.lint == (LintMessage("info", "Chart.yaml", "icon is recommended"),)


def test_example_production_order(sdk) -> None:
    r = render(CHART, [PRODUCTION], release="toolman", namespace="toolman")
    assert r.values_files == (str(PRODUCTION),)
    assert [kind for _, kind in sources_and_kinds(r.text)] == [
        "NetworkPolicy", "PodDisruptionBudget", "ServiceAccount", "Secret", "ConfigMap",
        "PersistentVolumeClaim", "Service", "Deployment", "ServiceMonitor",
    ]
    assert r.lint == (LintMessage("info", "Chart.yaml", "icon is recommended"),)


def test_release_name_and_set_values(sdk) -> None:
    r = render(CHART, [PRODUCTION], ["replicaCount=5", "image.tag=v9"], release="demo",
               namespace="prod")
    docs = {d["kind"]: d for d in yaml.safe_load_all(r.text)}
    deployment = docs["Deployment"]
    assert deployment["metadata"]["name"] == "demo-toolman"
    assert deployment["metadata"]["labels"]["app.kubernetes.io/instance"] == "demo"
    assert deployment["spec"]["replicas"] == 5  # --set beats -f
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == (
        "ghcr.io/5dlabs/toolman:v9")
    assert docs["PodDisruptionBudget"]["spec"]["minAvailable"] == 2  # -f beats the defaults


def test_namespace_applied_and_default_release(sdk, tmp_path: Path) -> None:
    chart = make_chart(tmp_path / "c", {"cm.yaml": DUMP}, "a: 1\n")
    doc = yaml.safe_load(render(chart, namespace="team-a").text)
    assert doc["metadata"]["namespace"] == "team-a"
    doc = yaml.safe_load(render(chart).text)
    assert doc["metadata"]["namespace"] == "default"


def test_matches_helm_dry_run_install(sdk, tmp_path: Path) -> None:
    """Our layout is byte-identical to the manifest Helm itself builds (client dry-run)."""
    tricky = make_chart(tmp_path / "t", {
        "a.yaml": "\n\n---\nkind: Zeta\n---   \n  \nkind: Alpha\n---\n---\nkind: Secret\n  \n\n",
        "b.yaml": "  \nkind: Deployment\nmetadata:\n  name: x   \n--- # c\nkind: Namespace\n",
        "c.yaml": "kind: Alpha\ndata:\n  x: |\n    ---notsep\n---\n# only a comment\n",
        "d.yaml": "{{- if false }}\nx: 1\n{{- end }}\n",
        "NOTES.txt": "hi\n",
    })
    kubeconfig = "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n"
    for chart, files in ((CHART, []), (CHART, [PRODUCTION]), (tricky, [])):
        values = {}
        for f in files:
            values = merge_values(values, sdk.values_from_yaml(Path(f).read_text()))
        with sdk.Config(storage_driver="memory", namespace="toolman",
                        kubeconfig_content=kubeconfig) as cfg:
            rel = cfg.install(str(chart), "toolman", values, namespace="toolman",
                              dry_run="client")
        expected = rel["manifest"].strip() + "\n"
        assert render(chart, files, release="toolman", namespace="toolman").text == expected


# --- layout details ----------------------------------------------------------------------------

def test_unknown_kinds_last_alphabetically_and_stable(sdk, tmp_path: Path) -> None:
    chart = make_chart(tmp_path / "c", {
        "a.yaml": "kind: Zeta\nmetadata: {name: z1}\n---\nkind: Beta\nmetadata: {name: b1}\n---\n"
                  "kind: Service\nmetadata: {name: s}\n---\nkind: Zeta\nmetadata: {name: z2}\n",
        "b.yaml": "kind: Beta\nmetadata: {name: b2}\n---\n"
                  "kind: PriorityClass\nmetadata: {name: p}\n",
    })
    names = [d["metadata"]["name"] for d in yaml.safe_load_all(render(chart).text)]
    assert names == ["p", "s", "b1", "b2", "z1", "z2"]


def test_hooks_printed_after_manifests(sdk, tmp_path: Path) -> None:
    chart = make_chart(tmp_path / "c", {"a.yaml": """\
        apiVersion: batch/v1
        kind: Job
        metadata:
          name: migrate
          annotations:
            helm.sh/hook: pre-install
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: web
          annotations:
            other: x
        """})
    text = render(chart).text
    assert [d["metadata"]["name"] for d in yaml.safe_load_all(text)] == ["web", "migrate"]
    assert text.endswith("---\n# Source: demo/templates/a.yaml\napiVersion: batch/v1\nkind: Job\n"
                         "metadata:\n  name: migrate\n  annotations:\n"
                         "    helm.sh/hook: pre-install\n")


def test_yaml_error_in_rendered_output(sdk, tmp_path: Path) -> None:
    chart = make_chart(tmp_path / "c", {"a.yaml": "kind: A\n---\nkind: B\nbad: x: y\n"})
    with pytest.raises(RenderError) as err:
        render(chart)
    assert err.value.file == str(chart / "templates" / "a.yaml")
    assert (err.value.line, err.value.column) == (4, 7)
    assert err.value.message.startswith(  # libyaml and PyYAML word the rest differently
        "YAML parse error in rendered output: mapping values are not allowed")


# --- values: -f order, --set precedence, null ----------------------------------------------------

def test_merge_values_unit() -> None:
    base = {"a": {"b": 1, "c": 2}, "l": [1, 2], "s": "x"}
    assert merge_values(base, {"a": {"b": 3}}) == {"a": {"b": 3, "c": 2}, "l": [1, 2], "s": "x"}
    assert merge_values(base, {"l": [3]})["l"] == [3]  # lists replace, they do not merge
    assert merge_values(base, {"a": "flat"})["a"] == "flat"  # non-map replaces a map
    assert merge_values(base, {"s": {"k": 1}})["s"] == {"k": 1}
    assert merge_values(base, {"a": {"b": None}})["a"] == {"b": None, "c": 2}  # kept for Helm
    assert base == {"a": {"b": 1, "c": 2}, "l": [1, 2], "s": "x"}  # inputs untouched


def test_values_files_set_and_null(sdk, tmp_path: Path) -> None:
    chart = make_chart(tmp_path / "c", {"cm.yaml": DUMP},
                       "a: {b: 1, c: 2, d: 3}\nkeep: true\ngone: {x: 1}\n")
    first, second = tmp_path / "1.yaml", tmp_path / "2.yaml"
    first.write_text("a: {b: 10, c: 20}\nextra: one\n")
    second.write_text("a: {b: 100, d: null}\ngone: null\n")
    text = render(chart, [first, second], ["a.c=set", "extra=two,n=5"]).text
    values = yaml.safe_load(yaml.safe_load(text)["data"]["values"])
    assert values == {"a": {"b": 100, "c": "set"}, "keep": True, "extra": "two", "n": 5}
    # `--set k=null` deletes a chart default too; a single string is one --set expression
    text = render(chart, set_values="a.b=null").text
    assert yaml.safe_load(yaml.safe_load(text)["data"]["values"])["a"] == {"c": 2, "d": 3}


# --- errors ------------------------------------------------------------------------------------

def test_missing_dependency(sdk, tmp_path: Path) -> None:
    chart = make_chart(tmp_path / "c", {"cm.yaml": CM}, "name: x\n", chart_yaml=(
        "apiVersion: v2\nname: withdeps\nversion: 0.1.0\ndependencies:\n"
        "  - name: redis\n    version: 1.x\n    repository: https://example.invalid\n"))
    with pytest.raises(RenderError, match=r"'withdeps'.*redis") as err:
        render(chart)
    assert err.value.file == str(chart / "Chart.yaml")


def test_present_dependency_renders(sdk, tmp_path: Path) -> None:
    chart = make_chart(tmp_path / "c", {"cm.yaml": CM}, "name: x\n", chart_yaml=(
        "apiVersion: v2\nname: withdeps\nversion: 0.1.0\ndependencies:\n"
        "  - name: sub\n    version: 0.1.0\n"))
    make_chart(chart / "charts" / "sub", {"cm.yaml": CM}, "name: y\n",
               chart_yaml="apiVersion: v2\nname: sub\nversion: 0.1.0\n")
    assert [s for s, _ in sources_and_kinds(render(chart).text)] == [
        "withdeps/charts/sub/templates/cm.yaml", "withdeps/templates/cm.yaml"]


def test_missing_chart(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="no Chart.yaml") as err:
        render(tmp_path / "nope")
    assert err.value.file == str(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RenderError, match="no Chart.yaml"):
        render(tmp_path / "empty")


def test_unreadable_values_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(RenderError, match="cannot read values file") as err:
        render(CHART, [missing])
    assert err.value.file == str(missing)


def test_invalid_values_file_and_set(sdk, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [\n")
    with pytest.raises(RenderError, match="invalid values file") as err:
        render(CHART, [bad])
    assert err.value.file == str(bad)
    with pytest.raises(RenderError, match="invalid release name"):
        render(CHART, release="Not_Valid")


def test_template_error_is_one_line_with_location(sdk, tmp_path: Path) -> None:
    chart = make_chart(tmp_path / "c", {"cm.yaml": "a: 1\nb: {{ .Values.x.y.z }}\n"}, "x: 1\n")
    with pytest.raises(RenderError) as err:
        render(chart)
    e = err.value
    assert (e.file, e.line, e.column) == (str(chart / "templates" / "cm.yaml"), 2, 13)
    assert "\n" not in str(e) and "can't evaluate field y" in str(e)
    (chart / "templates" / "cm.yaml").write_text("a: {{ .Values.x \n")
    with pytest.raises(RenderError, match="unclosed action") as err:
        render(chart)
    assert err.value.file == str(chart / "templates" / "cm.yaml")


def test_no_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda *_a, **_k: None)
    monkeypatch.setitem(sys.modules, "helm_python", None)  # makes the import raise ImportError
    with pytest.raises(RenderError, match="no Helm backend") as err:
        render(CHART)
    assert "pip install 'toolman-kit[helm]'" in str(err.value)


# --- the helm CLI backend (a fake `helm` on PATH) ----------------------------------------------

FAKE_HELM = """\
#!/bin/sh
echo "$@" >> "{log}"
case "$1" in
  template) if [ -n "$FAIL" ]; then
              printf 'Error: template: c/templates/a.yaml:3:7: executing "x"\\n' >&2
              printf '  at <.Values.q>: nil pointer\\n' >&2
              exit 1
            fi
            printf -- '---\\n# Source: c/templates/a.yaml\\nkind: A\\n' ;;
  lint) case "$2" in */toolman-lint-*) sed 's/^/  | /' "$2/templates/a.yaml" >> "{log}" ;; esac
        printf '==> Linting c\\n[INFO] Chart.yaml: icon is recommended\\n'
        printf '[WARNING] templates/a.yaml: object name: x: y\\n\\nError: 1 chart(s) failed\\n'
        exit 1 ;;
esac
"""


def test_cli_backend(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bindir, log = tmp_path / "bin", tmp_path / "calls.log"
    bindir.mkdir()
    helm = bindir / "helm"
    helm.write_text(FAKE_HELM.format(log=log))
    helm.chmod(helm.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    values = tmp_path / "v.yaml"
    values.write_text("a: 1\n")
    r = render(CHART, [values], ["a=2", "b=3"], release="rel", namespace="ns")
    assert r.backend == "helm-cli"
    assert r.text == "---\n# Source: c/templates/a.yaml\nkind: A\n"
    assert r.lint == (LintMessage("info", "Chart.yaml", "icon is recommended"),
                      LintMessage("warning", "templates/a.yaml", "object name: x: y"))
    args = f"-f {values} --set a=2 --set b=3 --namespace ns"
    apis = f"--api-versions {','.join(served(DEFAULT_KUBE_VERSION))}"  # what the SDK gets too
    # The templates rule's word is on the render (the API versions' branch): a second lint,
    # of a copy of the chart whose template prints it (lint.as_rendered).
    calls = log.read_text().splitlines()
    assert calls[:2] == [f"template rel {CHART} {args} {apis}", f"lint {CHART} {args}"]
    assert re.fullmatch(r"lint /\S*/toolman-lint-\S*/chart --namespace ns", calls[2])
    assert calls[3:] == ["  | kind: A"]
    log.write_text("")
    assert render(CHART, lint=False).lint == ()
    assert log.read_text().splitlines() == [
        f"template release-name {CHART} --namespace default {apis}"]
    monkeypatch.setenv("FAIL", "1")
    with pytest.raises(RenderError) as err:
        render(CHART)
    assert (err.value.file, err.value.line, err.value.column) == (
        str(CHART / "templates" / "a.yaml"), 3, 7)
    assert "\n" not in str(err.value)


def test_render_without_lint(sdk) -> None:
    values = [CHART / "values-production.yaml"]
    linted, bare = render(CHART, values), render(CHART, values, lint=False)
    assert bare.text == linted.text and linted.lint and bare.lint == ()
