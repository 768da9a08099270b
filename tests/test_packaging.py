"""The kit as a user installs it: a wheel, not a checkout. `report` runs the notebooks and
defaults to the Toolman example, which the repository keeps at its root (notebooks/,
examples/toolman/): setup.py ships them inside the package, where present/sections.shipped looks
first. The wheel is built from a copy of the source (pip builds in the tree it is given), with the
build backend pyproject.toml names, and installed with --target beside this environment's
dependencies."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import source_copy


@pytest.mark.slow
def test_report_from_a_wheel(tmp_path):
    source = source_copy(tmp_path / "src")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                            str(tmp_path / "dist"), str(source)], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    wheel = next((tmp_path / "dist").glob("toolman_kit-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    data = [n for n in listed_under(source, "toolman_kit") if not n.endswith(".py")]
    assert [n for n in data if n not in names] == []  # every data file: package-data is complete
    for directory in ("notebooks", "examples/toolman"):
        shipped = {f"toolman_kit/{n}" for n in listed_under(source, directory)}
        assert shipped and shipped <= names, directory
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(site), str(wheel)], check=True)
    work = tmp_path / "work"  # not the checkout: nothing of it is at hand
    work.mkdir()
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
           "PYTHONPATH": str(site)}
    where = subprocess.run([sys.executable, "-c", "import toolman_kit as t; print(t.__file__)"],
                           env=env, cwd=work, capture_output=True, text=True, check=True)
    assert where.stdout.strip() == str(site / "toolman_kit" / "__init__.py")
    run = subprocess.run([sys.executable, "-m", "toolman_kit", "report", "--no-config",
                          "--out", "out"], env=env, cwd=work, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert (work / "out" / "index.html").is_file()
    assert (work / "out" / "suggestion.json").is_file()  # the example's chart, from the wheel
    executed = (work / "out" / "00_summary.ipynb").read_text(encoding="utf-8")
    assert str(site / "toolman_kit" / "examples" / "toolman" / "chart") in executed



def listed_under(root: Path, directory: str) -> list[str]:
    """The files under root/directory, as paths relative to root."""
    return [p.relative_to(root).as_posix() for p in sorted((root / directory).rglob("*"))
            if p.is_file()]
