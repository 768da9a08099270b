"""The check modules, imported explicitly (not discovered) so the catalogue is plain to read."""

from toolman_kit.judge.checks import (  # noqa: F401 - importing registers the checks
    apis,
    availability,
    credentials,
    exposure,
    images,
    kinds,
    monitoring,
    network,
    pod_admission,
    probes,
    rbac,
    references,
    resources,
    scaling,
    security,
    validity,
    volumes,
)
