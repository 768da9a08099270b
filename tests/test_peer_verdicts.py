"""Verdicts peers get right: RBAC objects that Kubernetes and its platform own are skipped with
a reason (and a chart cannot borrow that), a PodDisruptionBudget the API server rejects is an
error, and ConfigMap credentials in the shapes checkov and Polaris know are found."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolman_kit.analysis import Analysis
from toolman_kit.judge import checklist

FIXTURES = Path(__file__).parent / "fixtures" / "checks"
RBAC_CHECKS = ("rbac-cluster-admin", "rbac-wildcard", "rbac-secrets-read",
               "rbac-privilege-escalation", "rbac-pod-exec")


def rows(text: str, tmp_path: Path, check_id: str, name: str = "manifest.yaml"):
    path = tmp_path / name
    path.write_text(text)
    f = Analysis.of(path, profile="production").findings
    return f[f["check_id"] == check_id]


@pytest.mark.parametrize("fixture, check_id, reason", [
    ("rbac-cluster-admin/skip-kubernetes-default.yaml", "rbac-cluster-admin",
     "kubernetes.io/bootstrapping=rbac-defaults"),
    ("rbac-wildcard/skip-kubernetes-default.yaml", "rbac-wildcard",
     "kubernetes.io/bootstrapping=rbac-defaults"),
    ("rbac-secrets-read/skip-system-prefix.yaml", "rbac-secrets-read",
     "Kubernetes reserves the system: prefix"),
    ("rbac-privilege-escalation/skip-addon-manager.yaml", "rbac-privilege-escalation",
     "addonmanager.kubernetes.io/mode=Reconcile: the addon manager owns it"),
    ("rbac-pod-exec/skip-eks-platform.yaml", "rbac-pod-exec", "Amazon EKS creates"),
])
def test_platform_owned_rbac_objects_are_skipped_saying_why(fixture, check_id, reason):
    f = Analysis.of(FIXTURES / fixture, profile="production").findings
    mine = f[f["check_id"] == check_id]
    assert list(mine["status"]) == ["skip"]
    assert reason in mine["message"].iloc[0]


def test_every_rbac_check_skips_a_system_role_of_a_cluster_dump(tmp_path):
    text = """apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:controller:generic-garbage-collector"}
