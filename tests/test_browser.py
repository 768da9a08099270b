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

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from toolman_kit.present.report import EXAMPLE, build_report

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium"
                                        if Path("/usr/bin/chromium").exists() else None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not installed (apt-get install chromium)")
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


def test_screenshot(report: Path, tmp_path: Path) -> None:
    """A picture of the page, to look at (kept under the test's tmp directory)."""
    shot = tmp_path / "index.png"
    chromium(report / "index.html", tmp_path, f"--screenshot={shot}", "--window-size=1280,2400",
             "--hide-scrollbars")
    assert shot.stat().st_size > 50_000  # a rendered page, not a blank one
