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
# PEM (RSA, EC, DSA, OpenSSH, encrypted, PGP), SSH2 and PuTTY private keys: detect-secrets'
# PrivateKeyDetector, which checkov runs, knows these (OCI API keys are PEM).
PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|"
                         r"---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----|"
                         r"PuTTY-User-Key-File-[23]: .{1,40}\r?\n?Encryption:")
# Values that are a credential whatever their key is named: the shapes of detect-secrets' (and
# so checkov's) plugins, each specific enough to be one.
CREDENTIAL_SHAPES = (
    (re.compile(r"\b(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key ID"),
    (re.compile(r"AccountKey=[A-Za-z0-9+/]{86}=="), "an Azure storage account key"),
    (re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9_]{36}"), "a GitHub token"),
    (re.compile(r"\bxox[abposr]-(?:\d+-)+[a-z0-9]+", re.I), "a Slack token"),
    (re.compile(r"https://hooks\.slack\.com/services/T\w+/B\w+/\w+"), "a Slack webhook URL"),
    (re.compile(r"\b[rs]k_live_[0-9a-zA-Z]{24}"), "a Stripe live key"),
    # user:password@ in a URL; a ${VAR} or {{ }} password is a placeholder, not a credential
    (re.compile(r"://[^{}\s:/@$]+:(?!\$\{|\$\()[^{}\s:/@]+@"), "a URL with a password"),
)
# `name = value` or `name: value` lines of a file held in one value (INI, .properties, .env,
# YAML): an OCI CLI config's pass_phrase, a Spring datasource password.
_ASSIGNMENT = re.compile(r"^[ \t]*(?:export[ \t]+)?[\"']?([A-Za-z_][\w.-]*)[\"']?[ \t]*[:=][ \t]*"
                         r"[\"']?([^\"'\r\n#]*?)[\"']?[ \t]*$", re.M)
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
    private key, a cloud or service key of a known shape (AWS, Azure storage, GitHub, Slack,
    Stripe) or a URL with a password is found in any variable, whatever its name."""
    for i, env in enumerate(as_list(c.raw.get("env"))):
        env = as_dict(env)
        name, value = str(env.get("name", "")), env.get("value")
        if "valueFrom" in env or value in (None, ""):
            continue
        value = str(value)
        shape = credential_shape(value)
        if shape:
            yield Violation(f"{c.name}: env {name} holds {shape}",
                            path=f"{c.path}.env[{i}].value")
        elif profile.secret_env.search(name) and not _ENV_REFERENCE.fullmatch(value.strip()):
            yield Violation(f"{c.name}: env {name} holds a literal value, not a Secret reference",
                            path=f"{c.path}.env[{i}].value")


def _private_key(value: str) -> bool:
    return ("PRIVATE KEY" in value or "PuTTY" in value) and PRIVATE_KEY.search(value) is not None


def credential_shape(value: str) -> str | None:
    """What credential the value holds by its shape alone (a private key, a cloud or service
    key, a URL with a password), if any."""
    if _private_key(value):
        return "a PEM private key" if "-----BEGIN" in value else "a private key"
    return next((what for shape, what in CREDENTIAL_SHAPES if shape.search(value)), None)


def _literal(key: str, text: str, profile: Profile) -> bool:
    """A key named like a credential holding a literal (not a path, number, boolean or
    placeholder)."""
    return bool(profile.secret_env.search(key)) and not _NOT_A_SECRET_KEY.search(key) and \
        not _NOT_A_SECRET_VALUE.fullmatch(text) and not _PLACEHOLDER.search(text)


def _credential(key: str, value: Any, profile: Profile) -> str | None:
    """What makes a ConfigMap entry a credential, if anything."""
    if not isinstance(value, str) or not value.strip():
        return None
    shape = credential_shape(value)
    if shape:
        return f"holds {shape}"
    text = value.strip()
    if _literal(key, text, profile):
        return "is named like a credential and holds a literal value"
    if "\n" in text:
        for m in _ASSIGNMENT.finditer(text):
            if m.group(2) and _literal(m.group(1), m.group(2), profile):
                line = text.count("\n", 0, m.start()) + 1
                return f"sets {m.group(1)} to a literal value (line {line} of the file it holds)"
    return None


@check(id="secret-in-configmap", area=Area.SECURITY, severity=Severity.ERROR,
       scope=Scope.OBJECT, kinds=("ConfigMap",), title="Credential stored in a ConfigMap",
       remediation="Move the value into a Secret (and mount it as a file or reference it with "
                   "secretKeyRef).")
def secret_in_configmap(cm: Resource, idx: Index, profile: Profile) -> Outcome:
    """ConfigMaps are not access-controlled like Secrets (the `view` role reads them, they are
    printed by `kubectl describe` and land in logs and dashboards): a password or private key
    there is readable by everyone who can look at the namespace. Flagged: private keys and
    cloud or service keys of a known shape (as checkov's secret scanner knows them) in any
    value; keys named like a credential (password, token, api_key, AZURE_BATCH_KEY …) holding a
    literal value (not a path, number, boolean or a ${VAR} reference); and such a line
    (`pass_phrase=…`) in a file that a value holds (an OCI CLI config, .properties, .env)."""
    for key, value in as_dict(cm.obj.get("data")).items():
        problem = _credential(str(key), value, profile)
        if problem:
            yield Violation(f"data key {key} {problem}", path=f"data.{key}")
