"""The generated report on the Toolman example, and what it must never print."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from toolman_kit.analysis import Analysis
from toolman_kit.chart.lint import LintMessage
from toolman_kit.chart.render import Rendered
from toolman_kit.comparison import compare
from toolman_kit.present import narrative, views
from toolman_kit.read.manifests import load

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "toolman"
SEED_HEADINGS = (
    "## Executive Summary", "## Current Deployment Configuration", "### Container Architecture",
    "### Security Assessment", "### Resource Management", "### High Availability Features",
    "### Volume Configuration", "## Production Readiness Checklist", "## Security Findings",
    "### Positive Security Features", "### Security Recommendations", "## Identified Issues",
    "## Recommendations", "### Immediate Actions", "### Future Improvements",
    "## Validation Results", "## Conclusion")


@pytest.fixture(scope="module")
def default() -> Analysis:
    return Analysis.of(EXAMPLE / "rendered" / "default.yaml", profile=EXAMPLE / "profile.yaml",
                       values_set="default values")


@pytest.fixture(scope="module")
def production() -> Analysis:
    return Analysis.of(EXAMPLE / "rendered" / "production.yaml",
                       profile=EXAMPLE / "profile.yaml", values_set="production values")


def test_report_has_the_seed_structure(default: Analysis) -> None:
    report = narrative.markdown_report(default, title="Toolman Deployment Analysis Report")
    assert report.startswith("# Toolman Deployment Analysis Report\n")
    positions = [report.index(f"\n{h}\n") for h in SEED_HEADINGS]
    assert positions == sorted(positions)
    assert "## Production Values Override" not in report  # only with a baseline
    for row in ("| Replicas | 1 | ❌ |", "| Resource Requests | 100m/128Mi | ⚠️ |",
                "| Health Probes | Disabled | ❌ |", "| Image Tag | latest | ❌ |",
                "| Image Pull Policy | Always | ⚠️ |", "| PDB | Disabled | ❌ |"):
        assert row in report
    assert "1. **Main Container (toolman)**" in report
    assert "Non-root execution (UID 1001, GID 2375): toolman" in report


def test_report_with_baseline(default: Analysis, production: Analysis) -> None:
    report = narrative.markdown_report(production, baseline=default)
    override = report.index("## Production Values Override")
    assert report.index("## Security Findings") < override < report.index("## Identified Issues")
    assert "| Replicas | 1 | ❌ | 3 | ✅ | fixed |" in report
    assert "| Storage vs Replicas |" in report and "| worse |" in report


def test_executive_summary(default: Analysis, production: Analysis) -> None:
    summary = narrative.executive_summary(default)
    assert "6 objects" in summary and "3 containers (1 main, 1 sidecar, 1 init)" in summary
    assert "**Not production-ready**" in summary and "toolman-production" in summary
    assert "docker-daemon runs privileged" in summary and "1 replica(s)" in summary
    compared = narrative.executive_summary(production, baseline=default)
    assert re.search(r"fixes \d+ checklist rows \(Replicas, ", compared)
    assert "makes 1 checklist row (Storage vs Replicas) worse" in compared
    assert "New failures:" in compared and "ReadWriteOnce claim shared by several pods" in compared
    assert compared != summary


def test_identified_issues_and_recommendations(default: Analysis) -> None:
    issues = narrative.identified_issues(default)
    severities = [i.split("** (", 1)[1].split(")", 1)[0] for i in issues]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)
    assert any("privileged" in i and "docker-daemon" in i for i in issues)
    assert len(issues) == len(set(default.findings.query("status == 'fail'")["check_id"]))
    recs = narrative.recommendations(default)
    assert any("Increase to 3" in r for r in recs["immediate"])
    assert any("minAvailable: 2" in r for r in recs["immediate"])
    assert any("IfNotPresent" in r for r in recs["future"])
    assert not any("IfNotPresent" in r for r in recs["immediate"])


def test_validation_results(default: Analysis) -> None:
    rendered = Rendered("", (LintMessage("info", "Chart.yaml", "icon is recommended"),),
                        "helm-sdk", "chart", ())
    results = dict((text.split(":", 1)[0], (ok, text))
                   for ok, text in narrative.validation_results(default, rendered))
    assert results["Helm lint"] == (True, "Helm lint: Passed (1 info message: icon is recommended)")
    assert results["Template rendering"][0] and results["Manifests loaded"][0]
    security_ok, security = results["Security context"]
    assert security_ok is False and "Deployment/toolman privileged" in security
    assert results["Resource definitions"][0] and results["Volume mounts"][0]
    assert "Helm lint" not in dict((t.split(":", 1)[0], ok)
                                   for ok, t in narrative.validation_results(default))


def test_conclusion(default: Analysis, production: Analysis) -> None:
    text = narrative.conclusion(production, baseline=default)
    assert "not production-ready" in text and "docker-daemon (docker:dind)" in text
    assert "The candidate values (production values) fix" in text and "toolman:/var/run" in text


def test_manifest_strings_are_escaped() -> None:
    manifest = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
        - name: "a|b"
          image: "evil<script>alert(1)</script>:1"
"""
    report = narrative.markdown_report(Analysis.of(load(manifest)))
    assert "<script>" not in report and "a|b" not in report and "a\\|b" in report


