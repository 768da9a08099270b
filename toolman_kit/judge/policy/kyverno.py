"""Kyverno's policies in VAP terms: a ValidatingPolicy (policies.kyverno.io, every published
version) and the `validate.cel` rules of a ClusterPolicy/Policy (kyverno.io), with the rules
Kyverno's autogen makes for pod controllers.

Autogen, as Kyverno documents it: a policy on Pods also applies to the controllers that make
pods (Deployment, StatefulSet, DaemonSet, Job, ReplicaSet: the pod spec at spec.template; CronJob:
at spec.jobTemplate.spec.template), its expressions rewritten (object.spec → object.spec.template
.spec, object.metadata → object.spec.template.metadata). Which controllers: the policy's
`autogen.podControllers.controllers`, else the `kyverno.io/autogen-controllers` (or
`pod-policies.kyverno.io/autogen-controllers`) annotation ("none": no autogen), else all of them.

Params: a ClusterPolicy's `validate.cel` has a paramKind and a paramRef of its own (no binding), as
a VAP binding's (name or selector, namespace, parameterNotFoundAction). A ValidatingPolicy has
none: Kyverno gives it no params and no bindings (its policies read other objects through the
resource library instead).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from toolman_kit.judge.policy.admission import (
    Compile,
    Policy,
    named_expressions,
    spec_expressions,
    validations,
)
from toolman_kit.read.manifests import Resource
from toolman_kit.read.model import as_dict, as_list

GROUP_VP, GROUP_CP = "policies.kyverno.io/", "kyverno.io/"
TEMPLATE_CONTROLLERS = {"Deployment": ("apps", "deployments"),
                        "StatefulSet": ("apps", "statefulsets"),
                        "DaemonSet": ("apps", "daemonsets"), "ReplicaSet": ("apps", "replicasets"),
                        "Job": ("batch", "jobs")}
CONTROLLERS = (*TEMPLATE_CONTROLLERS, "CronJob")
ANNOTATIONS = ("kyverno.io/autogen-controllers", "pod-policies.kyverno.io/autogen-controllers")
ACTIONS = {"enforce": "Deny", "audit": "Audit"}
_POD_PATH = {"template": "spec.template", "cronjob": "spec.jobTemplate.spec.template"}


def is_kyverno(r: Resource) -> bool:
    return (r.api_version.startswith(GROUP_VP) and r.kind == "ValidatingPolicy"
            or r.api_version.startswith(GROUP_CP) and r.kind in ("ClusterPolicy", "Policy"))


def policies(r: Resource, shipped: bool, compile_at: Compile) -> list[Policy]:
    if r.kind == "ValidatingPolicy":
        return validating_policy(r, shipped, compile_at)
    return cluster_policy(r, shipped, compile_at)


def validating_policy(r: Resource, shipped: bool, compile_at: Compile) -> list[Policy]:
    spec = r.spec
    evaluation = as_dict(spec.get("evaluation"))
    unsupported = ""
    if as_dict(evaluation.get("admission")).get("enabled") is False:
        unsupported = "evaluation.admission.enabled is false: Kyverno does not evaluate it " \
                      "at admission"
    elif evaluation.get("mode") == "JSON":
        unsupported = "evaluation.mode JSON: the policy is for JSON payloads, not objects"
    actions = tuple(map(str, as_list(spec.get("validationActions")))) or ("Deny",)
    base = dict(kind="ValidatingPolicy", file=r.source.file, line=r.source.line,
                failure_policy=str(spec.get("failurePolicy") or "Fail"), actions=actions,
                shipped=shipped, unsupported=unsupported,
                title=f"Kyverno ValidatingPolicy {r.name} rejects the object")
    match = as_dict(spec.get("matchConstraints"))
    parts = [Policy(r.name, match_any=(match,),
                    **dict(zip(("conditions", "variables", "validations"),
                               spec_expressions(spec, "spec", compile_at), strict=True)),
                    **base)]  # type: ignore[arg-type]
    configured = as_dict(as_dict(spec.get("autogen")).get("podControllers")).get("controllers")
    controllers = _controllers(r, configured)
    if controllers and _on_pods(match):
        for where, kinds in _groups(controllers):
            rewritten = _rewrite(spec, where)
            parts.append(Policy(
                r.name, match_any=(_controller_match(match, kinds),), rule=f"autogen for "
                f"{', '.join(kinds)}", autogen=tuple(kinds),
                **dict(zip(("conditions", "variables", "validations"),
                           spec_expressions(rewritten, "spec", compile_at), strict=True)),
                **base))  # type: ignore[arg-type]
    return parts


def cluster_policy(r: Resource, shipped: bool, compile_at: Compile) -> list[Policy]:
    spec = r.spec
    default_action = str(spec.get("validationFailureAction") or "Audit")
    parts = []
    for i, rule in enumerate(map(as_dict, as_list(spec.get("rules")))):
        validate = as_dict(rule.get("validate"))
        if not validate:
            continue  # mutate, generate, verifyImages: not validation
        at = f"spec.rules[{i}]"
        name = str(rule.get("name", i))
        action = ACTIONS.get(str(validate.get("failureAction") or default_action).lower(),
                             "Audit")
        match, exclude = as_dict(rule.get("match")), as_dict(rule.get("exclude"))
        cel = as_dict(validate.get("cel"))
        base = dict(kind=r.kind, file=r.source.file, line=r.line_of(at), rule=name,
                    failure_policy=str(spec.get("failurePolicy") or "Fail"), actions=(action,),
                    shipped=shipped, title=f"Kyverno {r.kind} {r.name} rejects the object",
                    match_all=_blocks(match, "all") + _own_namespace(r),
                    exclude_any=_blocks(exclude, "any"), exclude_all=_blocks(exclude, "all"),
                    param_kind=as_dict(cel.get("paramKind")) or None,
                    param_ref=as_dict(cel.get("paramRef")) or None)
        if not cel:
            parts.append(Policy(r.name, match_any=_blocks(match, "any"),
                                unsupported="the kit evaluates only validate.cel rules", **base))
            continue
        parts.append(_cel_rule(r, rule, at, _blocks(match, "any"), base, compile_at, spec=None))
        kinds = _controllers(r, None)
        pods = [b for b in _blocks(match, "any") + base["match_all"]
                if "Pod" in as_list(as_dict(b.get("kyverno")).get("kinds"))]
        for where, group in _groups(kinds) if pods else ():
            controller_blocks = tuple(_with_kinds(b, group) if b in pods else b
                                      for b in _blocks(match, "any"))
            parts.append(_cel_rule(r, rule, at, controller_blocks,
                                   {**base, "rule": f"autogen-{name} for {', '.join(group)}",
                                    "autogen": tuple(group),
                                    "match_all": tuple(_with_kinds(b, group) if b in pods else b
                                                       for b in base["match_all"])},
                                   compile_at, spec=where))
    return parts


def _cel_rule(r: Resource, rule: dict[str, Any], at: str, match_any: tuple[dict[str, Any], ...],
              base: dict[str, Any], compile_at: Compile, spec: str | None) -> Policy:
    rule = _rewrite(rule, spec) if spec else rule
    cel = as_dict(as_dict(rule.get("validate")).get("cel"))
    conditions = named_expressions(rule.get("celPreconditions"), f"{at}.celPreconditions",
                                   compile_at)
    variables = named_expressions(cel.get("variables"), f"{at}.validate.cel.variables",
                                  compile_at)
    checks = validations(cel.get("expressions"), f"{at}.validate.cel.expressions", compile_at,
                         str(as_dict(rule.get("validate")).get("message") or ""))
    return Policy(r.name, match_any=match_any, conditions=conditions, variables=variables,
                  validations=checks, **base)


def _blocks(match: dict[str, Any], how: str) -> tuple[dict[str, Any], ...]:
    """A Kyverno match/exclude as match dicts: `any` (or the legacy `resources` alone) and
    `all` blocks, each {kyverno: resources, namespaceSelector, objectSelector}."""
    blocks = as_list(match.get(how))
    if how == "any" and not blocks and match.get("resources"):
        blocks = [{"resources": match["resources"]}]
    result = []
    for block in map(as_dict, blocks):
        resources = as_dict(block.get("resources"))
        result.append({"kyverno": resources,
                       "namespaceSelector": as_dict(resources.get("namespaceSelector")),
                       "objectSelector": as_dict(resources.get("selector"))})
    return tuple(result)


def _own_namespace(r: Resource) -> tuple[dict[str, Any], ...]:
    # A (namespaced) Policy applies to its own namespace only.
    return ({"kyverno": {"kinds": ["*"], "namespaces": [r.namespace]}},) \
        if r.kind == "Policy" else ()


def _with_kinds(block: dict[str, Any], kinds: list[str]) -> dict[str, Any]:
    resources = dict(as_dict(block.get("kyverno")))
    resources["kinds"] = kinds
    return {**block, "kyverno": resources}


def _controllers(r: Resource, configured: Any) -> list[str]:
    if isinstance(configured, list):
        names = [str(c) for c in configured]
    else:
        given = next((r.annotations[a] for a in ANNOTATIONS if a in r.annotations), "all")
        if given.strip().lower() == "none":
            return []
        names = list(CONTROLLERS) if given.strip().lower() == "all" else given.split(",")
    by_name = {k.lower(): k for k in CONTROLLERS} | {
        (TEMPLATE_CONTROLLERS.get(k, ("", "cronjobs"))[1]): k for k in CONTROLLERS}
    return [by_name[n.strip().lower()] for n in names if n.strip().lower() in by_name]


def _groups(controllers: list[str]) -> list[tuple[str, list[str]]]:
    template = [c for c in controllers if c in TEMPLATE_CONTROLLERS]
    return [*((("template", template),) if template else ()),
            *((("cronjob", ["CronJob"]),) if "CronJob" in controllers else ())]


def _on_pods(match: dict[str, Any]) -> bool:
    return any(("" in as_list(rule.get("apiGroups")) or "*" in as_list(rule.get("apiGroups")))
               and any(r in ("pods", "*") for r in as_list(rule.get("resources")))
               for rule in map(as_dict, as_list(match.get("resourceRules"))))


def _controller_match(match: dict[str, Any], kinds: list[str]) -> dict[str, Any]:
    operations = next((as_list(as_dict(rule).get("operations"))
                       for rule in as_list(match.get("resourceRules"))), ["CREATE"])
    rules = [{"apiGroups": ["batch"], "apiVersions": ["v1"], "resources": ["cronjobs"],
              "operations": operations}] if kinds == ["CronJob"] else [
        {"apiGroups": [group], "apiVersions": ["v1"], "resources": [resource],
         "operations": operations}
        for group, resource in (TEMPLATE_CONTROLLERS[k] for k in kinds)]
    return {**match, "resourceRules": rules, "excludeResourceRules": []}


def _rewrite(spec: dict[str, Any], where: str) -> dict[str, Any]:
    """The spec with its expressions reading the pod template instead of the pod."""
    pod = _POD_PATH[where]
    replaced = copy.deepcopy(spec)

    def walk(node: Any) -> None:
        for key, value in (node.items() if isinstance(node, dict) else enumerate(node)
                           if isinstance(node, list) else ()):
            if key in ("expression", "messageExpression") and isinstance(value, str):
                node[key] = re.sub(r"(?<![\w.])(object|oldObject)\.(spec|metadata)\b",
                                   rf"\1.{pod}.\2", value)
            else:
                walk(value)

    walk(replaced)
    return replaced
