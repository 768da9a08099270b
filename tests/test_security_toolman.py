"""The security checks and the PSS level on Toolman's default rendering (production profile)."""

from pathlib import Path

import pytest

from toolman_kit.analysis import Analysis
from toolman_kit.judge.pss import pod_security

RENDERED = Path(__file__).parent.parent / "examples" / "toolman" / "rendered" / "default.yaml"


@pytest.fixture(scope="module")
def analysis() -> Analysis:
    a = Analysis.of(RENDERED, profile="production")
    assert not a.errors, a.errors
    return a


def _statuses(a: Analysis, check_id: str, container: str) -> set[str]:
    f = a.findings
    rows = f[(f["check_id"] == check_id) & (f["kind"] == "Deployment")
             & (f["container"] == container)]
    return set(rows["status"])


def test_docker_daemon_is_privileged(analysis):
    assert _statuses(analysis, "privileged-container", "docker-daemon") == {"fail"}


@pytest.mark.parametrize("check_id", ["run-as-root-allowed", "root-filesystem-writable",
                                      "capabilities-not-dropped", "privileged-container"])
def test_toolman_container_is_hardened(analysis, check_id):
    assert _statuses(analysis, check_id, "toolman") == {"pass"}


def test_toolman_reaches_the_dind_socket(analysis):
    assert _statuses(analysis, "container-runtime-socket-exposed", "toolman") == {"fail"}
    assert _statuses(analysis, "container-runtime-socket-exposed", "docker-daemon") == set()
    f = analysis.findings
    [message] = f[(f["check_id"] == "container-runtime-socket-exposed")]["message"]
    assert "docker-daemon" in message and "/var/run" in message


def test_pod_security_level_is_privileged(analysis):
    [deployment] = [p for p in pod_security(analysis.index) if p.kind == "Deployment"]
    assert deployment.level == "privileged"
    assert {"control": "Privileged Containers", "level": "baseline",
            "detail": "container docker-daemon: privileged: true"} in deployment.violations
