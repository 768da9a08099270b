"""A 12-service platform as `helm template` would render it: the realistic input for report tests
and benchmarks at the sizes users have (one chart of a dozen services; a cluster of ~170
workloads in ~1,000 objects).

The services vary the way real charts do: Deployments, StatefulSets with claim templates, a
DaemonSet with hostPath, a CronJob; sidecars and init containers; some with probes, PDBs,
NetworkPolicies, ServiceMonitors and pinned images, some without; containers that set no
resources; Secret, ConfigMap, projected and emptyDir volumes. `hardened=True` is the same chart
with production values (replicas, probes, budgets, policies, pinned tags).

    python bench/platform_chart.py --copies 1 > platform.yaml      # one release: 12 workloads
    python bench/platform_chart.py --copies 14 > cluster.yaml      # 14 releases: 168 workloads
"""

from __future__ import annotations

import argparse
import random
import sys

SERVICES = (  # name, kind, port, sidecar, init, storage, has_service
    ("frontend", "Deployment", 8080, "nginx", False, None, True),
    ("api-gateway", "Deployment", 8000, "envoy", False, None, True),
    ("catalog", "Deployment", 8081, None, False, None, True),
    ("orders", "Deployment", 8082, None, True, None, True),
    ("payments", "Deployment", 8083, "envoy", False, None, True),
    ("users", "Deployment", 8084, None, False, None, True),
    ("search", "StatefulSet", 9200, None, True, "10Gi", True),
    ("postgres", "StatefulSet", 5432, "exporter", True, "20Gi", True),
    ("redis", "Deployment", 6379, None, False, "emptyDir", True),
    ("worker", "Deployment", None, None, False, None, False),
    ("reports", "CronJob", None, None, False, None, False),
    ("log-agent", "DaemonSet", None, None, False, "hostPath", False),
)
SIDECARS = {"nginx": "nginx:1.27.2", "envoy": "envoyproxy/envoy:v1.31.2",
            "exporter": "prometheuscommunity/postgres-exporter:v0.15.0"}


def _labels(release: str, name: str, indent: int) -> str:
    pad = " " * indent
    return (f"{pad}app.kubernetes.io/name: {name}\n{pad}app.kubernetes.io/instance: {release}\n")


def _container(name: str, image: str, port: int | None, hardened: bool, rng: random.Random,
               secret: str, resources: bool = True, indent: int = 8) -> str:
    pad = " " * indent
    out = f"{pad}- name: {name}\n{pad}  image: {image}\n"
    if port:
        out += f"{pad}  ports:\n{pad}    - name: http\n{pad}      containerPort: {port}\n"
    if hardened or rng.random() < 0.3:
        out += (f"{pad}  readinessProbe:\n{pad}    httpGet: {{path: /ready, port: {port or 8080}}}"
                f"\n{pad}  livenessProbe:\n{pad}    httpGet: {{path: /healthz, port: "
                f"{port or 8080}}}\n{pad}    initialDelaySeconds: 10\n")
    if resources:
        cpu, mem = ("500m", "512Mi") if hardened else ("100m", "128Mi")
        out += (f"{pad}  resources:\n{pad}    requests: {{cpu: {cpu}, memory: {mem}}}\n"
                + (f"{pad}    limits: {{cpu: '1', memory: 1Gi}}\n" if hardened else ""))
    out += (f"{pad}  securityContext:\n{pad}    runAsNonRoot: true\n{pad}    runAsUser: 10001\n"
            f"{pad}    allowPrivilegeEscalation: false\n{pad}    readOnlyRootFilesystem: true\n"
            f"{pad}    capabilities: {{drop: [ALL]}}\n") if hardened or rng.random() < 0.5 else ""
    out += (f"{pad}  env:\n{pad}    - {{name: SERVICE_NAME, value: {name}}}\n"
            f"{pad}    - {{name: LOG_LEVEL, value: info}}\n"
            f"{pad}    - name: DB_PASSWORD\n{pad}      valueFrom: {{secretKeyRef: "
            f"{{name: {secret}, key: password}}}}\n")
    return out


