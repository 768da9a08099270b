"""Untrusted charts: a render that runs away is one line and exit 2 for that chart, never a hang,
a machine out of memory or a Go crash dump; SIGTERM and Ctrl-C stop a run mid-render; a chart
cannot read outside itself (symlinks, schema $refs); values nested without end are one line.

Figures measured on the 2-core machine (wall time of the whole command; peak RSS of the render
process, from /usr/bin/time):
  * `range until 100000` nested, --render-timeout 1: 1.2–1.4 s, exit 2 (it used to run for ever,
    deaf to SIGTERM);
  * `repeat 2000000000 "abcd"`: 0.3 s, 75 MB ("Helm ran out of memory": the 8 GB string is refused
    by the render process's 2–4 GiB data limit; it used to be Go's 300-line `fatal error`);
  * a recursive `tpl` grows by ≈ 350 MB/s until the time bound (3 s: 1.1 GB) or the memory bound
    (4 GiB: ≈ 20 s), whichever is first;
  * a 600 MB render: Go reaches the 4 GiB bound after ≈ 24 s: "Helm ran out of memory" (it used to
    take 95 s and 5.9 GB, then a MemoryError traceback); renders over --max-bytes that Go can
    build are refused before they are parsed;
  * a billion-laughs document in a template: `compare` refuses it in 2.6 s, `suggest` 1.6 s,
    `check` 0.7 s (compare used to hang > 100 s).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers import make_chart, run

from toolman_kit.chart import sandbox
from toolman_kit.chart.batch import Renderer
from toolman_kit.chart.render import render
from toolman_kit.errors import RenderError

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\n"
LOOP = CM % "loop" + "data:\n{{- range $i := until 100000 }}{{ range $j := until 100000 }}" \
    "{{ end }}{{ end }}\n"
BOMB = CM % "bomb" + "data:\n  a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"," \
    "\"lol\",\"lol\"]\n" + "".join(f"  {n}: &{n} [" + ",".join([f"*{p}"] * 9) + "]\n"
                                  for p, n in zip("abcdefgh", "bcdefghi", strict=True))


def chart(tmp_path: Path, template: str, values: str = "") -> Path:
    return make_chart(tmp_path / "chart", {"cm.yaml": template, "ok.yaml": CM % "fine"}, values)


def one_line_error(err: str, *parts: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    for part in parts:
        assert part in lines[0], err


def test_a_template_that_loops_for_ever_is_stopped_at_the_time_bound(capsys, tmp_path):
    path = chart(tmp_path, LOOP)
    started = time.monotonic()
    code, out, err = run(capsys, "check", "--chart", str(path), "--render-timeout", "1")
    assert time.monotonic() - started < 4
    assert code == 2
    one_line_error(err, str(path), "render took longer than 1 s (--render-timeout)")
    assert os.environ.get(sandbox.ENV_TIMEOUT) is None  # the flag held for the command only


def test_the_render_process_is_kept_and_replaced_after_a_timeout(tmp_path):
    good = make_chart(tmp_path / "good", {"cm.yaml": CM % "a"})
    looping = make_chart(tmp_path / "loop", {"cm.yaml": LOOP})
    with sandbox.limits_set(timeout=1):
        render(good, lint=False)
        child = sandbox.shared().children[0].proc
        render(good, lint=False)
        assert sandbox.shared().children[0].proc is child  # one process for many renders
        with pytest.raises(RenderError, match="took longer than 1 s"):
            render(looping, lint=False)
        assert child.poll() is not None  # killed, not left rendering
        assert "name: a" in render(good, lint=False).text  # a new one takes over


def test_a_runaway_allocation_is_out_of_memory_in_one_line(capsys, tmp_path):
    path = chart(tmp_path, CM % "big" + 'data: {a: {{ repeat 2000000000 "abcd" | quote }}}\n')
    started = time.monotonic()
    code, _, err = run(capsys, "check", "--chart", str(path))
    assert time.monotonic() - started < 10 and code == 2
    one_line_error(err, str(path), "Helm ran out of memory")


def test_a_recursive_tpl_is_bounded(capsys, tmp_path):
    path = chart(tmp_path, CM % "r" + "data: {a: {{ tpl .Values.x . | quote }}}\n",
                 'x: "{{ tpl .Values.x . }}"\n')
    started = time.monotonic()
    code, _, err = run(capsys, "check", "--chart", str(path), "--render-timeout", "1.5")
    assert time.monotonic() - started < 6 and code == 2
    one_line_error(err, str(path))
    assert "took longer than 1.5 s" in err or "ran out of memory" in err


def test_a_render_over_max_bytes_is_refused_before_it_is_parsed(capsys, tmp_path):
    path = chart(tmp_path, CM % "wide" + "data:\n{{- range $i := until 3000 }}\n"
                 '  k{{ $i }}: {{ repeat 1000 "a" | quote }}\n{{- end }}\n')
    code, _, err = run(capsys, "check", "--chart", str(path), "--max-bytes", "1M")
    assert code == 2
    one_line_error(err, str(path), "render output over 1 MB (--max-bytes)")
    code, _, err = run(capsys, "check", "--chart", str(path), "--max-bytes", "8M")
    assert code == 0 and "over" not in err  # under the bound: analysed


@pytest.mark.parametrize("signum, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_and_ctrl_c_stop_a_render_at_once(tmp_path, signum, status):
    path = chart(tmp_path, LOOP)
    proc = subprocess.Popen([sys.executable, "-m", "toolman_kit", "check", "--chart", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        children = _wait_for_render_process(proc.pid)
        sent = time.monotonic()
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=10)
        stopped = time.monotonic() - sent
    finally:
        proc.kill()
    assert proc.returncode == status, err
    assert stopped < 2, stopped
    assert "Traceback" not in err
    time.sleep(0.2)
    assert not [pid for pid in children if _alive(pid)], "the render process outlived the run"


def test_the_render_process_dies_with_a_killed_parent(tmp_path):
    path = chart(tmp_path, LOOP)
    proc = subprocess.Popen([sys.executable, "-m", "toolman_kit", "check", "--chart", str(path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children = _wait_for_render_process(proc.pid)
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 5
    while [pid for pid in children if _alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in children if _alive(pid)]


def test_compare_and_suggest_refuse_an_alias_bomb_as_check_does(capsys, tmp_path):
    path = chart(tmp_path, BOMB)
    for command in ("check", "compare", "suggest"):
        started = time.monotonic()
        code, _, err = run(capsys, command, "--chart", str(path))
        assert time.monotonic() - started < 15, command
        assert code == 2, (command, err)
        assert "excessive aliasing" in err and err.count("\n") <= 2, (command, err)
        assert "Traceback" not in err


def test_compare_renders_in_bounded_processes_too(capsys, tmp_path):
    path = chart(tmp_path, "{{- if .Values.spin }}\n" + LOOP + "{{- end }}\n" + CM % "x",
                 "spin: false\n")
    spin = tmp_path / "spin.yaml"
    spin.write_text("spin: true\n")
    started = time.monotonic()
    code, out, err = run(capsys, "compare", "--chart", str(path), "--value-set",
                         f"spin={spin}", "--render-timeout", "1", "--format", "json")
    assert time.monotonic() - started < 10
    assert code == 2 and "spin: " in err and "render took longer than 1 s" in err
    doc = json.loads(out)
    assert [s["name"] for s in doc["sets"]] == ["defaults", "spin"]  # the defaults still compared


def test_renderer_spreads_renders_over_processes_and_bounds_each(tmp_path):
    path = make_chart(tmp_path / "c", {"cm.yaml": "{{- if .Values.spin }}\n" + LOOP
                                       + "{{- end }}\n" + CM % "{{ .Values.n }}"})
    with sandbox.limits_set(timeout=1), Renderer(path, jobs=2) as r:
        outs = r.render_many([{"n": f"a{i}"} for i in range(6)] + [{"spin": True, "n": "z"}])
    assert [o.error is None for o in outs] == [True] * 6 + [False]
    assert "took longer than 1 s" in outs[-1].error.message


@pytest.mark.slow
def test_in_a_batch_a_runaway_chart_is_one_failed_target_among_the_others(tmp_path):
    """The good targets get their reports, history rows and the page; the looping one fails
    with its one line, at the time bound (it used to stop the whole fleet)."""
    make_chart(tmp_path / "loop", {"cm.yaml": LOOP})
    make_chart(tmp_path / "good", {"cm.yaml": CM % "good"})
    (tmp_path / "fleet.yaml").write_text(
        "targets:\n  - {name: spin, chart: loop}\n  - {name: fine, chart: good}\n")
    out = tmp_path / "out"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "toolman_kit", "batch",
                           str(tmp_path / "fleet.yaml"), "--out", str(out), "-j", "1",
                           "--render-timeout", "2"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2, done.stderr
    assert time.monotonic() - started < 120
    rows = {r.split(",")[1]: r for r in (out / "history.csv").read_text().splitlines()[1:]}
    assert rows["fine"].split(",")[2] == "ok" and rows["spin"].split(",")[2] == "failed"
    assert "render took longer than 2 s" in rows["spin"]
    assert (out / "index.html").is_file() and (out / "fine" / "latest").exists()
    assert "render took longer than 2 s" in (out / "summary.json").read_text()


def test_a_timeout_set_for_a_thread_holds_in_that_thread_only():
    """A fleet target's render_timeout: a Dask worker may run other targets in other threads."""
    seen = {}

    def target() -> None:
        with sandbox.timeout_set(1, "the fleet file's render_timeout"):
            seen["inside"] = sandbox.limits()
        seen["after"] = sandbox.limits()

    main_limits = sandbox.limits()
    with sandbox.limits_set(timeout=7):
        thread = threading.Thread(target=target)
        thread.start()
        thread.join()
        assert sandbox.limits().timeout == 7  # this thread's bound never moved
    assert seen["inside"].timeout == 1
    assert seen["inside"].timeout_from == "the fleet file's render_timeout"
    assert seen["after"].timeout == 7 and seen["after"].timeout_from == "--render-timeout"
    assert main_limits.timeout == sandbox.DEFAULT_TIMEOUT
    with sandbox.timeout_set(None, "unused"):  # no render_timeout: the bound in force
        assert sandbox.limits() == main_limits


