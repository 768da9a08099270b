""".Capabilities.APIVersions: the built-ins served at --kube-version, the chart's CRDs (crds/ and
rendered) and --api-versions, in every render path (render, the batch Renderer, the CLI)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from helpers import make_chart, run

from toolman_kit.chart.batch import Renderer
from toolman_kit.chart.capabilities import api_version, api_versions, chart_crds, crd_versions
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


def package(root: Path, name: str, files: dict[str, str | bytes]) -> Path:
    """charts/NAME-0.1.0.tgz under `root`, as `helm dependency build` leaves a subchart."""
    import io
    import tarfile

    (root / "charts").mkdir(parents=True, exist_ok=True)
    path = root / "charts" / f"{name}-0.1.0.tgz"
    files = {"Chart.yaml": f"apiVersion: v2\nname: {name}\nversion: 0.1.0\n", **files}
    with tarfile.open(path, "w:gz") as tar:
        for member, text in files.items():
            data = text.encode() if isinstance(text, str) else text
            info = tarfile.TarInfo(f"{name}/{member}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_a_packaged_subchart_crd_makes_its_kind_available(sdk, tmp_path: Path) -> None:
    chart = make_chart(tmp_path / "c", {"widget.yaml": WIDGET})
    package(chart, "widgets", {"crds/widget.yaml": crd()})
    assert kinds(render(chart).text) == [("example.com/v1", "Widget")]


def test_packaged_crds_are_found_at_any_depth_and_only_in_crds(tmp_path: Path) -> None:
    inner = package(tmp_path / "inner", "inner", {"crds/sub/gadget.yml": crd(kind="Gadget")})
    package(tmp_path / "c", "outer", {
        "templates/thing.yaml": crd(kind="Thing"),  # rendered, not installed from crds/
        "crds/notes.txt": crd(kind="Note"),  # not a manifest file to Helm
        "charts/unpacked/crds/part.json": crd(kind="Part"),
        "charts/inner-0.1.0.tgz": inner.read_bytes(),
        "charts/broken-0.1.0.tgz": b"not gzip"})
    found = set(api_versions(tmp_path / "c", "1.36"))
    assert {"example.com/v1/Gadget", "example.com/v1/Part"} <= found
    assert not {"example.com/v1/Thing", "example.com/v1/Note"} & found
    assert [where.split("charts/")[-1] for where, _ in chart_crds(tmp_path / "c")] == [
        "unpacked/crds/part.json", "inner-0.1.0.tgz/inner/crds/sub/gadget.yml"]


def test_a_packaged_subchart_too_big_to_unpack_is_refused(tmp_path: Path, monkeypatch) -> None:
    from toolman_kit.chart import capabilities
    from toolman_kit.errors import RenderError

    monkeypatch.setattr(capabilities, "MAX_BYTES", 100)
    package(tmp_path / "c", "big", {"crds/a.yaml": "x" * 200})
    with pytest.raises(RenderError, match=r"big-0.1.0.tgz: packaged subchart over .* refused"):
        chart_crds(tmp_path / "c")


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


# --- the profile, the records, the report's inputs, the fleet ---------------------------------

def profile_file(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_profile_names_api_versions_added_to_its_parents(tmp_path: Path) -> None:
    from toolman_kit.errors import ProfileError
    from toolman_kit.judge.profiles import load_profile

    profile_file(tmp_path, "extends: production\napi_versions: [example.com/v1]\n", "base.yaml")
    child = profile_file(tmp_path, "extends: base.yaml\n"
                                   "api_versions: [monitoring.coreos.com/v1, example.com/v1]\n")
    p = load_profile(str(child))
    assert p.api_versions == ("example.com/v1", "monitoring.coreos.com/v1")
    assert p.served(["x.io/v2", "example.com/v1"]) == [
        "example.com/v1", "monitoring.coreos.com/v1", "x.io/v2"]
    assert load_profile().api_versions == ()
    bad = profile_file(tmp_path, "api_versions: [monitoring]\n", "bad.yaml")
    with pytest.raises(ProfileError, match=r"bad.yaml.*api_versions"):
        load_profile(str(bad))


def test_check_renders_with_the_profile_api_versions(sdk, capsys, tmp_path: Path) -> None:
    chart = make_chart(tmp_path / "c", {"sm.yaml": SERVICE_MONITOR})
    prof = profile_file(tmp_path, "api_versions: [monitoring.coreos.com/v1]\n")
    code, out, err = run(capsys, "check", "--chart", str(chart), "--profile", str(prof),
                         "--format", "json")
    assert code in (0, 1), err
    assert "ServiceMonitor" in {r["kind"] for r in yaml.safe_load(out)["findings"]}


@pytest.mark.parametrize("command", ["compare", "suggest"])
def test_the_documents_record_them(sdk, capsys, tmp_path: Path, command: str) -> None:
    import json
    from importlib import resources

    import jsonschema

    chart = make_chart(tmp_path / "c", {"sm.yaml": SERVICE_MONITOR, "pdb.yaml": PDB})
    prof = profile_file(tmp_path, "api_versions: [monitoring.coreos.com/v1]\n")
    argv = [command, "--chart", str(chart), "--format", "json", "-j", "1",
            "--profile", str(prof), "-a", "example.com/v1"]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["api_versions"] == ["monitoring.coreos.com/v1", "example.com/v1"]
    name = "comparison" if command == "compare" else "suggestion"
    schema = json.loads(resources.files("toolman_kit").joinpath(
        f"schemas/{name}.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(doc)
    if command == "suggest":
        use = " ".join(line.removeprefix("# ") for line in doc["file"].splitlines()
                       if line.startswith("# "))
        assert "Use: helm upgrade --install" in use
        assert "--api-versions monitoring.coreos.com/v1,example.com/v1" in use


def test_the_report_inputs_render_with_them_and_key_their_cache(sdk, tmp_path: Path) -> None:
    from toolman_kit.errors import RenderError
    from toolman_kit.present.inputs import inputs

    chart = make_chart(tmp_path / "c", {"sm.yaml": SERVICE_MONITOR})
    sets = [{"name": "defaults", "values": []}]
    ins = inputs(chart=str(chart), sets=sets, api_versions=["monitoring.coreos.com/v1"])
    manifests = ins.analysis.manifests
    assert manifests.inputs[0].endswith(" --api-versions monitoring.coreos.com/v1")
    with pytest.raises(RenderError, match="monitoring.coreos.com/v1 first"):
        inputs(chart=str(chart), sets=sets)  # not the cached analyses: another render
    prof = profile_file(tmp_path, "extends: production\n"
                                  "api_versions: [monitoring.coreos.com/v1]\n")
    ins = inputs(chart=str(chart), sets=sets, profile=str(prof), api_versions=["x.io/v1"])
    assert ins.analysis.manifests.inputs[0].endswith(
        " --api-versions monitoring.coreos.com/v1 --api-versions x.io/v1")


def test_a_fleet_file_names_them(tmp_path: Path) -> None:
    from toolman_kit.errors import FleetError
    from toolman_kit.fleet.fleetfile import load_fleet
    from toolman_kit.fleet.task import input_hash

    fleet = profile_file(tmp_path, """\
