"""The kit deletes or replaces only what it wrote itself (issue 19, "Files the kit did not write
are lost"): `report --out` into directories that hold other files, the working directory, a mount
point, a read-only directory; `batch` on a DIR whose target directory or lock file is a symbolic
link planted between runs, whose history holds a run from the future, or that is stopped;
`check -o` and file modes. Real file systems, real processes and signals, no mocks."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import EXAMPLE, ROOT

from toolman_kit.commands import main

MANIFEST = str(EXAMPLE / "rendered" / "default.yaml")
MARKER = ".toolman-report"


def snapshot(root: Path) -> dict[str, tuple[int, str]]:
    """Every entry under root, not following links: its mode and content (or link target)."""
    seen = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                what = "-> " + os.readlink(path)
            elif stat.S_ISREG(st.st_mode):
                what = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                what = ""
            seen[str(path.relative_to(root))] = (st.st_mode, what)
    return seen


def cli(*argv: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, err.getvalue()


def kit(*argv: str, cwd: Path | None = None, umask: int | None = None,
        **kwargs) -> subprocess.CompletedProcess:
    """`toolman-kit ARGV` as a user runs it: its own process, working directory and umask."""
    return subprocess.run([sys.executable, "-m", "toolman_kit", *argv], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)},
                          preexec_fn=(lambda: os.umask(umask)) if umask is not None else None,
                          **kwargs)


@contextlib.contextmanager
def mounted(where: Path, options: str) -> Iterator[Path]:
    """A tmpfs mounted at `where` (root in the tests' sandbox may mount; else skip)."""
    where.mkdir(exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size=32m,{options}", "tmpfs",
                       str(where)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


# --- report --out ------------------------------------------------------------------------------

def test_a_directory_that_is_no_report_is_refused_and_kept(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch):
    """`--out mydir` (holding notes.txt) and `--out "$PWD"`: one line naming the directory and
    --force-out, exit 2, nothing changed, and no kernel started (the check comes first)."""
    mydir = tmp_path / "mydir"
    mydir.mkdir()
    (mydir / "notes.txt").write_text("my notes\n")
    before = snapshot(tmp_path)
    code, err = cli("report", MANIFEST, "--out", str(mydir))
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith(f"toolman-kit: error: {mydir}: not empty and not a toolman-kit report")
    assert "--force-out" in err and "[1/" not in err
    monkeypatch.chdir(mydir)
    for out in (str(mydir), ".", "../mydir"):
        code, err = cli("report", MANIFEST, "--out", out)
        assert code == 2 and f"error: {out}: not empty" in err and "--force-out" in err, err
    assert snapshot(tmp_path) == before


def test_a_file_the_kit_did_not_write_is_never_replaced(tmp_path: Path):
    """With --force-out the report's files go in beside the others; a file of the same name as one
    of them (the user's own index.html) is refused, naming it."""
    (tmp_path / "index.html").write_text("my page\n")
    before = snapshot(tmp_path)
    code, err = cli("report", MANIFEST, "--out", str(tmp_path), "--force-out")
    assert code == 2 and err == (f"toolman-kit: error: {tmp_path / 'index.html'}: exists and "
                                 "was not written by toolman-kit: move it, or choose another "
                                 "--out\n")
    assert snapshot(tmp_path) == before


def test_report_out_on_a_read_only_directory_is_one_line_before_any_kernel(tmp_path: Path):
    with mounted(tmp_path / "ro", "ro") as ro:
        for out in (ro, ro / "new" / "report"):
            proc = kit("report", MANIFEST, "--out", str(out), "-j", "1")
            assert proc.returncode == 2, proc.stderr
            assert proc.stderr == (f"toolman-kit: error: {out}: cannot write the report here: "
                                   "Read-only file system\n")


@pytest.mark.slow
def test_report_files_go_inside_a_directory_of_other_files(tmp_path: Path):
    """--force-out into a directory holding notes.txt under umask 077: the report's files are new,
    so 0600 (and listed in the marker); notes.txt is kept. Again without --force-out (a marked
    report with other files): a report file made 0640 by the user keeps its mode, notes.txt its
    content, and nothing else appears."""
    mydir = tmp_path / "mydir"
    mydir.mkdir()
    (mydir / "notes.txt").write_text("my notes\n")
    notes = snapshot(mydir)["notes.txt"]
    proc = kit("report", MANIFEST, "--out", str(mydir), "--force-out", "-j", "1", umask=0o077)
    assert proc.returncode == 0, proc.stderr
    listed = (mydir / MARKER).read_text().splitlines()[1:]
    assert {"index.html", "findings.json", "00_summary.html"} <= set(listed)
    assert "notes.txt" not in listed
    assert sorted(p.name for p in mydir.iterdir()) == sorted([*listed, MARKER, "notes.txt"])
    assert {oct(stat.S_IMODE((mydir / n).stat().st_mode)) for n in [*listed, MARKER]} == \
        {"0o600"}
    (mydir / "findings.json").chmod(0o640)
    proc = kit("report", MANIFEST, "--out", str(mydir), "-j", "1")
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE((mydir / "findings.json").stat().st_mode) == 0o640
    assert snapshot(mydir)["notes.txt"] == notes
    assert sorted(p.name for p in mydir.iterdir()) == sorted([*listed, MARKER, "notes.txt"])
    assert [p.name for p in tmp_path.iterdir()] == ["mydir"]  # no staging left beside it


@pytest.mark.slow
def test_out_dot_on_a_mount_point_writes_inside_it(tmp_path: Path):
    """`--out .` in the working directory, which is a mount point (a Docker volume): it used to
    be a ValueError, and a mount point an OSError after every notebook had run."""
    with mounted(tmp_path / "volume", "mode=0755") as volume:
        proc = kit("report", MANIFEST, "--out", ".", "-j", "1", cwd=volume)
        assert proc.returncode == 0, proc.stderr
        assert (volume / "index.html").is_file() and (volume / MARKER).is_file()
        assert os.path.ismount(volume)
        assert not [p for p in volume.iterdir() if p.name.startswith(f"{MARKER}.")]


# --- check -o ----------------------------------------------------------------------------------

def test_check_output_keeps_the_mode_of_the_file_it_replaces(tmp_path: Path):
    secret = tmp_path / "out.txt"
    secret.write_text("old\n")
    secret.chmod(0o600)
    assert kit("check", MANIFEST, "-o", str(secret)).returncode == 1
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600 and "replicas" in secret.read_text()
    new = tmp_path / "new.json"
    assert kit("check", MANIFEST, "--format", "json", "-o", str(new), umask=0o077).returncode == 1
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# --- batch -------------------------------------------------------------------------------------

def fleet_file(root: Path, *names: str, path: str = "missing.yaml") -> Path:
    """A fleet whose targets fail at once, before any kernel (their file does not exist)."""
    root.mkdir(exist_ok=True)
    fleet = root / "fleet.yaml"
    fleet.write_text("targets:\n" + "".join(f"  - {{name: {n}, paths: [{path}]}}\n"
                                            for n in names))
    return fleet


def history(out: Path) -> list[dict[str, str]]:
    with open(out / "history.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_a_fleet_directory_that_is_no_fleet_directory_is_refused(tmp_path: Path):
    """`batch --out "$HOME"`-like: the user's index.html would be replaced by the fleet page."""
    (tmp_path / "index.html").write_text("my page\n")
    fleet = fleet_file(tmp_path / "elsewhere", "web")
    before = snapshot(tmp_path)
    code, err = cli("batch", str(fleet), "--out", str(tmp_path))
    assert code == 2 and err.startswith(f"toolman-kit: error: {tmp_path}: not empty and not a "
                                        "toolman-kit fleet directory (no .toolman-fleet)"), err
    assert err.count("\n") == 1 and snapshot(tmp_path) == before


def test_a_symlinked_target_directory_is_an_error_never_followed(tmp_path: Path):
    """DIR/web replaced by a link to a victim's home between runs: pruning used to delete the
    victim's .ssh and .config (hidden: "leftovers") and runs, and the report went there. The
    target fails before its report starts; the victim is untouched."""
    victim = tmp_path / "victim"
    for d in (".ssh", ".config", "20200101T000000Z", "20210101T000000Z"):
        (victim / d).mkdir(parents=True)
    (victim / ".ssh" / "id_ed25519").write_text("private key\n")
    (victim / "20200101T000000Z" / "run.json").write_text("{}")
    out = tmp_path / "out"
    out.mkdir()
    (out / ".toolman-fleet").write_text("a previous batch's\n")
    (out / "web").symlink_to(victim)
    before = snapshot(victim)
    (tmp_path / "default.yaml").write_text(Path(MANIFEST).read_text())  # a good target
    code, err = cli("batch", str(fleet_file(tmp_path, "web", path="default.yaml")),
                    "--out", str(out), "--keep", "1")
    assert code == 2, err
    assert f"{out / 'web'}: is a symbolic link: not followed" in err
    assert "Traceback" not in err
    assert snapshot(victim) == before
    (row,) = history(out)
    assert row["status"] == "failed" and "symbolic link" in row["error"]


def test_a_symlinked_lock_file_is_refused_not_truncated(tmp_path: Path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / ".toolman-batch.lock").symlink_to(victim)
    code, err = cli("batch", str(fleet_file(tmp_path, "web")), "--out", str(out))
    assert code == 2 and err == (f"toolman-kit: error: {out / '.toolman-batch.lock'}: is a "
                                 "symbolic link: not followed; remove it\n")
    assert victim.read_text() == "precious\n"
    assert sorted(p.name for p in out.iterdir()) == [".toolman-batch.lock"]


def test_a_run_recorded_in_the_future_is_reported_once_and_ignored(tmp_path: Path):
    """A history row (and a run directory) from a clock that was ahead used to block every
    later batch ("the clock is behind the last run recorded here")."""
    out = tmp_path / "out"
    (out / "web" / "20991231T000000Z").mkdir(parents=True)
    (out / ".toolman-fleet").write_text("a previous batch's\n")
    (out / "web" / "20991231T000000Z" / "run.json").write_text("{}")
    (out / "history.csv").write_text(
        "run_id,target,status,errors,warnings,info,passed,new,resolved,input_hash,seconds,"
        "error\n20991231T000000Z,web,failed,,,,,0,0,,0.00,x\n"
        "20991231T000000Z,api,failed,,,,,0,0,,0.00,x\n")
    code, err = cli("batch", str(fleet_file(tmp_path, "web", "api")), "--out", str(out),
                    "--keep", "1")
    assert code == 2, err  # its targets fail (no such file), but the batch runs
    (warning,) = [line for line in err.splitlines() if "warning" in line]
    assert warning.startswith(f"toolman-kit: warning: {out}: 1 run recorded after the present")
    assert warning.endswith("the latest 20991231T000000Z: was the clock ahead? Ignored when "
                            "naming this run")
    rows = history(out)
    assert [r["target"] for r in rows[2:]] == ["web", "api"]
    assert rows[2]["run_id"] == rows[3]["run_id"] < "20991231T000000Z"
    assert (out / "web" / "20991231T000000Z" / "run.json").is_file()  # not pruned by --keep 1


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGINT to the process group (Ctrl-C)",
                                 "SIGTERM to the batch alone"])
def test_a_stopped_batch_records_every_target_it_reported(tmp_path: Path, how: str):
    """Stopped once a target is done: every target printed "ok" is in history.csv (it used to
    be written only at the end), every run directory is complete (run.json), and the batch
    exits 130 or 143 after the report being made."""
    import shutil

    shutil.copy(MANIFEST, tmp_path / "default.yaml")
    names = [f"t{i}" for i in range(5)]
    fleet = fleet_file(tmp_path, *names, path="default.yaml")
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "toolman_kit", "batch", str(fleet),
                             "--out", str(out), "-j", "1"],
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        first = proc.stderr.readline()
        assert first.startswith("[1/5] t0: ok"), first + proc.stderr.read()
        if how.startswith("SIGINT"):
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=120)[1]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    said = first + rest
    assert proc.returncode == (130 if how.startswith("SIGINT") else 143), said
    assert "Traceback" not in said, said
    printed = [line.split()[1].rstrip(":") for line in said.splitlines()
               if line.startswith("[") and ": ok" in line]
    assert printed[:1] == ["t0"] and len(printed) <= 2, said
    # Every target printed is recorded; one that finished as the signal came may be recorded
    # without its line (the signal can land between the two), never the other way round.
    recorded = sorted(r["target"] for r in history(out))
    assert set(printed) <= set(recorded) and len(recorded) <= 2, (recorded, said)
    runs = [d for d in out.glob("t*/*") if d.name != "latest"]
    assert sorted(d.parent.name for d in runs) == recorded
    assert all((d / "run.json").is_file() for d in runs)
    assert all((out / t / "latest" / "index.html").is_file() for t in recorded)
