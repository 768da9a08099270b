"""Profiles: YAML thresholds that say what "production ready" means (`production` is built in).

A profile may `extends:` another (by built-in name or path); mappings merge, the child wins.
Profile files are validated against schema.json, so a typo is an error naming the file, not a
silent default. Built-in profiles are validated by the tests instead, so a run with one costs no
validation at all; user profiles use fastjsonschema (a few ms; jsonschema's import alone can take a
second where jupyterlab's dependencies are installed).
"""

from __future__ import annotations

import fnmatch
import json
import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from toolman_kit.errors import ProfileError, ToolmanKitError
from toolman_kit.judge.apis import DEFAULT_KUBE_VERSION, kube_version
from toolman_kit.read.model import POD_TEMPLATE, WorkloadKind
from toolman_kit.read.quantity import QuantityError, parse_quantity

BUILT_IN = ("production",)
# Env var names that look like they hold a credential (case-insensitive); a profile may widen it.
# The keywords of checkov's secret scanner (detect-secrets' denylist: auth_key, client_key, db_pass,
# pwd …) and the cloud keys they miss (AZURE_BATCH_KEY, STORAGE_ACCOUNT_KEY, OCI's pass_phrase).
# `…_key` counts only at the end (ACCESS_KEY_ID names a key, PRIMARY_KEY a column), `pwd` only
# inside a longer name (PWD is the working directory).
SECRET_ENV_PATTERN = (
    r"passw(or)?d|passwd|pass[_-]?phrase|secret|token|api[_.-]?key|priv(ate)?[_-]?key|credential"
    r"|(auth|service|account|client|access|batch|storage|master|shared|signing|encryption|db"
    r"|database)[_.-]?key(?![a-z0-9_])|(db|database|key)[_-]?pass\b|_pass\b"
    r"|(?<=[_.-])pwd|pwd(?=[_.-])")


@dataclass(frozen=True)
class Exemption:
    check: str
    reason: str
    kind: str = "*"
    namespace: str = "*"
    name: str = "*"
    container: str = "*"

    def covers(self, check_id: str, kind: str, namespace: str, name: str, container: str) -> bool:
        return all(fnmatch.fnmatchcase(value, pattern) for value, pattern in (
            (check_id, self.check), (kind, self.kind), (namespace, self.namespace),
            (name, self.name), (container or "", self.container)))


@dataclass(frozen=True)
class Rule:
    """A team's own rule (a profile's `rules:`): a CEL expression over `object` (and `container`
    with scope container), true = compliant, checked under `id` like a built-in check. Kept as
    text here: judge/policy/rules.py compiles it, only when a profile has rules."""

    id: str
    title: str
    expression: str
    severity: str = "error"
    area: str = "security"
    scope: str = "object"  # or "container": once per container, `container` bound
    kinds: tuple[str, ...] = ("*",)  # Kind names or globs, as Kyverno's match block
    namespaces: tuple[str, ...] = ()  # globs; none: every namespace (and no namespace)
    labels: dict[str, Any] = field(default_factory=dict)  # a label selector on the object
    message: str = ""
    message_expression: str = ""
    remediation: str = ""
    checklist: str = ""  # a checklist row of its own, or an existing row it counts in
    source: str = ""  # the profile file that defines it
    position: int = 0  # its index in that file's `rules` (rule_line finds its line)

    @classmethod
    def of(cls, entry: dict[str, Any]) -> Rule:
        match = entry.get("match") or {}
        return cls(
            id=entry["id"], title=entry["title"], expression=entry["expression"],
            severity=entry.get("severity", "error"), area=entry.get("area", "security"),
            scope=entry.get("scope", "object"),
            kinds=tuple(map(str, match.get("kinds") or ("*",))),
            namespaces=tuple(map(str, match.get("namespaces") or ())),
            labels=dict(match.get("labels") or {}), message=entry.get("message", ""),
            message_expression=entry.get("messageExpression", ""),
            remediation=entry.get("remediation", ""), checklist=entry.get("checklist", ""),
            source=entry["source"], position=entry["position"])


