# ruff: noqa: E501 - the generated chart's template lines are data, kept as Helm charts write them
"""The values benchmark: `toolman-kit compare` (leave-one-out and provenance renders) on the Toolman
example and on a generated chart with hundreds of values keys.

    python bench/values_bench.py [--runs 3] [--components 12]

The big chart (bench/values-chart/, regenerated when the generator changes) is a realistic
"platform" chart: N components (api, worker, scheduler …), each with its own templates reading
its own block of values (replicas, image, resources, probes, security contexts, service,
autoscaling, PDB, scheduling), ≈ 30 keys each; production and staging value sets override most of
them. Each measurement is a fresh process (`python -m toolman_kit compare --format json`);
`--jobs 1` (one render process) and `--jobs 2` (two when it pays) alternate, and
the medians are reported with the render counts. Prints Markdown; writes
bench/results/values.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
BIG = BENCH / "values-chart"
GENERATOR_VERSION = "1"
COMPONENTS = ("api", "worker", "scheduler", "gateway", "search", "indexer", "notifier",
              "billing", "auth", "reports", "exporter", "webhooks", "cron", "ingest", "ui",
              "admin")

DEPLOYMENT = """\
{{{{- if .Values.{c}.enabled }}}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{{{ include "platform.fullname" . }}}}-{c}
  labels:
    {{{{- include "platform.labels" . | nindent 4 }}}}
    app.kubernetes.io/component: {c}
spec:
  {{{{- if not .Values.{c}.autoscaling.enabled }}}}
  replicas: {{{{ .Values.{c}.replicaCount }}}}
  {{{{- end }}}}
  selector:
    matchLabels:
      {{{{- include "platform.selectorLabels" . | nindent 6 }}}}
      app.kubernetes.io/component: {c}
  template:
    metadata:
      labels:
        {{{{- include "platform.selectorLabels" . | nindent 8 }}}}
        app.kubernetes.io/component: {c}
      {{{{- with .Values.{c}.podAnnotations }}}}
      annotations:
        {{{{- toYaml . | nindent 8 }}}}
      {{{{- end }}}}
    spec:
      {{{{- with .Values.{c}.priorityClassName }}}}
      priorityClassName: {{{{ . }}}}
      {{{{- end }}}}
      securityContext:
        {{{{- toYaml .Values.{c}.podSecurityContext | nindent 8 }}}}
      containers:
        - name: {c}
          image: "{{{{ .Values.{c}.image.repository }}}}:{{{{ .Values.{c}.image.tag | default .Chart.AppVersion }}}}"
          imagePullPolicy: {{{{ .Values.{c}.image.pullPolicy }}}}
          args:
            - --log-level={{{{ .Values.{c}.logLevel }}}}
            - --workers={{{{ .Values.{c}.workers }}}}
          {{{{- with .Values.{c}.extraEnv }}}}
          env:
            {{{{- toYaml . | nindent 12 }}}}
          {{{{- end }}}}
          ports:
            - name: http
              containerPort: {{{{ .Values.{c}.service.targetPort }}}}
          {{{{- with .Values.{c}.livenessProbe }}}}
          livenessProbe:
            {{{{- toYaml . | nindent 12 }}}}
          {{{{- end }}}}
          {{{{- with .Values.{c}.readinessProbe }}}}
          readinessProbe:
            {{{{- toYaml . | nindent 12 }}}}
          {{{{- end }}}}
          securityContext:
            {{{{- toYaml .Values.{c}.securityContext | nindent 12 }}}}
          resources:
            requests:
              cpu: {{{{ .Values.{c}.resources.requests.cpu }}}}
              memory: {{{{ .Values.{c}.resources.requests.memory }}}}
            limits:
              cpu: {{{{ .Values.{c}.resources.limits.cpu }}}}
              memory: {{{{ .Values.{c}.resources.limits.memory }}}}
      {{{{- with .Values.{c}.nodeSelector }}}}
      nodeSelector:
        {{{{- toYaml . | nindent 8 }}}}
      {{{{- end }}}}
      {{{{- with .Values.{c}.tolerations }}}}
      tolerations:
        {{{{- toYaml . | nindent 8 }}}}
      {{{{- end }}}}
      {{{{- with .Values.{c}.affinity }}}}
      affinity:
        {{{{- toYaml . | nindent 8 }}}}
      {{{{- end }}}}
{{{{- end }}}}
"""
SERVICE = """\
{{{{- if and .Values.{c}.enabled .Values.{c}.service.enabled }}}}
apiVersion: v1
kind: Service
metadata:
  name: {{{{ include "platform.fullname" . }}}}-{c}
