"""A real browser opens the report from disk with the network cut off: headless Chromium (Debian's
`chromium` package; .ci/run installs it) renders index.html, the checklist table is in the DOM,
the page logs no console error and requests nothing from the network.

Chromium is launched as the machine notes prescribe (no sandbox as root, no background
networking, a fresh profile); `--proxy-server` to a closed port and a resolver that finds no host
cut the network, and `--v=1` logs every console message ("CONSOLE") and every URL request
("NotifyBeforeURLRequest"). A control page with a remote image and a script error proves the
log shows both, so a clean log means something.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from toolman_kit.present.report import EXAMPLE, ROOT, build_report

sys.path.insert(0, str(ROOT / "bench"))
import platform_chart as fixture  # noqa: E402 - bench/platform_chart.py: 12 services, rendered

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium"
                                        if Path("/usr/bin/chromium").exists() else None)
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not installed (apt-get install chromium)")]
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync",
         "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
         "--enable-logging=stderr", "--v=1")
# Chromium's own requests at start (clock, account and search services), not the page's.
BROWSER_HOSTS = re.compile(r"^https?://([a-z0-9-]+\.)*(google\.com|gstatic\.com|googleapis\.com)/")
REQUEST = re.compile(r"NotifyBeforeURLRequest: (\S+)")
CONSOLE = re.compile(r":CONSOLE[:(]\d*\)?\] (.*)")


def chromium(page: Path, tmp: Path, *extra: str) -> tuple[str, list[str], list[str]]:
    """(DOM or "", console messages, URLs requested from the network) for `page`."""
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    done = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra,
                           page.as_uri()], capture_output=True, text=True, timeout=120,
                          check=True)
    console = [m.group(1) for m in CONSOLE.finditer(done.stderr)]
    requests = [u for u in REQUEST.findall(done.stderr)
                if not u.startswith(("file:", "data:")) and not BROWSER_HOSTS.match(u)]
    return done.stdout, console, requests


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed's situation: the default values alone, no baseline."""
    out = tmp_path_factory.mktemp("browser") / "toolman-default"
    build_report(out, manifests=[str(EXAMPLE / "rendered" / "default.yaml")],
                 profile=str(EXAMPLE / "profile.yaml"), namespace="toolman",
                 title="Toolman Deployment Analysis")
    return out


def test_the_log_shows_console_errors_and_requests(tmp_path: Path) -> None:
    control = tmp_path / "control.html"
    control.write_text('<img src="https://example.invalid/x.png">'
                       "<script>console.error('boom'); missingFunction();</script>")
    _, console, requests = chromium(control, tmp_path, "--dump-dom")
    assert any("boom" in m for m in console) and any("Uncaught" in m for m in console)
    assert requests == ["https://example.invalid/x.png"]


@pytest.mark.parametrize("name", ["index.html", "01_container_architecture.html",
                                  "02_security.html", "03_high_availability.html",
                                  "04_volumes.html"])
def test_pages_load_offline_without_errors(report: Path, tmp_path: Path, name: str) -> None:
    dom, console, requests = chromium(report / name, tmp_path, "--dump-dom")
    assert "</main>" in dom, "the page did not render"
    assert console == [] and requests == []


def test_checklist_table_is_in_the_dom(report: Path, tmp_path: Path) -> None:
    dom, _, _ = chromium(report / "index.html", tmp_path, "--dump-dom")
    rows = re.findall(r"<tr>\s*<td>([^<]+)</td>\s*<td>([^<]*)</td>\s*<td class=\"tk-status\">"
                      r"([^<]+)</td>", dom)
    statuses = {component: status for component, _, status in rows}
    assert statuses["Replicas"] == "❌" and statuses["Resource Requests"] == "⚠️"
    assert statuses["Image Tag"] == "❌" and statuses["Volume Sources"] == "✅"
    assert ">Production Ready</th>" in dom and ">Action Required</th>" in dom