def rule_line(rule: Rule, key: str = "") -> int | None:
    """The line of the rule (of its `key`, e.g. "expression") in its profile file, for an error
    about it: the file is read again, only then."""
    try:
        node = yaml.compose(Path(rule.source).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    for step in ("rules", rule.position, key):
        if step == "":
            break
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == step), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) \
                and step < len(node.value):
            node = node.value[step]
        else:
            node = None
        if node is None:
            return None
    return node.start_mark.line + 1


@dataclass(frozen=True)
class Profile:
    """What "production ready" means: thresholds, sizing floors, re-graded or disabled checks
    and exemptions (see `load_profile`; the built-in one is `production`).

    Example:
        >>> p = tk.load_profile("examples/toolman/profile.yaml")
        >>> p.name, p.min_replicas, p.enabled("pdb-missing")
        ('toolman-production', 3, True)
    """

    name: str
    description: str = ""
    min_replicas: int = 3
    startup_probe_after_seconds: int = 30
    mutable_tags: tuple[str, ...] = ("latest",)
    require_digest: bool = False
    secret_env_pattern: str = SECRET_ENV_PATTERN
    sizing: dict[str, dict[str, dict[str, Decimal]]] = field(default_factory=dict)
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    exemptions: tuple[Exemption, ...] = ()
    source: str = "built-in"
    kube_version: str = DEFAULT_KUBE_VERSION  # the Kubernetes minor the manifests target
    api_versions: tuple[str, ...] = ()  # served besides kube_version's built-ins (renders)
    # storage classes (names or provisioners) that cannot provide ReadWriteMany, besides the
    # well-known ones (values/storage.py): suggest proposes no ReadWriteMany claim on them
    rwo_storage_classes: tuple[str, ...] = ()
    workload_kinds: tuple[WorkloadKind, ...] = ()  # custom kinds beyond the package's table
    allow_annotation_exemptions: bool = True  # False: workloads cannot exempt themselves
    peer_exemptions: bool = False  # honour Polaris', kube-score's, checkov's, kube-linter's too
    # labels the cluster's namespaces carry besides those in the manifests (Pod Security
    # admission's, policies' namespaceSelector): `--namespace-labels`, read/namespaces.py
    namespace_labels: dict[str, str] = field(default_factory=dict)
    # admission policy files and directories (ValidatingAdmissionPolicy, Kyverno), as absolute
    # paths or relative to the working directory (`--policy`; a profile's are made absolute)
    policies: tuple[str, ...] = ()
    # a team's own rules in CEL (judge/policy/rules.py): checks of their own ids
    rules: tuple[Rule, ...] = ()

    def served(self, extra: Sequence[str] = ()) -> list[str]:
        """What renders get besides the built-ins and the chart's CRDs: this profile's
        `api_versions`, then `extra` (--api-versions), each once."""
        return list(dict.fromkeys([*self.api_versions, *extra]))

    def enabled(self, check_id: str) -> bool:
        """Whether the check runs (profiles may disable checks)."""
        return self.checks.get(check_id, {}).get("enabled", True)

    def severity(self, check_id: str, default: str) -> str:
        """The check's severity as this profile grades it (`default`: the check's own)."""
        return self.checks.get(check_id, {}).get("severity", default)

    def sizing_for(self, container: str, role: str) -> dict[str, dict[str, Decimal]]:
        """Sizing floors for a container: by its name first, else by its role."""
        return self.sizing.get(container) or self.sizing.get(role) or {}

    def exemption(self, check_id: str, kind: str, namespace: str, name: str,
                  container: str) -> Exemption | None:
        """The first exemption covering this check on this object (and container), if any."""
        return next((e for e in self.exemptions
                     if e.covers(check_id, kind, namespace, name, container)), None)

    @cached_property
    def secret_env(self) -> re.Pattern[str]:
        return re.compile(self.secret_env_pattern, re.I)

    @property
    def params(self) -> dict[str, Any]:
        """Values check remediations may quote, e.g. "{min_replicas}" (see Check.fix)."""
        return {"min_replicas": self.min_replicas,
                "min_available": min_available(self.min_replicas),
                "startup_probe_after_seconds": self.startup_probe_after_seconds}