defaults: {api_versions: [monitoring.coreos.com/v1]}
targets:
  - {name: a, paths: [x.yaml]}
  - {name: b, paths: [x.yaml], api_versions: [example.com/v1/Widget]}
""", "fleet.yaml")
    a, b = load_fleet(fleet).targets
    assert a.api_versions == ("monitoring.coreos.com/v1",)
    assert b.api_versions == ("example.com/v1/Widget",)  # a target's list replaces the defaults
    assert input_hash(a, "text") != input_hash(b, "text")
    fleet.write_text("targets:\n  - {name: a, paths: [x.yaml], api_versions: [nope]}\n")
    with pytest.raises(FleetError, match=r"fleet.yaml:2: targets\[0\]\.api_versions\[0\]: "
                                         "must be GROUP/VERSION"):
        load_fleet(fleet)


def test_a_fleet_target_renders_with_them(sdk, tmp_path: Path) -> None:
    from toolman_kit.fleet.fleetfile import Target
    from toolman_kit.fleet.task import _manifests

    chart = make_chart(tmp_path / "c", {"sm.yaml": SERVICE_MONITOR})
    with pytest.raises(ToolmanKitError, match="monitoring.coreos.com/v1 first"):
        _manifests(Target("t", chart=str(chart)))
    text, _ = _manifests(Target("t", chart=str(chart), api_versions=("monitoring.coreos.com/v1",)))
    assert kinds(text) == [("monitoring.coreos.com/v1", "ServiceMonitor")]


@pytest.mark.slow
def test_report_takes_api_versions(sdk, capsys, tmp_path: Path) -> None:
    """One report: its pages render the chart with -a, its input line and comparison.json and
    suggestion.json name them."""
    import json

    chart = make_chart(tmp_path / "c", {"sm.yaml": SERVICE_MONITOR, "pdb.yaml": PDB})
    out = tmp_path / "report"
    code, _, err = run(capsys, "report", "--chart", str(chart), "-a", "monitoring.coreos.com/v1",
                       "--suggest", "--out", str(out), "-j", "2")
    assert code == 0, err
    assert json.loads((out / "comparison.json").read_text())["api_versions"] == [
        "monitoring.coreos.com/v1"]
    assert json.loads((out / "suggestion.json").read_text())["api_versions"] == [
        "monitoring.coreos.com/v1"]
    assert "--api-versions monitoring.coreos.com/v1" in (out / "00_summary.html").read_text()
    assert "ServiceMonitor" in (out / "findings.json").read_text()


# --- helm lint judges the render made with these API versions -----------------------------------

# A branch the cluster never takes (Helm lint's default capabilities serve no ServiceMonitor)
# that fails; `fail` itself is silent in lint mode, a nil value is not.
GATED = """\
{{- if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" }}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: web
  annotations: {query: '{{ "{{ $labels.pod }}" }}'}
spec:
  selector:
    matchLabels: {app: web}
  endpoints: [{port: http}]
{{- else }}
{{- fail (printf "deploy monitoring.coreos.com/v1 first (%s)" .Values.monitoring.enabled) }}
{{- end }}
"""


def test_lint_sees_the_api_versions_the_render_saw(sdk, tmp_path: Path) -> None:
    from toolman_kit.chart.render import lint_sdk

    gated = make_chart(tmp_path / "sm", {"sm.yaml": GATED})
    pdb = make_chart(tmp_path / "pdb", {"pdb.yaml": PDB})
    # Helm's lint alone renders the else branches: a nil pointer, a deprecated PDB.
    plain = lint_sdk(gated, {}, "default", "v1.29.0")
    assert [m.severity for m in plain if "nil pointer" in m.message] == ["error"]
    plain += lint_sdk(pdb, {}, "default", "v1.29.0")
    assert any("policy/v1beta1 PodDisruptionBudget is deprecated" in m.message for m in plain)
    for chart in (gated, pdb):
        rendered = render(chart, api_versions=["monitoring.coreos.com/v1"], kube_version="1.29")
        assert [m for m in rendered.lint if m.path.startswith("templates")] == []
        assert [m.path for m in rendered.lint] == ["Chart.yaml"]  # icon is recommended
    assert "$labels.pod" in render(gated, api_versions=["monitoring.coreos.com/v1"]).text


def test_lint_still_judges_the_rendered_templates(sdk, tmp_path: Path) -> None:
    """What the templates rule says of the objects rendered is kept, on the template's path."""
    old_pdb = PDB.split("{{- end }}\n")[1]  # kind: … of a PDB written as policy/v1beta1
    chart = make_chart(tmp_path / "c", {"pdb.yaml": "apiVersion: policy/v1beta1\n" + old_pdb,
                                        "sa.yaml": (
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: Web_1\n")})
    (chart / "templates" / "x.ini").write_text("{{ .Release.Name }}")
    lint = render(chart, kube_version="1.24").lint
    paths = {(m.path, m.severity) for m in lint}
    assert {("templates/sa.yaml", "warning"), ("templates/x.ini", "error")} <= paths
    assert any("policy/v1beta1 PodDisruptionBudget is deprecated" in m.message
               for m in lint if m.path == "templates/pdb.yaml")


def test_compare_lints_with_them(sdk, capsys, tmp_path: Path) -> None:
    chart = make_chart(tmp_path / "c", {"sm.yaml": GATED})
    code, out, err = run(capsys, "compare", "--chart", str(chart), "--format", "json", "-j",
                         "1", "-a", "monitoring.coreos.com/v1")
    assert code == 0, err
    assert "nil pointer" not in out + err
