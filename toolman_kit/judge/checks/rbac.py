"""RBAC: what the Roles and ClusterRoles of the chart let its ServiceAccounts do.

A finding names the ServiceAccounts that bindings in the manifests give the role to, and the
workloads that run as them: "can read Secrets" means little until one knows who can.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

from toolman_kit.judge.profiles import Profile
from toolman_kit.judge.registry import Area, Outcome, Scope, Severity, Skip, Violation, check
from toolman_kit.read.index import Index, binding_accounts
from toolman_kit.read.manifests import Resource
from toolman_kit.read.model import as_dict, as_list

ROLES = ("Role", "ClusterRole")
BINDINGS = ("RoleBinding", "ClusterRoleBinding")
WORKLOAD_RESOURCES = ("pods", "deployments", "statefulsets", "daemonsets", "replicasets",
                      "replicationcontrollers", "jobs", "cronjobs")
# (verbs, resources, what it allows): rights that let a holder become someone more powerful.
ESCALATION = (
    ({"bind", "escalate"}, {"roles", "clusterroles"}, "grant itself any role"),
    ({"impersonate"}, {"users", "groups", "serviceaccounts", "userextras"},
     "act as other users and ServiceAccounts"),
    ({"create"}, set(WORKLOAD_RESOURCES), "run pods as any ServiceAccount of the namespace "
     "(and read its token)"),
    ({"create"}, {"serviceaccounts/token"}, "mint tokens for any ServiceAccount"),
)
EXEC = ({"create", "get"}, {"pods/exec", "pods/attach", "nodes/proxy"})
READ = {"get", "list", "watch"}
CORE, APPS, BATCH, RBAC = "", "apps", "batch", "rbac.authorization.k8s.io"
GROUP = {"deployments": APPS, "statefulsets": APPS, "daemonsets": APPS, "replicasets": APPS,
         "jobs": BATCH, "cronjobs": BATCH, "roles": RBAC, "clusterroles": RBAC,
         "userextras": "authentication.k8s.io"}  # the others here are core ("")
# Name prefixes of RBAC objects the cluster's owner creates and reconciles: `system:` is reserved
# for Kubernetes itself; EKS creates its `eks:` roles and GKE its `gce:` ones, and both put back
# any change on the next reconcile, so a finding about them cannot be acted on.
PLATFORM_PREFIXES = {"system:": "Kubernetes reserves the system: prefix for its own objects",
                     "eks:": "Amazon EKS creates and reconciles eks: objects",
                     "gce:": "GKE creates and reconciles gce: objects"}
BOOTSTRAP_LABEL = "kubernetes.io/bootstrapping"
ADDON_LABEL = "addonmanager.kubernetes.io/mode"


def platform_owner(obj: Resource) -> str | None:
    """Why the object belongs to Kubernetes or its platform, not to whoever audits it, if it
    does. Only objects that did not come from a chart: a chart's role named `system:…` is the
    chart's, and judged like any other."""
    if obj.source.template is not None:
        return None
    labels = obj.labels
    if labels.get(BOOTSTRAP_LABEL) == "rbac-defaults":
        return f"labelled {BOOTSTRAP_LABEL}=rbac-defaults: one of Kubernetes' default RBAC " \
            "objects, which the API server recreates at start"
    if ADDON_LABEL in labels:
        return f"labelled {ADDON_LABEL}={labels[ADDON_LABEL]}: the addon manager owns it " \
            "(and reverts changes to Reconcile objects)"
    prefix = next((p for p in PLATFORM_PREFIXES if obj.name.startswith(p)), None)
    return f"{PLATFORM_PREFIXES[prefix]}: not the workload's to change" if prefix else None


def _unless_platform_owned(fn: Callable[..., Outcome]) -> Callable[..., Outcome]:
    """The check, or one skip row saying who owns the object instead."""

    @functools.wraps(fn)
    def judged(obj: Resource, idx: Index, profile: Profile) -> Outcome:
        reason = platform_owner(obj)
        if reason:
            yield Skip(reason)
        else:
            yield from fn(obj, idx, profile)

    return judged


def _rules(role: Resource) -> Iterator[tuple[str, dict[str, Any]]]:
    for i, rule in enumerate(as_list(role.obj.get("rules"))):
        if isinstance(rule, dict):
            yield f"rules[{i}]", rule


def _strings(rule: dict[str, Any], key: str) -> set[str]:
    return {str(x) for x in as_list(rule.get(key))}


def _matches(rule: dict[str, Any], verbs: set[str], resources: set[str]) -> list[str]:
    """The `resources` the rule grants any of `verbs` on, in their API groups ("*" grants all),
    unless resourceNames limits it to named objects."""
    if rule.get("resourceNames") or not (_strings(rule, "verbs") & (verbs | {"*"})):
        return []
    granted, groups = _strings(rule, "resources"), _strings(rule, "apiGroups")
    return sorted(r for r in resources if ("*" in granted or r in granted)
                  and ("*" in groups or GROUP.get(r, CORE) in groups))


def holders(role: Resource, idx: Index) -> str:
    """Who holds the role through bindings in the manifests, and where."""
    key = (role.kind, role.namespace if role.kind == "Role" else "", role.name)
    parts = []
    for binding in idx.role_bindings.get(key, ()):
        scope = "cluster-wide" if binding.kind == "ClusterRoleBinding" else \
            f"in namespace {binding.namespace}"
        for namespace, account in binding_accounts(binding, idx.manifests.namespace):
            runs = ", ".join(idx.label(w) for w in idx.runs_as(namespace, account))
            parts.append(f"ServiceAccount {namespace}/{account}"
                         + (f" ({runs})" if runs else "") + f" {scope}")
    return "held by " + "; ".join(dict.fromkeys(parts)) if parts else \
        "bound to no ServiceAccount in the manifests"