SECRETS = ("stringdata-s3cret-value", "data-s3cret-value", "env-t0ken-value", "env-passw0rd-val")
LEAKY = f"""apiVersion: v1
kind: Secret
metadata: {{name: creds}}
stringData: {{API_KEY: {SECRETS[0]}}}
data: {{PASSWORD: {base64.b64encode(SECRETS[1].encode()).decode()}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: app}}
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: app
          image: app:1.0
          env:
            - {{name: API_TOKEN, value: {SECRETS[2]}}}
            - {{name: DB_PASSWORD, value: {SECRETS[3]}}}
            - name: FROM_SECRET
              valueFrom: {{secretKeyRef: {{name: creds, key: API_KEY}}}}
          envFrom:
            - secretRef: {{name: creds}}
          volumeMounts: [{{name: creds, mountPath: /creds, readOnly: true}}]
      volumes:
        - {{name: creds, secret: {{secretName: creds}}}}
"""


def test_secret_values_never_appear() -> None:
    a = Analysis.of(load(LEAKY))
    baseline = Analysis.of(load(LEAKY))
    tables = [views.containers(a), views.resources(a), views.volumes(a), views.mount_matrix(a),
              views.probes(a), views.availability(a), views.runtime_sockets(a),
              compare(baseline, a).checklist, compare(baseline, a).findings]
    texts = [t.to_csv() for t in tables] + [repr(views.security_posture(a)),
                                            repr(views.checklist_counts(a))]
    texts += [narrative.markdown_report(a, baseline=baseline),
              narrative.executive_summary(a, baseline), narrative.conclusion(a, baseline),
              repr(narrative.identified_issues(a)), repr(narrative.recommendations(a)),
              repr(narrative.validation_results(a))]
    leaked = [s for s in (*SECRETS, base64.b64encode(SECRETS[1].encode()).decode())
              for text in texts if s in text]
    assert not leaked
    env = views.containers(a).iloc[0]["env"]
    assert "API_TOKEN=‹redacted›" in env and "DB_PASSWORD=‹redacted›" in env
    assert "FROM_SECRET ← secretKeyRef creds/API_KEY" in env


def test_no_workloads() -> None:
    a = Analysis.of(load("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"))
    report = narrative.markdown_report(a)
    assert "**Nothing to assess**" in report and "## Conclusion" in report
    assert views.mount_matrix(a).empty and views.containers(a).empty


def test_markdown_grows_with_distinct_problems_not_workloads() -> None:
    """Two or ten releases of the same 12-service chart: the same problems, so about the same
    length (what the workloads share is written once, with their count)."""
    import sys

    sys.path.insert(0, str(EXAMPLE.parents[1] / "bench"))
    import platform_chart

    one = platform_chart.render()

    def lines(copies: int) -> int:
        text = "".join(re.sub(r"\bshop(?=[-\n])", f"r{i}", one) for i in range(copies))
        a = Analysis.of(text)
        assert len(a.index.workloads) == 12 * copies
        return len(narrative.markdown_report(a).splitlines())

    two, ten = lines(2), lines(10)
    assert ten <= two * 1.1, (two, ten)
    # the seed is 150 lines for one workload; this is twelve (and the Admission Policies section)
    assert lines(1) < 405


def test_security_findings_as_the_seed_lists_them(default: Analysis) -> None:
    report = narrative.markdown_report(default)
    section = report.split("### Positive Security Features\n", 1)[1].split("\n## ", 1)[0]
    strengths, recommendations = section.split("### Security Recommendations\n")
    assert "1. **Non-root execution (UID 1001, GID 2375)**: toolman" in strengths
    assert "**Dropped all capabilities**: toolman" in strengths
    assert "| privileged |" in recommendations  # the pod's Pod Security Standards level
    row = next(line for line in recommendations.splitlines() if "| privileged-container |" in line)
    assert row.endswith(f"| {EXAMPLE / 'rendered' / 'default.yaml'}:"
                        f"{_line_of(EXAMPLE / 'rendered' / 'default.yaml', 'privileged: true')} |")


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1)
                if line.strip() == text)


