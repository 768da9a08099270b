"""`toolman-kit batch --dask-scheduler`: a real `dask scheduler` and two `dask worker` processes
on 127.0.0.1 (started here, stopped at the end), against the same fleet run locally.

Workers run without a nanny, so a killed worker stays dead and its target must be rerun by the
other one.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from toolman_kit.fleet.fleetfile import Target
from toolman_kit.fleet.runner import run_batch
from toolman_kit.fleet.task import MARKER, Job, run_target
from toolman_kit.present.report import EXAMPLE

DASK = Path(sys.executable).with_name("dask")
FLEET = f"""\
targets:
  - name: toolman
    chart: {EXAMPLE / "chart"}
    values: [{EXAMPLE / "chart" / "values-production.yaml"}]
    namespace: toolman
    profile: {EXAMPLE / "profile.yaml"}
  - name: default
    paths: [{EXAMPLE / "rendered" / "default.yaml"}]
    baseline: [{EXAMPLE / "rendered" / "production.yaml"}]  # the first run compares with it
  - name: missing
    chart: no-such-chart
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    from distributed import Client

    tmp = tmp_path_factory.mktemp("dask")
    address = f"tcp://127.0.0.1:{free_port()}"
    logs = {name: open(tmp / f"{name}.log", "w") for name in ("scheduler", "w0", "w1")}  # noqa: SIM115
    procs = {"scheduler": subprocess.Popen(
        [DASK, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
         "--no-dashboard"], stdout=logs["scheduler"], stderr=subprocess.STDOUT, cwd=tmp)}
    try:
        for name in ("w0", "w1"):
            procs[name] = subprocess.Popen(
                [DASK, "worker", address, "--name", name, "--host", "127.0.0.1",
                 "--nthreads", "1", "--no-nanny", "--no-dashboard",
                 "--local-directory", str(tmp / name)],
                stdout=logs[name], stderr=subprocess.STDOUT, cwd=tmp)
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        yield SimpleNamespace(address=address, procs=procs, tmp=tmp)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in logs.values():
            log.close()


@pytest.fixture(scope="module")
def runs(cluster: SimpleNamespace) -> SimpleNamespace:
    fleet = cluster.tmp / "fleet.yaml"
    fleet.write_text(FLEET)
    local = run_batch(fleet, out=cluster.tmp / "local", jobs=2)
    dask = run_batch(fleet, out=cluster.tmp / "dask", dask_scheduler=cluster.address)
    return SimpleNamespace(local=local, dask=dask)


def same(text: str, run_id: str) -> str:
    """The text with its run id (and the time shown for it) made neutral."""
    when = f"{run_id[:4]}-{run_id[4:6]}-{run_id[6:8]} {run_id[9:11]}:{run_id[11:13]} UTC"
    return text.replace(run_id, "RUN").replace(when, "WHEN")


@pytest.mark.slow
def test_dask_run_gives_the_same_records_as_a_local_run(runs: SimpleNamespace) -> None:
    local, dask = runs.local, runs.dask
    assert [(o.target, o.status) for o in dask.outcomes] == [
        ("toolman", "ok"), ("default", "ok"), ("missing", "failed")]
    assert local.exit_status == dask.exit_status == 2
    for a, b in zip(local.outcomes, dask.outcomes, strict=True):
        assert (a.status, a.error, a.counts, a.new, a.resolved, a.input_hash, a.checklist) == \
            (b.status, b.error, b.counts, b.new, b.resolved, b.input_hash, b.checklist)
    csv = {r.run_id: [re.sub(r",[0-9.]+,([^,]*)$", r",S,\1", line)  # seconds differ
                      for line in same((r.out / "history.csv").read_text(),
                                       r.run_id).splitlines()]
           for r in (local, dask)}
    assert csv[local.run_id] == csv[dask.run_id]
    assert same((local.out / "index.html").read_text(), local.run_id) == \
        same((dask.out / "index.html").read_text(), dask.run_id)
    for target in ("toolman", "default"):
        for name in ("findings.json", "deployment-analysis.md", "findings.csv"):
            assert same((local.out / target / local.run_id / name).read_text(),
                        local.run_id) == same((dask.out / target / dask.run_id / name)
                                              .read_text(), dask.run_id), (target, name)


