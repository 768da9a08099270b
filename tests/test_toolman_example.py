"""The committed renders of the Toolman example are exactly what the chart renders to today."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from toolman_kit.chart.render import render

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "toolman"
CASES = {"default": [], "production": [EXAMPLE / "chart" / "values-production.yaml"]}
REFRESH = "re-render with the command in examples/toolman/README.md"


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> str:
    """The SDK when installed (the renders were made with it), else a helm CLI on PATH."""
    if importlib.util.find_spec("helm_python") is not None:
        monkeypatch.setattr(shutil, "which", lambda *_a, **_k: None)
        return "helm-sdk"
    if shutil.which("helm"):
        return "helm-cli"
    pytest.skip("no Helm backend: neither helm-python-sdk nor the helm CLI is installed")


@pytest.mark.parametrize("name", sorted(CASES))
def test_committed_render_is_current(backend: str, name: str) -> None:
    result = render(EXAMPLE / "chart", CASES[name], release="toolman", namespace="toolman")
    assert result.backend == backend
    committed = (EXAMPLE / "rendered" / f"{name}.yaml").read_text(encoding="utf-8")
    assert result.text == committed, f"rendered/{name}.yaml is stale: {REFRESH}"
    assert [(m.severity, m.path, m.message) for m in result.lint] == [
        ("info", "Chart.yaml", "icon is recommended")]


def test_production_keeps_the_seeded_problems() -> None:
    """The production render carries what the kit must still flag (do not "fix" these)."""
    text = (EXAMPLE / "rendered" / "production.yaml").read_text(encoding="utf-8")
    assert "replicas: 3" in text and "- ReadWriteOnce" in text  # one RWO PVC for 3 replicas
    assert "              name: mcp\n" in text  # namespaceSelector on a `name` label
    assert "privileged: true" in text and "image: docker:dind" in text
