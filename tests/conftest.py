"""Fixtures shared by the test modules (plain helpers and paths are in helpers.py).

Tests marked `slow` start kernels, papermill, Chromium or a Dask cluster: `make test-fast` leaves
them out (`pytest -m "not slow"`), `make test` runs everything."""

import contextlib
import io
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from toolman_kit.commands import main


@pytest.fixture
def sdk(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Force the in-process Helm SDK backend (skip when it is not installed)."""
    module = pytest.importorskip("helm_python")
    monkeypatch.setattr(shutil, "which", lambda *_a, **_k: None)
    return module


@pytest.fixture(scope="session")
def toolman_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """`toolman-kit report --out DIR` on the embedded example (production values against the
    chart defaults), built once for the whole run: the directory and what it said on stderr.
    Tests only read it."""
    out = tmp_path_factory.mktemp("reports") / "toolman"
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        assert main(["report", "--out", str(out)]) == 0, stderr.getvalue()
    return out, stderr.getvalue()
