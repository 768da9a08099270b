"""`toolman-kit batch` end to end: real renders, real kernels, real files, no mocks.

One fleet made of the repository's Toolman example (its chart, its renderings) runs four times in
the module fixture; the tests assert on what each run left behind:
  1. first run: three reports, one target failing (its file does not exist yet) → exit 2;
  2. after changes: `toolman` fixed (its values gain topology spread), `payments` made worse (a
     mutable image tag), `steady` unchanged, `late` now readable → exit 1 (errors remain);
  3. nothing changed, --fail-on never: every target unchanged, nothing rewritten → exit 0;
  4. --force --keep 1 --only steady: steady redone, its older run pruned, history kept;
then steady alone with each --fail-on.
The fleet page of run 2 (kept aside) is opened in headless Chromium with the network cut.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import html
import io
import json
import re
import shutil
import threading
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest

from toolman_kit.commands import main
from toolman_kit.errors import FleetError
from toolman_kit.fleet.fleetfile import load_fleet
from toolman_kit.fleet.runner import batch_lock
from toolman_kit.present.report import EXAMPLE, Kernels, build_report

FLEET = """\
defaults: {profile: production, kube_version: "1.31"}
targets:
  - name: toolman            # fixed in run 2: its values gain topology spread constraints
    chart: chart
    values: [chart/values-production.yaml]
    namespace: toolman
    profile: profile.yaml
  - name: payments           # made worse in run 2: a mutable image tag
    paths: [rendered/payments/]
    namespace: toolman
  - name: steady             # never changes
    paths: [rendered/default.yaml]
  - name: late               # its file appears only before run 2
    paths: [rendered/late.yaml]
