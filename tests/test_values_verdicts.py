"""Values verdicts that hold on real charts (issue 21): the same suggestion in every process, a
suggestion relative to the user's values, hard-coded fields found when some keys cannot be
probed, probes that keep the shape a template expects, documented keys not called unknown, and
renames not taken for control. Fixture charts built here reproduce each failure mode; real
Helm SDK renders, no mocks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import CHART, EXAMPLE, PRODUCTION, ROOT, make_chart

pytest.importorskip("helm_python")

PROFILE = str(EXAMPLE / "profile.yaml")

COMPETING_VALUES = """\
replicaCount: 1
image:
  repository: nginx
  tag: "1.25.3"
affinity: {}
podAntiAffinityPreset: ""
topologySpreadConstraints: []
"""

COMPETING = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels: {app: web, release: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: web, release: {{ .Release.Name }}}
    spec:
      {{- if eq .Values.podAntiAffinityPreset "soft" }}
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 1
              podAffinityTerm:
                topologyKey: kubernetes.io/hostname
                labelSelector: {matchLabels: {app: web, release: {{ .Release.Name }}}}
      {{- else }}
      {{- with .Values.affinity }}
      affinity: {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- end }}
      {{- with .Values.topologySpreadConstraints }}
      topologySpreadConstraints: {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: web
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          ports: [{name: http, containerPort: 8080}]
"""


def competing(root: Path) -> Path:
    return make_chart(root, {"deployment.yaml": COMPETING}, COMPETING_VALUES)


def cli(*argv: str, seed: str = "0") -> tuple[str, str]:
    """`toolman-kit ARGV` in a fresh process under PYTHONHASHSEED=seed."""
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "toolman_kit", *argv], env=env, text=True,
                          capture_output=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout, done.stderr


# --- 1. the same output in every process --------------------------------------------------------

def test_suggest_and_compare_are_the_same_in_every_process(tmp_path: Path) -> None:
    chart = competing(tmp_path / "web")
    suggest = ["suggest", "--chart", str(chart), "-j", "1"]
    yamls = {cli(*suggest, seed=seed)[0] for seed in ("0", "1", "7")}
    jsons = {cli(*suggest, "--format", "json", seed=seed)[0] for seed in ("2",)}
    assert len(yamls) == 1
    doc = json.loads(jsons.pop())
    assert yaml.safe_load(yamls.pop()) == doc["values"]  # yaml and json agree
    keys = {f["check_id"]: f["keys"] for f in doc["fixed"]}
    # anti-affinity: the chart's own preset and an explicit term compete; one order decides
    assert "anti-affinity-missing" in keys
    (tmp_path / "three.yaml").write_text("replicaCount: 3\n")
    compare = ["compare", "--chart", str(chart), "--value-set", f"three={tmp_path / 'three.yaml'}",
               "--format", "json", "-j", "1"]
    outs = {cli(*compare, seed=seed)[0] for seed in ("0", "42")}
    assert len(outs) == 1


# --- 2. the suggestion starts from the user's values ---------------------------------------------

def test_report_suggest_starts_from_the_values_files(tmp_path: Path) -> None:
    """`report -f values-production.yaml --suggest`: the suggestion goes after production, so
    its column is never worse than production (the network policy stays, requests stay)."""
    from toolman_kit.present.inputs import named_sets, validate
    from toolman_kit.present.report.files import _suggest
    from toolman_kit.values.sets import compare_sets

    sets, _, _ = validate(named_sets(chart=CHART, values=[str(PRODUCTION)]), CHART, PROFILE)
    assert [len(s["values"]) for s in sets] == [0, 1]  # the chart defaults, then production
    params = {"sets": sets, "chart": str(CHART), "release": "toolman", "namespace": "toolman",
              "profile": PROFILE, "kube_version": None}
    doc, extra = _suggest(tmp_path, params)
    assert doc["start"]["files"] == sets[1]["values"]
    c = compare_sets(CHART, [*sets, extra], release="toolman", namespace="toolman",
                     profile=PROFILE, jobs=1)
    production, suggested = (c.set(s["name"]).analysis for s in (sets[1], extra))
    rows = {a: {r.component: r.status for r in a.checklist.itertuples()}
            for a in (production, suggested)}
    order = {"n/a": 3, "pass": 3, "info": 2, "warning": 1, "fail": 0}
    worse = [row for row, status in rows[production].items()
             if order[rows[suggested][row]] < order[status]]
    assert worse == [] and rows[suggested]["Network Policy"] == rows[production]["Network Policy"]
    main = next(w for w in suggested.index.workloads if w.kind == "Deployment")
    app = next(c for c in main.containers if c.name == "toolman")
    assert app.raw["resources"]["requests"] == {"cpu": "500m", "memory": "512Mi"}