def test_a_fleet_target_with_render_timeout_fails_alone_at_its_bound(tmp_path):
    """The worker's task for a looping chart whose fleet entry says `render_timeout: 1`: one
    line, within seconds, under the 60 s default that every other target keeps."""
    from toolman_kit.fleet.fleetfile import load_fleet
    from toolman_kit.fleet.task import MARKER, Job, run_target

    make_chart(tmp_path / "loop", {"cm.yaml": LOOP})
    (tmp_path / "fleet.yaml").write_text(
        "targets:\n  - {name: spin, chart: loop, render_timeout: 1}\n"
        "  - {name: fine, chart: good}\n")
    spin, fine = load_fleet(tmp_path / "fleet.yaml").targets
    out = tmp_path / "out"
    out.mkdir()
    (out / MARKER).write_text("token")
    started = time.monotonic()
    outcome = run_target(Job(spin, str(out), "r1", "token"))
    assert time.monotonic() - started < 5
    assert outcome.status == "failed" and "\n" not in outcome.error
    assert outcome.error == (f"{tmp_path / 'loop'}: render took longer than 1 s "
                             "(the fleet file's render_timeout)")
    assert fine.render_timeout is None
    assert sandbox.limits().timeout == sandbox.DEFAULT_TIMEOUT  # the others' bound, unchanged


