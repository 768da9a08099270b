"""Admission policies: the check time of the 3,000-object corpus with 50 CEL validations against
without them (issue 20's target: within 1.5×).

The policies are ten ValidatingAdmissionPolicies of five validations each, of the kinds a
platform team writes: labels, image registry and tags, replicas, resources, securityContext,
probes, Services, ConfigMaps/Secrets, PVCs and NetworkPolicies. Four match Pods, so every
Deployment's controller pod is built and evaluated too; none is bound (each is evaluated as if
bound to everything with [Deny]). They are written to bench/corpus/policies-50.yaml.

Each sample is `Analysis.of(corpus, profile)` in a fresh process, timed inside it (wall and
CPU, after the imports); the two variants alternate, sample by sample, so the drift of a shared
machine hits both alike. The report gives medians and the ratio.

    python bench/policy_bench.py [--size 3000] [--runs 5] [--profile]

`--profile` also writes bench/results/policy-profile.txt (cProfile of one run with policies).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
import corpus  # noqa: E402  (bench/ is not a package)

TARGET = 1.5
PODS = '{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}'
# (name, resource rule, five validations): true = compliant
POLICIES = [
    ("workload-labels", '{apiGroups: [apps], apiVersions: [v1], operations: [CREATE], '
                        'resources: [deployments, statefulsets, daemonsets]}', [
        "has(object.metadata.labels) && 'app.kubernetes.io/name' in object.metadata.labels",
        "has(object.metadata.labels) && 'team' in object.metadata.labels",
        "object.metadata.name.size() <= 50",
        "object.spec.template.metadata.labels.all(k, k.size() <= 63)",
        "!has(object.metadata.annotations) || object.metadata.annotations.all(k, k != 'debug')"]),
    ("image-registry", PODS, [
        "object.spec.containers.all(c, c.image.startsWith('registry.example.com/') || "
        "c.image.startsWith('ghcr.io/'))",
        "object.spec.containers.all(c, !c.image.endsWith(':latest'))",
        "object.spec.containers.all(c, c.image.contains(':') || c.image.contains('@'))",
        "!has(object.spec.initContainers) || object.spec.initContainers.all(c, "
        "!c.image.endsWith(':latest'))",
        "object.spec.containers.all(c, !has(c.imagePullPolicy) || c.imagePullPolicy != 'Always')"]),
    ("replicas", '{apiGroups: [apps], apiVersions: [v1], operations: [CREATE], '
                 'resources: [deployments, statefulsets]}', [
        "has(object.spec.replicas) && object.spec.replicas >= 2",
        "!has(object.spec.replicas) || object.spec.replicas <= 50",
        "!has(object.spec.strategy) || object.spec.strategy.type != 'Recreate' || "
        "object.spec.replicas == 1",
        "has(object.spec.selector.matchLabels)",
        "!has(object.spec.revisionHistoryLimit) || object.spec.revisionHistoryLimit <= 10"]),
    ("resources", PODS, [
        "object.spec.containers.all(c, has(c.resources) && has(c.resources.requests) && "
        "'cpu' in c.resources.requests)",
        "object.spec.containers.all(c, has(c.resources) && has(c.resources.requests) && "
        "'memory' in c.resources.requests)",
        "object.spec.containers.all(c, has(c.resources) && has(c.resources.limits) && "
        "'memory' in c.resources.limits)",
        "object.spec.containers.all(c, !has(c.resources) || !has(c.resources.limits) || "
        "!('nvidia.com/gpu' in c.resources.limits))",
        "object.spec.containers.size() <= 5"]),
    ("security-context", PODS, [
        "object.spec.containers.all(c, !has(c.securityContext) || "
        "!has(c.securityContext.privileged) || c.securityContext.privileged == false)",
        "object.spec.containers.all(c, has(c.securityContext) && "
        "has(c.securityContext.allowPrivilegeEscalation) && "
        "c.securityContext.allowPrivilegeEscalation == false)",
        "(has(object.spec.securityContext) && has(object.spec.securityContext.runAsNonRoot) && "
        "object.spec.securityContext.runAsNonRoot) || object.spec.containers.all(c, "
        "has(c.securityContext) && has(c.securityContext.runAsNonRoot) && "
        "c.securityContext.runAsNonRoot)",
        "!has(object.spec.hostNetwork) || !object.spec.hostNetwork",
        "object.spec.containers.all(c, has(c.securityContext) && "
        "has(c.securityContext.capabilities) && has(c.securityContext.capabilities.drop) && "
        "c.securityContext.capabilities.drop.exists(d, d == 'ALL'))"]),
    ("probes", PODS, [
        "object.spec.containers.all(c, has(c.readinessProbe))",
        "object.spec.containers.all(c, has(c.livenessProbe))",
        "object.spec.containers.all(c, !has(c.livenessProbe) || "
        "!has(c.livenessProbe.initialDelaySeconds) || c.livenessProbe.initialDelaySeconds <= 300)",
        "object.spec.containers.all(c, !has(c.ports) || c.ports.all(p, has(p.name)))",
        "!has(object.spec.terminationGracePeriodSeconds) || "
        "object.spec.terminationGracePeriodSeconds <= 120"]),
    ("services", '{apiGroups: [""], apiVersions: [v1], operations: [CREATE], '
                 'resources: [services]}', [
        "!has(object.spec.type) || object.spec.type != 'LoadBalancer'",
        "!has(object.spec.type) || object.spec.type != 'NodePort'",
        "has(object.spec.selector) && object.spec.selector.size() > 0",
        "object.spec.ports.all(p, has(p.name))",
        "!has(object.spec.externalIPs)"]),
    ("config", '{apiGroups: [""], apiVersions: [v1], operations: [CREATE], '
               'resources: [configmaps, secrets]}', [
        "has(object.metadata.labels) && 'app.kubernetes.io/name' in object.metadata.labels",
        "object.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",
        "!has(object.data) || object.data.size() <= 100",
        "!has(object.data) || object.data.all(k, !k.startsWith('.'))",
        "!has(object.type) || object.type != 'kubernetes.io/service-account-token'"]),
    ("volumes", '{apiGroups: [""], apiVersions: [v1], operations: [CREATE], '
                'resources: [persistentvolumeclaims]}', [
        "has(object.spec.accessModes) && object.spec.accessModes.size() > 0",
        "!object.spec.accessModes.exists(m, m == 'ReadWriteMany')",
        "has(object.spec.resources) && has(object.spec.resources.requests)",
        "'storage' in object.spec.resources.requests",
        "!has(object.spec.storageClassName) || object.spec.storageClassName != 'local'"]),
    ("network", '{apiGroups: [networking.k8s.io], apiVersions: [v1], operations: [CREATE], '
                'resources: [networkpolicies]}', [
        "has(object.spec.policyTypes) && object.spec.policyTypes.size() > 0",
        "has(object.spec.podSelector)",
        "!has(object.spec.ingress) || object.spec.ingress.all(r, has(r.ports) || has(r.from))",
        "!has(object.spec.egress) || object.spec.egress.size() <= 20",
        "object.metadata.name.size() <= 63"]),
]

WORKER = """
import gc, json, sys, time
from dataclasses import replace
from toolman_kit.analysis import Analysis
from toolman_kit.judge.profiles import load_profile
from toolman_kit.judge.registry import catalogue
catalogue()
profile = replace(load_profile(), policies=tuple(sys.argv[2:]))
if profile.policies:
    import toolman_kit.judge.policy.checks  # the import is the start-up's, not the check's