# --- 6. hard-coded holds when some keys cannot be probed ---------------------------------------

def test_hard_coded_dind_when_unrelated_keys_cannot_be_probed(tmp_path: Path) -> None:
    """The Toolman chart with a template that refuses every value of `localTools.mode` but its
    own (as real charts `fail` on values they do not accept): that key cannot be probed, yet
    the DinD sidecar's resources, `privileged: true` and `docker:dind` are still reported as
    hard-coded (the seed's "DinD Resources Hardcoded"), since no action of deployment.yaml or
    of the helpers it includes reads it; the fields of the template that reads it are not."""
    from toolman_kit.values.sets import compare_values

    chart = tmp_path / "toolman"
    shutil.copytree(CHART, chart)
    with (chart / "values.yaml").open("a") as f:
        f.write("\nlocalTools:\n  mode: npx\n")
    (chart / "templates" / "localtools.yaml").write_text(
        '{{- if ne .Values.localTools.mode "npx" }}{{ fail "localTools.mode: only npx" }}'
        "{{- end }}\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: local-tools}\n"
        "spec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n"
        "    spec:\n      containers:\n        - name: tools\n          image: busybox:latest\n"
        "          args: ['--mode={{ .Values.localTools.mode }}']\n")
    c = compare_values(chart, [("production", [str(PRODUCTION)])], release="toolman",
                       namespace="toolman", profile=PROFILE, jobs=1)
    assert any("localTools.mode: its probe does not render" in n for n in c.not_explored)
    hard = {(h.field.container, h.field.path.rsplit("].", 1)[-1]): h for h in c.hardcoded}
    assert hard[("docker-daemon", "image")].value == "docker:dind"
    assert hard[("docker-daemon", "securityContext.privileged")].value == "true"
    assert hard[("docker-daemon", "resources.requests")].value == "cpu: 100m, memory: 128Mi"
    assert hard[("docker-daemon", "resources.limits")].template == "templates/deployment.yaml"
    assert not [h for h in c.hardcoded if h.template == "templates/localtools.yaml"]


# --- 7. probes keep the shape the template expects ---------------------------------------------

def test_a_list_of_maps_is_probed_with_a_modified_element(tmp_path: Path) -> None:
    """A template that needs a server, ranges over a list of maps and does arithmetic on
    `.port`: the probe (once an empty list) changes a leaf of the first element (an int stays
    an int), so it renders and the key is explored, not "its probe does not render"."""
    from toolman_kit.values.provenance import probe_value
    from toolman_kit.values.sets import compare_values

    assert probe_value([{"name": "a", "port": 80}, {"name": "b"}]) == [
        {"name": "a-tk-probe", "port": 80}, {"name": "b"}]
    assert probe_value([{"port": 80, "tls": True}]) == [{"port": 87, "tls": True}]
    assert probe_value([{"sub": {"on": True}}]) == [{"sub": {"on": False}}]
    chart = make_chart(tmp_path / "servers", {"deployment.yaml": """\
        {{- if not .Values.servers }}{{ fail "servers: at least one" }}{{ end }}
        {{- $first := first .Values.servers }}
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: servers}
        spec:
          replicas: 1
          selector: {matchLabels: {app: servers}}
          template:
            metadata: {labels: {app: servers}}
            spec:
              containers:
                - name: main
                  image: "nginx:1.27.0"
                  args: ["--first={{ $first.port }}"]
                  ports:
                    {{- range .Values.servers }}
                    - containerPort: {{ add .port 1 }}
                    {{- end }}
        """}, "servers:\n  - port: 8080\n    name: web\n  - port: 9090\n    name: admin\n")
    c = compare_values(chart)
    assert not [n for n in c.not_explored if "servers" in n], c.not_explored
    assert c.set("defaults").provenance.explored >= 1


