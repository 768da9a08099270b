"""The one build step pyproject.toml cannot say: the wheel carries notebooks/ and
examples/toolman/ (what `toolman-kit report` executes, and its default input) inside the package,
as toolman_kit/notebooks/ and toolman_kit/examples/toolman/, where present/sections.shipped finds
them. The repository keeps them at its root (README: Layout); an editable install reads them
there. MANIFEST.in puts them in the sdist, which a wheel may be built from."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = ("notebooks", "examples/toolman")  # as present/sections.SHIPPED


class BuildPy(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):  # read in place
            return
        for name in SHIPPED:
            target = Path(self.build_lib) / "toolman_kit" / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(ROOT / name, target, ignore=shutil.ignore_patterns(
                ".ipynb_checkpoints", "__pycache__"))


setup(cmdclass={"build_py": BuildPy})
