"""`toolman-kit report` end to end: real kernels, real papermill and nbconvert, no mocks.

The Toolman report (production values against the chart defaults) is built once (conftest.py);
the failure and escaping tests build their own small reports.
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from toolman_kit.commands import main
from toolman_kit.errors import ReportError, ToolmanKitError
from toolman_kit.present.report import EXAMPLE, build_report

NOTEBOOKS = ("00_summary", "01_container_architecture", "02_security", "03_high_availability",
             "04_volumes", "05_values")  # 05_values: in reports on a chart
FILES = ("index.html", *(f"{n}.html" for n in NOTEBOOKS), *(f"{n}.ipynb" for n in NOTEBOOKS),
         "deployment-analysis.md", "findings.json", "findings.csv", "report.sarif",
         "comparison.json", "suggested-values.yaml", "suggestion.json")  # the example suggests
# The seed's checklist: its judgements of the default values, and what the production values give.
DEFAULT = {"Replicas": "❌", "Resource Requests": "⚠️", "Resource Limits": "⚠️",
           "Health Probes": "❌", "Pod Anti-Affinity": "❌", "PDB": "❌", "Network Policy": "❌",
           "Monitoring": "⚠️", "Image Tag": "❌", "Image Pull Policy": "⚠️"}
PRODUCTION = {"Replicas": "✅", "Resource Requests": "✅", "Resource Limits": "✅",
              "Health Probes": "⚠️", "Pod Anti-Affinity": "✅", "PDB": "✅",
              "Network Policy": "❌", "Monitoring": "✅", "Image Tag": "❌",  # docker:dind
              "Image Pull Policy": "✅"}
SEED_HEADINGS = (
    "Executive Summary", "Current Deployment Configuration", "Container Architecture",
    "Security Assessment", "Resource Management", "High Availability Features",
    "Volume Configuration", "Production Readiness Checklist", "Security Findings",
    "Positive Security Features", "Security Recommendations", "Production Values Override",
    "Identified Issues", "Recommendations", "Immediate Actions", "Future Improvements",
    "Validation Results", "Conclusion")
PAYLOADS = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")


class Page(HTMLParser):
    """Headings, tables (rows of cell texts), tags with their attributes, and style text."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.headings: list[str] = []
        self.tables: list[list[list[str]]] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.styles: list[str] = []
        self._heading: list[str] | None = None
        self._cell: list[str] | None = None
        self._style = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("h1", "h2", "h3", "h4"):
            self._heading = []
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "style":
            self._style = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h1", "h2", "h3", "h4") and self._heading is not None:
            self.headings.append("".join(self._heading).replace("¶", "").strip())
            self._heading = None
        elif tag in ("td", "th") and self._cell is not None and self.tables:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "style":
            self._style = False

    def handle_data(self, data: str) -> None:
        for part in (self._heading, self._cell):
            if part is not None:
                part.append(data)
        if self._style:
            self.styles.append(data)


def checklist(page: Page) -> list[dict[str, str]]:
    """The rows of the Production Readiness Checklist table, by column title."""
    for rows in page.tables:
        if rows and rows[0][:1] == ["Component"]:
            return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    raise AssertionError("no checklist table")


def pages(out: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(out.glob("*.html"))}


