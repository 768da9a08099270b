"""Each policy as a Check (`policy/<metadata.name>`), so exemptions, profiles, --fail-on, every
output format, SARIF rules and `toolman-kit checks` treat it as a built-in check.

A policy's check looks at every object: no row where no part of the policy (under any of its
bindings) matches the object, else a row with what admission would do — and, on a workload, what
it would do to the pods the workload's controller creates. A VAP with bindings is evaluated once
per binding that matches (its matchResources, params and validationActions), all on the one row
set of the policy; without a binding, as if bound to everything with [Deny], and it says so.
"""

from __future__ import annotations

from typing import Any

from toolman_kit.judge.policy.admission import Binding, Policy, admit
from toolman_kit.judge.policy.load import VAP, PolicySet, load_policies
from toolman_kit.judge.policy.match import Target, matches, resource_of
from toolman_kit.judge.policy.pods import controller_pod
from toolman_kit.judge.policy.rules import rule_checks
from toolman_kit.judge.profiles import Profile
from toolman_kit.judge.registry import Area, Check, Scope, Severity, Skip, Violation
from toolman_kit.read.index import Index, selector_matches
from toolman_kit.read.manifests import RELEASE_NAMESPACE, LoadError, Resource
from toolman_kit.read.model import Workload, as_dict
from toolman_kit.read.namespaces import namespace_object

SHIPPED = "policy shipped in the manifests"
UNBOUND = "no binding: evaluated as if bound to everything it matches with [Deny]"
REMEDIATION = ("Change the object (or its pod template) so that the policy admits it, or exempt "
               "it with a reason (toolman-kit.io/ignore: {id}, or the profile's exemptions).")
_ORDER = [Severity.ERROR, Severity.WARNING, Severity.INFO]


def policy_checks(index: Index, profile: Profile,
                  shipped: list[Resource]) -> tuple[dict[str, Check], list[LoadError]]:
    """The checks of the profile's policy files, of the policies `shipped` in the manifests (with
    the errors of those that could not be loaded) and of the profile's own rules (rules.py)."""
    found = load_policies(profile.policies, shipped, profile.kube_version)
    context = _Context(index, profile, found)
    checks = {}
    for name, parts in found.policies.items():
        check_id = f"policy/{name}"
        evaluate = _Evaluate(context, name, parts)
        first = parts[0]
        bindings = [b for b in found.bindings if b.policy == name]
        actions = {a for b in bindings for a in b.actions} if first.kind == VAP and bindings \
            else {a for p in parts for a in p.actions}
        severities = [s for a, s in (("Deny", Severity.ERROR), ("Warn", Severity.WARNING),
                                     ("Audit", Severity.INFO)) if a in actions] or [Severity.ERROR]
        where = f"{first.file}:{first.line}" if first.line else first.file
        checks[check_id] = Check(
            check_id, Area.SECURITY, min(severities, key=_ORDER.index),
            f"Rejected by {first.kind} {name} ({where})", REMEDIATION.format(id=check_id),
            Scope.OBJECT, ("*",), (), evaluate,
            source=f"{where} ({SHIPPED})" if first.shipped else where)
        evaluate.__doc__ = (f"The {first.kind} {name} from {where}"
                            f"{f' ({SHIPPED})' if first.shipped else ''}, evaluated as admission "
                            "would on every object it matches and on the pods their controllers "
                            "will create.")
    return {**checks, **rule_checks(profile, context.of)}, found.errors


