"""Property-based tests: no input of any shape makes the loader or a check raise.

The generated objects use the field names the checks read, with values of arbitrary type, so
every check meets `replicas: "three"`, `containers: {}`, `securityContext: 7` and the like.
"""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolman_kit.analysis import Analysis
from toolman_kit.read.manifests import Manifests, Resource, Source, load
from toolman_kit.read.model import POD_TEMPLATE

FIELDS = [
    "spec", "template", "jobTemplate", "metadata", "labels", "annotations", "containers",
    "initContainers", "ephemeralContainers", "volumes", "volumeMounts", "name", "image",
    "imagePullPolicy", "securityContext", "privileged", "capabilities", "add", "drop",
    "runAsUser", "runAsNonRoot", "readOnlyRootFilesystem", "allowPrivilegeEscalation",
    "seccompProfile", "type", "resources", "requests", "limits", "cpu", "memory", "ports",
    "containerPort", "hostPort", "env", "value", "valueFrom", "livenessProbe", "readinessProbe",
    "startupProbe", "initialDelaySeconds", "replicas", "selector", "matchLabels",
    "matchExpressions", "key", "operator", "values", "affinity", "podAntiAffinity",
    "topologySpreadConstraints", "topologyKey", "hostNetwork", "hostPath", "path", "emptyDir",
    "sizeLimit", "persistentVolumeClaim", "claimName", "accessModes", "minAvailable",
    "maxUnavailable", "podSelector", "ingress", "egress", "from", "to", "namespaceSelector",
    "targetPort", "port", "scaleTargetRef", "kind", "minReplicas", "maxReplicas", "endpoints",
    "strategy", "updateStrategy", "priorityClassName", "automountServiceAccountToken",
    "serviceAccountName", "restartPolicy", "subPath", "mountPath", "readOnly",
]
KINDS = [*POD_TEMPLATE, "Service", "PodDisruptionBudget", "NetworkPolicy",
         "HorizontalPodAutoscaler", "PersistentVolumeClaim", "ServiceMonitor", "PodMonitor",
         "ServiceAccount", "Secret"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=False),
                    st.sampled_from(["", "latest", "ALL", "0", "100m", "1Gi", "In", "Always",
                                     "app", "web", "/var/run", "RuntimeDefault", "lots", "50%"]),
                    st.text(max_size=8))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(FIELDS), inner, max_size=6)),
    max_leaves=40)


@st.composite
def manifests(draw):
    resources = []
    for i in range(draw(st.integers(1, 4))):
        obj = {"apiVersion": "v1", "kind": draw(st.sampled_from(KINDS)),
               "metadata": {"name": f"o{i}", "labels": draw(values)},
               "spec": draw(values)}
        resources.append(Resource(obj, Source("<fuzz>", i, 1, None),
                                  namespace=draw(st.sampled_from(["a", "b"]))))
    return Manifests(resources=resources)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(manifests())
def test_no_check_raises_on_any_shape(m):
    analysis = Analysis.of(m)
    assert not analysis.errors, analysis.errors  # a check error would be reported here
    assert set(analysis.findings["status"]) <= {"fail", "pass", "skip", "exempt"}
    from toolman_kit.present.formats import FORMATS, render

    assert len(analysis.checklist) == len(analysis.checklist_rows)
    for name in FORMATS:
        render(name, analysis)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_loader_never_raises_on_text(text):
    m = load(text + "\n")
    assert all(e.file == "<text>" for e in m.errors)


@settings(max_examples=200, deadline=None)
@given(values)
def test_loader_never_raises_on_any_yaml_document(value):
    m = load(json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                         "spec": value}, indent=1) + "\n")
    Analysis.of(m)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_loader_never_raises_on_bytes(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("bytes") / "input.yaml"
    path.write_bytes(data)
    load(path)