@pytest.mark.slow
def test_every_output_is_written(toolman_report: tuple[Path, str]) -> None:
    out, _ = toolman_report
    assert sorted(p.name for p in out.iterdir()) == sorted([*FILES, ".toolman-report"])
    listed = (out / ".toolman-report").read_text(encoding="utf-8").splitlines()
    assert sorted(listed[1:]) == sorted(FILES)  # the files the kit wrote, the only it replaces
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert document["findings"] and document["checklist"]
    assert json.loads((out / "report.sarif").read_text(encoding="utf-8"))["version"] == "2.1.0"
    assert (out / "findings.csv").read_text(encoding="utf-8").startswith("check_id,")
    markdown = (out / "deployment-analysis.md").read_text(encoding="utf-8")
    assert "## Production Readiness Checklist" in markdown
    for name in NOTEBOOKS:  # executed: outputs present, the parameters injected
        nb = json.loads((out / f"{name}.ipynb").read_text(encoding="utf-8"))
        assert any(c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code"), name
        assert any("injected-parameters" in c["metadata"].get("tags", []) for c in nb["cells"])
    assert (out / "index.html").read_text() == (out / "00_summary.html").read_text()
    for name, text in {**pages(out), "deployment-analysis.md": markdown}.items():
        assert "&lt;NA&gt;" not in text and "<NA>" not in text, name  # missing values: blank


@pytest.mark.slow
def test_progress_and_summary_lines(toolman_report: tuple[Path, str]) -> None:
    out, stderr = toolman_report
    lines = stderr.strip().splitlines()
    progress = [line for line in lines if re.match(r"\[\d/6\] \S+ \.\.\. ok \d+\.\ds$", line)]
    assert sorted(line.split()[1] for line in progress) == sorted(NOTEBOOKS)
    assert lines[-1].startswith(f"{out / 'index.html'}  ❌ 5  ⚠️ 2  ✅ 9  "
                                "(baseline ❌ 8  ⚠️ 6  ✅ 2)")


@pytest.mark.slow
def test_checklist_has_the_seed_judgements(toolman_report: tuple[Path, str]) -> None:
    out, _ = toolman_report
    rows = {r["Component"]: r for r in checklist(Page((out / "index.html").read_text()))}
    assert {c: rows[c]["Baseline"] for c in DEFAULT} == DEFAULT  # the seed's table, by value
    assert {c: rows[c]["Production Ready"] for c in PRODUCTION} == PRODUCTION
    assert rows["Replicas"]["Baseline State"] == "1" and rows["Replicas"]["Current State"] == "3"
    assert rows["Image Tag"]["Baseline State"] == "latest"
    assert rows["Storage vs Replicas"]["Change"] == "❌ worse"  # one RWO claim for 3 replicas


@pytest.mark.slow
def test_sections_have_the_seed_headings(toolman_report: tuple[Path, str]) -> None:
    out, _ = toolman_report
    headings = {h for text in pages(out).values() for h in Page(text).headings}
    assert [h for h in SEED_HEADINGS if h not in headings] == []
    for name, title in (("01_container_architecture.html", "1. Main Container (toolman)"),
                        ("01_container_architecture.html", "2. Sidecar Container (docker-daemon)"),
                        ("01_container_architecture.html", "3. Init Container (setup)")):
        assert title in Page((out / name).read_text()).headings


def assert_offline(text: str, name: str) -> None:
    scripts = re.findall(r"<script\b[^>]*>", text, re.IGNORECASE)
    assert len(scripts) == 1 and "src" not in scripts[0].lower(), (name, scripts)  # ours, inline
    assert "toolman-kit: long tables" in text, name
    page = Page(text)
    for tag, attrs in page.tags:
        for attr in ("src", "href", "data", "action", "srcset"):
            value = (attrs.get(attr) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//", "javascript:")), (name, tag)
        if tag == "link":
            assert attrs.get("rel") != "stylesheet" or not attrs.get("href"), name
    for css in page.styles:
        urls = re.findall(r"url\(\s*['\"]?([^'\")]+)", css)
        urls += re.findall(r"@import\s+['\"]([^'\"]+)", css)
        assert all(u.startswith(("data:", "#")) for u in urls), (name, urls)


@pytest.mark.slow
def test_html_is_self_contained_and_offline(toolman_report: tuple[Path, str]) -> None:
    out, _ = toolman_report
    for name, text in pages(out).items():
        assert_offline(text, name)
        assert "hl-ipython3" not in text and "ui.inputs(" not in text, f"{name}: code shown"
    images = [a for tag, a in Page((out / "01_container_architecture.html").read_text()).tags
              if tag == "img"]
    assert images and all(a["src"].startswith("data:image/png;base64,") for a in images)


def test_bad_input_is_one_error_before_any_kernel(tmp_path: Path) -> None:
    missing = tmp_path / "no such.yaml"
    out = tmp_path / "never"
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        assert main(["report", str(missing), "--out", str(out)]) == 2
    assert stderr.getvalue() == (f"toolman-kit: error: {missing}: no such file or directory "
                                 "(parameter manifests)\n")  # one line, no notebook started
    assert not out.exists() and list(tmp_path.iterdir()) == []
    with pytest.raises(ToolmanKitError, match=r"parameter baseline"):
        build_report(out, manifests=[str(EXAMPLE / "rendered" / "default.yaml")],
                     baseline=[str(missing)])
    with pytest.raises(ToolmanKitError, match=r"sets\[1\] 'b', values"):
        build_report(out, chart=str(EXAMPLE / "chart"), sets=[
            {"name": "a", "values": []}, {"name": "b", "values": [str(missing)]}])


def test_failed_report_keeps_the_previous_one(tmp_path: Path) -> None:
    """Input that exists but holds no Kubernetes object fails once, in the main thread, before
    any notebook runs; the previous report stays; "unchanged" only when there was one."""
    out = tmp_path / "reports" / "broken"
    out.mkdir(parents=True)
    (out / "index.html").write_text("the previous report")
    (out / ".toolman-report").write_text("index.html\n")  # the kit wrote it
    readme = tmp_path / "README.md"
    readme.write_text("# not a manifest\n\nJust prose.\n")
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        assert main(["report", str(readme), "--out", str(out), "--jobs", "1"]) == 2
    text = stderr.getvalue()
    assert text.count("nothing to report on") == 1 and f"({out} is unchanged)" in text
    assert "Traceback" not in text and "[1/5]" not in text, text
    assert sorted(p.name for p in out.iterdir()) == [".toolman-report", "index.html"]
    assert (out / "index.html").read_text() == "the previous report"
    assert sorted(p.name for p in out.parent.iterdir()) == ["broken"]  # no temporary left
    with pytest.raises(ReportError) as error:
        build_report(tmp_path / "new", manifests=[str(readme)], jobs=2)
    assert "unchanged" not in str(error.value) and "nothing to report on" in str(error.value)
    assert not (tmp_path / "new").exists()


HOSTILE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: "{p0}"
  labels: {{app: "{p1}", "{p0}": x}}
  annotations: {{note: "{p0}", "{p1}": "{p1}"}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: "{p1}"}}}}
  template:
    metadata:
      labels: {{app: "{p1}"}}
      annotations: {{"toolman-kit.io/x": "{p0}"}}
    spec:
      initContainers:
        - name: "{p1}"
          image: "registry.example/{p0}:latest"
      containers:
        - name: "{p0}"
          image: "{p1}"
          env:
            - {{name: "{p0}", value: "{p1}"}}
            - {{name: PASSWORD, value: "{p0}"}}
          ports: [{{containerPort: 80, name: "{p1}"}}]
          volumeMounts: [{{name: "{p0}", mountPath: "/{p1}"}}]
          securityContext: {{privileged: true}}
        - name: sidecar
          image: "busybox:{p1}"
          volumeMounts: [{{name: "{p0}", mountPath: "/x"}}]
      volumes:
        - name: "{p0}"
          configMap: {{name: "{p1}"}}
