"""The check modules, imported explicitly (not discovered) so the catalogue is plain to read."""

from . import (  # noqa: F401 - importing registers the checks
    availability,
    images,
    monitoring,
    network,
    resources,
    security,
    validity,
    volumes,
)
