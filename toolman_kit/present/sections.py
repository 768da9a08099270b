"""The report's sections, in order: (notebook, title); the summary is published as index.html.

A module of its own so that the command line can name them without importing the notebook
helpers (and pandas with them).
"""

SECTIONS = (
    ("00_summary", "Summary"),
    ("01_container_architecture", "Container Architecture"),
    ("02_security", "Security"),
    ("03_high_availability", "High Availability"),
    ("04_volumes", "Volumes"),
)