class _Context:
    """What every policy of a run shares: CRDs' resource names and scopes, namespaces, params."""

    def __init__(self, index: Index, profile: Profile, found: PolicySet):
        self.index, self.profile, self.found = index, profile, found
        self.crds: dict[str, str] = {}
        self.cluster_kinds: set[str] = set()
        for crd in index.of_kind("CustomResourceDefinition"):
            names = as_dict(crd.spec.get("names"))
            if names.get("kind") and names.get("plural"):
                self.crds[str(names["kind"])] = str(names["plural"])
                if crd.spec.get("scope") == "Cluster":
                    self.cluster_kinds.add(str(names["kind"]))
        self._namespaces: dict[str, dict[str, Any]] = {}
        self._targets: dict[int, Target] = {}
        self._pods: dict[int, Target | None] = {}
        self._resources: dict[str, str] = {}

    def namespace(self, name: str) -> dict[str, Any] | None:
        if not name:
            return None
        if name not in self._namespaces:
            self._namespaces[name] = namespace_object(self.index, name,
                                                      self.profile.namespace_labels)
        return self._namespaces[name]

    def target(self, obj: dict[str, Any], namespace: str) -> Target:
        kind = str(obj.get("kind", ""))
        group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
        resource, guessed = resource_of(kind, self.crds)
        namespace = "" if kind in self.cluster_kinds else namespace
        meta = as_dict(obj.get("metadata"))
        if namespace and namespace != RELEASE_NAMESPACE and not meta.get("namespace"):
            meta = {**meta, "namespace": namespace}  # the API server sets it from the request
            obj = {**obj, "metadata": meta}
        return Target(obj, group, version, kind, resource, namespace,
                      str(meta.get("name") or meta.get("generateName") or ""),
                      self.namespace(namespace), guessed)

    def resource(self, kind: str) -> str:
        """The resource name of a kind (as its Target has it), once per kind."""
        if kind not in self._resources:
            self._resources[kind] = resource_of(kind, self.crds)[0]
        return self._resources[kind]

    def of(self, resource: Resource) -> Target:
        key = id(resource)  # the same Target for every policy of the run
        if key not in self._targets:
            self._targets[key] = self.target(resource.obj, resource.namespace)
        return self._targets[key]

    def pod_of(self, w: Workload) -> Target | None:
        """The pod the workload's controller creates, made once for every policy of the run."""
        key = id(w)
        if key not in self._pods:
            pod = controller_pod(w)
            self._pods[key] = self.target(pod, w.namespace) if pod is not None else None
        return self._pods[key]

    def params(self, kind: dict[str, Any]) -> list[dict[str, Any]]:
        wanted = (str(kind.get("apiVersion", "")), str(kind.get("kind", "")))
        return [r.obj for r in (*self.found.params, *self.index.manifests.resources)
                if (r.api_version, r.kind) == wanted]


