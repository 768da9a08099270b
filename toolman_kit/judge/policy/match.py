"""Which objects an admission policy sees: matchConstraints and a binding's matchResources, as
the API server matches a CREATE (resourceRules, excludeResourceRules, namespaceSelector,
objectSelector, matchPolicy).

Rules name resources, the plural lowercase names of kinds: the built-in kinds' come from
resources.yaml, the CRDs in the manifests give theirs, any other kind is guessed (lowercase + "s")
and `Target.guessed` says so. Label selectors are matched by read/index.py, as everywhere.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from typing import Any

import yaml

from toolman_kit.read.index import selector_matches
from toolman_kit.read.model import as_dict, as_list

# matchPolicy Equivalent: a rule naming one of these (group, version) pairs for the resource also
# matches the others (the API server converts the object to the version the rule names; the kit
# evaluates the object as written).
EQUIVALENT: dict[str, tuple[tuple[str, str], ...]] = {
    **dict.fromkeys(("deployments", "daemonsets", "replicasets"), (
        ("apps", "v1"), ("apps", "v1beta2"), ("apps", "v1beta1"), ("extensions", "v1beta1"))),
    **dict.fromkeys(("ingresses", "networkpolicies"), (
        ("networking.k8s.io", "v1"), ("extensions", "v1beta1"))),
    "statefulsets": (("apps", "v1"), ("apps", "v1beta2"), ("apps", "v1beta1")),
    "cronjobs": (("batch", "v1"), ("batch", "v1beta1")),
    "poddisruptionbudgets": (("policy", "v1"), ("policy", "v1beta1")),
    "horizontalpodautoscalers": (("autoscaling", "v2"), ("autoscaling", "v1"),
                                 ("autoscaling", "v2beta2"), ("autoscaling", "v2beta1")),
}


@cache
def plurals() -> dict[str, str]:
    """Built-in kind → resource (resources.yaml)."""
    return yaml.safe_load(resources.files(__package__).joinpath("resources.yaml").read_text())


@dataclass(frozen=True)
class Target:
    """An object as admission sees its CREATE request."""

    obj: dict[str, Any]
    group: str
    version: str
    kind: str
    resource: str
    namespace: str  # "" for cluster-scoped objects
    name: str
    namespace_object: dict[str, Any] | None  # None for cluster-scoped objects
    guessed: bool = False  # the resource name is a guess (an unknown kind)

    @cached_property  # every policy of the run asks: once per object
    def labels(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in as_dict(as_dict(self.obj.get("metadata"))
                                                   .get("labels")).items()}

    @cached_property
    def namespace_labels(self) -> dict[str, str]:
        meta = as_dict(as_dict(self.namespace_object).get("metadata"))
        return {str(k): str(v) for k, v in as_dict(meta.get("labels")).items()}

    def context(self, params: Any) -> dict[str, Any]:
        """The variables every expression on this request sees (`variables` aside)."""
        return {"object": self.obj, "oldObject": None, "params": params,
                "namespaceObject": self.namespace_object, "request": self.request()}

    def bindings(self, params: None) -> Any:
        """context(None) as the CEL engine takes it (cel.Bindings), made once per object for
        every policy without params and variables."""
        if "_bindings" not in self.__dict__:
            from toolman_kit.judge.policy.cel import Bindings  # match.py needs no engine

            object.__setattr__(self, "_bindings", Bindings(self.context(params)))
        return self.__dict__["_bindings"]

    def request(self) -> dict[str, Any]:
        """The admission request's attributes a CEL expression sees as `request` (who sends it
        is unknown offline: userInfo is empty, groups an empty list)."""
        kind = {"group": self.group, "version": self.version, "kind": self.kind}
        resource = {"group": self.group, "version": self.version, "resource": self.resource}
        return {"uid": "", "kind": kind, "resource": resource, "subResource": "",
                "requestKind": kind, "requestResource": resource, "requestSubResource": "",
                "name": self.name, "namespace": self.namespace, "operation": "CREATE",
                "userInfo": {"username": "", "uid": "", "groups": [], "extra": {}},
                "dryRun": False,
                "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}}


def resource_of(kind: str, crds: dict[str, str]) -> tuple[str, bool]:
    """(resource, guessed): the kind's plural as rules name it."""
    if kind in crds:
        return crds[kind], False
    known = plurals().get(kind)
    return (known, False) if known else (kind.lower() + "s", True)


