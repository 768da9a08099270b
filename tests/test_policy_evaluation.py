"""The shortcuts that keep policies within 1.5× of the check time (bench/policy_bench.py) give
what the plain way gives: a policy's validations evaluated as one list, each alone when one of
them fails; its match answered once per kind; the engine asking a policy about the kinds it can
match only."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import toolman_kit as tk
from toolman_kit.judge import engine
from toolman_kit.judge.profiles import load_profile
from toolman_kit.judge.registry import Area, Check, Scope, Severity
from toolman_kit.read.index import Index
from toolman_kit.read.manifests import Manifests

RUNAWAY_ALONE_NOT = "object.data.all(k, object.data.all(j, true))"  # 6,480 iterations of 10,000


def vap(name: str, resources: str, *validations: str, extra: str = "") -> str:
    checks = "".join(f"  - expression: {json.dumps(e)}\n    message: {name} rule {i}\n"
                     for i, e in enumerate(validations))
    return ("apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\n"
            f"metadata: {{name: {name}}}\nspec:\n  matchConstraints:\n    resourceRules:\n"
            f"    - {{apiGroups: ['*'], apiVersions: ['*'], operations: [CREATE], "
            f"resources: [{resources}]{extra}}}\n  validations:\n{checks}")


def analysis(tmp_path: Path, manifests: list[str], policies: list[str]) -> tk.Analysis:
    (tmp_path / "m.yaml").write_text("---\n".join(manifests))
    (tmp_path / "p.yaml").write_text("---\n".join(policies))
    profile = replace(load_profile(), policies=(str(tmp_path / "p.yaml"),))
    return tk.Analysis.of(tmp_path / "m.yaml", profile=profile)


def outcomes(a: tk.Analysis, check_id: str) -> dict[str, list[tuple[str, str]]]:
    """(status, message) of the check's rows by object name."""
    found: dict[str, list[tuple[str, str]]] = {}
    for r in a.findings.query("check_id == @check_id").itertuples():
        found.setdefault(r.name, []).append((r.status, r.message))
    return {name: sorted(rows) for name, rows in found.items()}


def config_map(name: str, namespace: str = "test", keys: int = 1) -> str:
    data = ", ".join(f"k{i}: v" for i in range(keys))
    return (f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: {namespace}}}"
            f"\ndata: {{{data}}}\n")


def test_validations_evaluated_together_say_what_each_alone_says(tmp_path):
    policy = vap("together", "configmaps",
                 "object.metadata.name.startsWith('cm')",  # true
                 "object.metadata.name.size() > 10",  # false: its message
                 "object.data.missing == 'x'",  # an error: its own, failurePolicy Fail
                 "object.metadata.name",  # no bool: said so
                 "size(object.data) > 100 // a comment ends at the line's end",
                 RUNAWAY_ALONE_NOT, RUNAWAY_ALONE_NOT)  # together over the budget, alone not
    a = analysis(tmp_path, [config_map("cm", keys=80)], [policy])
    who = ("ValidatingAdmissionPolicy 'together' (no binding: evaluated as if bound to "
           "everything it matches with [Deny]) denied: ")
    assert outcomes(a, "policy/together") == {"cm": sorted([
        ("fail", f"{who}together rule 1"),
        ("fail", f"{who}evaluation error (failurePolicy Fail): \"object.data.missing == "
                 "'x'\": Key not found in map : \"missing\""),
        ("fail", f"{who}evaluation error (failurePolicy Fail): 'object.metadata.name' must "
                 "evaluate to a bool, not 'cm'"),
        ("fail", f"{who}together rule 4")])}
    # every validation true, and over the budget only together: a pass, as alone
    b = analysis(tmp_path, [config_map("cm", keys=80)],
                 [vap("all-true", "configmaps", "has(object.data)", RUNAWAY_ALONE_NOT,
                      RUNAWAY_ALONE_NOT)])
    assert b.findings.query("check_id == 'policy/all-true'")["status"].tolist() == ["pass"]


def test_a_policy_matched_once_per_kind_still_tells_names_namespaces_and_labels(tmp_path):
    namespaces = [f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {n}, labels: {{env: {n}}}}}"
                  "\n" for n in ("prod", "dev")]
    by_name = vap("by-name", "configmaps", "false", "false", extra=", resourceNames: [a]")
    by_namespace = vap("by-namespace", "configmaps", "false", "false").replace(
        "  validations:", "    namespaceSelector: {matchLabels: {env: prod}}\n  validations:")
    by_label = vap("by-label", "configmaps", "false", "false").replace(
        "  validations:", "    objectSelector: {matchLabels: {team: a}}\n  validations:")
    labelled = config_map("b", "dev").replace("namespace: dev}", "namespace: dev, "
                                                                  "labels: {team: a}}")
    a = analysis(tmp_path, [*namespaces, config_map("a", "prod"), labelled],
                 [by_name, by_namespace, by_label])
    assert set(outcomes(a, "policy/by-name")) == {"a"}
    assert set(outcomes(a, "policy/by-namespace")) == {"a"}
    assert set(outcomes(a, "policy/by-label")) == {"b"}


class _OnServices:
    """A check function that can match Services only, and says who asked it what."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, bool]] = []
        self.called: list[str] = []

    def applies(self, kind: str, workload: bool) -> bool:
        self.asked.append((kind, workload))
        return kind == "Service"

    def __call__(self, resource, index, profile):
        self.called.append(resource.kind)
        return []


def test_the_engine_asks_a_policy_once_per_kind_and_calls_it_on_those_it_can_match():
    docs = [{"apiVersion": "v1", "kind": kind, "metadata": {"name": f"{kind.lower()}-{i}",
                                                            "namespace": "test"}}
            for kind in ("Service", "ConfigMap") for i in range(3)]
    manifests = tk.Analysis.of(docs).manifests
    assert isinstance(manifests, Manifests)
    fn = _OnServices()
    check = Check("policy/services", Area.SECURITY, Severity.ERROR, "t", "r", Scope.OBJECT,
                  ("*",), (), fn)
    profile = load_profile()
    findings, errors = engine.run(Index(manifests, profile.workload_kinds), profile,
                                  policies={check.id: check})
    assert not errors
    assert fn.asked == [("Service", False), ("ConfigMap", False)]
    assert fn.called == ["Service"] * 3
    passed = [r for r in findings if r[0] == check.id]
    assert [(r[3], r[4]) for r in passed] == [("pass", "Service")] * 3


def test_the_list_of_validations_compiles_once_per_run_whatever_the_number_of_objects(
        monkeypatch, tmp_path):
    from toolman_kit.judge.policy import cel

    compiled: list[str] = []
    real = cel.compile_expression

    def counting(expression, *args, **kwargs):
        compiled.append(expression)
        return real(expression, *args, **kwargs)

    monkeypatch.setattr(cel, "compile_expression", counting)
    policy = vap("three", "configmaps", "has(object.data)", "false", "true")
    counts = []
    for n in (1, 20):
        compiled.clear()
        a = analysis(tmp_path, [config_map(f"cm-{i}") for i in range(n)], [policy])
        assert len(outcomes(a, "policy/three")) == n
        counts.append(len(compiled))
    assert counts == [4, 4]  # each validation, and the three as one list