class _Evaluate:
    """The check function of one policy: fn(resource, index, profile) → outcomes, or None when
    nothing of the policy matches the object or its pods (no row)."""

    def __init__(self, context: _Context, name: str, parts: list[Policy]):
        self.context, self.name, self.parts = context, name, parts
        self.bindings = [b for b in context.found.bindings if b.policy == name]
        gates = [p.resources for p in parts]  # what its parts can select (None: anything)
        self.resources = None if None in gates else frozenset().union(*gates)

    def applies(self, kind: str, workload: bool) -> bool:
        """Whether the policy can match an object of `kind` (a `workload`: or its controller's
        pods), by the resources its rules name: the engine asks once per kind, so that most
        objects of a run never reach a policy that cannot match them."""
        return self.resources is None or self.context.resource(kind) in self.resources or (
            workload and "pods" in self.resources)

    def __call__(self, resource: Resource, index: Index,
                 profile: Profile) -> list[Violation | Skip] | None:
        w = index.workload_of.get(resource)
        if not self.applies(resource.kind, w is not None):
            return None  # before making its Target (the engine asks `applies` first)
        t = self.context.of(resource)
        outcomes, matched, autogen = self.evaluate(t)
        pod = self.context.pod_of(w) if w is not None and not autogen else None
        if pod is not None:  # Kyverno's autogen already judged the controller for its pods
            pod_outcomes, pod_matched, _ = self.evaluate(pod)
            matched = matched or pod_matched
            denied = any(isinstance(o, Violation) and o.severity == Severity.ERROR
                         for o in outcomes)
            outcomes += [_on_pods(o, self.name, denied) for o in pod_outcomes]
        return outcomes if matched else None

    def evaluate(self, t: Target) -> tuple[list[Violation | Skip], bool, bool]:
        """(outcomes, whether any part matched, whether an autogen part matched)."""
        outcomes: list[Violation | Skip] = []
        matched = autogen = False
        for part in self.parts:
            if not part.selects(t):
                continue
            matched, autogen = True, autogen or bool(part.autogen)
            who = _who(part, t)
            if part.unsupported:
                outcomes.append(Skip(f"{who}: {part.unsupported}"))
            elif part.kind != VAP:  # Kyverno: its rule's own paramRef, if it has params
                outcomes += self.bound(part, Binding(
                    part.name, part.name, None, part.param_ref, part.actions, part.file,
                    part.line), t, who) if part.param_kind else admit(part, t, None,
                                                                      part.actions, who)
            elif not self.bindings:
                outcomes += [Skip(f"{who}: it needs params (paramKind) and no binding gives "
                                  "them")] if part.param_kind else \
                    admit(part, t, None, ("Deny",), f"{who} ({UNBOUND})")
            else:
                matched = False
                for b in self.bindings:
                    if b.match is None or matches(b.match, t, binding=True):
                        matched = True
                        outcomes += self.bound(part, b, t, f"{who} with binding '{b.name}'")
        return outcomes, matched, autogen

    def bound(self, part: Policy, b: Binding, t: Target, who: str) -> list[Violation | Skip]:
        if part.param_kind is None:
            return admit(part, t, None, b.actions, who)
        ref = as_dict(b.param_ref)
        if not ref:
            lacking = "the rule no paramRef (Kyverno" if part.kind != VAP else \
                "the binding no paramRef (the API server"
            return [Violation(f"{who}: the policy has a paramKind and {lacking} refuses the "
                              "request)", severity=Severity.ERROR)]
        found = [p for p in self.context.params(part.param_kind) if _param_of(p, ref, t)]
        if not found:
            what = f"no {part.param_kind.get('kind')} params " + (
                f"named {ref['name']!r}" if ref.get("name") else "matching the selector")
            if ref.get("parameterNotFoundAction") == "Allow":
                return [Skip(f"{who}: {what}: parameterNotFoundAction Allow admits it")]
            return [Violation(f"{who} denied: {what} (parameterNotFoundAction Deny)",
                              severity=Severity.ERROR)]
        outcomes: list[Violation | Skip] = []
        for params in found:  # a selector binds every match: each must admit the request
            outcomes += admit(part, t, params, b.actions, who)
        return outcomes


def _param_of(params: dict[str, Any], ref: dict[str, Any], t: Target) -> bool:
    meta = as_dict(params.get("metadata"))
    namespace = str(meta.get("namespace") or "")
    wanted = str(ref.get("namespace") or (t.namespace if namespace else ""))
    if namespace != wanted:
        return False
    if ref.get("name"):
        return meta.get("name") == ref["name"]
    labels = {str(k): str(v) for k, v in as_dict(meta.get("labels")).items()}
    return selector_matches(as_dict(ref.get("selector")), labels)


def _who(part: Policy, t: Target) -> str:
    who = f"{part.kind} '{part.name}'"
    if part.rule:
        who += f" rule '{part.rule}'" if not part.autogen else f" ({part.rule})"
    notes = [SHIPPED] if part.shipped else []
    if t.guessed:
        notes.append(f"resource of {t.kind} guessed as '{t.resource}'")
    return f"{who} ({'; '.join(notes)})" if notes else who


def _on_pods(outcome: Violation | Skip, name: str, denied: bool) -> Violation | Skip:
    if isinstance(outcome, Skip):
        return Skip(f"its pods: {outcome.reason}")
    if outcome.severity == Severity.ERROR:
        lead = "its pods will be rejected too" if denied else "admitted, but its pods will " \
            "be rejected"
        return Violation(f"{lead} by policy/{name}: {outcome.message} (the rollout hangs)",
                         severity=outcome.severity)
    return Violation(f"its pods will be admitted with a {outcome.severity} from policy/{name}: "
                     f"{outcome.message}", severity=outcome.severity)