# Appended to a copy of a page: after load, what sticks out past the right edge of the window.
MEASURE = """<script>
window.addEventListener("load", function () {
  var root = document.documentElement, over = [];
  document.querySelectorAll("body *").forEach(function (e) {
    var r = e.getBoundingClientRect();
    if (r.width && r.right > root.clientWidth + 1 && over.length < 5) {
      over.push(e.tagName + "." + e.className + " right=" + Math.round(r.right) + " "
                + (e.textContent || "").slice(0, 40));
    }
  });
  var out = document.createElement("pre");
  out.id = "tk-measure";
  out.textContent = JSON.stringify({scrollWidth: root.scrollWidth,
    clientWidth: root.clientWidth, over: over,
    filters: document.querySelectorAll(".tk-filter input").length});
  document.body.appendChild(out);
});
</script>"""
@pytest.fixture(scope="module")
def sized(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """The summary page at 1, 12 and 168 workloads: the Toolman defaults (the seed's case), the
    12-service platform, and 14 releases of it in 7 namespaces (1,059 objects)."""
    where = tmp_path_factory.mktemp("sizes")
    inputs = {12: fixture.render(), 168: fixture.cluster(14)}
    out = {1: None}
    for n, text in inputs.items():
        (where / f"{n}.yaml").write_text(text)
        out[n] = where / f"report-{n}"
        build_report(out[n], manifests=[str(where / f"{n}.yaml")], title=f"{n} workloads")
    return out


def test_screenshot(report: Path, tmp_path: Path) -> None:
    """A picture of the page, to look at (kept under the test's tmp directory)."""
    shot = tmp_path / "index.png"
    chromium(report / "index.html", tmp_path, f"--screenshot={shot}", "--window-size=1280,2400",
             "--hide-scrollbars")
    assert shot.stat().st_size > 50_000  # a rendered page, not a blank one


def measure(page: Path, tmp_path: Path) -> dict:
    """Load a copy of `page` with MEASURE appended in a 1280-pixel window, offline."""
    measured = page.with_name(f".measured-{page.name}")  # beside it: its links stay relative
    measured.write_text(page.read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>"),
                        encoding="utf-8")
    try:
        dom, console, requests = chromium(measured, tmp_path, "--dump-dom",
                                          "--window-size=1280,900", "--virtual-time-budget=3000")
    finally:
        measured.unlink()
    assert console == [] and requests == []
    found = re.search(r'<pre id="tk-measure">(.*?)</pre>', dom)
    assert found, "the page did not load"
    return json.loads(html.unescape(found.group(1)))


@pytest.mark.parametrize("name", ["01_container_architecture.html", "02_security.html",
                                  "03_high_availability.html", "04_volumes.html"])
@pytest.mark.parametrize("workloads", [1, 168])
def test_every_section_fits_the_page(report: Path, sized: dict[int, Path | None],
                                     tmp_path: Path, workloads: int, name: str) -> None:
    box = measure((sized[workloads] or report) / name, tmp_path)
    assert box["scrollWidth"] <= box["clientWidth"] and box["over"] == [], box


@pytest.mark.parametrize("workloads", [1, 12, 168])
def test_summary_fits_the_page_at_any_size(report: Path, sized: dict[int, Path | None],
                                           tmp_path: Path, workloads: int) -> None:
    """Screenshot of the summary, and nothing past the right edge of a 1280-pixel window (the
    page's scrollWidth equals its clientWidth; no element's box ends beyond it)."""
    page = (sized[workloads] or report) / "index.html"
    size = page.stat().st_size
    assert size <= 300_000, f"index.html is {size} bytes"
    box = measure(page, tmp_path)
    assert box["scrollWidth"] <= box["clientWidth"] and box["over"] == [], box
    assert (box["filters"] > 0) == (workloads > 1)  # the matrix is filterable
    shot = tmp_path.parent / f"summary-{workloads}.png"  # kept beside the test's tmp dirs
    chromium(page, tmp_path, f"--screenshot={shot}", "--window-size=1280,2400",
             "--hide-scrollbars")
    assert shot.stat().st_size > 50_000


def test_filter_and_sort_work(sized: dict[int, Path | None], tmp_path: Path) -> None:
    """The page's own script: typing in the matrix's filter hides rows; a header click sorts."""
    page = sized[168] / "index.html"
    script = """<script>window.addEventListener("load", function () {
      var input = document.querySelector(".tk-filter input");
      input.value = "shop03 postgres"; input.dispatchEvent(new Event("input"));
      var table = document.getElementById("overview"), shown = [];
      table.querySelectorAll("tbody tr").forEach(function (r) {
        if (r.style.display !== "none") { shown.push(r.cells[0].textContent); } });
      input.value = ""; input.dispatchEvent(new Event("input"));
      table.tHead.rows[0].cells[1].click();
      var first = table.tBodies[0].rows[0].cells[1].textContent;
      var out = document.createElement("pre"); out.id = "tk-probe";
      out.textContent = JSON.stringify({shown: shown, first: first});
      document.body.appendChild(out); });</script>"""
    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", script + "</body>"),
                     encoding="utf-8")
    dom, console, _ = chromium(probe, tmp_path, "--dump-dom", "--virtual-time-budget=3000")
    assert console == []
    got = json.loads(html.unescape(re.search(r'<pre id="tk-probe">(.*?)</pre>', dom).group(1)))
    assert got["shown"] == ["StatefulSet/shop03-postgres"]
    assert got["first"] == "❌"  # ascending: blocking first
