from pathlib import Path

from toolman_kit.present.docs import catalogue_markdown

DOC = Path(__file__).parents[1] / "docs" / "checks.md"


def test_checks_md_is_generated_from_the_registry():
    assert DOC.read_text() == catalogue_markdown(), "run `make docs` and commit docs/checks.md"