rules: [{apiGroups: ['*'], resources: ['*'], verbs: [get, list, watch, create, delete]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:masters-admin"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: admin, namespace: kube-system}]
"""
    path = tmp_path / "dump.yaml"
    path.write_text(text)
    f = Analysis.of(path, profile="production").findings
    judged = f[f["check_id"].isin(RBAC_CHECKS)]
    assert set(judged["check_id"]) == set(RBAC_CHECKS)
    assert set(judged["status"]) == {"skip"}


@pytest.mark.parametrize("name, labels", [
    ("system:sneaky", ""), ("eks:sneaky", ""),
    ("api", "{kubernetes.io/bootstrapping: rbac-defaults}"),
    ("api", "{addonmanager.kubernetes.io/mode: Reconcile}")])
def test_a_chart_s_own_role_is_judged_whatever_its_name_or_labels(tmp_path, name, labels):
    text = f"""# Source: app/templates/role.yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: "{name}", labels: {labels or '{}'}}}
rules: [{{apiGroups: [''], resources: [secrets], verbs: [list]}}]
"""
    assert list(rows(text, tmp_path, "rbac-secrets-read")["status"]) == ["fail"]


def test_user_roles_beside_system_ones_are_still_judged(tmp_path):
    text = """apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:node"}
rules: [{apiGroups: [''], resources: [secrets], verbs: [get, list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "my-system-reader"}
rules: [{apiGroups: [''], resources: [secrets], verbs: [get, list]}]
"""
    found = rows(text, tmp_path, "rbac-secrets-read")
    assert dict(zip(found["name"], found["status"], strict=True)) == {
        "system:node": "skip", "my-system-reader": "fail"}


PDB = """apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {{name: web}}
spec:
  {spec}
  selector: {{matchLabels: {{app: web}}}}
"""


@pytest.mark.parametrize("spec, message", [
    ("{minAvailable: 1, maxUnavailable: 1}", "sets both minAvailable (1) and maxUnavailable (1)"),
    ("{minAvailable: -1}", "minAvailable -1 is negative"),
    ("{maxUnavailable: '101%'}", "maxUnavailable 101% is over 100%"),
    ("{minAvailable: '1'}", "minAvailable '1' is neither an integer nor a percentage"),
    ("{minAvailable: half}", "minAvailable 'half' is neither"),
    ("{maxUnavailable: '-5%'}", "maxUnavailable '-5%' is neither"),
    ("{maxUnavailable: true}", "maxUnavailable True is neither"),
])
def test_pdb_the_api_server_rejects_is_an_error(tmp_path, spec, message):
    found = rows(PDB.format(spec=spec.strip("{}").replace(", ", "\n  ")), tmp_path, "pdb-invalid")
    failed = found[found["status"] == "fail"]
    assert len(failed) >= 1 and set(failed["severity"]) == {"error"}
    assert message in failed["message"].iloc[0], failed["message"].tolist()


@pytest.mark.parametrize("spec", ["minAvailable: 0", "maxUnavailable: '0%'",
                                  "minAvailable: '100%'", "maxUnavailable: 3",
                                  "minAvailable: 1\n  maxUnavailable: null", ""])
def test_valid_pdb_passes(tmp_path, spec):
    assert list(rows(PDB.format(spec=spec), tmp_path, "pdb-invalid")["status"]) == ["pass"]


def test_an_invalid_pdb_fails_the_checklist_pdb_row(tmp_path):
    path = tmp_path / "app.yaml"
    path.write_text("""apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1.27.3"}]}
---
""" + PDB.format(spec="minAvailable: 2\n  maxUnavailable: 1"))
    table = Analysis.of(path, profile="production").checklist
    pdb = table[table["component"] == "PDB"].iloc[0]
    assert pdb["status"] == "fail" and "Set one of minAvailable and maxUnavailable" in \
        pdb["action"]
    assert "pdb-invalid" in next(r.checks for r in checklist.ROWS if r.component == "PDB")


def configmap_failures(path: Path) -> dict[str, str]:
    f = Analysis.of(path, profile="production").findings
    rows = f[(f["check_id"] == "secret-in-configmap") & (f["status"] == "fail")]
    return {m.split(" ")[2]: m for m in rows["message"]}  # "data key KEY …"


@pytest.mark.parametrize("fixture, key, says", [
    ("fail-cloud-key-names", "AZURE_BATCH_KEY", "named like a credential"),
    ("fail-cloud-key-names", "AZURE_STORAGE_ACCOUNT_KEY", "named like a credential"),
    ("fail-cloud-key-names", "DB_PASS", "named like a credential"),
    ("fail-cloud-key-names", "MYSQL_PWD", "named like a credential"),
    ("fail-cloud-key-names", "client_key", "named like a credential"),
    ("fail-oci-config", "config", "sets pass_phrase to a literal value (line 5"),
    ("fail-oci-config", "oci_api_key.pem", "holds a PEM private key"),
    ("fail-key-shapes", "aws", "an AWS access key ID"),
    ("fail-key-shapes", "azure", "an Azure storage account key"),
    ("fail-key-shapes", "github", "a GitHub token"),
    ("fail-key-shapes", "slack", "a Slack token"),
    ("fail-key-shapes", "slack-hook", "a Slack webhook URL"),
    ("fail-key-shapes", "stripe", "a Stripe live key"),
    ("fail-key-shapes", "database", "a URL with a password"),
    ("fail-key-shapes", "ssh2", "holds a private key"),
    ("fail-key-shapes", "putty", "holds a private key"),
    ("fail-key-shapes", "app.properties", "sets spring.datasource.password"),
])
def test_each_credential_pattern_of_the_peers_is_found(fixture, key, says):
    found = configmap_failures(FIXTURES / "secret-in-configmap" / f"{fixture}.yaml")
    assert says in found.get(key, ""), found
    assert "hunter2" not in found[key] and "s3cr3t" not in found[key]  # never the value


def test_look_alikes_are_not_credentials():
    path = FIXTURES / "secret-in-configmap" / "pass-look-alikes.yaml"
    assert configmap_failures(path) == {}
    assert "AZURE_BATCH_ACCOUNT" not in configmap_failures(
        FIXTURES / "secret-in-configmap" / "fail-cloud-key-names.yaml")


def test_env_values_are_judged_by_their_shape_whatever_their_name():
    f = Analysis.of(FIXTURES / "secret-in-env-value" / "fail-key-shapes.yaml").findings
    messages = set(f[(f["check_id"] == "secret-in-env-value") & (f["status"] == "fail")]
                   ["message"])
    assert messages == {"sync: env UPSTREAM holds a URL with a password",
                        "sync: env AWS_ACCESS_KEY_ID holds an AWS access key ID",
                        "sync: env AZURE_BATCH_KEY holds a literal value, not a Secret reference"}