"""
SPREAD = """
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        app.kubernetes.io/name: toolman
"""
TARGETS = ("toolman", "payments", "steady", "late")


def batch(*args: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["batch", *args])
    return code, err.getvalue()


def history(out: Path) -> list[dict[str, str]]:
    with open(out / "history.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def run_dirs(out: Path, target: str) -> list[str]:
    return sorted(d.name for d in (out / target).iterdir()
                  if re.fullmatch(r"\d{8}T\d{6}Z", d.name))


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("fleet")
    shutil.copytree(EXAMPLE / "chart", root / "chart")
    shutil.copy(EXAMPLE / "profile.yaml", root / "profile.yaml")
    (root / "rendered" / "payments").mkdir(parents=True)
    shutil.copy(EXAMPLE / "rendered" / "production.yaml",
                root / "rendered" / "payments" / "payments.yaml")
    shutil.copy(EXAMPLE / "rendered" / "default.yaml", root / "rendered" / "default.yaml")
    (root / "fleet.yaml").write_text(FLEET)
    out, fleet_file = root / "out", str(root / "fleet.yaml")
    runs = [batch(fleet_file, "--out", str(out), "-j", "2")]
    runs[0] += (json.loads((out / "summary.json").read_text()),)

    values = root / "chart" / "values-production.yaml"
    values.write_text(values.read_text() + SPREAD)
    payments = root / "rendered" / "payments" / "payments.yaml"
    payments.write_text(payments.read_text().replace("toolman:v0.4.2", "toolman:latest"))
    shutil.copy(EXAMPLE / "rendered" / "production.yaml", root / "rendered" / "late.yaml")
    runs.append(batch(fleet_file, "--out", str(out), "-j", "2")
                + (json.loads((out / "summary.json").read_text()),))
    shutil.copytree(out, root / "after-run-2", symlinks=True)  # the page the browser opens

    stamps = {p: p.stat().st_mtime_ns for p in out.glob("*/*/index.html")}
    runs.append(batch(fleet_file, "--out", str(out), "--fail-on", "never")
                + (json.loads((out / "summary.json").read_text()),))
    untouched = all(p.stat().st_mtime_ns == t for p, t in stamps.items())
    dirs_before_keep = {t: run_dirs(out, t) for t in TARGETS if (out / t).exists()}
    (root / "<ci>").mkdir()
    config = root / "<ci>" / ".toolman-kit.yaml"  # named on the page and in summary.json
    config.write_text("fail_on: error\n")  # the flag wins
    runs.append(batch(fleet_file, "--out", str(out), "--force", "--keep", "1",
                      "--only", "steady", "--fail-on", "never", "--config", str(config))
                + (json.loads((out / "summary.json").read_text()),))
    configured_page = (out / "index.html").read_text()
    history_after_keep = history(out)
    fail_on = {level: batch(fleet_file, "--out", str(out), "--only", "steady",
                            *(("--fail-on", level) if level else ()))[0]
               for level in ("", "warning", "never")}
    return SimpleNamespace(root=root, out=out, fleet=fleet_file, runs=runs,
                           run_ids=[r[2]["run_id"] for r in runs], untouched=untouched,
                           dirs_before_keep=dirs_before_keep,
                           history_after_keep=history_after_keep, fail_on=fail_on,
                           config=config, configured_page=configured_page)


def rows_of(fleet: SimpleNamespace, run: int) -> dict[str, dict[str, str]]:
    return {r["target"]: r for r in fleet.history_after_keep
            if r["run_id"] == fleet.run_ids[run]}


def summary_of(fleet: SimpleNamespace, run: int) -> dict[str, dict]:
    return {t["target"]: t for t in fleet.runs[run][2]["targets"]}


# --- run 1 -------------------------------------------------------------------------------------

@pytest.mark.slow
def test_first_run_reports_and_records_the_failing_target(fleet: SimpleNamespace) -> None:
    code, err, summary = fleet.runs[0]
    assert code == 2 and summary["exit_status"] == 2
    rows = rows_of(fleet, 0)
    assert {t: rows[t]["status"] for t in TARGETS} == {
        "toolman": "ok", "payments": "ok", "steady": "ok", "late": "failed"}
    assert "late.yaml" in rows["late"]["error"] and "No such file" in rows["late"]["error"]
    assert "late: failed" in err and rows["late"]["error"] in err
    # a target's line: checklist rows by status (as `report` prints them), findings in words
    assert re.search(r"\] toolman: ok  ❌ \d+  ⚠️ \d+  ✅ \d+  \(\d+ errors?, \d+ warnings?\)  ",
                     err), err
    first = fleet.run_ids[0]
    for target in ("toolman", "payments", "steady"):
        run = fleet.root / "after-run-2" / target / first  # steady's is pruned by run 4
        for name in ("index.html", "findings.json", "deployment-analysis.md", "run.json",
                     f"inputs/{target}-{first}.yaml"):
            assert (run / name).is_file(), (target, name)
        assert int(rows[target]["errors"]) > 0 and rows[target]["input_hash"]
        assert rows[target]["new"] == rows[target]["resolved"] == "0"  # nothing to compare with
    assert run_dirs(fleet.root / "after-run-2", "late") == [fleet.run_ids[1]]


# --- run 2: since last run -----------------------------------------------------------------------

@pytest.mark.slow
def test_second_run_says_what_is_new_and_resolved(fleet: SimpleNamespace) -> None:
    code, _, summary = fleet.runs[1]
    assert code == 1 and summary["exit_status"] == 1  # every target ran; errors remain
    rows, targets = rows_of(fleet, 1), summary_of(fleet, 1)
    assert {t: rows[t]["status"] for t in TARGETS} == {
        "toolman": "ok", "payments": "ok", "steady": "unchanged", "late": "ok"}

    fixed = targets["toolman"]
    assert [f["check_id"] for f in fixed["resolved"]] == ["topology-spread-missing"]
    assert fixed["resolved"][0]["kind"] == "Deployment" and fixed["new"] == []
    assert fixed["compared_with"] == fleet.run_ids[0]
    assert rows["toolman"]["resolved"] == "1" and rows["toolman"]["new"] == "0"
    assert int(rows["toolman"]["warnings"]) == int(rows_of(fleet, 0)["toolman"]["warnings"]) - 1

    worse = targets["payments"]
    assert {(f["check_id"], f["name"], f["container"]) for f in worse["new"]} == {
        ("image-tag-mutable", "toolman", "toolman")}
    assert worse["new"][0]["severity"] == "error" and rows["payments"]["new"] == "1"

    assert targets["steady"]["new"] == targets["steady"]["resolved"] == []
    assert rows["steady"]["input_hash"] == rows_of(fleet, 0)["steady"]["input_hash"]
    assert targets["late"]["compared_with"] is None  # its first report
    assert summary["totals"] == {"ok": 3, "unchanged": 1, "failed": 0,
                                 "errors": sum(t["counts"]["error"] for t in targets.values()),
                                 "warnings": sum(t["counts"]["warning"]
                                                 for t in targets.values()),
                                 "new": 1, "resolved": 1}


@pytest.mark.slow
def test_each_report_compares_with_the_previous_run(fleet: SimpleNamespace) -> None:
    first, second = fleet.run_ids[:2]
    report = fleet.out / "payments" / second / "deployment-analysis.md"
    text = report.read_text()
    # the report's two sets: the previous run's manifests, then this run's
    assert f"Compared with the baseline (last run {first}), this run {second} " in text
    assert "1 introduced" in text and "New failures: Image tag is mutable" in text
    page = (report.parent / "00_summary.html").read_text()
    assert f"this run {second} against last run {first}" in page
    assert f"payments-{first}.yaml" in page  # where the baseline comes from
    assert (fleet.out / "payments" / "latest").resolve() == fleet.out / "payments" / second


@pytest.mark.slow
def test_unchanged_target_keeps_its_report(fleet: SimpleNamespace) -> None:
    summary = summary_of(fleet, 1)["steady"]
    assert summary["report"] == f"steady/{fleet.run_ids[0]}/index.html"
    assert fleet.dirs_before_keep["steady"] == [fleet.run_ids[0]]  # run 2 made none


# --- run 3: nothing changed -------------------------------------------------------------------

@pytest.mark.slow
def test_nothing_changed_nothing_redone(fleet: SimpleNamespace) -> None:
    code, err, summary = fleet.runs[2]
    assert code == 0  # --fail-on never, no target failed
    assert {t: r["status"] for t, r in rows_of(fleet, 2).items()} == dict.fromkeys(
        TARGETS, "unchanged")
    assert fleet.untouched  # no report was rewritten
    assert fleet.dirs_before_keep["toolman"] == fleet.run_ids[:2]
    assert summary["totals"]["unchanged"] == 4 and err.count(": unchanged") == 4


# --- run 4: --force, --keep, --only -------------------------------------------------------------

@pytest.mark.slow
def test_force_keep_and_only(fleet: SimpleNamespace) -> None:
    code, _, summary = fleet.runs[3]
    assert code == 0 and [t["target"] for t in summary["targets"]] == ["steady"]
    assert rows_of(fleet, 3)["steady"]["status"] == "ok"  # forced although unchanged
    assert run_dirs(fleet.out, "steady") == [fleet.run_ids[3]]  # --keep 1
    assert [r["run_id"] for r in fleet.history_after_keep if r["target"] == "steady"] == \
        fleet.run_ids  # history keeps every row
    assert run_dirs(fleet.out, "toolman") == fleet.run_ids[:2]  # other targets untouched
    page = (fleet.out / "index.html").read_text()
    assert all(f'data-target="{t}"' in page for t in TARGETS)  # the page shows the whole fleet


@pytest.mark.slow
def test_the_configuration_file_is_named_on_the_page_and_in_the_summary(
        fleet: SimpleNamespace) -> None:
    assert [r[2]["config"] for r in fleet.runs] == [None, None, None, str(fleet.config)]
    shown = html.escape(str(fleet.config))
    assert f'<p class="config">Configuration: {shown}</p>' in fleet.configured_page
    assert "Configuration:" not in (fleet.out / "index.html").read_text()  # later, no file


@pytest.mark.slow
def test_exit_status_follows_fail_on(fleet: SimpleNamespace) -> None:
    # steady has errors and warnings, and did not fail
    assert fleet.fail_on == {"": 1, "warning": 1, "never": 0}


@pytest.mark.slow
def test_a_second_batch_on_the_same_directory_stops(fleet: SimpleNamespace) -> None:
    before = (fleet.out / "history.csv").read_bytes()
    with batch_lock(fleet.out):
        code, err = batch(fleet.fleet, "--out", str(fleet.out))
    assert code == 2
    assert err.startswith("toolman-kit: error: ") and err.count("\n") == 1
    assert "another batch is writing this directory" in err and "pid" in err
    assert (fleet.out / "history.csv").read_bytes() == before


# --- the fleet page ----------------------------------------------------------------------------

@pytest.mark.slow
def test_fleet_page_in_the_browser(fleet: SimpleNamespace, tmp_path: Path) -> None:
    from test_browser import CHROMIUM, chromium

    if CHROMIUM is None:
        pytest.skip("headless Chromium not installed (apt-get install chromium)")
    dom, console, requests = chromium(fleet.root / "after-run-2" / "index.html", tmp_path,
                                      "--dump-dom")
    assert console == [] and requests == []
    order = re.findall(r'<tr class="[^"]*" data-target="([a-z-]+)"', dom)
    assert sorted(order) == sorted(TARGETS) and order[0] == "payments"  # got worse: first
    worse = re.search(r'<tr class="worse" data-target="payments">.*?</tr>', dom, re.S)
    assert worse and "▲ worse" in worse.group(0)
    assert dom.count("▲ worse") == 1
    assert dom.count("<svg") == 4 and "<polyline" in dom
    matrix = dom[dom.index('class="matrix"'):]
    cells = dict(re.findall(r'data-target="([a-z-]+)"><th class="row">[^<]+</th>(.*?)</tr>',
                            matrix, re.S))
    assert set(cells) == set(TARGETS)
    assert all(re.search(r">(✅|⚠️|❌|➖)</td>", row) for row in cells.values())
    assert 'title="Image Tag: fail">❌' in cells["payments"]  # the change of run 2
    assert 'title="Topology Spread: pass">✅' in cells["toolman"]  # the fix of run 2
    assert 'title="Topology Spread: warning">⚠️' in cells["payments"]


@pytest.mark.slow
def test_fleet_page_from_a_static_web_server(fleet: SimpleNamespace) -> None:
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(fleet.out))
    handler.log_message = lambda *a: None  # type: ignore[method-assign]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        page = urllib.request.urlopen(base + "index.html").read().decode()
        links = [html.unescape(h) for h in re.findall(r'href="([^"]+)"', page)]
        assert len([x for x in links if x.endswith("/index.html")]) == 4
        for link in links:
            assert not link.startswith(("http:", "https:", "//", "/"))  # relative only
            assert urllib.request.urlopen(base + link).status == 200
        latest = urllib.request.urlopen(base + "toolman/latest/index.html").read()
        assert b"toolman Deployment Analysis" in latest
    finally:
        server.shutdown()


# --- the fleet file ----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "where", "words"), [
    ("targets:\n  - name: Pay\n    paths: [x]\n", ":2:", "targets[0].name: must be lowercase"),
    ("targets:\n  - name: a\n    paths: [x]\n  - name: b\n    chart: c\n    paths: [y]\n", ":4:",
     "targets[1]: give either `chart`"),
    ("targets:\n  - name: a\n    paths: [x]\n    command: rm -rf /\n", ":4:",
     "targets[0].command: unknown key"),
    ("defaults: {kube_version: 1.30}\ntargets:\n  - {name: a, paths: [x]}\n", ":1:",
     "defaults.kube_version: must be a quoted version"),
    ("targets:\n  - {name: a, paths: [x]}\n  - {name: a, paths: [y]}\n", ":3:",
     "targets[1].name: 'a' is already the name of targets[0]"),
    ("targets:\n  - name: a\n    paths: [x]\n    values: [v.yaml]\n", ":2:",
     "`values`, `release`, `repo`, `version` and `plain_http` go with `chart`"),
    ("targets: []\n", ":1:", "targets: [] should be non-empty"),
    ("targets:\n  - name: a\n    paths: [x]\n    name: b\n", ":4:", "name: key given twice"),
    ("targets: [\n", ":2:", "invalid YAML"),
    ("targets:\n  - name: a\n    chart: c\n    render_timeout: 0\n", ":4:",
     "targets[0].render_timeout: must be a number of seconds greater than 0"),
    ("defaults:\n  render_timeout: 10s\ntargets:\n  - {name: a, chart: c}\n", ":2:",
     "defaults.render_timeout: must be a number of seconds greater than 0"),
])
def test_bad_fleet_file_is_one_error_naming_line_and_key(tmp_path: Path, text: str, where: str,
                                                         words: str) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text(text)
    with pytest.raises(FleetError) as caught:
        load_fleet(path)
    message = str(caught.value)
    assert message.startswith(f"{path}{where}") and words in message, message
    code, err = batch(str(path), "--out", str(tmp_path / "out"))
    assert code == 2 and err == f"toolman-kit: error: {message}\n"
    assert not (tmp_path / "out").exists()


def test_fleet_file_paths_are_relative_to_it(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "fleet.yaml").write_text(
        "defaults: {profile: mine.yaml, namespace: web}\n"
        "targets:\n  - {name: a, chart: ../chart, values: [v.yaml], release: r}\n"
        "  - {name: b, paths: [x/], profile: production, baseline: [old.yaml]}\n")
    a, b = load_fleet(tmp_path / "sub" / "fleet.yaml").targets
    assert a.chart == str(tmp_path / "sub" / ".." / "chart")
    assert a.values == (str(tmp_path / "sub" / "v.yaml"),) and a.release == "r"
    assert a.profile == str(tmp_path / "sub" / "mine.yaml") and a.namespace == "web"
    assert b.paths == (str(tmp_path / "sub" / "x"),) and b.profile == "production"
    assert b.baseline == (str(tmp_path / "sub" / "old.yaml"),) and b.namespace == "web"


def test_render_timeout_from_defaults_or_the_target(tmp_path: Path) -> None:
    (tmp_path / "fleet.yaml").write_text(
        "defaults: {render_timeout: 30}\ntargets:\n  - {name: a, chart: c}\n"
        "  - {name: b, chart: c, render_timeout: 0.5}\n")
    a, b = load_fleet(tmp_path / "fleet.yaml").targets
    assert (a.render_timeout, b.render_timeout) == (30, 0.5)
    (tmp_path / "fleet.yaml").write_text("targets:\n  - {name: a, chart: c}\n")
    assert load_fleet(tmp_path / "fleet.yaml").targets[0].render_timeout is None


def test_unknown_target_in_only(tmp_path: Path) -> None:
    (tmp_path / "fleet.yaml").write_text("targets:\n  - {name: a, paths: [x]}\n")
    code, err = batch(str(tmp_path / "fleet.yaml"), "--only", "b", "--out", str(tmp_path / "o"))
    assert code == 2 and "--only b: no such target (targets: a)" in err


def test_progress_is_a_bar_on_a_terminal_and_lines_otherwise(tmp_path: Path) -> None:
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import sys
    import termios

    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("targets:\n  - {name: a, paths: [no-a.yaml]}\n"
                     "  - {name: b, paths: [no-b.yaml]}\n")
    command = [sys.executable, "-m", "toolman_kit", "batch", str(fleet), "-j", "1"]
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 columns
    proc = subprocess.Popen([*command, "--out", str(tmp_path / "tty")], stderr=slave,
                            stdout=subprocess.DEVNULL)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.wait() == 2
    terminal = b"".join(chunks).decode()
    assert "\r" in terminal and "2/2" in terminal and "target" in terminal  # the bar, redrawn
    assert "a: failed" in terminal and "no-a.yaml" in terminal  # failures are still printed
    piped = subprocess.run([*command, "--out", str(tmp_path / "pipe")], capture_output=True,
                           text=True)
    lines = [x for x in piped.stderr.splitlines() if x.startswith("[")]
    assert [x.split(":")[0] for x in lines] == ["[1/2] a", "[2/2] b"]  # one line per target
    assert "\r" not in piped.stderr


def test_fleet_page_escapes_what_it_did_not_write() -> None:
    from toolman_kit.fleet.page import TargetRow, fleet_page

    hostile = "<script>alert(1)</script>"
    page = fleet_page([TargetRow("a", "failed", error=f"x.yaml:3: {hostile}",
                                 checklist={hostile: "fail"})], hostile, config=hostile)
    assert "<script" not in page  # title ×2, config, error, matrix header and cell title
    assert page.count("&lt;script&gt;") == 6
    assert "Configuration:" not in fleet_page([TargetRow("a")], "t")  # none in use


@pytest.mark.slow
def test_kernels_are_kept_across_reports(tmp_path: Path) -> None:
    """What each batch worker process does: one Kernels pool for all the reports it writes. The
    kept kernel shows each report its own analyses, the ones that report shared with it."""
    from jupyter_core.utils import run_sync

    import toolman_kit as tk

    kernels = Kernels()
    try:
        a = build_report(tmp_path / "a", manifests=[str(EXAMPLE / "rendered" / "default.yaml")],
                         jobs=1, kernels=kernels)
        km = kernels.take()
        kernels.give(km)
        b = build_report(tmp_path / "b",
                         manifests=[str(EXAMPLE / "rendered" / "production.yaml")],
                         jobs=1, kernels=kernels)
        assert kernels.take() is km and run_sync(km.is_alive)()  # the same kernel, still up
        assert kernels._started == 1
        held = _run_in(km, "from toolman_kit.present import inputs as i\n"
                           "print(i._LAST[0][1].names, bool(i._RECEIVED))")
        kernels.give(km)
    finally:
        kernels.close()
    assert not run_sync(km.is_alive)()
    production = tk.Analysis.of(EXAMPLE / "rendered" / "production.yaml")
    assert b.counts["findings"] == production.rows.counts()
    # b's analyses, received from b (not analysed again in the kernel, not a's left over) …
    assert held.strip() == "['production.yaml'] True"
    # … and what the kernel wrote into b's pages, not a's.
    for report, other in ((a, b), (b, a)):
        page = (report.index.parent / "00_summary.html").read_text(encoding="utf-8")
        assert f"Checklist: ❌ {report.counts['fail']} blocking" in page
        assert f"Checklist: ❌ {other.counts['fail']} blocking" not in page


def _run_in(km: object, code: str) -> str:
    """What `code` prints, run in the kernel of `km`."""
    from jupyter_core.utils import run_sync

    printed: list[str] = []

    def hook(msg: dict) -> None:
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])

    kc = km.client()  # type: ignore[attr-defined]
    kc.start_channels()
    try:
        run_sync(kc.execute_interactive)(code, output_hook=hook, timeout=60)
    finally:
        km.stop_clients()  # type: ignore[attr-defined]
    return "".join(printed)


@pytest.mark.slow
def test_kube_version_reaches_the_render_and_the_checks(tmp_path: Path) -> None:
    """The fleet file's kube_version is what `--kube-version` is to `report`: the chart renders
    with it (.Capabilities.KubeVersion) and the API checks judge against it."""
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: probe\nversion: 0.1.0\n")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: probe}\n"
        "data: {kube: {{ .Capabilities.KubeVersion.Version | quote }}}\n")
    (tmp_path / "old.yaml").write_text(
        "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: old}\n"
        "spec: {minAvailable: 1, selector: {matchLabels: {app: old}}}\n")
    (tmp_path / "fleet.yaml").write_text(
        'defaults: {kube_version: "1.25"}\n'
        "targets:\n  - {name: rendered, chart: chart}\n  - {name: legacy, paths: [old.yaml]}\n")
    out = tmp_path / "out"
    code, err = batch(str(tmp_path / "fleet.yaml"), "--out", str(out), "-j", "1",
                      "--fail-on", "never")
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    run_id = summary["run_id"]
    rendered = (out / "rendered" / run_id / "inputs" / f"rendered-{run_id}.yaml").read_text()
    assert 'kube: "v1.25.0"' in rendered
    findings = json.loads((out / "legacy" / run_id / "findings.json").read_text())
    removed = [f for f in findings["findings"]
               if f["check_id"] == "api-version-removed" and f["status"] == "fail"]
    assert [f["name"] for f in removed] == ["old"]


@pytest.mark.slow
def test_a_stopped_batch_starts_no_more_targets_and_leaves_nothing_running(
        tmp_path: Path) -> None:
    """SIGTERM to the batch alone, as `timeout` sends it from cron, once a target is done: the
    batch exits 143 after the report being made, without starting the targets still waiting
    (it used to run them all first: the pool had queued them); no worker or kernel outlives it,
    no connection file is left in TMPDIR, and the lock is given up."""
    import os
    import signal
    import subprocess
    import sys

    from toolman_kit.fleet.runner import LOCK

    shutil.copy(EXAMPLE / "rendered" / "default.yaml", tmp_path / "default.yaml")
    names = [f"t{i}" for i in range(6)]
    (tmp_path / "fleet.yaml").write_text("targets:\n" + "".join(
        f"  - {{name: {n}, paths: [default.yaml]}}\n" for n in names))
    tmp, out = tmp_path / "tmp", tmp_path / "out"
    tmp.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "toolman_kit", "batch",
                             str(tmp_path / "fleet.yaml"), "--out", str(out), "-j", "1"],
                            env={**os.environ, "TMPDIR": str(tmp)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        first = proc.stderr.readline()  # one line per target done (not a terminal)
        assert first.startswith("[1/6] t0: ok"), first + proc.stderr.read()
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=120)[1]
        left = "".join(line for line in subprocess.run(
            ["ps", "-o", "stat=,pid=,args=", "-s", str(proc.pid)], capture_output=True,
            text=True).stdout.splitlines(keepends=True) if not line.startswith("Z"))  # Z: dead
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # whatever it left: the assertions say so
    assert proc.returncode == 143 and rest.strip().endswith("toolman-kit: terminated"), rest
    started = [n for n in names if (out / n).exists()]
    assert started[:1] == ["t0"] and len(started) <= 2, started  # done + the one in the works
    assert list(tmp.iterdir()) == []
    assert (out / LOCK).read_text() == ""
    assert left == "", f"processes of the batch outlived it:\n{left}"


# --- a chart's crds/ ---------------------------------------------------------------------------

WIDGET_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: {type: integer}
"""


