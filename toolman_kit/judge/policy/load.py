"""Policy files and directories (and the policies among the analyzed manifests) → a PolicySet.

Files are read by the manifest reader, so every policy, binding and expression has its file and
line. Kinds: admissionregistration.k8s.io v1/v1beta1 ValidatingAdmissionPolicy and
ValidatingAdmissionPolicyBinding, their params (objects of a policy's paramKind), Kyverno's
ValidatingPolicy and ClusterPolicy/Policy (kyverno.py). Anything else in a policy file, and an
expression that does not compile, is one LoadError naming file and line; that policy is left out,
the others are evaluated. Every expression is compiled here, once per run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from toolman_kit.judge.policy import kyverno
from toolman_kit.judge.policy.admission import (
    Binding,
    Compile,
    Expr,
    Policy,
    compile_expr,
    spec_expressions,
)
from toolman_kit.judge.policy.cel import CelCompileError
from toolman_kit.read.manifests import LoadError, Resource, load
from toolman_kit.read.model import as_dict, as_list

ADMISSION = ("admissionregistration.k8s.io/v1", "admissionregistration.k8s.io/v1beta1")
VAP, BINDING = "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"


def is_policy(resource: Resource) -> bool:
    """A policy or binding the kit evaluates (to find them among the manifests)."""
    return (resource.api_version in ADMISSION and resource.kind in (VAP, BINDING)
            or kyverno.is_kyverno(resource))


@dataclass
class PolicySet:
    policies: dict[str, list[Policy]] = field(default_factory=dict)  # name → its parts
    bindings: list[Binding] = field(default_factory=list)
    params: list[Resource] = field(default_factory=list)  # from the policy files
    errors: list[LoadError] = field(default_factory=list)


def load_policies(paths: Sequence[str], shipped: Iterable[Resource],
                  kube_version: str) -> PolicySet:
    """The policies of `paths` (files or directories) and those `shipped` in the manifests."""
    found = PolicySet()
    given = load(*paths) if paths else None
    if given is not None:
        found.errors.extend(given.errors)
    resources = [(r, False) for r in (given.resources if given else ())]
    resources += [(r, True) for r in shipped]
    param_kinds = {_kind_key(as_dict(r.spec.get("paramKind"))) for r, _ in resources
                   if r.kind == VAP} | {
        _kind_key(as_dict(as_dict(as_dict(as_dict(rule).get("validate")).get("cel"))
                          .get("paramKind")))
        for r, _ in resources if kyverno.is_kyverno(r) and r.kind != "ValidatingPolicy"
        for rule in as_list(r.spec.get("rules"))} - {("", "")}
    for resource, in_manifests in resources:
        try:
            _add(found, resource, in_manifests, kube_version, param_kinds)
        except _Invalid as exc:
            found.errors.append(exc.error)
    return found


class _Invalid(Exception):
    def __init__(self, error: LoadError):
        self.error = error


def _add(found: PolicySet, r: Resource, shipped: bool, kube_version: str,
         param_kinds: set[tuple[str, str]]) -> None:
    if r.api_version in ADMISSION and r.kind == BINDING:
        spec = r.spec
        found.bindings.append(Binding(
            r.name, str(spec.get("policyName", "")),
            as_dict(spec["matchResources"]) if spec.get("matchResources") else None,
            as_dict(spec["paramRef"]) if spec.get("paramRef") else None,
            tuple(map(str, as_list(spec.get("validationActions")))) or ("Deny",),
            r.source.file, r.source.line))
        return
    if r.api_version in ADMISSION and r.kind == VAP:
        parts = [vap(r, kube_version, shipped)]
    elif kyverno.is_kyverno(r):
        parts = kyverno.policies(r, shipped, compiler(r, kube_version, kyverno=True))
    elif not shipped and _kind_key(r.obj) in param_kinds:
        found.params.append(r)
        return
    elif shipped:
        return
    else:
        raise _Invalid(LoadError(r.source.file, r.source.line, f"{r.kind or 'a document'} "
                                 f"({r.api_version or 'no apiVersion'}) is not a policy the kit "
                                 "evaluates (ValidatingAdmissionPolicy and its binding and "
                                 "params, Kyverno ValidatingPolicy, ClusterPolicy or Policy)"))
    if r.name in found.policies:
        raise _Invalid(LoadError(r.source.file, r.source.line,
                                 f"a second policy named {r.name!r}: left out"))
    found.policies[r.name] = parts


def _kind_key(obj: dict[str, Any]) -> tuple[str, str]:
    return (str(obj.get("apiVersion", "")), str(obj.get("kind", "")))


def compiler(r: Resource, kube_version: str, kyverno: bool = False) -> Compile:
    """Compile an expression of `r`, or raise _Invalid naming policy file, line and column."""

    def compile_at(text: str, path: str) -> Expr:
        line = r.line_of(path)
        try:
            return compile_expr(str(text), kube_version, line, kyverno)
        except CelCompileError as exc:
            raise _Invalid(LoadError(r.source.file, line, f"{r.kind} {r.name!r}, {path}: {exc}",
                                     exc.column)) from None

    return compile_at


def vap(r: Resource, kube_version: str, shipped: bool) -> Policy:
    spec = r.spec
    compile_at = compiler(r, kube_version)
    conditions, variables, validations = spec_expressions(spec, "spec", compile_at)
    param_kind = as_dict(spec.get("paramKind")) or None
    return Policy(r.name, VAP, r.source.file, r.source.line,
                  (as_dict(spec.get("matchConstraints")),), conditions=conditions,
                  variables=variables, validations=validations,
                  failure_policy=str(spec.get("failurePolicy") or "Fail"),
                  param_kind=param_kind, shipped=shipped,
                  title=f"ValidatingAdmissionPolicy {r.name} rejects the object")