@pytest.fixture(scope="module")
def chart_inputs():
    from toolman_kit.present.inputs import inputs

    chart = EXAMPLE / "chart"
    return inputs(sets=[{"name": "production", "values": [str(chart / "values-production.yaml")]}],
                  chart=str(chart), profile=str(EXAMPLE / "profile.yaml"))


def test_chart_locations_name_the_template_and_its_line(chart_inputs) -> None:
    """A rendered chart is no file: every source names a template, with a line only where the
    template has the rendered line's text there."""
    a, rendered = chart_inputs.analysis, chart_inputs.rendered["production"]
    where = views.Locations(rendered)
    lines = rendered.text.splitlines()
    failed = a.findings[a.findings["status"] == "fail"]
    placed = {}
    for file, line in zip(failed["file"], failed["line"], strict=True):
        place = where(file, line)
        template, _, at = place.partition(":")
        assert (EXAMPLE / "chart" / template).is_file(), place
        if at:
            source = (EXAMPLE / "chart" / template).read_text().splitlines()
            assert source[int(at) - 1].strip() == lines[int(line) - 1].strip(), place
        placed[lines[int(line) - 1].strip()] = place
    deployment = EXAMPLE / "chart" / "templates" / "deployment.yaml"
    assert placed["privileged: true"] == \
        f"templates/deployment.yaml:{_line_of(deployment, 'privileged: true')}"
    assert placed["image: docker:dind"] == \
        f"templates/deployment.yaml:{_line_of(deployment, 'image: docker:dind')}"
    # the claim's name is a value: the template has no such line
    assert placed["claimName: release-name-toolman-data"] == "templates/deployment.yaml"
    report = narrative.markdown_report(chart_inputs)
    assert "<rendered" not in report
    assert f"| templates/deployment.yaml:{_line_of(deployment, 'privileged: true')} |" in report


def test_locations_outside_a_chart(tmp_path: Path) -> None:
    """Manifest files keep their name and line; a `# Source:` comment naming a path outside the
    chart is not read."""
    assert views.Locations()("deploy.yaml", 12) == "deploy.yaml:12"
    assert views.Locations()("deploy.yaml", None) == "deploy.yaml"
    (tmp_path / "chart").mkdir()
    (tmp_path / "secret.yaml").write_text("kind: ConfigMap\nmetadata:\n")
    text = "---\n# Source: c/../secret.yaml\nkind: ConfigMap\nmetadata:\n"
    where = views.Locations(Rendered(text, (), "sdk", str(tmp_path / "chart"), ()))
    assert where(f"<rendered {tmp_path / 'chart'}>", 4) == "../secret.yaml"


def test_chart_input_errors_name_the_template(tmp_path: Path) -> None:
    from toolman_kit.present.inputs import inputs

    chart = tmp_path / "bad"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: bad\nversion: 0.1.0\n")
    (chart / "templates" / "cm.yaml").write_text(
        '{{- if true }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n'
        "foo: bar\nbaz: 1\n{{- end }}\n")
    report = narrative.markdown_report(inputs(sets=[{"name": "d", "values": []}], chart=chart))
    assert "**Input error** — templates/cm.yaml:7: not a Kubernetes object" in report
    assert "1 error: templates/cm.yaml:7: not a Kubernetes object" in report
    assert "<rendered" not in report


SERVICES = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "web:1.0"}]}
""" + "".join(f"""---
apiVersion: v1
kind: Service
metadata: {{name: web-{n}, labels: {{monitored: "yes"}}}}
spec: {{selector: {{app: web}}, ports: [{{port: {8080 + n}}}]}}
""" for n in range(3)) + """---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: web}
spec:
  selector: {matchLabels: {monitored: "yes"}}
  endpoints: [{port: metrics}]
"""


def test_a_monitor_selecting_several_services_is_named_once() -> None:
    a = Analysis.of(SERVICES)
    assert a.checklist.set_index("component").loc["Monitoring", "current_state"] == \
        "ServiceMonitor web"
    assert "| Monitoring | ServiceMonitor web | ✅ |" in narrative.markdown_report(a)
