"""Chart values intelligence on fixture charts written for it: every case asserted by key, file and
line, with real Helm SDK renders (no mocks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolman_kit.chart.templates import scan_chart
from toolman_kit.chart.valuesfile import commented_blocks, read_values_file, show
from toolman_kit.errors import RenderError
from toolman_kit.present import comparison_doc as doc
from toolman_kit.values.sets import ValuesComparison, compare_values

pytest.importorskip("helm_python")

FIXTURES = Path(__file__).parent / "fixtures"
WEBAPP = FIXTURES / "charts" / "webapp"
VALUES = FIXTURES / "values"


def v(name: str) -> str:
    return str(VALUES / name)


@pytest.fixture(scope="module")
def webapp() -> ValuesComparison:
    return compare_values(WEBAPP, [
        ("dead", [v("webapp-dead-key.yaml")]),
        ("off", [v("webapp-disabled-switch.yaml")]),
        ("typo", [v("webapp-typos.yaml")]),
        ("pdb", [v("webapp-pdb.yaml")]),
        ("over", [v("webapp-overridden.yaml"), v("webapp-pdb.yaml")]),
    ])


def dead(c: ValuesComparison, name: str) -> dict[str, dict]:
    return {r["key"]: r for r in map(doc.ineffective_record, c.set(name).ineffective)}


def test_a_key_no_template_reads(webapp: ValuesComparison) -> None:
    entry = dead(webapp, "dead")["metrics"]
    assert (entry["file"], entry["line"], entry["reason"]) == (
        v("webapp-dead-key.yaml"), 2, "not-read")
    assert entry["detail"] == "no template reads it"
    unknown = [doc.unknown_record(u) for u in webapp.set("dead").unknown]
    assert unknown == [{"key": "metrics", "file": v("webapp-dead-key.yaml"), "line": 2,
                        "closest": None}]


def test_a_key_read_only_under_a_switch_that_is_off(webapp: ValuesComparison) -> None:
    entry = dead(webapp, "off")["autoscaling.maxReplicas"]
    assert (entry["file"], entry["line"], entry["reason"], entry["condition"]) == (
        v("webapp-disabled-switch.yaml"), 3, "condition-off", "autoscaling.enabled")
    assert "`autoscaling.enabled`" in entry["detail"]
    assert "replicaCount" not in dead(webapp, "off")  # read: replicas follow it


def test_misspelled_keys_name_the_closest_known_key(webapp: ValuesComparison) -> None:
    unknown = {r["key"]: r for r in map(doc.unknown_record, webapp.set("typo").unknown)}
    assert unknown["replicaCont"] == {"key": "replicaCont", "file": v("webapp-typos.yaml"),
                                      "line": 1, "closest": "replicaCount"}
    assert unknown["podDisruptionBudget.enable"] == {
        "key": "podDisruptionBudget.enable", "file": v("webapp-typos.yaml"), "line": 3,
        "closest": "podDisruptionBudget.enabled"}
    assert set(dead(webapp, "typo")) == {"replicaCont", "podDisruptionBudget.enable"}


def test_leave_one_out_is_in_context(webapp: ValuesComparison) -> None:
    """minAvailable alone changes nothing; with enabled: true it shapes the PDB: not dead."""
    pdb = webapp.set("pdb")
    assert not {"podDisruptionBudget.minAvailable", "podDisruptionBudget.enabled"} & set(
        dead(webapp, "pdb"))
    assert [o["kind"] for o in pdb.added] == ["PodDisruptionBudget"]
    assert "pdb-missing" in {f["check_id"] for f in pdb.fixed}


def test_a_value_overridden_by_a_later_file_of_its_set(webapp: ValuesComparison) -> None:
    entry = dead(webapp, "over")["replicaCount"]
    assert (entry["file"], entry["line"], entry["reason"], entry["by"]) == (
        v("webapp-overridden.yaml"), 3, "overridden", v("webapp-pdb.yaml"))
    assert entry["detail"] == f"overridden by {v('webapp-pdb.yaml')}:1"


def test_the_commented_out_block_is_the_unset_read(webapp: ValuesComparison) -> None:
    unset = {r["key"]: r for r in map(doc.unset_read_record, webapp.unset)}
    entry = unset["livenessProbe"]
    assert entry["commented_out"] == {"file": str(WEBAPP / "values.yaml"), "line": 21}
    assert entry["reads"][0] == {"file": "templates/deployment.yaml", "line": 30}
    assert entry["guarded"] and not entry["required"]
    assert entry["sentence"] == ("livenessProbe is read by templates/deployment.yaml but "
                                 "commented out in values.yaml:21")


def test_the_hard_coded_sidecar(webapp: ValuesComparison) -> None:
    hard = {(h.field.container, h.field.path): doc.hardcoded_record(h) for h in webapp.hardcoded}
    sidecar = "spec.template.spec.containers[1]"
    for path, line, value in ((".securityContext.privileged", 40, "true"),
                              (".resources.requests", 42, "cpu: 50m, memory: 64Mi"),
                              (".resources.limits", 45, "cpu: 50m, memory: 64Mi"),
                              (".image", 38, "fluent/fluent-bit:3.0.7")):
        entry = hard[("log-shipper", sidecar + path)]
        assert (entry["template"], entry["line"], entry["value"]) == (
            "templates/deployment.yaml", line, value), path
    assert "privileged-container" in hard[("log-shipper", sidecar + ".securityContext"
                                                          ".privileged")]["because"]
    # The main container's resources come from values: not hard-coded.
    assert ("webapp", "spec.template.spec.containers[0].resources.requests") not in hard


def test_provenance_names_the_keys_of_failing_fields(webapp: ValuesComparison) -> None:
    f = webapp.set("defaults").analysis.findings.fillna({"container": "", "values": ""})
    failing = f[f["status"] == "fail"].set_index(["check_id", "container"])["values"]
    assert failing[("pdb-missing", "")] == "podDisruptionBudget.enabled"
    assert failing[("liveness-probe-missing", "webapp")] == "livenessProbe"
    assert failing[("privileged-container", "log-shipper")] == ""
    prov = webapp.set("defaults").provenance
    field = prov.field_of("pdb-missing", "Deployment", "default", "release-name-webapp", "", "")
    assert doc.action(prov, field) == "set `podDisruptionBudget.enabled: true`"


def test_schema_violation_and_a_set_that_does_not_render() -> None:
    chart = FIXTURES / "charts" / "schema-app"
    c = compare_values(chart, [("bad", [v("schema-app-bad.yaml")]),
                               ("good", [v("schema-app-good.yaml")])])
    errors = {r["key"]: r for r in map(doc.schema_error_record, c.set("bad").schema)}
    assert errors["replicaCount"]["file"] == v("schema-app-bad.yaml")
    assert errors["replicaCount"]["line"] == 2
    assert "less than the minimum of 1" in errors["replicaCount"]["message"]
    assert errors["image.repository"]["line"] == 4
    assert c.set("bad").analysis is None and "schema" in c.set("bad").errors[0]["message"]
    good = c.set("good")  # still compared
    assert good.analysis is not None and good.changed[0]["paths"] == ["spec.replicas"]
    assert c.errors == [f"bad: {chart}: " + c.set("bad").errors[0]["message"]]


def test_removed_api_version_in_a_chart() -> None:
    c = compare_values(FIXTURES / "charts" / "legacy")
    failing = doc.document(c)["sets"][0]["failing"]
    removed = [f for f in failing if f["check_id"] == "api-version-removed"]
    assert [(f["kind"], f["path"], f["template"]) for f in removed] == [
        ("PodDisruptionBudget", "apiVersion", "legacy/templates/pdb.yaml")]
    assert "since Kubernetes 1.25 (target 1.36): use policy/v1" in removed[0]["message"]
    old = compare_values(FIXTURES / "charts" / "legacy", kube_version="1.24")
    ids = {f["check_id"] for f in doc.document(old)["sets"][0]["failing"]}
    assert "api-version-deprecated" in ids and "api-version-removed" not in ids


def test_the_budget_is_said_and_hard_coded_is_not_claimed_without_proof() -> None:
    c = compare_values(WEBAPP, [("pdb", [v("webapp-pdb.yaml")])], max_renders=5)
    assert c.not_explored and all("not explored (--max-renders)" in n for n in c.not_explored)
    assert c.hardcoded == []
    assert c.document() == doc.document(c)  # the view hook
    assert doc.document(c)["renders"]["max"] == 5


# --- parts --------------------------------------------------------------------------------------

def test_a_values_file_that_is_not_a_mapping() -> None:
    with pytest.raises(RenderError) as info:
        read_values_file(v("webapp-list.yaml"))
    assert str(info.value) == (f"{v('webapp-list.yaml')}:1: a values file must be a mapping "
                               "of keys, not a list")


def test_template_reads(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "a.yaml").write_text(
        "{{- if and .Values.a.on (not .Values.b) }}\n"
        "x: {{ .Values.a.size | default 3 }}\n"
        "{{- else }}\n"
        "y: {{ required \"need c\" .Values.c }}\n"
        "{{- end }}\n"
        "{{- with .Values.affinity }}\n"
        "z: {{ toYaml . }}\n"
        "{{- end }}\n"
        "{{- $cfg := .Values.config }}\n"
        "w: {{ $cfg.port }} {{ index .Values \"d\" \"e\" }}\n"
        "{{- range .Values.hosts }}\n"
        "- {{ .name }}\n"
        "{{- end }}\n")
    reads = {(show(r.key), r.line): r for r in scan_chart(tmp_path).reads}
    size = reads[("a.size", 2)]
    assert size.conditions == ((("a", "on"), True), (("b",), False)) and size.guarded
    assert reads[("c", 4)].required and reads[("c", 4)].conditions == ()  # `and`: no negation
    assert reads[("affinity", 7)].whole and reads[("affinity", 7)].conditions == (
        (("affinity",), True),)
    assert ("config.port", 10) in reads and ("d.e", 10) in reads
    assert ("hosts", 12) in reads  # a list's items are read with the list
    assert not scan_chart(tmp_path).dynamic


def test_commented_blocks_nest_under_their_map(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("image:\n  repository: x\n  # Pin it:\n  # tag: \"1.0\"\n"
                      "# A note: not YAML we want.\n# probe:\n#   path: /h\n#   port: 80\n")
    blocks = commented_blocks(values)
    assert (blocks[("image", "tag")].line, blocks[("image", "tag")].value) == (4, "1.0")
    assert blocks[("probe",)].value == {"path": "/h", "port": 80}
    assert blocks[("probe", "port")].line == 8
    assert ("A note",) not in blocks


def test_a_probe_that_does_not_render_is_said_not_explored(tmp_path: Path) -> None:
    """A chart that `fail`s on values it does not accept: the key cannot be probed, so nothing
    is called hard-coded (it might have been the key)."""
    (tmp_path / "templates").mkdir()
    (tmp_path / "Chart.yaml").write_text("apiVersion: v2\nname: enum\nversion: 0.1.0\n")
    (tmp_path / "values.yaml").write_text("mode: fast\n")
    (tmp_path / "templates" / "d.yaml").write_text(
        '{{- if not (has .Values.mode (list "fast" "safe")) }}{{ fail "bad mode" }}{{ end }}\n'
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n"
        "  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n"
        "    spec:\n      containers:\n        - {name: c, image: 'nginx:1.27.0', "
        "args: ['--mode={{ .Values.mode }}']}\n")
    c = compare_values(tmp_path)
    assert [n for n in c.not_explored if n.startswith("defaults: mode: its probe does not "
                                                      "render")]
    assert "bad mode" in c.not_explored[0] and c.hardcoded == []
