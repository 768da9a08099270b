"""Credentials written where Secrets belong: env values and ConfigMap data."""

from __future__ import annotations

import re
from typing import Any

from toolman_kit.judge.profiles import Profile
from toolman_kit.judge.registry import Area, Outcome, Scope, Severity, Violation, check
from toolman_kit.read.index import Index
from toolman_kit.read.manifests import Resource
from toolman_kit.read.model import Container, Workload, as_dict, as_list

_ENV_REFERENCE = re.compile(r"\$\([A-Za-z_][A-Za-z0-9_.-]*\)")  # $(OTHER_VAR): not a literal
PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----")
# ConfigMap keys named like a credential that name one instead (secretName, tokenPath, …), and
# values that cannot be one: paths, numbers, durations, booleans, ${VAR} or {{ }} placeholders.
_NOT_A_SECRET_KEY = re.compile(r"(name|file|path|ref|ttl|url|enabled)$", re.I)
_NOT_A_SECRET_VALUE = re.compile(r"/\S*|[\d.]+[smhd]?|true|false|yes|no", re.I)
_PLACEHOLDER = re.compile(r"\$\{[^}]+\}|\$\([^)]+\)|\{\{.*\}\}")


@check(id="secret-in-env-value", area=Area.SECURITY, severity=Severity.ERROR,
       scope=Scope.CONTAINER, title="Credential written into an environment variable",
       remediation="Move the value into a Secret and use env[].valueFrom.secretKeyRef, or mount "
                   "the Secret as a file (better for keys and certificates).")
def secret_in_env_value(c: Container, w: Workload, idx: Index, profile: Profile) -> Outcome:
    """A literal credential in the manifest is in the chart values, in git, in `helm get` and in
    every reader's copy of the Deployment; a Secret can be access-controlled and rotated. A
    PEM private key is found in any variable, whatever its name."""
    for i, env in enumerate(as_list(c.raw.get("env"))):
        env = as_dict(env)
        name, value = str(env.get("name", "")), env.get("value")
        if "valueFrom" in env or value in (None, ""):
            continue
        value = str(value)
        if _private_key(value):
            yield Violation(f"{c.name}: env {name} holds a PEM private key",
                            path=f"{c.path}.env[{i}].value")
        elif profile.secret_env.search(name) and not _ENV_REFERENCE.fullmatch(value.strip()):
            yield Violation(f"{c.name}: env {name} holds a literal value, not a Secret reference",
                            path=f"{c.path}.env[{i}].value")


def _private_key(value: str) -> bool:
    return "PRIVATE KEY" in value and PRIVATE_KEY.search(value) is not None


def _credential(key: str, value: Any, profile: Profile) -> str | None:
    """What makes a ConfigMap entry a credential, if anything."""
    if not isinstance(value, str) or not value.strip():
        return None
    if _private_key(value):
        return "holds a PEM private key"
    text = value.strip()
    if not profile.secret_env.search(key) or _NOT_A_SECRET_KEY.search(key) or \
            _NOT_A_SECRET_VALUE.fullmatch(text) or _PLACEHOLDER.search(text):
        return None
    return "is named like a credential and holds a literal value"


@check(id="secret-in-configmap", area=Area.SECURITY, severity=Severity.ERROR,
       scope=Scope.OBJECT, kinds=("ConfigMap",), title="Credential stored in a ConfigMap",
       remediation="Move the value into a Secret (and mount it as a file or reference it with "
                   "secretKeyRef).")
def secret_in_configmap(cm: Resource, idx: Index, profile: Profile) -> Outcome:
    """ConfigMaps are not access-controlled like Secrets (the `view` role reads them, they are
    printed by `kubectl describe` and land in logs and dashboards): a password or private key
    there is readable by everyone who can look at the namespace. Flagged: PEM private keys in
    any value, and keys named like a credential (password, token, api_key …) holding a literal
    value (not a path, number, boolean or a ${VAR} reference)."""
    for key, value in as_dict(cm.obj.get("data")).items():
        problem = _credential(str(key), value, profile)
        if problem:
            yield Violation(f"data key {key} {problem}", path=f"data.{key}")
