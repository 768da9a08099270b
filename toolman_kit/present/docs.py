"""The check catalogue as documentation: `python -m toolman_kit.present.docs > docs/checks.md`."""

from __future__ import annotations

import pandas as pd

from toolman_kit.judge.registry import catalogue


def catalogue_frame() -> pd.DataFrame:
    return pd.DataFrame([{"id": c.id, "area": c.area.value, "severity": c.severity.value,
                          "scope": c.scope.value, "kinds": ", ".join(c.kinds), "title": c.title,
                          "description": c.description, "remediation": c.remediation,
                          "differs": c.differs}
                         for c in catalogue().values()])


def catalogue_markdown() -> str:
    lines = ["# Check catalogue", "",
             "Generated from the registry by `make docs` (`python -m toolman_kit.present.docs`); "
             "do not edit by hand. IDs are public: use them in `toolman-kit.io/ignore` "
             "annotations and profile `exemptions`.", ""]
    df = catalogue_frame()
    for area, checks in df.groupby("area", sort=False):
        lines += [f"## {area.capitalize()}", "", "| ID | Severity | Applies to | Title |",
                  "|---|---|---|---|"]
        lines += [f"| [`{r.id}`](#{r.id}) | {r.severity} | {r.scope}: {r.kinds} | {r.title} |"
                  for r in checks.itertuples()]
        lines.append("")
        for r in checks.itertuples():
            remediation = r.remediation.replace("{min_replicas}", "the profile's minimum")
            lines += [f"### {r.id}", "", r.description, "", f"**Fix:** {remediation}", ""]
            if r.differs:
                lines += [f"**Differs from peers:** {r.differs}", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(catalogue_markdown(), end="")
