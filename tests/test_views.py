"""The notebook tables on the Toolman example: default and production renders, Toolman profile."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from toolman_kit.analysis import Analysis
from toolman_kit.comparison import compare
from toolman_kit.present import views

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "toolman"


@pytest.fixture(scope="module")
def default() -> Analysis:
    return Analysis.of(EXAMPLE / "rendered" / "default.yaml", profile=EXAMPLE / "profile.yaml",
                       values_set="default")


@pytest.fixture(scope="module")
def production() -> Analysis:
    return Analysis.of(EXAMPLE / "rendered" / "production.yaml",
                       profile=EXAMPLE / "profile.yaml", values_set="production")


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


def test_checklist_counts(default: Analysis, production: Analysis) -> None:
    before, after = views.checklist_counts(default), views.checklist_counts(production)
    rows = len(default.checklist)
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
    changes = compare(ins.baseline, ins.analysis).checklist
    assert changes.set_index("component").loc["Replicas", "change"] == "fixed"
    assert not set(changes["change"]) & {"added", "removed"}


def test_same_name_in_two_namespaces_stays_two_workloads():
    pod = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: %s}\n"
           "spec:\n  template:\n    spec:\n      containers: [{name: api, image: x:1}]\n")
    a = Analysis.of(pod % "a" + "---\n" + pod % "b")
    assert list(dict.fromkeys(a.checklist["workload"])) == ["Deployment/a/api",
                                                             "Deployment/b/api"]
    assert len(a.checklist) == 2 * len(a.checklist["component"].unique())


def test_api_data_volumes_are_drawn_read_only_whatever_the_mount_says():
    a = Analysis.of("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
                    "  - name: c\n    image: x:1\n    volumeMounts:\n"
                    "    - {name: cfg, mountPath: /c, readOnly: false}\n"
                    "    - {name: key, mountPath: /k}\n    - {name: dapi, mountPath: /d}\n"
                    "    - {name: proj, mountPath: /p}\n    - {name: scratch, mountPath: /s}\n"
                    "  volumes:\n  - {name: cfg, configMap: {name: c}}\n"
                    "  - {name: key, secret: {secretName: k}}\n"
                    "  - {name: dapi, downwardAPI: {items: []}}\n"
                    "  - {name: proj, projected: {sources: []}}\n"
                    "  - {name: scratch, emptyDir: {}}\n")
    matrix = views.mount_matrix(a)
    assert matrix.loc["c"].to_dict() == {"cfg": "ro", "key": "ro", "dapi": "ro", "proj": "ro",
                                         "scratch": "rw"}
    assert "cfg:/c (ro)" in views.containers(a)["mounts"].iloc[0]


def test_matrix_and_by_component(default: Analysis) -> None:
    m = views.matrix(default, ["Replicas", "PDB", "Volume Sources"])
    assert m.loc["Deployment/toolman"].to_dict() == {"Replicas": "fail", "PDB": "fail",
                                                     "Volume Sources": "pass"}
    rows = views.by_component(default).set_index("component")
    assert rows.loc["Replicas", "fail"] == 1 and rows.loc["Replicas", "states"] == [("1", 1)]
    assert rows.loc["Replicas", "actions"] == [("Increase to 3.", 1)]


def test_repeated_facts_are_grouped_and_names_capped():
    pod = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api-%d}\nspec:\n"
           "  template:\n    spec:\n      securityContext: {fsGroup: 1000}\n"
           "      containers: [{name: api, image: x:1, securityContext: {privileged: true}}]\n")
    a = Analysis.of("---\n".join(pod % i for i in range(12)))
    posture = views.security_posture(a)
    assert "Volumes group-owned by fsGroup 1000: all 12 workloads" in posture["strengths"]
    privileged = next(c for c in posture["considerations"] if c.startswith("Container runs priv"))
    assert privileged.endswith("api (x:1) in all 12 workloads")
    assert views.capped([f"w{i}" for i in range(12)]) == "w0, w1, w2, w3, w4 +7 more"
    groups = views.grouped(views.containers(a), ["container", "image", "privileged"])
    assert len(groups) == 1 and groups["count"].iloc[0] == 12
    problems = views.finding_groups(a).set_index("check_id")
    assert len(problems.loc["privileged-container", "objects"]) == 12


def test_resource_bars_are_right_at_any_size(default: Analysis, production: Analysis) -> None:
    """Shared axes across sets from zero, the profile's floor drawn, containers that set nothing
    labelled, identical containers drawn once with their count."""
    from toolman_kit.present import charts

    fig = charts.resource_figure({"default": views.resources(default),
                                  "production": views.resources(production)})
    (cpu0, mem0), (cpu1, mem1) = fig.axes[0:2], fig.axes[2:4]
    assert cpu0.get_xlim() == cpu1.get_xlim() and cpu0.get_xlim()[0] == 0
    assert mem0.get_xlim() == mem1.get_xlim() and mem0.get_xlim()[1] >= 2048  # 2Gi limit
    assert cpu0.get_xlim()[1] >= 2000  # the production limit (2 cores) and the floor fit
    assert [t.get_text() for t in cpu0.get_yticklabels()] == ["setup", "toolman", "docker-daemon"]
    def floors(ax):  # the black ticks, one segment each
        return sum(len(c.get_segments()) for c in ax.collections)

    assert floors(cpu0) == floors(cpu1) == 2  # the floors: toolman requests and limits
    assert len(cpu1.patches) == 6  # bars: requests and limits of the three containers
    bare = Analysis.of("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
                       "  - {name: a, image: x:1}\n  - {name: b, image: y:1, resources: "
                       "{requests: {cpu: 100m, memory: 64Mi}}}\n")
    fig = charts.resource_figure({"": views.resources(bare)})
    texts = [t.get_text().strip() for t in fig.axes[0].texts]
    assert texts == ["no requests or limits", "no limits"]
    assert fig.axes[0].get_xlim() == (0.0, 108.0)  # not −0.04…0.04
    pod = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w%d}\nspec:\n  template:\n"
           "    spec:\n      containers: [{name: app, image: x:1}]\n")
    labels, _ = charts.resource_bars(views.resources(Analysis.of("---\n".join(
        pod % i for i in range(30)))))
    assert labels == ["app ×30"]


def test_notebooks_take_named_analyses(default: Analysis, production: Analysis) -> None:
    from toolman_kit.present import nbsupport as ui

    ins = ui.inputs(sets=[("defaults", default), ("staging", production),
                          ("production", production)])
    assert ins.names == ["defaults", "staging", "production"]
    assert ins.analysis is production and ins.baseline is default
    assert [name for name, _ in ins.comparisons()] == ["staging", "production"]
    rows = ui.sets_checklist(ins).set_index("component")
    assert list(rows.loc["Replicas", ["state_0", "state_1", "state_2"]]) == ["1", "3", "3"]
    assert list(rows.loc["Replicas", ["change_1", "change_2"]]) == ["fixed", "fixed"]
    assert list(rows.index) == list(production.checklist["component"])  # the seed's order
    html = str(ui.checklist_section(ins))
    assert html.count("<th>Change (") == 2 and "Action Required (production)" in html


def test_missing_values_read_as_nothing_in_pages(default: Analysis) -> None:
    """Findings hold <NA> where a value is missing (a workload-level check names no container,
    some no field path): pages and the Markdown report show nothing there, never "<NA>"."""
    from toolman_kit.present import narrative
    from toolman_kit.present import nbsupport as ui

    failed = default.findings[default.findings["status"] == "fail"]
    assert failed["path"].isna().any() and failed["container"].isna().any()
    html = str(ui.findings(failed)) + str(ui.finding_changes(compare(default, default).findings))
    sources = [s for group in views.finding_groups(default)["sources"] for s in group]
    markdown = narrative.markdown_report(default)
    for text in (html, " ".join(sources), markdown):
        assert "NA&gt;" not in text and "<NA>" not in text and "nan" not in text.split()


def test_report_kernels_reuse_the_analyses_the_report_made(tmp_path, monkeypatch) -> None:
    """inputs.share writes a report's analyses; a kernel that receives them gets them for the
    same arguments over the same files, without analysing again, and a kernel that held other
    analyses (a previous report's) gives them up."""
    from toolman_kit.present import inputs as module

    args = ([str(EXAMPLE / "rendered" / "default.yaml")],)
    made = module.inputs(*args)
    module.share(tmp_path / "inputs.pickle", made)
    other = module.inputs([str(EXAMPLE / "rendered" / "production.yaml")])  # held: not `made`

    def no_analysis(*_: object) -> None:
        raise AssertionError("analysed again")

    monkeypatch.setattr(module, "_analyses", no_analysis)
    module.receive(str(tmp_path / "inputs.pickle"))
    again = module.inputs(*args)
    assert again is not made and again is not other and again.names == made.names
    assert again.analysis.findings.equals(made.analysis.findings)
    assert module.inputs(*args) is again  # the report's other notebooks in this kernel
    with pytest.raises(AssertionError, match="analysed again"):  # other arguments: analysed
        module.inputs([str(EXAMPLE / "rendered" / "production.yaml")])
    module._LAST.clear()
    module._RECEIVED.clear()
