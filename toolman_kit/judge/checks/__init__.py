"""The check modules, imported explicitly (not discovered) so the catalogue is plain to read."""

from toolman_kit.judge.checks import (  # noqa: F401 - importing registers the checks
    admission,
    apis,
    availability,
    credentials,
    exposure,
    images,
    kinds,
    monitoring,
    network,
    probes,
    rbac,
    references,
    resources,
    scaling,
    security,
    validity,
    volumes,
)