@pytest.mark.slow
def test_first_run_compares_with_the_fleet_files_baseline(runs: SimpleNamespace) -> None:
    default = runs.local.outcomes[1]
    assert default.compared_with == "baseline"
    assert "replicas-below-minimum" in {f["check_id"] for f in default.new}
    report = runs.local.out / "default" / runs.local.run_id / "deployment-analysis.md"
    text = report.read_text()  # the report compares with it too
    assert f"Compared with the baseline (production.yaml), this run {runs.local.run_id} " in text
    assert runs.local.outcomes[0].compared_with is None  # no baseline, no previous run


@pytest.mark.slow
def test_an_unreachable_scheduler_is_one_error(tmp_path: Path) -> None:
    from toolman_kit.errors import FleetError

    (tmp_path / "fleet.yaml").write_text(FLEET)
    with pytest.raises(FleetError, match=r"tcp://127\.0\.0\.1:\d+: cannot reach a Dask scheduler"):
        run_batch(tmp_path / "fleet.yaml", out=tmp_path / "out",
                  dask_scheduler=f"tcp://127.0.0.1:{free_port()}")
    assert not (tmp_path / "out" / "history.csv").exists()


@pytest.mark.slow
def test_dask_tasks_ran_on_the_workers(runs: SimpleNamespace, cluster: SimpleNamespace) -> None:
    pids = {str(p.pid) for name, p in cluster.procs.items() if name != "scheduler"}
    ran = {json.loads((runs.dask.out / t / runs.dask.run_id / "run.json").read_text())
           ["worker"].rsplit(":", 1)[1] for t in ("toolman", "default")}
    assert ran <= pids


def test_a_worker_that_cannot_see_the_directory_fails_its_target(tmp_path: Path) -> None:
    (tmp_path / MARKER).write_text("another batch's token\n")
    job = Job(Target("t", paths=(str(EXAMPLE / "rendered" / "default.yaml"),)), str(tmp_path),
              "20260101T000000Z", "this batch's token")
    outcome = run_target(job)
    assert outcome.status == "failed" and not (tmp_path / "t").exists()
    assert "does not see the batch's output directory" in outcome.error
    assert "every worker must mount it, writable, at the same path" in outcome.error


@pytest.mark.slow
def test_a_killed_worker_costs_its_target_a_retry(runs: SimpleNamespace,
                                                  cluster: SimpleNamespace) -> None:
    """Last in this module: it leaves one worker."""
    from distributed import Client

    fleet = cluster.tmp / "fleet.yaml"
    out = cluster.tmp / "killed"
    shutil.rmtree(out, ignore_errors=True)
    result: list = []
    thread = threading.Thread(target=lambda: result.append(run_batch(
        fleet, out=out, dask_scheduler=cluster.address, only=["toolman", "default"])))
    thread.start()
    victim = None
    with Client(cluster.address, timeout="30s") as client:
        deadline = time.monotonic() + 120
        while victim is None and time.monotonic() < deadline:
            # A worker is mid-report once its target's staging directory exists.
            for address, keys in client.processing().items():
                for key in keys:
                    target = re.match(r"toolman-kit-(.+)-\d{8}T\d{6}Z", str(key))
                    if target and any((out / target[1]).glob(".*.tmp")):
                        victim = (target[1], client.scheduler_info()["workers"][address]["name"])
            time.sleep(0.1)
        assert victim, "no task started"
        cluster.procs[victim[1]].kill()
    thread.join(timeout=600)
    batch = result[0]
    assert [o.status for o in batch.outcomes] == ["ok", "ok"]
    assert batch.exit_status == 1  # errors in the reports; no target failed
    survivor = next(p for n, p in cluster.procs.items() if n not in ("scheduler", victim[1]))
    outcome = next(o for o in batch.outcomes if o.target == victim[0])
    assert outcome.worker.endswith(f":{survivor.pid}")  # redone by the other worker
    assert (out / victim[0] / batch.run_id / "index.html").is_file()
    assert not list((out / victim[0]).glob(".*"))  # the killed task's staging is cleaned up


def test_dask_is_imported_only_for_a_dask_run() -> None:
    code = ("import sys, toolman_kit, toolman_kit.commands, toolman_kit.fleet.runner, "
            "toolman_kit.fleet.task; print(sorted(m for m in ('dask', 'distributed') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"
