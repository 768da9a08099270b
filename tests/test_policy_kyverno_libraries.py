"""Kyverno's offline CEL libraries (image, user): their results as Kyverno documents them, the
errors, and that they exist for Kyverno's policies only (a VAP using one does not compile)."""

from __future__ import annotations

import textwrap

import pytest
from test_policy_admission import deployment, rows, write

from toolman_kit.judge.policy.cel import (
    CelCompileError,
    CelEvaluationError,
    compile_expression,
    evaluate,
    plain,
)

DIGEST = "sha256:" + "0123456789abcdef" * 4


def run(expression, kyverno=True):
    program = compile_expression(expression, "1.33", ("object",), kyverno)
    return plain(evaluate(program, {"object": {}}))


@pytest.mark.parametrize("expression, expected", [
    ("image('nginx').registry()", "docker.io"),
    ("image('nginx').repository()", "library/nginx"),
    ("image('nginx').tag()", "latest"),
    ("image('nginx').digest()", ""),
    ("image('nginx').identifier()", "latest"),
    ("image('nginx:1.2').tag()", "1.2"),
    ("image('nginx:1.2').identifier()", "1.2"),
    ("image('index.docker.io/bitnami/redis:7').registry()", "docker.io"),
    ("image('bitnami/redis:7').repository()", "bitnami/redis"),
    ("image('ghcr.io/kyverno/kyverno:v1.14.0').registry()", "ghcr.io"),
    ("image('ghcr.io/kyverno/kyverno:v1.14.0').repository()", "kyverno/kyverno"),
    ("image('localhost:5000/team/app').registry()", "localhost:5000"),
    ("image('localhost/app').registry()", "localhost"),
    (f"image('ghcr.io/a/b@{DIGEST}').digest()", DIGEST),
    (f"image('ghcr.io/a/b@{DIGEST}').tag()", ""),
    (f"image('ghcr.io/a/b@{DIGEST}').containsDigest()", True),
    (f"image('ghcr.io/a/b:1.0@{DIGEST}').identifier()", DIGEST),
    (f"image('ghcr.io/a/b:1.0@{DIGEST}').tag()", "1.0"),
    ("image('nginx:1.2').containsDigest()", False),
    ("image('nginx') == image('docker.io/library/nginx:latest')", True),
    ("image('nginx:1.2') == image('nginx:1.3')", False),
    ("image('nginx:1.2')", "docker.io/library/nginx:1.2"),
    ("isImage('nginx:1.2')", True),
    ("isImage('Nginx')", False),
    ("isImage('nginx:')", False),
    ("isImage('a//b')", False),
    ("isImage('')", False),
    (f"isImage('a@{DIGEST[:-1]}')", False),
    ("isImage('" + "0123456789abcdef" * 4 + "')", False),
    ("parseServiceAccount('system:serviceaccount:kube-system:builder').namespace", "kube-system"),
    ("parseServiceAccount('system:serviceaccount:kube-system:builder').name", "builder"),
    ("parseServiceAccount('alice@example.com')", {"namespace": "", "name": ""}),
    ("parseServiceAccount('system:serviceaccount:too:many:parts').name", ""),
])
def test_kyverno_libraries(expression, expected):
    assert run(expression) == expected


@pytest.mark.parametrize("expression, error", [
    ("image('Nginx:1.0')", "repository name must be lowercase"),
    ("image('nginx:')", "invalid reference format"),
    (f"image('a@md5:{'0' * 32}')", "unsupported digest algorithm"),
    ("image('nginx').registry() == {'a': 1}.registry()", "no such overload"),
])
def test_kyverno_library_errors(expression, error):
    with pytest.raises(CelEvaluationError, match=error):
        run(expression)


@pytest.mark.parametrize("expression", ["image('nginx').registry()", "isImage('nginx')",
                                        "parseServiceAccount('x').name"])
def test_not_in_the_api_servers_environment(expression):
    with pytest.raises(CelCompileError, match="undeclared reference"):
        run(expression, kyverno=False)


POLICY = """\
apiVersion: policies.kyverno.io/v1
kind: ValidatingPolicy
metadata: {name: trusted-registry}
spec:
  validationActions: [Deny]
  matchConstraints:
    resourceRules:
    - {apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}
  validations:
  - expression: >-
      object.spec.containers.all(c, isImage(c.image) &&
      image(c.image).registry() == 'ghcr.io' && image(c.image).tag() != 'latest')
    messageExpression: >-
      'untrusted images: ' + object.spec.containers.filter(c, !isImage(c.image) ||
      image(c.image).registry() != 'ghcr.io' || image(c.image).tag() == 'latest')
      .map(c, c.image).join(', ')
"""


def test_a_kyverno_policy_uses_the_image_library(capsys, tmp_path):
    manifests = write(tmp_path, deployment("good", "test", image="ghcr.io/team/app:1.0"),
                      deployment("hub", "test", image="nginx"),
                      deployment("unpinned", "test", image="ghcr.io/team/app"))
    policy = write(tmp_path, POLICY, name="policy.yaml")
    _, found, err = rows(capsys, str(manifests), "--policy", str(policy))
    assert not err.strip()
    assert [f["status"] for f in found[("policy/trusted-registry", "good")]] == ["pass"]
    (hub,) = found[("policy/trusted-registry", "hub")]
    assert hub["status"] == "fail" and hub["message"].endswith("denied: untrusted images: nginx")
    (unpinned,) = found[("policy/trusted-registry", "unpinned")]  # no tag is 'latest'
    assert unpinned["message"].endswith("untrusted images: ghcr.io/team/app")


def test_a_vap_using_the_image_library_does_not_load(capsys, tmp_path):
    vap = POLICY.replace("policies.kyverno.io/v1", "admissionregistration.k8s.io/v1").replace(
        "kind: ValidatingPolicy", "kind: ValidatingAdmissionPolicy").replace(
        "  validationActions: [Deny]\n", "")
    policy = write(tmp_path, textwrap.dedent(vap), name="vap.yaml")
    manifests = write(tmp_path, deployment("hub", "test", image="nginx"))
    code, found, err = rows(capsys, str(manifests), "--policy", str(policy))
    assert code == 2 and "undeclared reference to 'isImage'" in err and not found
