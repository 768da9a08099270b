"""Documentation generated from the code (`make docs`):

    python -m toolman_kit.present.docs > docs/checks.md    the check catalogue
    python -m toolman_kit.present.docs --api docs/api      the API reference (pdoc, docstrings)

and what `toolman-kit checks [ID]` prints. Remediations show the values of a profile (the
built-in `production` unless another is given), never a `{placeholder}`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from toolman_kit.judge.peer_exemptions import mapping as peer_mapping
from toolman_kit.judge.profiles import Profile, load_profile
from toolman_kit.judge.registry import Check, catalogue

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "checks"  # in a checkout
API_MODULES = ("toolman_kit", "toolman_kit.judge.findings")  # the public API, its vocabulary


def record(c: Check, profile: Profile) -> dict[str, Any]:
    """A check as plain data (what `checks --format json` prints)."""
    return {"id": c.id, "area": c.area.value, "severity": profile.severity(c.id, c.severity.value),
            "scope": c.scope.value, "kinds": ", ".join(c.kinds), "title": c.title,
            "description": c.description, "remediation": c.fix(profile), "differs": c.differs,
            **({"source": c.source} if c.source else {})}


def catalogue_records(profile: Profile | None = None) -> list[dict[str, Any]]:
    profile = profile or load_profile()
    return [record(c, profile) for c in catalogue().values()]


def fixtures(check_id: str) -> list[Path]:
    """The check's pass-*, fail-* and skip-* example manifests (in a source checkout only)."""
    return sorted((FIXTURES / check_id).glob("*.yaml"))


def check_text(c: Check, profile: Profile) -> str:
    """One check in full, for a terminal: what, why, the fix, where peers differ, examples."""
    r = record(c, profile)
    examples = fixtures(c.id)
    lines = [f"{c.id}  ({r['severity']}, {r['area']}; {r['scope']} check of {r['kinds']})", "",
             f"What:  {c.title}", f"Why:   {c.description or '—'}", f"Fix:   {r['remediation']}",
             f"Peers: {c.differs or '(no difference recorded)'}"]
    if c.source:
        lines.append(f"From:  {c.source} (the profile's rules)")
    if examples:
        lines += ["", "Examples (fixtures):"] + [f"  {_shown(p)}" for p in examples]
    return "\n".join(lines) + "\n"


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def catalogue_markdown() -> str:
    profile = load_profile()
    lines = ["# Check catalogue", "",
             "Generated from the registry by `make docs` (`python -m toolman_kit.present.docs`); "
             "do not edit by hand. IDs are public: use them in `toolman-kit.io/ignore` "
             "annotations and profile `exemptions`. Fixes quote the built-in `production` "
             "profile's values.", ""]
    by_area: dict[str, list[dict[str, Any]]] = {}
    for r in catalogue_records(profile):
        by_area.setdefault(r["area"], []).append(r)
    for area, checks in by_area.items():
        lines += [f"## {area.capitalize()}", "", "| ID | Severity | Applies to | Title |",
                  "|---|---|---|---|"]
        lines += [f"| [`{r['id']}`](#{r['id']}) | {r['severity']} | {r['scope']}: {r['kinds']} "
                  f"| {r['title']} |" for r in checks]
        lines.append("")
        for r in checks:
            lines += [f"### {r['id']}", "", r["description"], "", f"**Fix:** {r['remediation']}",
                      ""]
            if r["differs"]:
                lines += [f"**Differs from peers:** {r['differs']}", ""]
    return "\n".join(lines + peer_exemptions_markdown())


def peer_exemptions_markdown() -> list[str]:
    """The peers' exemption annotations that `--peer-exemptions` honours, and for which checks."""
    lines = ["## Peers' exemption annotations", "",
             "With `--peer-exemptions` (or `peer_exemptions: true` in the profile) these peers' "
             "annotations exempt the checks that mean the same; the row names the annotation in "
             "exempt_reason. Checks a peer judges otherwise are not mapped. "
             "`allow_annotation_exemptions: false` refuses them as it refuses ours.", ""]
    for peer, data in peer_mapping().items():
        lines += [f"### {peer}", "", f"Annotations: `{data['annotations']}`", "",
                  "| Peer check | Exempts |", "|---|---|"]
        lines += [f"| `{peer_id}` | {', '.join(f'[`{c}`](#{c})' for c in ours)} |"
                  for peer_id, ours in data["checks"].items()]
        lines.append("")
    return lines


def api_pages(out: Path) -> None:
    """The API reference, one HTML page per module of API_MODULES, from the docstrings (no
    source, no search index: the pages change only when the documentation does)."""
    import pdoc
    import pdoc.render

    pdoc.render.configure(docformat="google", show_source=False, search=False)
    pdoc.pdoc(*API_MODULES, output_directory=out)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--api"]:
        api_pages(Path(sys.argv[2]))
    else:
        print(catalogue_markdown(), end="")
