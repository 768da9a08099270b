"""Every check has pass and fail fixtures (tests/fixtures/checks/<id>/{pass,fail}-*.yaml).

A fail fixture must make the check fail at least once; a pass fixture must make it pass at least
once and never fail; a skip fixture (skip-*.yaml, optional) is one where the check must not
apply: it yields only skip rows, or none. A fixture may name a profile in a first-line comment:
`# profile: FILE` (relative to the fixture).
"""

import re
from pathlib import Path

import pytest

from toolman_kit.analysis import Analysis
from toolman_kit.judge.registry import catalogue, check

FIXTURES = Path(__file__).parent / "fixtures" / "checks"


def _fixtures() -> list[Path]:
    return sorted(FIXTURES.glob("*/*.yaml"))


def _profile(path: Path) -> str:
    first = path.read_text().splitlines()[0]
    if first.startswith("# profile:"):
        return str(path.parent / first.split(":", 1)[1].strip())
    return "production"


@pytest.mark.parametrize("path", _fixtures(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture(path: Path):
    check_id = path.parent.name
    assert check_id in catalogue(), f"fixture for unknown check {check_id}"
    analysis = Analysis.of(path, profile=_profile(path))
    assert not analysis.errors, analysis.errors
    rows = analysis.findings[analysis.findings["check_id"] == check_id]
    statuses = set(rows["status"])
    kind = path.name.split("-", 1)[0]
    assert kind in ("pass", "fail", "skip"), "fixtures are named pass-, fail- or skip-*.yaml"
    if kind == "fail":
        assert "fail" in statuses, rows.to_string()
    elif kind == "pass":
        assert "pass" in statuses and "fail" not in statuses, rows.to_string()
    else:
        assert statuses <= {"skip"}, rows.to_string()


def test_every_check_has_pass_and_fail_fixtures():
    for check_id in catalogue():
        names = [p.name for p in (FIXTURES / check_id).glob("*.yaml")]
        assert any(n.startswith("pass-") for n in names), f"{check_id}: no pass fixture"
        assert any(n.startswith("fail-") for n in names), f"{check_id}: no fail fixture"


def test_registry_ids_and_docs():
    for check_id, c in catalogue().items():
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", check_id), f"{check_id}: not kebab-case"
        assert c.title and c.remediation and c.description, f"{check_id}: missing docs"


def test_a_duplicate_id_is_refused():
    existing = next(iter(catalogue().values()))
    with pytest.raises(ValueError, match="duplicate check id"):
        check(id=existing.id, area=existing.area, severity=existing.severity, title="t",
              remediation="r")(existing.fn)
