"""The notebook tables on the Toolman example: default and production renders, Toolman profile."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from toolman_kit.analysis import Analysis
from toolman_kit.judge.checklist import build
from toolman_kit.present import views

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "toolman"


@pytest.fixture(scope="module")
def default() -> Analysis:
    return Analysis.of(EXAMPLE / "rendered" / "default.yaml", profile=EXAMPLE / "profile.yaml",
                       label="default")


@pytest.fixture(scope="module")
def production() -> Analysis:
    return Analysis.of(EXAMPLE / "rendered" / "production.yaml",
                       profile=EXAMPLE / "profile.yaml", label="production")


def _row(df: pd.DataFrame, **where: str) -> pd.Series:
    mask = pd.Series(True, index=df.index)
    for column, value in where.items():
        mask &= df[column] == value
    assert mask.sum() == 1, df[mask]
    return df[mask].iloc[0]


def test_containers(default: Analysis, production: Analysis) -> None:
    df = views.containers(default)
    assert list(df["container"]) == ["setup", "toolman", "docker-daemon"]
    assert list(df["role"]) == ["init", "main", "sidecar"]
    toolman = _row(df, container="toolman")
    assert (toolman.run_as_user, toolman.run_as_group) == (1001, 2375)
    assert toolman.read_only_root and toolman.run_as_non_root and not toolman.privileged
    assert toolman.capabilities_drop == "ALL" and not toolman.allow_privilege_escalation
    assert toolman.ports == "3000/TCP http" and toolman.env_from == "secretRef toolman"
    assert (toolman.tag, toolman.pinned, toolman.pull_policy) == ("latest", False, "Always")
    assert (toolman.cpu_request, toolman.memory_request) == ("100m", "128Mi")
    assert (toolman.cpu_limit, toolman.memory_limit) == ("500m", "512Mi")
    assert "config:/config (ro)" in toolman.mounts
    assert "docker-socket:/var/run (rw)" in toolman.mounts
    assert "DOCKER_HOST=unix:///var/run/docker.sock" in toolman.env
    assert toolman.workload == "Deployment/toolman" and toolman.line > 1
    dind = _row(df, container="docker-daemon")
    assert dind.privileged and dind.allow_privilege_escalation and not dind.read_only_root
    assert dind.image == "docker:dind" and dind.pull_policy == "IfNotPresent (default)"
    assert pd.isna(dind.run_as_user)
    pinned = _row(views.containers(production), container="toolman")
    assert (pinned.tag, pinned.pinned, pinned.cpu_limit, pinned.memory_limit) == \
        ("v0.4.2", True, "2", "2Gi")


def test_resources_against_profile(default: Analysis, production: Analysis) -> None:
    df = views.resources(default)
    cpu = _row(df, container="toolman", kind="requests", resource="cpu")
    assert (cpu.current, cpu.profile, cpu.status) == ("100m", "500m", "below profile")
    assert (cpu.current_value, cpu.profile_value) == (0.1, 0.5)
    memory = _row(df, container="toolman", kind="limits", resource="memory")
    assert (memory.current_value, memory.profile_value) == (512.0, 2048.0)
    sidecar = _row(df, container="docker-daemon", kind="limits", resource="cpu")
    assert (sidecar.profile, sidecar.status) == ("", "ok")
    fixed = views.resources(production)
    assert set(fixed[fixed["container"] == "toolman"]["status"]) == {"ok"}


def test_volumes(default: Analysis, production: Analysis) -> None:
    df = views.volumes(default)
    assert {"configMap", "persistentVolumeClaim", "emptyDir", "secret"} <= set(df["type"])
    assert _row(df, volume="config").source == "toolman"
    assert _row(df, volume="data").source == "toolman-data (ReadWriteOnce, 1Gi)"
    assert _row(df, volume="kubeconfig").source == "toolman-kubeconfig"
    socket = _row(df, volume="docker-socket")
    assert socket.source == "node disk, no sizeLimit"
    assert socket.mounted_by == "toolman:/var/run (rw), docker-daemon:/var/run (rw)"
    assert "container-runtime-socket-exposed" in socket.findings
    assert "emptydir-without-size-limit" in socket.findings
    assert _row(df, volume="data").findings == ""  # one replica: the RWO claim is fine
    data = _row(views.volumes(production), volume="data")
    assert "10Gi" in data.source and "rwo-volume-shared-by-replicas" in data.findings


def test_mount_matrix(default: Analysis) -> None:
    matrix = views.mount_matrix(default)
    assert list(matrix.index) == ["setup", "toolman", "docker-daemon"]
    assert matrix.at["toolman", "config"] == "ro"
    assert matrix.at["toolman", "data"] == "rw"
    assert matrix.at["docker-daemon", "config"] == ""
    assert matrix.at["setup", "kubeconfig"] == "ro"
    assert views.mount_matrix(default, "Deployment/toolman").equals(matrix)
    with pytest.raises(KeyError):
        views.mount_matrix(default, "nope")


def test_probes(default: Analysis, production: Analysis) -> None:
    assert set(views.probes(default)["handler"]) == {"none"}
    df = views.probes(production)
    assert "setup" not in set(df["container"])  # a plain init container has no probes
    liveness = _row(df, container="toolman", probe="liveness")
    assert liveness.handler == "httpGet /health :http"
    assert (liveness.initial_delay, liveness.period, liveness.timeout) == ("30", "10", "5")
    assert liveness.success_threshold == "1 (default)"
    assert _row(df, container="toolman", probe="readiness").period == "5"
    assert _row(df, container="toolman", probe="startup").handler == "none"


def test_availability(default: Analysis, production: Analysis) -> None:
    before = views.availability(default).iloc[0]
    assert before.replicas == 1 and before.pdb == "Disabled"
    assert pd.isna(before.pdb_allows_evictions) and before.update_strategy == "Not specified"
    after = views.availability(production).iloc[0]
    assert after.replicas == 3 and after.pdb == "toolman (minAvailable: 2)"
    assert after.pdb_allows_evictions == 1  # 3 replicas, minAvailable 2
    assert after.update_strategy.startswith("RollingUpdate")
    assert after.anti_affinity == "preferredDuringScheduling"
    assert "ReadWriteOnce" in after.storage_vs_replicas and "3 replica" in after.storage_vs_replicas


def test_security_posture(default: Analysis, production: Analysis) -> None:
    posture = views.security_posture(default)
    strengths, considerations = posture["strengths"], posture["considerations"]
    assert "Non-root execution (UID 1001, GID 2375): toolman" in strengths
    assert any(s.startswith("Read-only root filesystem") and "toolman" in s for s in strengths)
    assert "Dropped all capabilities: toolman" in strengths
    assert "Secrets managed via secretRef: toolman (Secret toolman)" in strengths
    assert "Container runs privileged: docker-daemon (docker:dind)" in considerations
    assert any(c.startswith("No NetworkPolicy") for c in considerations)
    later = views.security_posture(production)
    assert not any(c.startswith("No NetworkPolicy isolates the pods' ingress")
                   for c in later["considerations"])
    assert any(c.startswith("No NetworkPolicy isolates the pods' egress")  # its `egress: [{}]`
               for c in later["considerations"])
    assert any(s.startswith("NetworkPolicy restricts") for s in later["strengths"])


def test_runtime_sockets(default: Analysis) -> None:
    df = views.runtime_sockets(default)
    assert len(df) == 1
    row = df.iloc[0]
    assert (row.container, row.image, row.socket_volumes) == ("docker-daemon", "docker:dind",
                                                              "docker-socket")
    assert row.shared_with == "toolman:/var/run (rw)"
    assert "kernel modules" in row.reach


def test_compare_checklists(default: Analysis, production: Analysis) -> None:
    df = views.compare_checklists(default, production)
    change = dict(zip(df["component"], df["change"], strict=True))
    assert change["Replicas"] == "fixed"
    assert change["Image Tag"] == "still failing"  # the docker:dind sidecar's tag floats
    assert change["Health Probes"] == "improved"  # ❌ → ⚠️: no startup probe yet
    assert change["Privileged Containers"] == "still failing"
    assert change["Storage vs Replicas"] == "worse"  # 3 replicas on one RWO claim
    assert list(df["component"]) == list(build(production.findings, production.index)["component"])
    replicas = _row(df, component="Replicas")
    assert (replicas.baseline_state, replicas.candidate_state) == ("1", "3")
    assert set(df["change"]) <= {"fixed", "improved", "worse", "unchanged", "still failing"}


def test_compare_findings(default: Analysis, production: Analysis) -> None:
    df = views.compare_findings(default, production)
    change = {c: set(df[df["check_id"] == c]["change"]) for c in set(df["check_id"])}
    assert change["replicas-below-minimum"] == {"fixed"}
    assert change["rwo-volume-shared-by-replicas"] == {"introduced"}
    assert change["privileged-container"] == {"unchanged"}


def test_counts(default: Analysis, production: Analysis) -> None:
    before, after = views.counts(default), views.counts(production)
    rows = len(build(default.findings, default.index))
    assert before["fail"] + before["warning"] + before["pass"] + before["n/a"] == rows
    assert after["fail"] < before["fail"] and after["pass"] > before["pass"]
    assert before["findings"]["error"] > after["findings"]["error"] > 0


def test_env_values_that_may_be_credentials_are_redacted_whatever_the_profile(tmp_path):
    profile = tmp_path / "narrow.yaml"
    profile.write_text("name: narrow\nsecret_env_pattern: NOTHING_MATCHES\n")
    a = Analysis.of("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
                    "  - name: c\n    image: x:1\n    env:\n"
                    "    - {name: DATABASE_URL, value: 'postgres://u:hunter2@db/x'}\n"
                    "    - {name: GCP_CREDENTIALS, value: s3cr3t}\n"
                    "    - {name: LOG_LEVEL, value: info}\n", profile=profile)
    env = views.containers(a)["env"].iloc[0]
    assert "hunter2" not in env and "s3cr3t" not in env
    assert "postgres://‹redacted›@db/x" in env and "LOG_LEVEL=info" in env


def test_comparison_of_renderings_with_different_inferred_namespaces_lines_up(tmp_path):
    from toolman_kit.present.nbsupport import inputs

    example = Path(__file__).parents[1] / "examples" / "toolman" / "rendered"
    candidate = tmp_path / "candidate.yaml"  # one object names the namespace explicitly
    candidate.write_text((example / "production.yaml").read_text().replace(
        "  name: toolman\n", "  name: toolman\n  namespace: prod\n", 1))
    ins = inputs([str(candidate)], [str(example / "default.yaml")], None, [], None, [],
                 "production", None, "toolman")
    assert ins.analysis.manifests.namespace == ins.baseline.manifests.namespace == "prod"
    changes = views.compare_checklists(ins.baseline, ins.analysis)
    assert changes.set_index("component").loc["Replicas", "change"] == "fixed"
    assert not set(changes["change"]) & {"added", "removed"}


def test_same_name_in_two_namespaces_stays_two_workloads():
    pod = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: %s}\n"
           "spec:\n  template:\n    spec:\n      containers: [{name: api, image: x:1}]\n")
    a = Analysis.of(pod % "a" + "---\n" + pod % "b")
    assert list(dict.fromkeys(a.checklist["workload"])) == ["Deployment/a/api",
                                                             "Deployment/b/api"]
    assert len(a.checklist) == 2 * len(a.checklist["component"].unique())