def min_available(replicas: int) -> int:
    """The PDB rule, stated once (check remediations, `suggest`): a drain may evict one pod of
    `replicas` at a time, and never the last one: minAvailable = max(replicas − 1, 1), the same
    budget as maxUnavailable 1 from two replicas up."""
    return max(replicas - 1, 1)


def load_profile(spec: str | Path | Profile = "production") -> Profile:
    """A profile by built-in name or YAML file path.

    Args:
        spec: "production" (built in), the path of a profile YAML file (which may `extends:`
            another), or a `Profile` (returned as it is).

    Returns:
        The `Profile`.

    Raises:
        ProfileError: no such profile, invalid YAML, or a value the schema refuses (the file
            and the offending key are named).

    Example:
        >>> tk.load_profile().min_replicas
        3
    """
    if isinstance(spec, Profile):
        return spec
    return _build(_raw(str(spec), seen=()))


@contextmanager
def derived(profile: str | Path, keys: dict[str, Any]) -> Iterator[str]:
    """The path of a profile file that extends `profile` under its name with `keys` (lists such
    as exemptions and policies are added to the named profile's), for the duration: what a
    report's kernels, which load profiles by path, need for flags and the fleet file's keys."""
    name = load_profile(profile).name  # a missing or bad profile: its own error, here
    spec = str(profile) if str(profile) in BUILT_IN else str(Path(profile).resolve())
    with tempfile.TemporaryDirectory(prefix="toolman-kit-profile-") as tmp:
        path = Path(tmp) / "profile.yaml"
        path.write_text(json.dumps({"name": name, "extends": spec, **keys}), encoding="utf-8")
        yield str(path)