---
apiVersion: v1
kind: Service
metadata: {{name: "{p1}"}}
spec:
  selector: {{app: "{p1}"}}
  ports: [{{port: 80, targetPort: "{p0}"}}]
"""


@pytest.mark.slow
def test_manifest_strings_are_escaped_everywhere(tmp_path: Path) -> None:
    """Names, labels, annotations, images, env and the title carry HTML/JS; the manifest sits in
    a directory whose name has quotes, spaces and non-ASCII (papermill parameters are data)."""
    where = tmp_path / "it's \"quoted\" & spaced — ü"
    where.mkdir()
    manifest = where / "hostile.yaml"
    manifest.write_text(HOSTILE.format(p0=PAYLOADS[0], p1=PAYLOADS[1]), encoding="utf-8")
    out = tmp_path / "hostile report"
    build_report(out, manifests=[str(manifest)], title=PAYLOADS[0] + " & co")
    texts = pages(out)
    assert len(texts) == len(NOTEBOOKS)  # no chart, no 05_values; index.html besides
    for name, text in texts.items():
        for payload in PAYLOADS:
            assert payload not in text, (name, payload)
        assert_offline(text, name)
        for tag, attrs in Page(text).tags:
            assert not any(a.startswith("on") for a in attrs), (name, tag, attrs)
            assert tag not in ("iframe", "object", "embed"), name  # script: only ours, above
    summary = texts["index.html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in summary  # it is shown, as text
    architecture = texts["01_container_architecture.html"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in architecture
    assert "‹redacted›" in architecture  # PASSWORD's literal value is not shown
    assert str(manifest) in html.unescape(summary)  # through papermill and back intact


def test_notebooks_are_committed_clean_with_one_parameters_cell() -> None:
    import ast

    import nbformat

    from toolman_kit.present.sections import NOTEBOOKS as DIRECTORY

    assert sorted(p.stem for p in DIRECTORY.glob("*.ipynb")) == sorted([*NOTEBOOKS, "tutorial"])
    for name in [*NOTEBOOKS, "tutorial"]:
        nb = nbformat.read(DIRECTORY / f"{name}.ipynb", as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), name
        tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1 and code[0] is tagged[0], name
        if name == "tutorial":
            continue
        defaults = {t.id: ast.literal_eval(node.value)
                    for node in ast.parse(tagged[0].source).body
                    if isinstance(node, ast.Assign) for t in node.targets}
        if name == "05_values":
            assert set(defaults) == {"chart", "sets", "release", "profile", "namespace",
                                     "kube_version", "api_versions", "comparison",
                                     "suggestion", "suggest", "title", "config"}
            paths = [p for spec in defaults["sets"] for p in spec["values"]]
            assert (DIRECTORY / defaults["chart"] / "Chart.yaml").is_file()
        else:
            assert set(defaults) == {"manifests", "baseline", "chart", "values",
                                     "baseline_values", "set_values", "sets", "release",
                                     "profile", "namespace", "kube_version", "api_versions",
                                     "title", "config"}
            paths = [*defaults["manifests"], *defaults["baseline"]]
        for path in [*paths, defaults["profile"]]:
            assert (DIRECTORY / path).is_file(), (name, path)  # relative to notebooks/


@pytest.mark.slow
def test_notebooks_run_with_their_defaults(tmp_path: Path) -> None:
    """As when opened in Jupyter: no parameters injected, the kernel in notebooks/."""
    from jupyter_core.utils import run_sync

    from toolman_kit.present.report.kernels import _kernel_manager, _shutdown, execute

    km = _kernel_manager(tmp_path / "kernel")
    try:
        run_sync(km.start_kernel)()
        for name in NOTEBOOKS:
            nb = execute(km, name, None)
            text = json.dumps([c.get("outputs") for c in nb.cells])
            assert "production.yaml" in text and "Error" not in text, name
    finally:
        _shutdown(km)


@pytest.mark.slow
def test_bad_documents_are_reported_and_the_good_ones_still_make_the_report(
        tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    example = Path(__file__).parents[1] / "examples" / "toolman" / "rendered" / "production.yaml"
    (inputs / "good.yaml").write_text(example.read_text())
    (inputs / "bad.yaml").write_text("kind: [\n---\n- a list\n")
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        code = main(["report", str(inputs), "--out", str(tmp_path / "out"), "--no-baseline",
                     "-j", "1"])
    assert code == 2  # something failed: CI notices
    assert f"{inputs / 'bad.yaml'}:2:1: invalid YAML" in stderr.getvalue()
    assert f"{inputs / 'bad.yaml'}:3: document is a list" in stderr.getvalue()
    index = (tmp_path / "out" / "index.html").read_text()
    assert "Deployment/toolman" in index and "document is a list" in index
    # No chart: no values section, and no link to one.
    assert not (tmp_path / "out" / "05_values.html").exists()
    assert "Chart Values" not in index and "comparison.json" not in index


STAGING = """\
replicaCount: 2
image:
  tag: v0.4.2
  pullPolicy: IfNotPresent