# --- 3. a suggestion that names the release says so ---------------------------------------------

NAMED = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels: {app.kubernetes.io/name: web, app.kubernetes.io/instance: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app.kubernetes.io/name: web, app.kubernetes.io/instance: {{ .Release.Name }}}
    spec:
      {{- with .Values.affinity }}
      affinity: {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: web
          image: "nginx:1.25.3"
          ports: [{name: http, containerPort: 8080}]
"""


def test_a_suggestion_naming_the_default_release_says_so(tmp_path: Path) -> None:
    """Without --release, the anti-affinity term copies `app.kubernetes.io/instance:
    release-name` from the render: the header, the JSON, the Markdown and stderr say so; with
    --release the same keys name that release and nothing warns."""
    from toolman_kit.present.suggestion_doc import document, to_markdown
    from toolman_kit.values.suggest import suggest

    chart = make_chart(tmp_path / "named", {"deployment.yaml": NAMED},
                       "replicaCount: 1\naffinity: {}\n")
    s = suggest(chart, profile=PROFILE, jobs=1)
    assert s.release == "release-name" and not s.release_given
    assert s.release_keys == [("affinity",)]
    term = s.values["affinity"]["podAntiAffinity"][
        "preferredDuringSchedulingIgnoredDuringExecution"][0]
    assert term["podAffinityTerm"]["labelSelector"]["matchLabels"][
        "app.kubernetes.io/instance"] == "release-name"
    header = s.text.split("\n\n")[0]
    assert "rendered with release name 'release-name': give --release NAME" in \
        " ".join(line.lstrip("# ") for line in header.splitlines())
    doc = document(s)
    assert doc["release_given"] is False and doc["release_keys"] == ["affinity"]
    assert "give --release NAME" in doc["release_warning"]
    assert "**Warning**: rendered with release name" in to_markdown(s)
    given = suggest(chart, release="web", profile=PROFILE, jobs=1)
    assert given.release_given and given.release_keys == [("affinity",)]
    assert given.release_warning is None and "Warning" not in given.text
    _, err = cli("suggest", "--chart", str(chart), "--profile", PROFILE, "-j", "1")
    assert "suggest: warning: rendered with release name 'release-name': give --release NAME" \
        in err
    _, err = cli("suggest", "--chart", str(chart), "--profile", PROFILE, "-j", "1",
                 "--release", "web")
    assert "release name" not in err


def test_a_suggestion_that_names_no_release_does_not_warn(tmp_path: Path) -> None:
    from toolman_kit.values.suggest import suggest

    chart = make_chart(tmp_path / "plain", {"deployment.yaml": NAMED.replace(
        "{{ .Release.Name }}", "web")}, "replicaCount: 1\naffinity: {}\n")
    s = suggest(chart, profile=PROFILE, jobs=1)
    assert "affinity" in s.values and s.release_keys == [] and s.release_warning is None


# --- 4. no ReadWriteMany on storage classes that cannot provide it ------------------------------

def rwo_chart(root: Path, storage_class: str, replicas: int = 1, extra: str = "") -> Path:
    """tests/fixtures/charts/suggest-rwo with a storage class (and extra templates)."""
    shutil.copytree(ROOT / "tests" / "fixtures" / "charts" / "suggest-rwo", root)
    values = root / "values.yaml"
    values.write_text(values.read_text().replace('storageClass: ""',
                                                 f"storageClass: {storage_class}")
                      .replace("replicaCount: 1", f"replicaCount: {replicas}"))
    if extra:
        (root / "templates" / "storageclass.yaml").write_text(extra)
    return root


def test_rwx_is_not_proposed_on_classes_that_cannot_provide_it(tmp_path: Path) -> None:
    """local-path, an EBS class by name, and a StorageClass of the chart by its provisioner:
    3 replicas would share a claim no class of theirs can make ReadWriteMany, so neither the
    replicas nor ReadWriteMany is proposed, and the reason names the class and the
    alternatives (a claim per pod: a template change; or one replica, at its cost)."""
    from toolman_kit.values.storage import Claim, single_node
    from toolman_kit.values.suggest import suggest

    assert single_node(Claim("x", "gp3")) == "gp3: AWS EBS"
    assert single_node(Claim("x", "")) is None  # the cluster default: unknown
    assert single_node(Claim("x", "standard", "nfs.csi.k8s.io")) is None  # by its provisioner
    assert single_node(Claim("x", "nfs")) is None
    fast = ("apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: fast}\n"
            "provisioner: ebs.csi.aws.com\n")
    for name, cls, extra, named in (("local", "local-path", "", "local-path"),
                                    ("ebs", "gp3", "", "gp3: AWS EBS"),
                                    ("fast", "fast", fast, "fast, provisioner ebs.csi.aws.com")):
        s = suggest(rwo_chart(tmp_path / name, cls, extra=extra), profile=PROFILE, jobs=1)
        assert "persistence" not in s.values and "replicaCount" not in s.values, name
        reason = next(u.reason for f, u in s.remaining if f.check_id == "replicas-below-minimum")
        assert f"storage class ({named}" in reason and "cannot provide ReadWriteMany" in reason
        assert "a StatefulSet with volumeClaimTemplates (a template change, not a values " \
               "change)" in reason and "`replicaCount: 1` (one replica" in reason
    # a class the kit does not know: ReadWriteMany is proposed, with its condition
    s = suggest(rwo_chart(tmp_path / "nfs", "nfs"), profile=PROFILE, jobs=1)
    assert s.values["persistence"] == {"accessModes": ["ReadWriteMany"]}


def test_the_profile_names_more_rwo_classes_and_one_replica_can_be_the_change(
        tmp_path: Path) -> None:
    """A profile's `rwo_storage_classes` (added to its parent's) stops ReadWriteMany on its
    classes; when the profile accepts one replica and the chart runs two on such a class, one
    replica is the proposed change, its cost stated."""
    from toolman_kit.judge.profiles import load_profile
    from toolman_kit.values.suggest import suggest

    base = tmp_path / "base.yaml"
    base.write_text(f"extends: {PROFILE}\nname: base\nrwo_storage_classes: [ceph-block]\n")
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\nname: child\nrwo_storage_classes: [slow-disk]\n"
                     "min_replicas: 1\n")
    assert load_profile(child).rwo_storage_classes == ("ceph-block", "slow-disk")
    s = suggest(rwo_chart(tmp_path / "ceph", "ceph-block"), profile=str(base), jobs=1)
    assert "persistence" not in s.values and "replicaCount" not in s.values
    reason = next(u.reason for f, u in s.remaining if f.check_id == "replicas-below-minimum")
    assert "ceph-block, listed in the profile's rwo_storage_classes" in reason
    s = suggest(rwo_chart(tmp_path / "slow", "slow-disk", replicas=2), profile=str(child), jobs=1)
    assert s.values.get("replicaCount") == 1 and "persistence" not in s.values
    step = next(st for st in s.steps if st.keys == [("replicaCount",)])
    assert "one replica: no availability through a node failure" in step.candidates[0].note
    assert "rwo-volume-shared-by-replicas" in {f.check_id for f in step.fixed}


# --- 5. PDBs suggested with one rule -----------------------------------------------------------

PDB = """\
{{- if .Values.pdb.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec:
  {{- with .Values.pdb.minAvailable }}
  minAvailable: {{ . }}
  {{- end }}
  {{- with .Values.pdb.maxUnavailable }}
  maxUnavailable: {{ . }}
  {{- end }}
  selector: {matchLabels: {app: web}}
{{- end }}
"""
PDB_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: {{ .Values.replicaCount }}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: "nginx:1.25.3"
"""


def test_pdbs_are_suggested_with_one_rule_whatever_the_chart_defaults(tmp_path: Path) -> None:
    """minAvailable = max(replicas − 1, 1) for the replicas the suggestion sets: the chart
    that defaults minAvailable 1 and the chart that has no default get the same 4 (5 replicas),
    or 2 (1 replica raised to the profile's 3); a chart offering only maxUnavailable gets 1."""
    from toolman_kit.judge.profiles import load_profile, min_available
    from toolman_kit.values.suggest import suggest

    assert [min_available(n) for n in (1, 2, 3, 5)] == [1, 1, 2, 4]
    assert load_profile(PROFILE).params["min_available"] == 2
    only_max = PDB.replace("{{- with .Values.pdb.minAvailable }}\n  minAvailable: {{ . }}\n"
                           "  {{- end }}\n", "")
    charts = {"one": "pdb:\n  enabled: false\n  minAvailable: 1\n",
              "none": "pdb:\n  enabled: false\n",
              "max": "pdb:\n  enabled: false\n"}
    for replicas, want in ((5, 4), (1, 2)):
        got = {}
        for name, values in charts.items():
            chart = make_chart(tmp_path / f"{name}{replicas}", {
                "pdb.yaml": only_max if name == "max" else PDB,
                "deployment.yaml": PDB_DEPLOYMENT}, f"replicaCount: {replicas}\n{values}")
            s = suggest(chart, profile=PROFILE, jobs=1)
            assert "pdb-missing" in {f.check_id for f, _ in s.fixed}, name
            got[name] = s.values["pdb"]
        assert got == {"one": {"enabled": True, "minAvailable": want},
                       "none": {"enabled": True, "minAvailable": want},
                       "max": {"enabled": True, "maxUnavailable": 1}}, replicas


# --- 8. documented keys are not unknown ---------------------------------------------------------

DOCUMENTED_VALUES = """\
server:
  podDisruptionBudget:
    enabled: false
    # maxUnavailable: 1
    # unhealthyPodEvictionPolicy: AlwaysAllow
  resources: {}
  # extraFlags:
  #   - web.enable-lifecycle
  # priorityClassName: high
  # podLabels: {}
"""

DOCUMENTED = """\
{{- if .Values.server.podDisruptionBudget.enabled }}
{{- $spec := omit .Values.server.podDisruptionBudget "enabled" "unhealthyPodEvictionPolicy" }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: server}
spec:
  selector: {matchLabels: {app: server}}
  {{- if hasKey .Values.server.podDisruptionBudget "unhealthyPodEvictionPolicy" }}
  unhealthyPodEvictionPolicy: {{ .Values.server.podDisruptionBudget.unhealthyPodEvictionPolicy }}
  {{- end }}
  {{- toYaml $spec | nindent 2 }}
{{- end }}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: server}
data:
  flags: {{ join "," (default list .Values.server.extraFlags) | quote }}
  {{- if hasKey .Values.server "retention" }}
  retention: {{ .Values.server.retention | quote }}
  {{- end }}
  level: {{ .Values.server.log.level | default "info" | quote }}
  priority: {{ get .Values.server "priorityClassName" | quote }}
"""


def test_keys_documented_in_comments_or_read_by_templates_are_not_unknown(
        tmp_path: Path) -> None:
    """prometheus' `server.podDisruptionBudget.maxUnavailable`: commented out in values.yaml
    and passed on through `omit`; `retention` read through `hasKey`, `log.level` in template
    text, `extraFlags` in a commented block; `priorityClassName` (read through `get`, which the
    scan does not follow) and `podLabels.team` only documented in comments: none is unknown,
    while a typo still is."""
    from toolman_kit.chart.templates import scan_chart
    from toolman_kit.values.sets import compare_values

    chart = make_chart(tmp_path / "server", {"server.yaml": DOCUMENTED}, DOCUMENTED_VALUES)
    reads = scan_chart(chart)
    assert reads.known(("server", "podDisruptionBudget", "minAvailable"))  # omit: whole
    given = tmp_path / "given.yaml"
    given.write_text("server:\n  podDisruptionBudget:\n    enabled: true\n    maxUnavailable: 1\n"
                     "    unhealthyPodEvictionPolicy: AlwaysAllow\n  retention: 15d\n"
                     "  log: {level: debug}\n  extraFlags: [web.enable-admin-api]\n"
                     "  priorityClassName: low\n  podLabels: {team: a}\n  resorces: {}\n")
    c = compare_values(chart, [("given", [str(given)])], jobs=1)
    unknown = [".".join(u.key) for u in c.set("given").unknown]
    assert unknown == ["server.resorces"]
    assert not reads.known(("server", "priorityClassName"))  # known from the comment alone
    pdb = next(r for r in c.set("given").analysis.manifests.resources
               if r.kind == "PodDisruptionBudget")
    assert pdb.spec["maxUnavailable"] == 1  # the same run shows the key at work


# --- 9. renames do not control a field ---------------------------------------------------------

RENAMED_HELPERS = """\
{{- define "demo.name" -}}{{ default .Chart.Name .Values.nameOverride | trunc 63 }}{{- end }}
{{- define "demo.fullname" -}}
{{- if .Values.fullnameOverride }}{{ .Values.fullnameOverride | trunc 63 }}
{{- else }}{{ printf "%s-%s" .Release.Name (include "demo.name" .) | trunc 63 }}{{ end }}
{{- end }}
"""
RENAMED = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "demo.fullname" . }}
  labels: {app.kubernetes.io/name: {{ include "demo.name" . }}}