def _violation(role: Resource, idx: Index, path: str, what: str) -> Violation:
    return Violation(f"{what}; {holders(role, idx)}", path=path)


@check(id="rbac-cluster-admin", area=Area.SECURITY, severity=Severity.ERROR, scope=Scope.OBJECT,
       kinds=BINDINGS, title="Binding grants cluster-admin",
       remediation="Bind a role with only the verbs and resources the workload uses.")
@_unless_platform_owned
def rbac_cluster_admin(binding: Resource, idx: Index, profile: Profile) -> Outcome:
    """cluster-admin can do anything to every object of the cluster: whoever steals the token of
    a ServiceAccount bound to it owns the cluster."""
    ref = as_dict(binding.obj.get("roleRef"))
    if ref.get("kind") == "ClusterRole" and ref.get("name") == "cluster-admin":
        who = []
        for namespace, account in binding_accounts(binding, idx.manifests.namespace):
            runs = ", ".join(idx.label(w) for w in idx.runs_as(namespace, account))
            who.append(f"ServiceAccount {namespace}/{account}" + (f" ({runs})" if runs else ""))
        others = [f"{as_dict(s).get('kind')} {as_dict(s).get('name')}"
                  for s in as_list(binding.obj.get("subjects"))
                  if as_dict(s).get("kind") != "ServiceAccount"]
        yield Violation(f"grants cluster-admin to {', '.join(who + others) or 'no subject'}",
                        path="roleRef.name")


@check(id="rbac-wildcard", area=Area.SECURITY, severity=Severity.WARNING, scope=Scope.OBJECT,
       kinds=ROLES, title="Role grants `*` verbs, resources or API groups",
       remediation="List the verbs, resources and API groups the workload uses.")
@_unless_platform_owned
def rbac_wildcard(role: Resource, idx: Index, profile: Profile) -> Outcome:
    """A `*` grants everything that exists and everything added later (new resources, CRDs,
    subresources such as pods/exec): the role's power grows with the cluster, unreviewed."""
    for path, rule in _rules(role):
        starred = [key for key in ("verbs", "resources", "apiGroups") if "*" in _strings(rule, key)]
        if starred:
            yield _violation(role, idx, path, f"{path} has * in {', '.join(starred)}")


@check(id="rbac-secrets-read", area=Area.SECURITY, severity=Severity.WARNING,
       scope=Scope.OBJECT, kinds=ROLES, title="Role can read Secrets",
       remediation="Drop get/list/watch on secrets, or limit it with resourceNames to the "
                   "Secrets the workload needs.")
@_unless_platform_owned
def rbac_secrets_read(role: Resource, idx: Index, profile: Profile) -> Outcome:
    """get, list or watch on secrets reads every Secret in scope (every namespace, for a
    ClusterRole bound cluster-wide): other services' passwords and every ServiceAccount token
    stored as a Secret. resourceNames limits a rule to the named Secrets."""
    for path, rule in _rules(role):
        if _matches(rule, READ, {"secrets"}):
            verbs = sorted(_strings(rule, "verbs") & (READ | {"*"}))
            yield _violation(role, idx, path, f"{path} can {'/'.join(verbs)} every Secret")


@check(id="rbac-privilege-escalation", area=Area.SECURITY, severity=Severity.WARNING,
       scope=Scope.OBJECT, kinds=ROLES, title="Role lets its holder gain more rights",
       remediation="Remove bind, escalate and impersonate, and create on pods, workloads and "
                   "serviceaccounts/token, unless the workload is a controller that needs it.")
@_unless_platform_owned
def rbac_privilege_escalation(role: Resource, idx: Index, profile: Profile) -> Outcome:
    """bind and escalate grant any role; impersonate acts as anyone; creating pods (directly or
    through a Deployment, Job …) runs code as any ServiceAccount of the namespace, mounting its
    token; creating serviceaccounts/token mints one. Each is a path to more rights than the
    role lists."""
    for path, rule in _rules(role):
        for verbs, resources, allows in ESCALATION:
            granted = _matches(rule, verbs, resources)
            if granted:
                how = "/".join(sorted(verbs & _strings(rule, "verbs"))) or "*"
                yield _violation(role, idx, path, f"{path} allows {how} on {', '.join(granted)}: "
                                                  f"it can {allows}")


@check(id="rbac-pod-exec", area=Area.SECURITY, severity=Severity.WARNING, scope=Scope.OBJECT,
       kinds=ROLES, title="Role can run commands in pods or reach nodes' kubelets",
       remediation="Remove pods/exec, pods/attach and nodes/proxy from the role.")
@_unless_platform_owned
def rbac_pod_exec(role: Resource, idx: Index, profile: Profile) -> Outcome:
    """pods/exec and pods/attach run commands inside any pod in scope, with its ServiceAccount
    token and mounted Secrets; nodes/proxy talks to the kubelet API of any node, which can do
    the same for every pod on it. `get` counts: exec runs over a websocket that starts as a
    GET, which older API servers authorized as `get` on pods/exec and which the kubelet
    authorizes as `get` on nodes/proxy."""
    verbs, resources = EXEC
    for path, rule in _rules(role):
        granted = _matches(rule, verbs, resources)
        if granted:
            how = "/".join(sorted(verbs & _strings(rule, "verbs"))) or "*"
            yield _violation(role, idx, path, f"{path} allows {how} on {', '.join(granted)}")
