"""environment.yml (conda) must offer the same packages as pyproject.toml (pip).

conda cannot run here, so the file is checked for structure and requirement syntax."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).parents[1]
NAME = re.compile(r"^([A-Za-z0-9_.-]+)\s*(?:[<>=!~].*)?$")


def _name(requirement: str) -> str:
    match = NAME.match(requirement.strip())
    assert match, f"not a requirement: {requirement!r}"
    return match.group(1).lower().replace("_", "-")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    for extra in ("helm", "test", "lab", "dask"):
        wanted |= {_name(r) for r in project["optional-dependencies"][extra]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    have = {_name(r) for r in conda + [p for p in pip if not p.startswith("-e")]}
    assert "-e ." in pip
    assert wanted <= have, wanted - have
    assert any(d.startswith("python") for d in conda)
