"""Verdicts that the fixture statuses alone do not pin down: severities graded per problem,
remediations that fit the kind, the profile's require_digest, and how the new semantics reach
the checklist and the Toolman example."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolman_kit.analysis import Analysis
from toolman_kit.errors import ProfileError
from toolman_kit.judge.profiles import load_profile
from toolman_kit.present import views
from toolman_kit.read.model import Image

ROOT = Path(__file__).parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "checks"
AGREEMENT = ROOT / "tests" / "fixtures" / "agreement"
TOOLMAN = ROOT / "examples" / "toolman"


def failures(path: Path, check_id: str, profile: str = "production") -> list:
    f = Analysis.of(path, profile=profile).findings
    return list(f[(f["check_id"] == check_id) & (f["status"] == "fail")].itertuples())


@pytest.mark.parametrize("ref, pinning", [
    ("docker:dind", "floating"), ("nginx:stable", "floating"), ("node:lts", "floating"),
    ("alpine:edge", "floating"), ("app:main", "floating"), ("app:nightly", "floating"),
    ("nginx:1", "major"), ("python:3", "major"), ("node:20-alpine", "major"),
    ("nginx:1.27.3", "version"), ("app:v2.1", "version"), ("app:main-4685f6f", "version"),
    ("app:4512", "version"), ("app:latest", "listed"), ("app", "missing"),
    ("app:1@sha256:4a0a", "digest")])
def test_tag_pinning(ref, pinning):
    assert Image.parse(ref).pinning() == pinning
    assert Image.parse(ref).pinned() == (pinning in ("digest", "version"))


def test_profile_mutable_tags_still_add_names():
    assert Image.parse("app:v2-rc").pinning(("latest", "v2-rc")) == "listed"


def test_major_only_tag_is_a_warning_and_floating_an_error():
    [major] = failures(FIXTURES / "image-tag-mutable" / "fail-major-only.yaml",
                       "image-tag-mutable")
    assert major.severity == "warning" and "moves with every minor release" in major.message
    [dind] = failures(FIXTURES / "image-tag-mutable" / "fail-floating-dind.yaml",
                      "image-tag-mutable")
    assert dind.severity == "error" and "tag dind names no version" in dind.message


def test_profile_regrading_wins_over_a_problem_s_own_severity(tmp_path):
    profile = tmp_path / "p.yaml"
    profile.write_text("extends: production\nchecks: {image-tag-mutable: {severity: info}}\n")
    [major] = failures(FIXTURES / "image-tag-mutable" / "fail-major-only.yaml",
                       "image-tag-mutable", str(profile))
    assert major.severity == "info"


def test_require_digest_is_a_boolean(tmp_path):
    assert load_profile(FIXTURES / "image-tag-mutable" / "digest.yml").require_digest
    assert not load_profile().require_digest
    bad = tmp_path / "bad.yaml"
    bad.write_text("require_digest: maybe\n")
    with pytest.raises(ProfileError, match="require_digest"):
        load_profile(bad)


@pytest.mark.parametrize("fixture, kind", [
    ("fail-statefulset-ondelete.yaml", "StatefulSet"), ("fail-none.yaml", "Deployment")])
def test_strategy_remediation_fits_the_kind(fixture, kind):
    [row] = failures(FIXTURES / "update-strategy-unspecified" / fixture,
                     "update-strategy-unspecified")
    assert row.kind == kind
    assert ("maxSurge" in row.remediation) == (kind == "Deployment")  # a StatefulSet has none


def test_runtime_socket_severity_follows_what_the_container_can_reach():
    [exporter] = failures(FIXTURES / "container-runtime-socket-exposed" /
                          "fail-read-only-root-non-root.yaml", "container-runtime-socket-exposed")
    assert exporter.severity == "warning" and "effectively root" not in exporter.message
    assert "a read-only mount does not stop connecting to a socket" in exporter.message
    [host] = failures(FIXTURES / "container-runtime-socket-exposed" / "fail-host-socket.yaml",
                      "container-runtime-socket-exposed")
    assert host.severity == "error" and "effectively root" in host.message
    [hostpath] = failures(FIXTURES / "host-path-volume" / "fail-read-only-root-non-root.yaml",
                          "host-path-volume")
    assert hostpath.severity == "warning" and "read-only in node-exporter" in hostpath.message


def test_lowercase_drop_all_says_why():
    [row] = failures(FIXTURES / "capabilities-not-dropped" / "fail-lowercase-all.yaml",
                     "capabilities-not-dropped")
    assert "Pod Security admission" in row.message and "'all'" in row.message


def test_pem_key_in_env_whatever_the_name_and_the_remediation_names_files():
    [row] = failures(FIXTURES / "secret-in-env-value" / "fail-pem-key.yaml",
                     "secret-in-env-value")
    assert "SIGNING holds a PEM private key" in row.message
    assert "mount the Secret as a file" in row.remediation


def test_rbac_findings_name_the_service_accounts_and_their_workloads():
    [row] = failures(FIXTURES / "rbac-secrets-read" / "fail-list-secrets.yaml",
                     "rbac-secrets-read")
    assert "ServiceAccount ops/api (Deployment/api) in namespace ops" in row.message


def test_allow_all_policy_isolates_nothing_in_the_checklist_and_the_posture():
    a = Analysis.of(AGREEMENT / "argocd-server.yaml", profile="production")
    rows = a.checklist.set_index("component")
    assert rows.loc["Network Policy", "status"] == "fail"
    posture = views.security_posture(a)
    assert not any(s.startswith("NetworkPolicy restricts") for s in posture["strengths"])
    f = a.findings
    [message] = f[(f["check_id"] == "network-policy-missing") & (f["status"] == "fail")]["message"]
    assert "allows all ingress" in message and "isolates nothing" in message


def test_toolman_default_needs_the_kubeconfig_secret_and_floats_dind():
    a = Analysis.of(TOOLMAN / "rendered" / "default.yaml", profile=TOOLMAN / "profile.yaml")
    f = a.findings[a.findings["status"] == "fail"]
    [secret] = f[f["check_id"] == "secret-not-in-manifests"].itertuples()
    assert secret.severity == "info" and "Secret toolman-kubeconfig (volume kubeconfig)" in \
        secret.message and "created outside the chart" in secret.message
    tags = f[f["check_id"] == "image-tag-mutable"]
    assert set(tags["container"]) == {"toolman", "docker-daemon"}


def test_shared_claim_remediation_fits_the_kind():
    [row] = failures(FIXTURES / "rwo-volume-shared-by-replicas" /
                     "fail-statefulset-shared-claim.yaml", "rwo-volume-shared-by-replicas")
    assert "volumeClaimTemplates" in row.remediation and "Recreate" not in row.remediation
