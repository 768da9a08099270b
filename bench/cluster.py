"""A cluster-sized input: what `kubectl get deployments -A -o yaml` prints for N Deployments.

One `kind: List` whose items carry what the API server adds (uid, resourceVersion, generation,
creationTimestamp, the revision annotation, a short status; defaulted fields are left out to keep
the file near the 5.7 MB dump issue 11 measured) around specs as teams write them: spread
over 200 namespaces, 1–5 replicas, one container and sometimes a sidecar, resources, probes and
security contexts present on some and missing on others, a few `latest` tags. A seeded draw
decides each, so the same arguments always give the same bytes.

    python bench/cluster.py [--deployments 20000] [--seed 7]     → bench/corpus/cluster-20000.yaml
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
DEFAULT_DEPLOYMENTS = 20_000
NAMESPACES = 200
VERSION = 2  # bump when the generator changes what it writes

_DEPLOYMENT = """\
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    annotations:
      deployment.kubernetes.io/revision: "{revision}"
    creationTimestamp: "2026-0{month}-1{day}T0{hour}:1{day}:0{hour}Z"
    generation: {revision}
    labels:
      app.kubernetes.io/name: {app}
    name: {name}
    namespace: {namespace}
    resourceVersion: "{resource_version}"
    uid: {uid}
  spec:
    replicas: {replicas}
    selector:
      matchLabels:
        app.kubernetes.io/name: {app}
{strategy}    template:
      metadata:
        labels:
          app.kubernetes.io/name: {app}
      spec:
        containers:
{containers}{pod_security}  status:
    observedGeneration: {revision}
    readyReplicas: {replicas}
"""

_CONTAINER = """\
        - image: {image}
          imagePullPolicy: {pull_policy}
          name: {name}
          ports:
          - containerPort: {port}
            name: http
{probes}{resources}{security}"""

_PROBES = """\
          livenessProbe:
            httpGet: {path: /healthz, port: http}
          readinessProbe:
            httpGet: {path: /ready, port: http}
"""

_RESOURCES = """\
          resources:
            limits: {{memory: {memory}Mi}}
            requests: {{cpu: {cpu}m, memory: {memory}Mi}}
"""

_SECURITY = """\
          securityContext:
            allowPrivilegeEscalation: false
            capabilities: {drop: [ALL]}
            readOnlyRootFilesystem: true
            runAsNonRoot: true
"""

_STRATEGY = """\
    strategy:
      rollingUpdate: {maxSurge: 25%, maxUnavailable: 25%}
      type: RollingUpdate
"""

_POD_SECURITY = """\
        securityContext:
          runAsNonRoot: true
          seccompProfile: {type: RuntimeDefault}
"""


def _container(rng: random.Random, name: str) -> str:
    tag = "latest" if rng.random() < 0.05 else f"{rng.randint(1, 9)}.{rng.randint(0, 30)}.0"
    return _CONTAINER.format(
        image=f"registry.example.com/{name}:{tag}", name=name, port=rng.choice((80, 8080, 9000)),
        pull_policy=rng.choice(("IfNotPresent", "IfNotPresent", "Always")),
        probes=_PROBES if rng.random() < 0.6 else "",
        resources=_RESOURCES.format(cpu=rng.choice((50, 100, 250, 500)),
                                    memory=rng.choice((64, 128, 256, 512)))
        if rng.random() < 0.7 else "",
        security=_SECURITY if rng.random() < 0.4 else "")


def generate(deployments: int, seed: int) -> str:
    rng = random.Random(seed)
    parts = ["apiVersion: v1\nitems:\n"]
    for i in range(deployments):
        team = f"team-{rng.randrange(NAMESPACES):03d}"
        app = f"svc-{i:05d}"
        containers = _container(rng, app)
        if rng.random() < 0.2:
            containers += _container(rng, "proxy")
        parts.append(_DEPLOYMENT.format(
            revision=rng.randint(1, 40), month=rng.randint(1, 9), day=rng.randint(0, 9),
            hour=rng.randint(0, 9), app=app, team=team, name=app, namespace=team,
            resource_version=rng.randint(10**6, 10**8), uid=f"{rng.getrandbits(128):032x}",
            replicas=rng.choice((1, 1, 2, 3, 3, 5)),
            strategy=_STRATEGY if rng.random() < 0.8 else "", containers=containers,
            pod_security=_POD_SECURITY if rng.random() < 0.3 else ""))
    parts.append('kind: List\nmetadata:\n  resourceVersion: ""\n')
    return "".join(parts)


def ensure(deployments: int = DEFAULT_DEPLOYMENTS, seed: int = 7) -> Path:
    """The corpus file, written only when missing or made by another generator version."""
    path = CORPUS_DIR / f"cluster-{deployments}.yaml"
    stamp = path.with_suffix(".stamp")
    wanted = f"version {VERSION} seed {seed}\n"
    if not path.exists() or not stamp.exists() or stamp.read_text() != wanted:
        CORPUS_DIR.mkdir(exist_ok=True)
        path.write_text(generate(deployments, seed), encoding="utf-8")
        stamp.write_text(wanted)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=DEFAULT_DEPLOYMENTS)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    out = ensure(args.deployments, args.seed)
    print(f"{out} ({out.stat().st_size / 2**20:.1f} MB)")
