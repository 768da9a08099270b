from decimal import Decimal

import pytest

from toolman_kit.read.manifests import load
from toolman_kit.read.model import Image, workload

POD_SPEC = """
      securityContext: {runAsUser: 1000, runAsNonRoot: true, fsGroup: 2000,
                        seccompProfile: {type: RuntimeDefault}}
      initContainers:
        - {name: migrate, image: example/migrate:1.0.0}
        - {name: log-shipper, image: example/shipper:2.0.0, restartPolicy: Always}
      containers:
        - name: proxy
          image: envoyproxy/envoy:v1.31.0
        - name: web
          image: registry.example.com:5000/team/web:3.2.1
          securityContext: {runAsUser: 0, readOnlyRootFilesystem: true}
          resources: {requests: {cpu: 250m, memory: 1Gi}, limits: {cpu: "2", memory: 1.5Gi}}
          volumeMounts: [{name: data, mountPath: /data, readOnly: true}]
      volumes:
        - {name: data, persistentVolumeClaim: {claimName: web-data}}
        - {name: typo}
"""


def one(text):
    (resource,) = load(text).resources
    return workload(resource)


def test_roles_main_by_name_native_sidecars_and_init():
    w = one("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
            "  template:\n    spec:" + POD_SPEC)
    roles = {c.name: c.role for c in w.containers}
    assert roles == {"migrate": "init", "log-shipper": "sidecar", "proxy": "sidecar",
                     "web": "main"}
    assert w.main.name == "web" and w.replicas == 1 and w.pod_path == "spec.template.spec"


def test_default_container_annotation_names_the_main_container():
    w = one("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  annotations:\n"
            "    kubectl.kubernetes.io/default-container: proxy\nspec:" +
            POD_SPEC.replace("\n      ", "\n  "))
    assert w.main.name == "proxy" and w.pod_path == "spec"


def test_security_context_merges_pod_into_container_container_wins():
    w = one("apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: job}\nspec:\n"
            "  jobTemplate:\n    spec:\n      template:\n        spec:" +
            POD_SPEC.replace("\n      ", "\n          "))
    assert w.pod_path == "spec.jobTemplate.spec.template.spec" and w.replicas is None
    web = next(c for c in w.containers if c.name == "web")
    assert web.security == {"runAsUser": 0, "runAsNonRoot": True, "readOnlyRootFilesystem": True,
                            "seccompProfile": {"type": "RuntimeDefault"}}
    assert "fsGroup" not in web.security  # pod-only fields stay on the pod


def test_quantities_mounts_volumes_and_images():
    w = one("apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: web}\nspec:\n"
            "  replicas: 3\n  template:\n    spec:" + POD_SPEC)
    web = w.main
    assert web.requests == {"cpu": Decimal("0.25"), "memory": Decimal(2**30)}
    assert web.limits == {"cpu": Decimal(2), "memory": Decimal("1.5") * 2**30}
    assert web.mounts[0].read_only and web.mounts[0].mount_path == "/data"
    assert [(v.name, v.type) for v in w.volumes] == [("data", "persistentVolumeClaim"),
                                                     ("typo", None)]
    assert web.image == Image("registry.example.com:5000/team/web:3.2.1",
                              "registry.example.com:5000/team/web", "3.2.1", None)
    assert w.replicas == 3


@pytest.mark.parametrize("ref, tag, digest, pinned", [
    ("nginx", None, None, False), ("nginx:latest", "latest", None, False),
    ("nginx:1.27", "1.27", None, True), ("localhost:5000/nginx", None, None, False),
    ("nginx@sha256:abc", None, "sha256:abc", True),
    ("nginx:latest@sha256:abc", "latest", "sha256:abc", True)])
def test_image_references(ref, tag, digest, pinned):
    image = Image.parse(ref)
    assert (image.tag, image.digest, image.pinned()) == (tag, digest, pinned)
    assert not Image.parse("docker:dind").pinned(("latest", "dind"))


def test_wrong_types_are_recorded_not_raised():
    w = one("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n"
            "  replicas: three\n  template:\n    spec:\n      containers: {name: c}\n")
    assert w.replicas is None and w.containers == []
    assert [p for p, _ in w.invalid] == ["spec.template.spec.containers", "spec.replicas"]


def test_kinds_without_pod_templates_are_not_workloads():
    assert one("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {}\n") is None
