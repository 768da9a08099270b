"""notebooks/tutorial.ipynb runs, as a reader would run it: papermill, a real kernel, the Helm SDK
rendering the example chart, from a directory that is not the repository."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "tutorial.ipynb"


def test_tutorial_runs_and_shows_what_it_says(tmp_path: Path) -> None:
    out = tmp_path / "tutorial.ipynb"
    done = subprocess.run([str(Path(sys.executable).parent / "papermill"), "-k", "python3",
                           "--no-progress-bar", str(NOTEBOOK), str(out)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    cells = [c for c in json.loads(out.read_text())["cells"] if c["cell_type"] == "code"]
    outputs = [o for c in cells for o in c["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"]
    text = json.dumps(outputs)
    assert "replicas-below-minimum" in text  # the filtered failures
    assert "'fixed': 12" in text and "'introduced': 6" in text  # tk.compare's counts
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the plot
