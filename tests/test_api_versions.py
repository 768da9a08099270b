""".Capabilities.APIVersions: the built-ins served at --kube-version, the chart's CRDs (crds/ and
rendered) and --api-versions, in every render path (render, the batch Renderer, the CLI)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from helpers import make_chart, run

from toolman_kit.chart.batch import Renderer
from toolman_kit.chart.capabilities import api_version, api_versions, crd_versions
from toolman_kit.chart.render import load_chart, render
from toolman_kit.errors import ToolmanKitError
from toolman_kit.judge.apis import served

# As traefik and most public charts choose the PDB's apiVersion.
PDB = """\
{{- if .Capabilities.APIVersions.Has "policy/v1/PodDisruptionBudget" }}
apiVersion: policy/v1
{{- else }}
apiVersion: policy/v1beta1
{{- end }}
kind: PodDisruptionBudget
metadata:
  name: web
spec:
  minAvailable: 1
  selector:
    matchLabels: {app: web}
"""
# As kube-prometheus-stack's subcharts gate their ServiceMonitors.
SERVICE_MONITOR = """\
{{- if not (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1") }}
{{- fail "You have to deploy monitoring.coreos.com/v1 first" }}
{{- end }}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  endpoints: [{port: http}]
"""
WIDGET = """\
{{- if .Capabilities.APIVersions.Has "example.com/v1/Widget" }}
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
{{- end }}
"""


def crd(group: str = "example.com", kind: str = "Widget", versions: str = "v1") -> str:
    served_versions = "".join(f"\n    - name: {v}\n      served: true\n      storage: true"
                              for v in versions.split(","))
    return (f"apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
            f"metadata:\n  name: {kind.lower()}s.{group}\nspec:\n  group: {group}\n"
            f"  scope: Namespaced\n  names:\n    kind: {kind}\n    plural: {kind.lower()}s\n"
            f"  versions:{served_versions}\n")


def kinds(text: str) -> list[tuple[str, str]]:
    return [(d["apiVersion"], d["kind"]) for d in yaml.safe_load_all(text) if d]


def test_built_ins_follow_the_kube_version() -> None:
    assert {"policy/v1", "policy/v1/PodDisruptionBudget", "apps/v1/Deployment"} <= set(
        served("1.36"))
    assert "policy/v1beta1/PodDisruptionBudget" not in served("1.36")  # removed in 1.25
    assert "policy/v1/PodDisruptionBudget" not in served("1.20")  # served from 1.21
    assert "policy/v1beta1/PodDisruptionBudget" in served("1.20")
    assert "batch/v1/CronJob" in served("1.21") and "batch/v1/CronJob" not in served("1.20")


def test_a_pdb_chooses_policy_v1_as_on_a_real_cluster(sdk, tmp_path: Path) -> None:
    chart = make_chart(tmp_path / "c", {"pdb.yaml": PDB})
    assert kinds(render(chart).text) == [("policy/v1", "PodDisruptionBudget")]
    # A cluster that does not serve policy/v1 yet gets what the chart offers it.
    assert kinds(render(chart, kube_version="1.20").text) == [
        ("policy/v1beta1", "PodDisruptionBudget")]


def test_a_service_monitor_renders_only_when_its_api_is_served(sdk, tmp_path: Path) -> None:
    chart = make_chart(tmp_path / "c", {"sm.yaml": SERVICE_MONITOR})
    with pytest.raises(ToolmanKitError, match="deploy monitoring.coreos.com/v1 first"):
        render(chart)
    text = render(chart, api_versions=["monitoring.coreos.com/v1"]).text
    assert kinds(text) == [("monitoring.coreos.com/v1", "ServiceMonitor")]


def test_the_chart_crds_make_their_kinds_available(sdk, tmp_path: Path) -> None:
    chart = make_chart(tmp_path / "c", {"widget.yaml": WIDGET})
    assert render(chart).text == ""
    (chart / "crds").mkdir()
    (chart / "crds" / "widget.yaml").write_text(crd())
    assert kinds(render(chart).text) == [("example.com/v1", "Widget")]


def test_a_rendered_crd_makes_its_kind_available(sdk, tmp_path: Path) -> None:
    chart = make_chart(tmp_path / "c", {"widget.yaml": WIDGET, "crd.yaml": crd()})
    assert kinds(render(chart).text) == [
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition"), ("example.com/v1", "Widget")]


def test_a_subchart_crd_counts_and_unserved_versions_do_not(tmp_path: Path) -> None:
    chart = make_chart(tmp_path / "c", {})
    (chart / "charts" / "sub" / "crds").mkdir(parents=True)
    (chart / "charts" / "sub" / "crds" / "gadgets.yaml").write_text(
        crd(kind="Gadget", versions="v1,v2").replace("served: true", "served: false", 1)
        + "---\n: not yaml: [\n")
    found = set(api_versions(chart, "1.36"))
    assert {"example.com/v2", "example.com/v2/Gadget"} <= found
    assert "example.com/v1" not in found
    assert crd_versions([{"kind": "CustomResourceDefinition", "spec": {
        "group": "g.io", "version": "v1beta1", "names": {"kind": "K"}}}]) == {
        "g.io/v1beta1", "g.io/v1beta1/K"}


def test_the_batch_renderer_gets_them_and_keys_its_cache_by_them(sdk, tmp_path: Path) -> None:
    chart = make_chart(tmp_path / "c", {"sm.yaml": SERVICE_MONITOR, "pdb.yaml": PDB})
    with Renderer(chart, kube_version="v1.36.0") as plain:
        assert "monitoring.coreos.com/v1 first" in plain.render({}).error.message
    with Renderer(chart, kube_version="v1.36.0", api_versions=["monitoring.coreos.com/v1"]) as r:
        out = r.render({})
        assert out.error is None
        assert sorted(kind for _, kind, _ in out.objects) == [
            "PodDisruptionBudget", "ServiceMonitor"]
        assert out.objects[("demo/templates/pdb.yaml", "PodDisruptionBudget", 0)][
            "apiVersion"] == "policy/v1"
        assert all(k.endswith("|monitoring.coreos.com/v1") for k in r.cache)


def test_the_input_names_the_api_versions(sdk, tmp_path: Path) -> None:
    chart = make_chart(tmp_path / "c", {"sm.yaml": SERVICE_MONITOR})
    manifests, _ = load_chart(chart, api_versions=["monitoring.coreos.com/v1"])
    assert manifests.inputs[0].endswith(" --api-versions monitoring.coreos.com/v1")


def test_check_takes_api_versions_as_helm_does(sdk, capsys, tmp_path: Path) -> None:
    chart = make_chart(tmp_path / "c", {"sm.yaml": SERVICE_MONITOR, "pdb.yaml": PDB})
    code, out, err = run(capsys, "check", "--chart", str(chart), "--format", "json")
    assert code == 2 and "monitoring.coreos.com/v1 first" in err
    for flags in (["-a", "monitoring.coreos.com/v1"],
                  ["--api-versions", "example.com/v1,monitoring.coreos.com/v1/ServiceMonitor",
                   "--api-versions", "monitoring.coreos.com/v1"]):
        code, out, err = run(capsys, "check", "--chart", str(chart), "--format", "json", *flags)
        assert code in (0, 1), err
        rows = yaml.safe_load(out)["findings"]
        assert {(r["kind"], r["status"]) for r in rows if r["check_id"] == "api-version-removed"
                } == {("ServiceMonitor", "pass"), ("PodDisruptionBudget", "pass")}
    with pytest.raises(SystemExit) as exit_:
        run(capsys, "check", "--chart", str(chart), "-a", "not an api")
    assert exit_.value.code == 2
    assert "not an API version: 'not an api'" in capsys.readouterr().err


def test_api_version_accepts_helm_forms() -> None:
    for text in ("v1", "v1/Pod", "policy/v1", "monitoring.coreos.com/v1/ServiceMonitor"):
        assert api_version(text) == text
    for text in ("", "policy", "a/b/c/d", "Policy/v1", "policy/v1/"):
        with pytest.raises(ToolmanKitError):
            api_version(text)


@pytest.mark.parametrize("command", ["compare", "suggest"])
def test_compare_and_suggest_take_api_versions(sdk, capsys, tmp_path: Path,
                                               command: str) -> None:
    chart = make_chart(tmp_path / "c", {"sm.yaml": SERVICE_MONITOR, "pdb.yaml": PDB})
    argv = [command, "--chart", str(chart), "--format", "json", "-j", "1"]
    code, _, err = run(capsys, *argv)
    assert code == 2 and "monitoring.coreos.com/v1 first" in err
    code, out, err = run(capsys, *argv, "-a", "monitoring.coreos.com/v1")
    assert code == 0, err
    assert "monitoring.coreos.com/v1 first" not in out + err
    assert yaml.safe_load(out)["renders"]["count"] >= 1
