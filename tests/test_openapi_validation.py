"""Objects the API server rejects (invalid-field) or prunes fields of (unknown-field), judged
against the OpenAPI schema of the target Kubernetes version (kubernetes-validate's data) and
the CRDs in the manifests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from helpers import ROOT, make_chart

from toolman_kit.analysis import Analysis
from toolman_kit.chart.render import render
from toolman_kit.judge import openapi

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.27.0
%s
"""


def failures(text: str, check_id: str, **kwargs) -> pd.DataFrame:
    findings = Analysis.of(text, **kwargs).findings
    return findings[(findings.check_id == check_id) & (findings.status == "fail")]


def container(*lines: str) -> str:
    return DEPLOYMENT % "\n".join(f"          {line}" for line in lines)


def test_null_containers_are_invalid() -> None:
    rows = failures("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: null\n",
                    "invalid-field")
    assert list(rows.path) == ["spec.containers"]
    assert "required" in rows.message.iloc[0] and rows.line.iloc[0] == 5


def test_a_misspelt_field_is_dropped_with_a_suggestion_and_its_line() -> None:
    text = container("imagePulPolicy: Always")
    (row,) = failures(text, "unknown-field").itertuples()
    assert row.path == "spec.template.spec.containers[0].imagePulPolicy"
    assert row.message == ("`spec.template.spec.containers[0].imagePulPolicy` is dropped by the "
                           "API server: did you mean `imagePullPolicy`?")
    assert row.severity == "warning"
    assert row.line == text.splitlines().index("          imagePulPolicy: Always") + 1
    assert failures(text, "invalid-field").empty


def test_a_case_slip_suggests_the_field_in_its_case() -> None:
    rows = failures(container("readinessprobe: {tcpSocket: {port: 80}}"), "unknown-field")
    assert rows.message.str.endswith("did you mean `readinessProbe`?").all() and len(rows) == 1


def test_a_field_like_nothing_says_so_without_a_guess() -> None:
    (message,) = failures(container("flavour: vanilla"), "unknown-field").message
    assert message == ("`spec.template.spec.containers[0].flavour` is not a field of Container: "
                       "the API server drops it")


def test_wrong_types_and_enum_values_are_invalid() -> None:
    rows = failures(DEPLOYMENT.replace("replicas: 2", 'replicas: "three"') % (
        "          imagePullPolicy: Sometimes\n          ports: [{containerPort: http}]"),
        "invalid-field")
    by_path = dict(zip(rows.path, rows.message, strict=True))
    assert by_path["spec.replicas"] == "spec.replicas: must be an integer, not 'three'"
    assert by_path["spec.template.spec.containers[0].imagePullPolicy"].endswith(
        "must be one of Always, IfNotPresent, Never, not 'Sometimes'")
    assert "must be an integer" in by_path["spec.template.spec.containers[0].ports[0]"
                                           ".containerPort"]


def test_missing_required_fields_are_invalid() -> None:
    text = DEPLOYMENT.replace("        - name: web\n          image", "        - image") % ""
    rows = failures(text.replace("  selector: {matchLabels: {app: web}}\n", ""), "invalid-field")
    assert set(rows.path) == {"spec.selector", "spec.template.spec.containers[0].name"}
    assert set(rows.message.str.split(": ").str[1]) == {"is required"}


def test_kubernetes_semantics_are_kept() -> None:
    """int-or-string ports, quantities as numbers or strings, null optional fields, an empty
    enum (defaulted), integral floats, timestamps and status are all accepted."""
    text = container(
        "imagePullPolicy: ''",
        "resources: {requests: {cpu: 0.5, memory: 1Gi}, limits: {cpu: 1, memory: 2Gi}}",
        "ports: [{name: http, containerPort: 8080.0}]",
        "readinessProbe: {httpGet: {port: http}}",
        "livenessProbe: {httpGet: {port: 8080}}",
        "env: null",
    ) + ("  strategy: {rollingUpdate: {maxSurge: 25%, maxUnavailable: 1}}\n"
         "status: {replicas: 1, whatever: [1, 2]}\n")
    text = text.replace("metadata: {name: web}",
                        "metadata: {name: web, creationTimestamp: 2024-01-01T00:00:00Z}")
    findings = Analysis.of(text).findings
    rows = findings[findings.check_id.isin(["invalid-field", "unknown-field"])]
    assert set(rows.status) == {"pass"}, rows[["check_id", "message"]].to_string()


CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          required: [spec]
          properties:
            spec:
              type: object
              required: [size]
              properties:
                size: {type: integer}
                port: {x-kubernetes-int-or-string: true}
                colour: {type: string, enum: [red, blue]}
                extra: {type: object, x-kubernetes-preserve-unknown-fields: true}
                template: {type: object, x-kubernetes-embedded-resource: true,
                           properties: {spec: {type: object,
                                               x-kubernetes-preserve-unknown-fields: true}}}
---
"""


def test_custom_resources_follow_their_crd() -> None:
    text = CRD + ("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"
                  "spec:\n  colour: green\n  sise: 3\n  port: http\n")
    invalid = failures(text, "invalid-field")
    assert dict(zip(invalid.path, invalid.message, strict=True)) == {
        "spec.size": "spec.size: is required",
        "spec.colour": "spec.colour: must be one of blue, red, not 'green'"}
    (unknown,) = failures(text, "unknown-field").itertuples()
    assert unknown.path == "spec.sise" and unknown.message.endswith("did you mean `size`?")
    assert text.splitlines()[unknown.line - 1] == "  sise: 3"


def test_preserve_unknown_fields_and_embedded_resources_are_respected() -> None:
    text = CRD + ("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"
                  "spec:\n  size: 3\n  port: 8080\n  extra: {anything: [1, {goes: here}]}\n"
                  "  template: {apiVersion: v1, kind: Pod, metadata: {name: x},"
                  " spec: {free: form}}\n")
    findings = Analysis.of(text).findings
    rows = findings[findings.check_id.isin(["invalid-field", "unknown-field"])
                    & (findings.kind == "Widget")]
    assert set(rows.status) == {"pass"}, rows.message.tolist()


def test_a_custom_resource_without_its_crd_is_left_alone() -> None:
    text = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {sise: 3}\n"
    findings = Analysis.of(text).findings
    (row,) = findings[findings.check_id == "unknown-field"].itertuples()
    assert row.status == "skip" and "no schema for example.com/v1 Widget" in row.message


def test_a_removed_api_is_left_to_the_api_version_checks() -> None:
    text = ("apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: p}\n"
            "spec: {minAvailable: 1, selector: {matchLabels: {app: web}}, typo: 1}\n")
    findings = Analysis.of(text).findings
    fails = findings[findings.status == "fail"]
    assert "api-version-removed" in set(fails.check_id)
    assert not {"invalid-field", "unknown-field"} & set(fails.check_id)


def test_the_kube_version_selects_the_schema() -> None:
    """Pod-level resources (PodSpec.resources) are served from Kubernetes 1.32."""
    text = DEPLOYMENT.replace("    spec:\n      containers:",
                              "    spec:\n      resources: {limits: {cpu: 1}}\n      containers:"
                              ) % ""
    assert failures(text, "unknown-field", kube_version="1.32").empty
    (row,) = failures(text, "unknown-field", kube_version="1.31").itertuples()
    assert row.path == "spec.template.spec.resources"
    assert row.message == ("`spec.template.spec.resources` is not in the schema of Kubernetes "
                           "1.31, only from 1.32: the API server of 1.31 drops it "
                           "(--kube-version sets the target)")
    assert openapi.schema_version("1.31") == "1.31"
    assert openapi.schema_version("1.20") == openapi.schema_version("1.25") == "1.25"


def test_a_chart_rendered_object_names_its_template(sdk, tmp_path: Path) -> None:
    chart = make_chart(tmp_path / "c", {"deployment.yaml": container("imagePulPolicy: Always")})
    rendered = render(chart)
    (row,) = failures(rendered, "unknown-field").itertuples()
    assert row.template == "demo/templates/deployment.yaml"
    assert row.path.endswith("imagePulPolicy")
    lines = rendered.text.splitlines()
    assert lines[row.line - 1].strip() == "imagePulPolicy: Always"


def test_every_fixture_and_example_is_free_of_false_findings() -> None:
    """Besides the fixtures that are about them, nothing the kit ships breaks its schema."""
    shipped = [*sorted((ROOT / "examples").rglob("rendered/*.yaml")),
               *sorted((ROOT / "tests/fixtures/checks").glob("*/pass-*.yaml"))]
    for path in shipped:
        rows = failures(path, "unknown-field")
        assert rows.empty, (path, rows.message.tolist())


def test_the_schema_machinery_is_not_imported_on_check() -> None:
    code = ("import contextlib, io, sys\nfrom toolman_kit.commands import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    main(['check', 'examples/toolman/rendered/default.yaml'])\n"
            "print(' '.join(sys.modules))")
    modules = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    assert "kubernetes_validate" not in modules and "jsonschema" not in modules


@pytest.mark.parametrize("version", ["1.25", "1.36"])
def test_every_built_in_kind_compiles(version: str) -> None:
    built = openapi._builtin(version)
    for api_version, kind in built.kinds:
        assert built.node(api_version, kind) is not None


# --- a chart's crds/: installed by Helm before the templates, so its CRs are judged by them ----

WIDGET_CR = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec:\n  %s\n"


def widget_rows(source, **kwargs) -> pd.DataFrame:
    findings = Analysis.of(source, **kwargs).findings
    return findings[findings.check_id.isin(["invalid-field", "unknown-field"])
                    & (findings.kind == "Widget")].set_index("check_id")


def test_a_chart_crd_validates_its_custom_resources(sdk, tmp_path: Path) -> None:
    from toolman_kit.chart.render import load_chart

    chart = make_chart(tmp_path / "c", {"widget.yaml": WIDGET_CR % "{size: 3, sise: 4}"})
    assert widget_rows(render(chart)).loc["unknown-field", "status"] == "skip"  # no CRD yet
    (chart / "crds").mkdir()
    (chart / "crds" / "widgets.yaml").write_text(CRD)
    rows = widget_rows(render(chart))
    assert rows.loc["unknown-field", "status"] == "fail"
    assert rows.loc["unknown-field", "message"].endswith("did you mean `size`?")
    assert rows.loc["invalid-field", "status"] == "pass"
    manifests, rendered = load_chart(chart)
    assert [r.kind for r in manifests.crds] == ["CustomResourceDefinition"]
    assert manifests.crds[0].source.file == str(chart / "crds" / "widgets.yaml")
    # Schemas, not objects of their own: no CRD row, and no rendered copy counted twice.
    findings = Analysis.of(manifests).findings
    assert "CustomResourceDefinition" not in set(findings.kind)
    (chart / "templates" / "widget.yaml").write_text(WIDGET_CR % "{size: 3}")
    assert set(widget_rows(render(chart)).status) == {"pass"}


def test_a_packaged_subchart_crd_validates_them_in_every_path(sdk, capsys,
                                                              tmp_path: Path) -> None:
    import json

    from helpers import run
    from test_api_versions import package

    chart = make_chart(tmp_path / "c", {"widget.yaml": WIDGET_CR % "{colour: green}"},
                       chart_yaml="apiVersion: v2\nname: demo\nversion: 0.1.0\ndependencies:\n"
                                  "  - {name: widgets, version: 0.1.0, repository: "
                                  "'https://charts.example.com'}\n")
    package(chart, "widgets", {"crds/widgets.yaml": CRD})
    rows = widget_rows(render(chart)).loc[["invalid-field"]]
    assert set(rows.status) == {"fail"}
    assert set(rows.message) == {"spec.size: is required",
                                 "spec.colour: must be one of blue, red, not 'green'"}
    code, out, err = run(capsys, "check", "--chart", str(chart), "--format", "json")
    assert code == 1, err
    failed = {(r["check_id"], r["kind"]) for r in json.loads(out)["findings"]
              if r["status"] == "fail"}
    assert ("invalid-field", "Widget") in failed
    code, out, err = run(capsys, "compare", "--chart", str(chart), "--format", "json",
                         "-j", "1")
    assert code == 0, err
    assert "spec.size: is required" in out