def matches(match: dict[str, Any], t: Target, *, binding: bool = False) -> bool:
    """Whether a matchConstraints (a binding's matchResources: `binding`, where no
    resourceRules means every resource the policy matches) selects the object's CREATE."""
    match = as_dict(match)
    selector = as_dict(match.get("namespaceSelector"))  # {} selects all: not worth a look
    if selector and not _namespace_selected(selector, t):
        return False
    selector = as_dict(match.get("objectSelector"))
    if selector and not selector_matches(selector, t.labels):
        return False
    if "kyverno" in match:  # a Kyverno rule's match block (kinds, names, namespaces)
        return _kyverno(as_dict(match["kyverno"]), t)
    exact = match.get("matchPolicy") == "Exact"
    rules = as_list(match.get("resourceRules"))
    if (rules or not binding) and not any(_rule(as_dict(r), t, exact) for r in rules):
        return False
    return not any(_rule(as_dict(r), t, exact) for r in as_list(match.get("excludeResourceRules")))


def _namespace_selected(selector: dict[str, Any], t: Target) -> bool:
    # The API server: a Namespace is matched on its own labels; another cluster-scoped object
    # is never skipped by a namespaceSelector.
    if t.kind == "Namespace" and t.group == "":
        return selector_matches(selector, t.labels)
    if t.namespace_object is None:
        return True
    return selector_matches(selector, t.namespace_labels)


def _rule(rule: dict[str, Any], t: Target, exact: bool) -> bool:
    operations = as_list(rule.get("operations"))
    if "CREATE" not in operations and "*" not in operations:
        return False
    scope = rule.get("scope", "*")
    if scope == "Cluster" and t.namespace or scope == "Namespaced" and not t.namespace:
        return False
    names = as_list(rule.get("resourceNames"))
    if names and t.name not in names:
        return False
    if not any(_resource(str(r), t.resource) for r in as_list(rule.get("resources"))):
        return False
    groups, versions = as_list(rule.get("apiGroups")), as_list(rule.get("apiVersions"))
    pairs = ((t.group, t.version),) if exact else \
        EQUIVALENT.get(t.resource, ((t.group, t.version),))
    if (t.group, t.version) not in pairs:  # a version the table does not know: itself only
        pairs = ((t.group, t.version),)
    return any(("*" in groups or g in groups) and ("*" in versions or v in versions)
               for g, v in pairs)


def _resource(pattern: str, resource: str) -> bool:
    # "*" and "*/*" match every resource; "pods/*" and "*/scale" only subresources, which a
    # CREATE of the object itself is not.
    name, _, sub = pattern.partition("/")
    if sub:
        return name == "*" and sub == "*"
    return name in ("*", resource)


def _kyverno(block: dict[str, Any], t: Target) -> bool:
    """Kyverno's `resources`: kinds ("Pod", "apps/v1/Deployment", "*"), names and namespaces
    (wildcards), operations (absent: every one)."""
    operations = as_list(block.get("operations"))
    if operations and "CREATE" not in operations:
        return False
    for key, value in (("names", t.name), ("namespaces", t.namespace)):
        patterns = as_list(block.get(key))
        if patterns and not any(fnmatch.fnmatchcase(value, str(p)) for p in patterns):
            return False
    return any(_kind(str(k), t) for k in as_list(block.get("kinds")))


def _kind(pattern: str, t: Target) -> bool:
    *group_version, kind = pattern.split("/")
    if not fnmatch.fnmatchcase(t.kind, kind):
        return False
    if len(group_version) == 1:  # v1/Pod, or a group alone
        return group_version[0] in ("*", t.version, t.group)
    if len(group_version) == 2:
        return all(p in ("*", v) for p, v in zip(group_version, (t.group, t.version), strict=True))
    return True