def test_the_input_hash_covers_the_charts_crds() -> None:
    from toolman_kit.fleet.fleetfile import Target
    from toolman_kit.fleet.task import input_hash

    target = Target("widgets", chart="chart")
    assert input_hash(target, "x", None, WIDGET_CRD) != input_hash(
        target, "x", None, WIDGET_CRD + "                colour: {type: string}\n")


@pytest.mark.slow
def test_a_targets_custom_resources_are_judged_against_its_charts_crds(tmp_path: Path) -> None:
    """Every run, the last run's manifests too: the CRDs are kept beside them; a CRD changed in
    crds/ redoes the target (its findings change with it)."""
    chart = tmp_path / "chart"
    (chart / "crds").mkdir(parents=True)
    (chart / "templates").mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: widgets\nversion: 0.1.0\n")
    (chart / "crds" / "widget.yaml").write_text(WIDGET_CRD)
    (chart / "templates" / "widget.yaml").write_text(
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: {{ .Release.Name }}\n"
        "spec:\n  size: 3\n  colour: blue\n")
    fleet, out = tmp_path / "fleet.yaml", tmp_path / "out"
    fleet.write_text("targets:\n- name: widgets\n  chart: chart\n")

    def run_once(*flags: str) -> dict:
        code, err = batch(str(fleet), "--out", str(out), "-j", "1", "--fail-on", "never", *flags)
        assert code == 0, err
        return json.loads((out / "summary.json").read_text())["targets"][0]

    first = run_once()
    findings = json.loads((out / "widgets" / "latest" / "findings.json").read_text())["findings"]
    assert [(f["status"], f["path"]) for f in findings if f["check_id"] == "unknown-field"] == [
        ("fail", "spec.colour")]
    kept = out / "widgets" / first["run_id"] / "inputs" / f"widgets-{first['run_id']}.crds.yaml"
    assert "widgets.example.com" in kept.read_text()
    assert not list((out / "widgets").glob(".crds-*"))  # staged, then moved into the run
    second = run_once("--force")
    page = (out / "widgets" / second["run_id"] / "index.html").read_text()
    assert f"last run {first['run_id']}: ❌ 0 blocking · ⚠️ 0 to improve · ✅ 0 ready — " \
           "findings: 0 errors, 1 warnings" in page  # judged with the CRD it was judged with
    assert (second["new"], second["resolved"]) == ([], [])
    (chart / "crds" / "widget.yaml").write_text(
        WIDGET_CRD + "                colour: {type: string}\n")
    third = run_once()
    assert third["status"] == "ok"  # not `unchanged`: the CRD is part of the input
    assert [r["check_id"] for r in third["resolved"]] == ["unknown-field"]