"""


@pytest.mark.slow
def test_three_sets_in_a_report(tmp_path: Path) -> None:
    """The chart's defaults, a staging values file and the production values: every section
    shows three columns, each set compared with the first."""
    staging = tmp_path / "values-staging.yaml"
    staging.write_text(STAGING)
    chart = EXAMPLE / "chart"
    out = tmp_path / "three"
    report = build_report(out, chart=str(chart), release="toolman", namespace="toolman",
                          profile=str(EXAMPLE / "profile.yaml"), title="Three sets", sets=[
                              {"name": "defaults", "values": []},
                              {"name": "staging", "values": [str(staging)]},
                              {"name": "production",
                               "values": [str(chart / "values-production.yaml")]}])
    assert report.counts["fail"] == 5 and report.baseline_counts["fail"] == 8
    summary = Page((out / "index.html").read_text())
    table = next(rows for rows in summary.tables if rows and rows[0][:1] == ["Component"])
    assert table[0] == ["Component", "defaults", "", "staging", "", "production", "",
                      "Change (staging)", "Change (production)",
                      "Action Required (production)"]
    rows = {row[0]: row for row in table[1:]}
    assert rows["Replicas"][1:9] == ["1", "❌", "2", "❌", "3", "✅", "⚠️ still failing",
                                     "✅ fixed"]
    # The toolman image is pinned in both sets, but the docker:dind sidecar's tag still floats.
    assert rows["Image Tag"][1:9] == ["latest", "❌", "v0.4.2; docker-daemon: dind", "❌",
                                      "v0.4.2; docker-daemon: dind", "❌", "⚠️ still failing",
                                      "⚠️ still failing"]
    assert {"staging against defaults", "production against defaults"} <= set(summary.headings)
    for name in ("02_security.html", "03_high_availability.html", "04_volumes.html"):
        page = Page((out / name).read_text())
        assert "staging against defaults" in " ".join(page.headings), name
    markdown = (out / "deployment-analysis.md").read_text()
    assert "## Production Values Override (staging)" in markdown
    assert "## Production Values Override (production)" in markdown
    # The values page and comparison.json compare the same three sets.
    doc = json.loads((out / "comparison.json").read_text())
    assert [s["name"] for s in doc["sets"]] == ["defaults", "staging", "production"]
    values = Page((out / "05_values.html").read_text())
    assert values.tables[0][0] == ["Workload", "Component", "defaults", "staging", "production"]


@pytest.mark.slow
def test_three_named_sets_from_the_command_line(tmp_path: Path) -> None:
    """`report --chart DIR --value-set NAME=FILE … --suggest`: the chart defaults first, then each
    named set (NAME repeated: a set of two files, the later wins), -f and --set applied to every
    set; each section draws the same three columns, comparison.json and the values page compare
    the same sets, and the suggested values for the first named set as a fourth."""
    chart = EXAMPLE / "chart"
    staging, eu, shared = (tmp_path / f for f in ("values-staging.yaml", "eu.yaml", "shared.yaml"))
    staging.write_text(STAGING)
    eu.write_text("replicaCount: 3\n")  # later than staging's 2: wins
    shared.write_text("podAnnotations:\n  team: tools\n")
    out = tmp_path / "named"
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        code = main(["report", "--chart", str(chart), "--value-set", f"staging={staging}",
                     "--value-set", f"production={chart / 'values-production.yaml'}",
                     "--value-set", f"staging={eu}", "-f", str(shared),
                     "--set", "serviceAccount.automount=false", "--release", "toolman",
                     "-n", "toolman", "--profile", str(EXAMPLE / "profile.yaml"),
                     "--out", str(out), "-j", "2", "--suggest"])
    assert code == 0, stderr.getvalue()
    names = ["defaults", "staging", "production"]
    summary = Page((out / "index.html").read_text())
    rows = {row[0]: row for row in next(t for t in summary.tables if t and t[0][:1] == [
        "Component"])}
    assert rows["Component"][1:6:2] == names
    assert rows["Replicas"][1:6] == ["1", "❌", "3", "✅", "3"]  # eu.yaml won in staging
    for page in ("01_container_architecture.html", "02_security.html",
                 "03_high_availability.html", "04_volumes.html"):
        text = " ".join(Page((out / page).read_text()).headings)
        assert "staging against defaults" in text and "production against defaults" in text, page
    doc = json.loads((out / "comparison.json").read_text())
    assert [s["name"] for s in doc["sets"]] == [*names, "suggested"]
    assert [s["files"] for s in doc["sets"]] == [
        [str(shared)], [str(staging), str(eu), str(shared)],
        [str(chart / "values-production.yaml"), str(shared)],
        [str(staging), str(eu), str(shared), "suggested-values.yaml"]]
    assert all(s["errors"] == [] for s in doc["sets"])
    overridden = {(i["key"], i["reason"]) for i in doc["sets"][1]["ineffective_values"]}
    assert ("replicaCount", "overridden") in overridden  # staging's 2, overridden by eu.yaml
    values = Page((out / "05_values.html").read_text())
    assert values.tables[0][0] == ["Workload", "Component", *names, "suggested"]
    # The suggestion starts from the first named set (not the defaults it is compared with):
    # its files, the shared file, then --set (which still wins).
    suggestion = json.loads((out / "suggestion.json").read_text())
    assert suggestion["start"] == {"files": [str(staging), str(eu), str(shared)],
                                   "set": ["serviceAccount.automount=<redacted>"]}
    assert (out / "suggested-values.yaml").read_text() == suggestion["file"]
    assert "replicaCount" not in suggestion["values"]  # staging's 3 already: kept, not redone
    assert all(i["keys"] and i["resolve"] for i in suggestion["introduced"])  # trade-offs, said
    assert "Suggested Production Values" in values.headings
    assert ["Workload", "Component", "Before", "With the suggested values"] in [
        t[0] for t in values.tables if t]
    markdown = (out / "deployment-analysis.md").read_text()
    assert markdown.index("## Suggested Production Values") < markdown.index(
        "## Identified Issues")
    assert "**suggested** (" in markdown and "| Deployment/toolman | PDB | ❌" in markdown
    meta = " ".join(Page((out / "00_summary.html").read_text()).headings)
    assert "Chart Values" not in meta  # a link in the navigation, not a heading
    assert 'href="05_values.html"' in (out / "index.html").read_text()


def test_suggest_needs_a_chart() -> None:
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        assert main(["report", str(EXAMPLE / "rendered" / "default.yaml"), "--suggest"]) == 2
    assert "--suggest needs --chart DIR" in stderr.getvalue()


@pytest.mark.parametrize(("argv", "error"), [
    (["--value-set", "a=x.yaml", "--baseline", "b.yaml"], "not with --baseline"),
    (["--value-set", "defaults=x.yaml"], "the name 'defaults' is the chart's own defaults"),
])
def test_named_sets_refuse_what_they_cannot_mean(argv: list[str], error: str) -> None:
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        assert main(["report", "--chart", str(EXAMPLE / "chart"), *argv]) == 2
    assert error in stderr.getvalue() and stderr.getvalue().count("\n") == 1


def test_a_missing_notebook_input_is_one_error_naming_the_parameter(tmp_path: Path) -> None:
    from toolman_kit.present.inputs import inputs

    with pytest.raises(ToolmanKitError, match=r"nope\.yaml: no such file or directory "
                                              r"\(parameter baseline\)"):
        inputs([str(EXAMPLE / "rendered" / "default.yaml")], ["nope.yaml"])
    with pytest.raises(ToolmanKitError, match=r"parameter profile"):
        inputs([str(EXAMPLE / "rendered" / "default.yaml")], profile="nope.yaml")


@pytest.mark.slow
@pytest.mark.parametrize("where", ["root", "notebooks", "elsewhere"])
def test_papermill_runs_a_notebook_from_anywhere(tmp_path: Path, where: str) -> None:
    """With its defaults (paths relative to notebooks/), from the repository root, from
    notebooks/ or from an unrelated directory: the papermill command line, a real kernel."""
    import subprocess
    import sys

    from toolman_kit.present.sections import NOTEBOOKS as DIRECTORY

    cwd = {"root": DIRECTORY.parent, "notebooks": DIRECTORY, "elsewhere": tmp_path}[where]
    out = tmp_path / "out.ipynb"
    done = subprocess.run([str(Path(sys.executable).parent / "papermill"), "-k", "python3",
                           "--no-progress-bar", str(DIRECTORY / "02_security.ipynb"), str(out)],
                          cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    text = json.dumps([c.get("outputs") for c in json.loads(out.read_text())["cells"]])
    assert "production.yaml" in text and "Pod Security Standards" not in text  # outputs only
    assert '"output_type": "error"' not in text