def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a profile file."""
    return json.loads(resources.files(__package__).joinpath("schema.json").read_text())


@cache
def _validator() -> Any:
    import fastjsonschema

    return fastjsonschema.compile(schema())


def _validate(data: Any, where: str) -> None:
    import fastjsonschema

    try:
        _validator()(data)
    except fastjsonschema.JsonSchemaValueException as exc:
        at = exc.name.removeprefix("data").lstrip(".") or "(top level)"
        raise ProfileError(f"{at}: {exc.message.removeprefix(exc.name).strip()}", where) from None


def _raw(spec: str, seen: tuple[str, ...]) -> dict[str, Any]:
    if spec in BUILT_IN:
        text, where = resources.files(__package__).joinpath(f"{spec}.yaml").read_text(), spec
    else:
        path = Path(spec)
        if not path.is_file():
            raise ProfileError(f"no such profile (built in: {', '.join(BUILT_IN)})", spec)
        text, where = path.read_text(encoding="utf-8"), str(path)
    if where in seen:
        raise ProfileError("profile extends itself", where)
    try:
        data = yaml.safe_load(text) or {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise ProfileError(f"invalid YAML: {exc.problem}", where,
                           mark.line + 1 if mark else None) from None
    if where not in BUILT_IN:  # the built-in ones are validated by the tests
        _validate(data, where)
    data["source"] = where
    if data.get("policies") and where not in BUILT_IN:  # relative to the profile file
        data["policies"] = [str((Path(where).parent / p).resolve()) for p in data["policies"]]
    for i, rule in enumerate(data.get("rules") or ()):  # where each rule comes from
        rule.update(source=where, position=i)
    data.setdefault("name", Path(where).stem)  # its own name, not the one it extends
    parent = data.pop("extends", None)
    if parent:
        base_dir = Path(where).parent if where not in BUILT_IN else Path(".")
        parent_spec = parent if parent in BUILT_IN else str(base_dir / parent)
        return _merge(_raw(parent_spec, (*seen, where)), data)
    return data


def _merge(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in child.items():
        if key in ("exemptions", "workload_kinds", "api_versions", "policies", "rules",
                   "rwo_storage_classes"):
            merged[key] = [*base.get(key, []), *value]
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = _merge(base[key], value)
        else:
            merged[key] = value
    return merged


def _build(data: dict[str, Any]) -> Profile:
    sizing: dict[str, dict[str, dict[str, Decimal]]] = {}
    for target, kinds in (data.get("sizing") or {}).items():
        for kind, quantities in (kinds or {}).items():
            for resource_name, value in (quantities or {}).items():
                try:
                    amount = parse_quantity(value)
                except QuantityError as exc:
                    raise ProfileError(f"sizing.{target}.{kind}.{resource_name}: {exc}",
                                       data["source"]) from None
                sizing.setdefault(target, {}).setdefault(kind, {})[resource_name] = amount
    try:
        kube_version(data.get("kube_version", DEFAULT_KUBE_VERSION))
    except ToolmanKitError as exc:
        raise ProfileError(f"kube_version: {exc}", data["source"]) from None
    return Profile(
        name=data.get("name", Path(data["source"]).stem),
        description=data.get("description", ""),
        min_replicas=data.get("min_replicas", 3),
        startup_probe_after_seconds=data.get("startup_probe_after_seconds", 30),
        mutable_tags=tuple(data.get("mutable_tags", ("latest",))),
        require_digest=data.get("require_digest", False),
        secret_env_pattern=data.get("secret_env_pattern", Profile.secret_env_pattern),
        sizing=sizing,
        checks=data.get("checks") or {},
        exemptions=tuple(Exemption(**e) for e in data.get("exemptions") or ()),
        source=data["source"],
        kube_version=str(data.get("kube_version", DEFAULT_KUBE_VERSION)),
        api_versions=tuple(dict.fromkeys(map(str, data.get("api_versions") or ()))),
        rwo_storage_classes=tuple(dict.fromkeys(map(str, data.get("rwo_storage_classes") or ()))),
        workload_kinds=tuple(_workload_kind(e, data["source"])
                             for e in data.get("workload_kinds") or ()),
        allow_annotation_exemptions=data.get("allow_annotation_exemptions", True),
        peer_exemptions=data.get("peer_exemptions", False),
        namespace_labels={str(k): str(v) for k, v in (data.get("namespace_labels") or {}).items()},
        policies=tuple(dict.fromkeys(map(str, data.get("policies") or ()))),
        rules=_rules(data.get("rules") or ()),
    )


def _rules(entries: Sequence[dict[str, Any]]) -> tuple[Rule, ...]:
    """The rules, each id once and none a built-in check's (the catalogue is imported only
    when there are rules)."""
    rules = tuple(map(Rule.of, entries))
    if not rules:
        return rules
    from toolman_kit.judge.registry import catalogue

    seen: dict[str, Rule] = {}
    for rule in rules:
        if rule.id in catalogue():
            raise ProfileError(f"rules: rule {rule.id!r} has the id of a built-in check "
                               "(toolman-kit checks lists them): rename it", rule.source,
                               rule_line(rule, "id"))
        if rule.id in seen:
            first = seen[rule.id]
            line = rule_line(first, "id")
            raise ProfileError(f"rules: a second rule {rule.id!r} (the first is in "
                               f"{first.source}{f':{line}' if line else ''})", rule.source,
                               rule_line(rule, "id"))
        seen[rule.id] = rule
    return rules


def _workload_kind(entry: dict[str, Any], source: str) -> WorkloadKind:
    like = entry.get("like")
    if like is not None and like not in POD_TEMPLATE:  # the schema says so too; built-ins skip it
        raise ProfileError(f"workload_kinds: like {like!r} is not one of "
                           f"{', '.join(POD_TEMPLATE)}", source)
    return WorkloadKind.of(entry, f"profile {source}")