gc.collect()
wall, cpu = time.perf_counter(), time.process_time()
a = Analysis.of(sys.argv[1], profile=profile)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
rows = sum(1 for r in a.rows if r[0].startswith("policy/"))
print(json.dumps({"wall": wall, "cpu": cpu, "rows": len(a.rows), "policy_rows": rows}))
"""


def policy_file(directory: Path = corpus.CORPUS_DIR) -> Path:
    docs = []
    for name, rule, validations in POLICIES:
        checks = "\n".join(f"  - expression: {json.dumps(e)}\n    message: {name} rule {i}"
                           for i, e in enumerate(validations))
        docs.append("apiVersion: admissionregistration.k8s.io/v1\n"
                    f"kind: ValidatingAdmissionPolicy\nmetadata: {{name: {name}}}\nspec:\n"
                    f"  matchConstraints:\n    resourceRules:\n    - {rule}\n"
                    f"  validations:\n{checks}\n")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "policies-50.yaml"
    path.write_text("---\n".join(docs), encoding="utf-8")
    return path


def measure(corpus_path: Path, policies: list[str]) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", WORKER, str(corpus_path), *policies],
                          capture_output=True, text=True, cwd=ROOT, env=env)
    if done.returncode != 0:
        raise SystemExit(f"worker failed:\n{done.stderr.strip()}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def profile_run(corpus_path: Path, policies: Path) -> Path:
    out = BENCH / "results" / "policy-profile.txt"
    out.parent.mkdir(exist_ok=True)
    code = ("import cProfile, pstats, io, sys\nfrom dataclasses import replace\n"
            "from toolman_kit.analysis import Analysis\n"
            "from toolman_kit.judge.profiles import load_profile\n"
            f"p = replace(load_profile(), policies=({str(policies)!r},))\n"
            "pr = cProfile.Profile(); pr.enable()\n"
            f"Analysis.of({str(corpus_path)!r}, profile=p)\npr.disable()\n"
            "s = io.StringIO(); pstats.Stats(pr, stream=s).sort_stats('cumulative')"
            ".print_stats(40); pstats.Stats(pr, stream=s).sort_stats('tottime').print_stats(25)\n"
            "print(s.getvalue())\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env=env, check=True)
    out.write_text(done.stdout, encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=3000, help="corpus size in objects")
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per variant")
    parser.add_argument("--profile", action="store_true", help="also a cProfile of one run")
    args = parser.parse_args(argv)
    path, _ = corpus.ensure(args.size)
    policies = policy_file()
    variants = {"without policies": [], "with 50 validations": [str(policies)]}
    samples: dict[str, list[dict]] = {name: [] for name in variants}
    load = os.getloadavg()[0]
    for i in range(args.runs):
        order = list(variants) if i % 2 == 0 else list(reversed(variants))
        for name in order:
            samples[name].append(measure(path, variants[name]))
    print(f"{args.size:,} objects, {sum(len(v) for _, _, v in POLICIES)} validations in "
          f"{len(POLICIES)} policies; {args.runs} fresh processes per variant, alternated; "
          f"load average {load:.2f} at the start, {os.getloadavg()[0]:.2f} at the end")
    print("| variant | median wall s | min wall s | median CPU s | rows | policy rows |")
    print("|---|---:|---:|---:|---:|---:|")
    cpu = {}
    for name, runs in samples.items():
        wall = statistics.median(r["wall"] for r in runs)
        cpu[name] = statistics.median(r["cpu"] for r in runs)
        print(f"| {name} | {wall:.3f} | {min(r['wall'] for r in runs):.3f} | {cpu[name]:.3f} "
              f"| {runs[0]['rows']:,} | {runs[0]['policy_rows']:,} |")
    ratio = cpu["with 50 validations"] / cpu["without policies"]
    print(f"with / without (median CPU): {ratio:.2f}× (target ≤ {TARGET}×)")
    if args.profile:
        print(f"profile: {profile_run(path, policies)}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