spec:
  replicas: 1
  selector: {matchLabels: {app.kubernetes.io/name: {{ include "demo.name" . }}}}
  template:
    metadata:
      labels: {app.kubernetes.io/name: {{ include "demo.name" . }}}
    spec:
      containers:
        - name: {{ include "demo.name" . }}
          image: "nginx:1.25.3"
          {{- with .Values.resources }}
          resources: {{- toYaml . | nindent 12 }}
          {{- end }}
---
apiVersion: v1
kind: Service
metadata: {name: {{ include "demo.fullname" . }}}
spec:
  selector: {app.kubernetes.io/name: {{ include "demo.name" . }}}
  ports: [{port: 80}]
"""


def test_renaming_keys_do_not_control_cpu_requests(tmp_path: Path) -> None:
    """fullnameOverride renames the Deployment, nameOverride its labels and its container: the
    findings about the renamed container are gone from the probe's render, but the field's
    identity moved, not its value: neither key controls `resources.requests.cpu`."""
    from toolman_kit.values.sets import compare_values

    chart = make_chart(tmp_path / "demo", {"_helpers.tpl": RENAMED_HELPERS,
                                           "deployment.yaml": RENAMED},
                       'nameOverride: ""\nfullnameOverride: ""\nresources: {}\n')
    c = compare_values(chart, jobs=1)
    prov = c.set("defaults").provenance
    cpu = next(f for f, t in prov.tracked.items() if "cpu-requests-missing" in t.failing)
    assert prov.controls.get(cpu) == [("resources",)]
    every = {k for keys in prov.controls.values() for k in keys}
    assert ("nameOverride",) not in every and ("fullnameOverride",) not in every
