"""The check catalogue: `@check` registers a plain function with its public metadata.

A check looks at one thing (an object, a workload or one container of it) and yields
`Violation`s or a `Skip`; yielding nothing means it passed. The engine, not the check, turns that
into findings with the object, its file and line, and the exemption state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from toolman_kit.read.model import POD_TEMPLATE

if TYPE_CHECKING:
    from toolman_kit.judge.profiles import Profile
    from toolman_kit.read.manifests import Resource


class Area(StrEnum):
    SECURITY = "security"
    RESOURCES = "resources"
    AVAILABILITY = "availability"
    VOLUMES = "volumes"
    NETWORK = "network"
    IMAGES = "images"
    MONITORING = "monitoring"
    VALIDITY = "validity"


class Severity(StrEnum):
    ERROR = "error"  # production blocker
    WARNING = "warning"  # should fix
    INFO = "info"  # worth knowing


class Scope(StrEnum):
    OBJECT = "object"  # fn(resource, index, profile), for objects of `kinds` ("*": every kind)
    WORKLOAD = "workload"  # fn(workload, index, profile)
    CONTAINER = "container"  # fn(container, workload, index, profile), for containers of `roles`


WORKLOAD_KINDS = tuple(POD_TEMPLATE)
# The `kinds` entry of an object check for objects of custom kinds (a group with a dot that is
# not Kubernetes' own) that are not workloads: what no other check looks at.
CUSTOM_KINDS = "<custom>"


def is_custom(resource: Resource) -> bool:
    """Whether the object's API group is not one of Kubernetes' own (apps, batch, *.k8s.io)."""
    group = resource.api_version.rpartition("/")[0]
    return "." in group and not group.endswith(".k8s.io")
ALL_ROLES = ("init", "main", "sidecar")


@dataclass(frozen=True, slots=True)
class Violation:
    message: str
    path: str | None = None  # where in the object, e.g. spec.replicas
    container: str | None = None  # for workload checks that blame one container
    remediation: str | None = None  # overrides the check's own, when it can say more
    line: int | None = None  # when the check knows the line better than `path` can say
    severity: Severity | None = None  # this problem's, when it differs from the check's


@dataclass(frozen=True, slots=True)
class Skip:
    reason: str


Outcome = Iterator[Violation | Skip]


@dataclass(frozen=True)
class Check:
    id: str
    area: Area
    severity: Severity
    title: str
    remediation: str
    scope: Scope
    kinds: tuple[str, ...]
    roles: tuple[str, ...]
    fn: Callable[..., Outcome]
    differs: str = ""  # where we deliberately judge otherwise than a peer tool, and why
    source: str = ""  # where a check not built in comes from: a policy's file:line, a profile
    checklist: str = ""  # the checklist row a profile's rule counts in (its own or an existing)

    @property
    def description(self) -> str:
        return " ".join((self.fn.__doc__ or "").split())

    def fix(self, profile: Profile) -> str:
        """The remediation with the profile's values filled in ("at least 3 replicas")."""
        return self.remediation.format(**profile.params)


CATALOGUE: dict[str, Check] = {}


def check(*, id: str, area: Area, severity: Severity, title: str, remediation: str,
          scope: Scope = Scope.WORKLOAD, kinds: tuple[str, ...] = WORKLOAD_KINDS,
          roles: tuple[str, ...] = ALL_ROLES, differs: str = "") -> Callable:
    """Register a check under its public id (ids are stable: suppressions and SARIF use them)."""

    def register(fn: Callable[..., Outcome]) -> Callable[..., Outcome]:
        if id in CATALOGUE:
            raise ValueError(f"duplicate check id {id!r}")
        CATALOGUE[id] = Check(id, area, severity, title, remediation, scope, tuple(kinds),
                              tuple(roles), fn, differs)
        return fn

    return register


def catalogue() -> dict[str, Check]:
    """Every registered check, by id (importing the checks package registers them)."""
    from toolman_kit.judge import checks  # noqa: F401 - registers the checks on import

    return CATALOGUE