spec:
  type: {{{{ .Values.{c}.service.type }}}}
  ports:
    - port: {{{{ .Values.{c}.service.port }}}}
      targetPort: http
      name: http
  selector:
    {{{{- include "platform.selectorLabels" . | nindent 4 }}}}
    app.kubernetes.io/component: {c}
{{{{- end }}}}
"""
EXTRAS = """\
{{{{- if and .Values.{c}.enabled .Values.{c}.autoscaling.enabled }}}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{{{ include "platform.fullname" . }}}}-{c}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{{{ include "platform.fullname" . }}}}-{c}
  minReplicas: {{{{ .Values.{c}.autoscaling.minReplicas }}}}
  maxReplicas: {{{{ .Values.{c}.autoscaling.maxReplicas }}}}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{{{ .Values.{c}.autoscaling.targetCPU }}}}
{{{{- end }}}}
{{{{- if and .Values.{c}.enabled .Values.{c}.pdb.enabled }}}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{{{ include "platform.fullname" . }}}}-{c}
spec:
  minAvailable: {{{{ .Values.{c}.pdb.minAvailable }}}}
  selector:
    matchLabels:
      {{{{- include "platform.selectorLabels" . | nindent 6 }}}}
      app.kubernetes.io/component: {c}
{{{{- end }}}}
"""
HELPERS = """\
{{- define "platform.fullname" -}}
{{- default (printf "%s-%s" .Release.Name .Chart.Name) .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- define "platform.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
{{- define "platform.labels" -}}
{{ include "platform.selectorLabels" . }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}
"""


def component_values(c: str, n: int) -> str:
    return f"""\
{c}:
  enabled: true
  replicaCount: 1
  image:
    repository: ghcr.io/example/{c}
    tag: ""
    pullPolicy: IfNotPresent
  logLevel: info
  workers: {2 + n % 3}
  extraEnv: []
  podAnnotations: {{}}
  priorityClassName: ""
  podSecurityContext:
    fsGroup: 1000
  securityContext:
    runAsNonRoot: true
    readOnlyRootFilesystem: true
  service:
    enabled: true
    type: ClusterIP
    port: {8000 + n}
    targetPort: 8080
  # livenessProbe:
  #   httpGet:
  #     path: /healthz
  #     port: http
  readinessProbe: {{}}
  resources:
    requests:
      cpu: 100m
      memory: 128Mi
    limits:
      cpu: 500m
      memory: 256Mi
  autoscaling:
    enabled: false
    minReplicas: 2
    maxReplicas: 6
    targetCPU: 75
  pdb:
    enabled: false
    minAvailable: 1
  nodeSelector: {{}}
  tolerations: []
  affinity: {{}}
"""


def production_values(c: str) -> str:
    return f"""\
{c}:
  replicaCount: 3
  image:
    tag: "3.2.1"
  logLevel: warn
  resources:
    requests:
      cpu: 500m
      memory: 512Mi
    limits:
      cpu: "2"
      memory: 1Gi
  readinessProbe:
    httpGet:
      path: /ready
      port: http
  autoscaling:
    enabled: true
    maxReplicas: 12
  pdb:
    enabled: true
    minAvailable: 2
  metrics:
    enabled: true
"""


def generate(components: int) -> Path:
    """bench/values-chart/ for `components` components (rewritten only when it changes)."""
    stamp = BIG / ".generated"
    wanted = f"{GENERATOR_VERSION} {components}"
    if stamp.is_file() and stamp.read_text() == wanted:
        return BIG
    names = COMPONENTS[:components]
    (BIG / "templates").mkdir(parents=True, exist_ok=True)
    for old in (BIG / "templates").glob("*"):
        old.unlink()
    (BIG / "Chart.yaml").write_text("apiVersion: v2\nname: platform\nversion: 2.0.0\n"
                                    "appVersion: \"3.2.0\"\n")
    (BIG / "values.yaml").write_text("fullnameOverride: \"\"\ncommonLabels: {}\n\n" + "\n".join(
        component_values(c, n) for n, c in enumerate(names)))
    (BIG / "values-production.yaml").write_text("\n".join(production_values(c)
                                                          for c in names))
    (BIG / "values-staging.yaml").write_text("\n".join(
        f"{c}:\n  replicaCount: 2\n  logLevel: debug\n" for c in names))
    (BIG / "templates" / "_helpers.tpl").write_text(HELPERS)
    for c in names:
        (BIG / "templates" / f"{c}-deployment.yaml").write_text(DEPLOYMENT.format(c=c))
        (BIG / "templates" / f"{c}-service.yaml").write_text(SERVICE.format(c=c))
        (BIG / "templates" / f"{c}-scaling.yaml").write_text(EXTRAS.format(c=c))
    stamp.write_text(wanted)
    return BIG


def run(args: list[str]) -> tuple[float, dict]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(ROOT),
                                                                    os.environ.get("PYTHONPATH"))))}
    with tempfile.TemporaryDirectory(prefix="tk-values-bench-") as tmp:
        out = Path(tmp) / "c.json"
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "toolman_kit", "compare", *args,
                               "--format", "json", "-o", str(out)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"compare failed: {done.stderr.strip()}")
        return seconds, json.loads(out.read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--components", type=int, default=12, choices=range(1, 17),
                        metavar="N", help="components of the big chart (≈ 30 keys each)")
    args = parser.parse_args()
    big = generate(args.components)
    example = ROOT / "examples" / "toolman"
    cases = {
        "toolman (defaults + production)": [
            "--chart", str(example / "chart"), "--value-set",
            f"production={example / 'chart' / 'values-production.yaml'}",
            "--release", "toolman", "-n", "toolman", "--profile", str(example / "profile.yaml")],
        f"platform, {args.components} components (defaults + staging + production)": [
            "--chart", str(big), "--value-set", f"staging={big / 'values-staging.yaml'}",
            "--value-set", f"production={big / 'values-production.yaml'}",
            "--max-renders", "5000"],
    }
    results = []
    for name, case in cases.items():
        times: dict[str, list[float]] = {"1": [], "2": []}
        doc: dict = {}
        for _ in range(args.runs):
            for jobs in ("1", "2"):  # alternate: other load on the machine hits both alike
                seconds, doc = run([*case, "--jobs", jobs])
                times[jobs].append(seconds)
        from toolman_kit.chart.templates import scan_chart
        from toolman_kit.chart.values import units

        chart_dir = Path(case[case.index("--chart") + 1])
        import yaml

        keys = len(units(yaml.safe_load((chart_dir / "values.yaml").read_text()) or {},
                         scan_chart(chart_dir)))
        results.append({
            "case": name, "keys": keys, "sets": len(doc["sets"]),
            "objects": sum(len(s["checklist"]) for s in doc["sets"][:1]),
            "renders": doc["renders"]["count"],
            "not_explored": len(doc["renders"]["not_explored"]),
            "median_jobs1": statistics.median(times["1"]),
            "median_jobs2": statistics.median(times["2"]),
            "runs": args.runs, "times": times})
    lines = ["| case | values keys | sets | renders | median s, --jobs 1 | median s, --jobs 2 |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['case']} | {r['keys']} | {r['sets']} | {r['renders']} | "
              f"{r['median_jobs1']:.1f} | {r['median_jobs2']:.1f} |" for r in results]
    print("\n".join(lines))
    print(f"\n{args.runs} fresh processes per cell, alternating; {os.cpu_count()} CPUs "
          f"(load average {os.getloadavg()[0]:.1f} at the end).")
    (BENCH / "results").mkdir(exist_ok=True)
    (BENCH / "results" / "values.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