@pytest.mark.slow
def test_in_a_batch_a_target_render_timeout_fails_that_target_only(tmp_path):
    make_chart(tmp_path / "loop", {"cm.yaml": LOOP})
    make_chart(tmp_path / "good", {"cm.yaml": CM % "good"})
    (tmp_path / "fleet.yaml").write_text(
        "targets:\n  - {name: spin, chart: loop, render_timeout: 1}\n"
        "  - {name: fine, chart: good}\n")
    out = tmp_path / "out"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "toolman_kit", "batch",
                           str(tmp_path / "fleet.yaml"), "--out", str(out), "-j", "1"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert time.monotonic() - started < 120  # not the 60 s default for the looping chart
    rows = {r.split(",")[1]: r for r in (out / "history.csv").read_text().splitlines()[1:]}
    assert rows["fine"].split(",")[2] == "ok" and rows["spin"].split(",")[2] == "failed"
    assert "render took longer than 1 s (the fleet file's render_timeout)" in rows["spin"]
    assert (out / "fine" / "latest").exists()


# --- reading outside the chart -------------------------------------------------------------------

@pytest.mark.parametrize("ref", ["http://127.0.0.1:9/schema.json", "file:///etc/hostname",
                                 "other.json", "https://example.invalid/x#/y"])
def test_schema_refs_outside_the_schema_are_refused(capsys, tmp_path, ref):
    path = chart(tmp_path, CM % "s")
    (path / "other.json").write_text('{"type": "string"}')
    (path / "values.schema.json").write_text(json.dumps(
        {"properties": {"x": {"$ref": ref}}}))
    for command in ("check", "compare"):
        code, _, err = run(capsys, command, "--chart", str(path))
        assert code == 2
        one_line_error(err, f"{path}/values.schema.json", repr(ref), "only references within")