def service(release: str, namespace: str, spec: tuple, hardened: bool,
            rng: random.Random) -> list[tuple[str, str]]:
    """(template path, document) of one service's objects."""
    name, kind, port, sidecar, init, storage, has_service = spec
    full = f"{release}-{name}"
    tag = "1.8.3" if hardened else "latest"
    meta = (f"metadata:\n  name: {full}\n  namespace: {namespace}\n  labels:\n"
            + _labels(release, name, 4))
    template = f"platform/templates/{name}.yaml"
    docs = [(template.replace(".yaml", "-sa.yaml"),
             f"apiVersion: v1\nkind: ServiceAccount\n{meta}automountServiceAccountToken: false\n"),
            (template.replace(".yaml", "-secret.yaml"),
             f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {full}-db\n  namespace: "
             f"{namespace}\ntype: Opaque\ndata:\n  password: c2VjcmV0LXZhbHVl\n"),
            (template.replace(".yaml", "-config.yaml"),
             f"apiVersion: v1\nkind: ConfigMap\n{meta}data:\n  app.yaml: |\n    level: info\n")]
    containers = _container(name, f"registry.example.com/shop/{name}:{tag}", port, hardened, rng,
                            f"{full}-db", resources=not (name == "worker" and not hardened))
    if sidecar:
        containers += _container(sidecar, SIDECARS[sidecar], None, hardened, rng, f"{full}-db",
                                 resources=hardened)
    mounts = ("          volumeMounts:\n            - {name: config, mountPath: /etc/app, "
              "readOnly: true}\n            - {name: tmp, mountPath: /tmp}\n"
              "            - {name: token, mountPath: /var/run/secrets/app}\n")
    first, rest = containers.split("\n", 1)
    lines = rest.split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("          image:")) + 1
    containers = first + "\n" + "\n".join(lines[:at]) + "\n" + mounts + "\n".join(lines[at:])
    if sidecar:  # the sidecar shares the scratch volume
        containers = containers.replace(
            f"        - name: {sidecar}\n          image: {SIDECARS[sidecar]}\n",
            f"        - name: {sidecar}\n          image: {SIDECARS[sidecar]}\n"
            "          volumeMounts:\n            - {name: tmp, mountPath: /tmp}\n")
    volumes = ("      volumes:\n        - {name: config, configMap: {name: " + full + "}}\n"
               "        - {name: tmp, emptyDir: {sizeLimit: 256Mi}}\n"
               "        - name: token\n          projected:\n            sources:\n"
               "              - serviceAccountToken: {path: token, expirationSeconds: 3600}\n")
    if storage == "hostPath":
        volumes += "        - {name: logs, hostPath: {path: /var/log}}\n"
        containers = containers.replace("            - {name: tmp, mountPath: /tmp}\n",
                                        "            - {name: tmp, mountPath: /tmp}\n"
                                        "            - {name: logs, mountPath: /var/log, "
                                        "readOnly: true}\n", 1)
    if storage == "emptyDir":
        volumes += "        - {name: data, emptyDir: {}}\n"
    inits = ""
    if init:
        inits = ("      initContainers:\n        - name: migrate\n"
                 f"          image: registry.example.com/shop/{name}-migrate:{tag}\n"
                 "          command: [/migrate, up]\n")
    affinity = ("      affinity:\n        podAntiAffinity:\n"
                "          preferredDuringSchedulingIgnoredDuringExecution:\n"
                "            - weight: 100\n              podAffinityTerm:\n"
                "                topologyKey: kubernetes.io/hostname\n"
                "                labelSelector:\n                  matchLabels:\n"
                + _labels(release, name, 20)) if hardened else ""
    pod = (f"    metadata:\n      labels:\n{_labels(release, name, 8)}    spec:\n"
           f"      serviceAccountName: {full}\n"
           + ("      securityContext: {fsGroup: 10001, seccompProfile: {type: RuntimeDefault}}\n"
              if hardened or rng.random() < 0.5 else "")
           + affinity + inits + "      containers:\n" + containers + volumes)
    replicas = 3 if hardened else 1
    selector = f"  selector:\n    matchLabels:\n{_labels(release, name, 6)}"
    if kind == "CronJob":
        body = ("spec:\n  schedule: '0 3 * * *'\n  jobTemplate:\n    spec:\n      template:\n"
                + "\n".join("    " + line if line else line for line in pod.split("\n"))
                .replace("          containers:", "          restartPolicy: OnFailure\n"
                                                  "          containers:"))
    elif kind == "DaemonSet":
        body = f"spec:\n{selector}  template:\n{pod}"
    else:
        body = f"spec:\n  replicas: {replicas}\n{selector}"
        if kind == "StatefulSet":
            body += (f"  serviceName: {full}\n  volumeClaimTemplates:\n    - metadata: "
                     f"{{name: data}}\n      spec:\n        accessModes: [ReadWriteOnce]\n"
                     f"        resources: {{requests: {{storage: {storage}}}}}\n")
            pod = pod.replace("            - {name: tmp, mountPath: /tmp}\n",
                              "            - {name: tmp, mountPath: /tmp}\n"
                              "            - {name: data, mountPath: /data}\n", 1)
        elif hardened:
            body += "  strategy:\n    type: RollingUpdate\n    rollingUpdate: {maxUnavailable: 0}\n"
        body += f"  template:\n{pod}"
    api = "batch/v1" if kind == "CronJob" else "apps/v1"
    docs.append((template, f"apiVersion: {api}\nkind: {kind}\n{meta}{body}"))
    if has_service:
        docs.append((template.replace(".yaml", "-svc.yaml"),
                     f"apiVersion: v1\nkind: Service\n{meta}spec:\n  selector:\n"
                     + _labels(release, name, 4)
                     + f"  ports:\n    - {{name: http, port: {port}, targetPort: http}}\n"))
    if hardened and kind in ("Deployment", "StatefulSet"):
        docs.append((template.replace(".yaml", "-pdb.yaml"),
                     f"apiVersion: policy/v1\nkind: PodDisruptionBudget\n{meta}spec:\n"
                     f"  minAvailable: 2\n{selector}"))
        docs.append((template.replace(".yaml", "-netpol.yaml"),
                     f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n{meta}spec:\n"
                     f"  podSelector:\n    matchLabels:\n{_labels(release, name, 6)}"
                     "  policyTypes: [Ingress]\n  ingress:\n    - from:\n"
                     "        - podSelector: {}\n"))
        if has_service:
            docs.append((template.replace(".yaml", "-monitor.yaml"),
                         f"apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\n{meta}"
                         f"spec:\n{selector}  endpoints:\n    - {{port: http}}\n"))
    return docs


def render(release: str = "shop", namespace: str = "shop", hardened: bool = False,
           seed: int = 7) -> str:
    """One release of the platform, in `helm template` format."""
    rng = random.Random(f"{seed}-{release}")
    docs = [d for spec in SERVICES for d in service(release, namespace, spec, hardened, rng)]
    return "".join(f"---\n# Source: {path}\n{doc}" for path, doc in docs)


def cluster(copies: int, seed: int = 7) -> str:
    """`copies` releases in 7 namespaces, two thirds of them with production values."""
    rng = random.Random(seed)
    return "".join(render(f"shop{i:02d}", f"team-{rng.randrange(7)}",
                          hardened=rng.random() < 2 / 3, seed=seed) for i in range(1, copies + 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--hardened", action="store_true", help="one release, production values")
    args = parser.parse_args(argv)
    sys.stdout.write(render(hardened=args.hardened) if args.copies == 1 else cluster(args.copies))
    return 0


if __name__ == "__main__":
    sys.exit(main())
