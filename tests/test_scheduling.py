"""examples/scheduling/: the CronJob passes the kit's own production profile, and the recipes
agree with each other (the image's user and the pod's, the chart the image holds and the fleet
file names, the schedule, the lock that keeps runs apart).

No container is built here (no Docker daemon on the test machines): the Dockerfile is checked
for what the CronJob relies on.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import yaml

from toolman_kit.commands import main
from toolman_kit.fleet.fleetfile import load_fleet

HERE = Path(__file__).parents[1] / "examples" / "scheduling"
ROOT = HERE.parents[1]


def objects() -> dict[str, dict]:
    docs = yaml.safe_load_all((HERE / "kubernetes" / "cronjob.yaml").read_text())
    return {d["kind"]: d for d in docs}


def test_cronjob_passes_the_production_profile() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["check", str(HERE / "kubernetes"), "--profile", "production",
                     "--fail-on", "warning", "--format", "json"])
    assert code == 0, out.getvalue()
    assert '"status": "fail"' not in out.getvalue()


def test_cronjob_runs_one_batch_at_a_time_with_its_account_and_volume(tmp_path: Path) -> None:
    o = objects()
    cron = o["CronJob"]["spec"]
    pod = cron["jobTemplate"]["spec"]["template"]["spec"]
    assert cron["concurrencyPolicy"] == "Forbid"
    assert pod["serviceAccountName"] == o["ServiceAccount"]["metadata"]["name"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["reports"]["persistentVolumeClaim"]["claimName"] == \
        o["PersistentVolumeClaim"]["metadata"]["name"]
    assert volumes["fleet"]["configMap"]["name"] == o["ConfigMap"]["metadata"]["name"]
    container = pod["containers"][0]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    args = container["args"]
    assert args[:2] == ["batch", f"{mounts['fleet']}/fleet.yaml"]
    assert args[args.index("--out") + 1] == mounts["reports"]
    fleet = tmp_path / "fleet.yaml"  # the ConfigMap's fleet file is a valid one
    fleet.write_text(o["ConfigMap"]["data"]["fleet.yaml"])
    assert [t.name for t in load_fleet(fleet).targets] == ["toolman"]


def test_image_and_cronjob_agree(tmp_path: Path) -> None:
    dockerfile = (HERE / "Dockerfile").read_text()
    pod = objects()["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    uid = re.search(r"^USER (\d+):(\d+)$", dockerfile, re.M)
    assert uid and int(uid[1]) == pod["securityContext"]["runAsUser"]
    assert int(uid[2]) == pod["securityContext"]["runAsGroup"]
    assert 'ENTRYPOINT ["toolman-kit"]' in dockerfile
    (tmp_path / "fleet.yaml").write_text(objects()["ConfigMap"]["data"]["fleet.yaml"])
    chart = load_fleet(tmp_path / "fleet.yaml").targets[0].chart
    copies = re.findall(r"^COPY (\S+) (\S+)$", dockerfile, re.M)
    assert any(chart.rstrip("/") == dest.rstrip("/") and (ROOT / src).is_dir()
               for src, dest in copies)
    for src, _ in copies:  # everything copied exists in the build context (the repository)
        assert (ROOT / src).exists(), src


def test_crontab_and_ci_workflow_run_the_batch() -> None:
    line = next(x for x in (HERE / "crontab").read_text().splitlines()
                if x.strip() and not x.startswith("#"))
    fields = line.split(None, 5)
    assert len(fields) == 6 and fields[:5] == ["30", "2", "*", "*", "*"]
    assert "toolman-kit batch fleet.yaml --out" in fields[5]
    workflow = yaml.safe_load((HERE / "github-actions.yml").read_text())
    assert workflow[True]["schedule"][0]["cron"] == "30 2 * * *"  # YAML 1.1 reads `on` as True
    steps = workflow["jobs"]["batch"]["steps"]
    batch = next(s for s in steps if "toolman-kit batch" in s.get("run", ""))
    out = shlex.split(batch["run"])[shlex.split(batch["run"]).index("--out") + 1]
    after = steps[steps.index(batch) + 1:]
    assert any(s.get("uses", "").startswith("actions/upload-artifact") and
               s["with"]["path"] == out and s.get("if") == "always()" for s in after)
    assert any(s.get("uses", "").startswith("actions/cache/restore") and
               s["with"]["path"] == out for s in steps[:steps.index(batch)])