def test_a_schema_ref_loop_is_one_error_per_set_not_a_traceback(capsys, tmp_path):
    path = chart(tmp_path, CM % "s")
    (path / "values.schema.json").write_text('{"$ref": "#"}')
    code, _, err = run(capsys, "check", "--chart", str(path))
    assert code == 2
    one_line_error(err, "reference cycle")
    code, out, err = run(capsys, "compare", "--chart", str(path), "--format", "json")
    assert code == 2 and "Traceback" not in err and "reference cycle" in err
    (schema,) = json.loads(out)["sets"][0]["schema_errors"]
    assert "$refs form a cycle" in schema["message"]


def test_local_schema_refs_still_work(capsys, tmp_path):
    path = chart(tmp_path, CM % "s", "x: 1\n")
    (path / "values.schema.json").write_text(json.dumps(
        {"definitions": {"n": {"type": "integer"}},
         "properties": {"x": {"$ref": "#/definitions/n"}}}))
    code, _, err = run(capsys, "check", "--chart", str(path), "--set", "x=a")
    assert code == 2 and "x" in err and "integer" in err
    code, _, err = run(capsys, "check", "--chart", str(path))
    assert code == 0, err  # rendered and checked


@pytest.mark.parametrize("where", ["templates/leak.yaml", "files/secret.txt", "charts"])
def test_a_symlink_out_of_the_chart_is_refused_naming_it(capsys, tmp_path, where):
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("host-secret-value\n")
    path = chart(tmp_path, CM % "s" + 'data: {f: {{ .Files.Get "files/secret.txt" | quote }}}\n')
    link = path / where
    link.parent.mkdir(exist_ok=True)
    link.symlink_to(secret.parent if where == "charts" else secret)
    before = secret.stat().st_mtime_ns
    for command in ("check", "compare", "suggest"):
        code, out, err = run(capsys, command, "--chart", str(path))
        assert code == 2, (command, err)
        one_line_error(err, str(link), f"a symlink to {link.readlink()}, outside the chart")
        assert "host-secret-value" not in out + err
    assert secret.stat().st_mtime_ns == before


def test_a_symlink_within_the_chart_is_followed(capsys, tmp_path):
    path = chart(tmp_path, CM % "s" + 'data: {f: {{ .Files.Get "link.txt" | quote }}}\n')
    (path / "real.txt").write_text("inside")
    (path / "link.txt").symlink_to("real.txt")
    code, out, err = run(capsys, "check", "--chart", str(path), "--format", "json")
    assert code == 0 and not err.strip(), err


# --- values nested without end -------------------------------------------------------------------

def _deep(depth: int, flow: bool) -> str:
    if flow:
        return "a: " + "{a: " * depth + "1" + "}" * depth + "\n"
    return "".join(" " * i + "a:\n" for i in range(depth)) + " " * depth + "a: 1\n"


@pytest.mark.parametrize("flow", [False, True])
@pytest.mark.parametrize("command", ["check", "compare", "suggest"])
def test_values_nested_5000_deep_are_one_line(capsys, tmp_path, flow, command):
    path = chart(tmp_path, CM % "s")
    values = tmp_path / "deep.yaml"
    values.write_text(_deep(5000, flow))
    code, _, err = run(capsys, command, "--chart", str(path), "-f", str(values))
    assert code == 2
    one_line_error(err, str(values), "nest")


def test_a_set_nested_5000_deep_is_one_line(capsys, tmp_path):
    path = chart(tmp_path, CM % "s")
    deep = ".".join(["a"] * 5000) + "=1"
    code, _, err = run(capsys, "check", "--chart", str(path), "--set", deep)
    assert code == 2
    one_line_error(err, "--set")


# --- helpers -------------------------------------------------------------------------------------

def _wait_for_render_process(parent: int, timeout: float = 20) -> list[int]:
    """The pids of the render processes `parent` started, once one is rendering."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [pid for pid in _children(parent) if b"toolman_kit.chart.child" in _cmdline(pid)]
        if found:
            time.sleep(0.5)  # let it receive the request and start rendering
            return found
        time.sleep(0.05)
    raise AssertionError("no render process started")


def _children(parent: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                out.append(int(entry))
    return out


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
