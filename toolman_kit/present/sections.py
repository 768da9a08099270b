"""The report's sections: one notebook each, with the finding areas and checklist rows it shows.

Adding a section = one entry here, its notebook in notebooks/, and its place in report.ORDER
(05_values, in reports on a chart only, runs last: it waits for the comparison).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import NamedTuple

SHIPPED = ("notebooks", "examples/toolman")  # in the wheel: setup.py


def shipped(name: str) -> Path:
    """`name` (one of SHIPPED) as installed: inside the package, where a wheel carries it, else
    at the root of the source tree (a checkout, an editable install), where the repository
    keeps it."""
    packaged = Path(str(resources.files("toolman_kit"))) / name
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / name


NOTEBOOKS = shipped("notebooks")


class Section(NamedTuple):
    notebook: str
    title: str
    areas: tuple[str, ...] = ()  # finding areas whose failures this page lists in full
    components: tuple[str, ...] = ()  # checklist rows of its overview matrix (() = every row)
    chart_only: bool = False  # in reports on a chart only

    @property
    def page(self) -> str:
        return "index.html" if self.notebook == SECTIONS[0].notebook else f"{self.notebook}.html"


SECTIONS = (  # the summary is published as index.html
    Section("00_summary", "Summary", ("validity",)),
    Section("01_container_architecture", "Container Architecture", ("resources", "images"),
            ("Resource Requests", "Resource Limits", "Image Tag", "Image Pull Policy",
             "Privileged Containers")),
    Section("02_security", "Security", ("security", "network"),
            ("Pod Security Level", "Privileged Containers", "Network Policy")),
    Section("03_high_availability", "High Availability", ("availability", "monitoring"),
            ("Replicas", "Health Probes", "Pod Anti-Affinity", "PDB", "Update Strategy",
             "Topology Spread", "Monitoring", "Storage vs Replicas")),
    Section("04_volumes", "Volumes", ("volumes",), ("Volume Sources", "Storage vs Replicas")),
    Section("05_values", "Chart Values", chart_only=True),
)
FINDINGS_ANCHOR = "findings"  # id of the full, filterable table of failures on each page


def section(notebook: str) -> Section:
    return next(s for s in SECTIONS if s.notebook == notebook)


def findings_link(area: str) -> str:
    """Where the full table of an area's failures is: `page#findings`."""
    page = next((s.page for s in SECTIONS if area in s.areas), SECTIONS[0].page)
    return f"{page}#{FINDINGS_ANCHOR}"
