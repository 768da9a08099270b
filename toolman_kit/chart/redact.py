"""Values never leave the kit in what it prints or writes: a `--set` expression is shown as its
keys, schema and render errors name the key and the rule, never the value.

Values given to a chart are often credentials (`--set db.password=…`), and reports are published:
every echo goes through here. Helm's own messages quote values (its schema validation: "at
'/password': 'S3cret' does not match pattern …"; a template's `fail`/`required` text may embed
any value), so they are rewritten, and any string the user gave that still appears is masked.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import yaml

from toolman_kit.judge.checks.credentials import PRIVATE_KEY
from toolman_kit.judge.profiles import SECRET_ENV_PATTERN
from toolman_kit.read.manifests import split_documents
from toolman_kit.read.yamlsafe import YAMLInputError, parse

REDACTED = "<redacted>"
MIN_MASKED = 4  # shorter given strings ("on", "1", "v2") are not masked: they would mangle text

# Helm 4's schema failure (santhosh-tekuri/jsonschema): "- at '/a/b': <message>", one a line.
_AT = re.compile(r"^- at '([^']*)': (.*)$")
# Its messages that quote nothing the user gave: kept as they are.
_SAFE = re.compile(r"got [a-z]+, want [a-z]+(?:(?:, | or )[a-z]+)*"  # a type mismatch
                   r"|missing propert(?:y|ies) [^\n]*"  # keys only
                   r"|additional propert(?:y|ies) [^\n]* not allowed")
_BOUND = re.compile(r"(minLength|maxLength|minimum|maximum|exclusiveMinimum|exclusiveMaximum|"
                    r"minItems|maxItems|minProperties|maxProperties|multipleOf): got .*, "
                    r"want (.*)")
_RULES = (  # (what Helm says, in the user's value's stead)
    (re.compile(r".* does not match pattern .*"), "does not match the schema's pattern"),
    (re.compile(r"value must be one of .*"), "is not one of the schema's allowed values"),
    (re.compile(r"value must be .*"), "is not the schema's constant value"),
    (re.compile(r".* is not valid '?([\w-]+)'?"), "is not a valid {0}"),
    (re.compile(r".* causing reference cycle"), "its $refs form a reference cycle"),
)


def redact_set(expr: str) -> str:
    """A `--set` expression with its values replaced: `a.b=S3cret,l={1,2}` →
    `a.b=<redacted>,l=<redacted>` (Helm's strvals syntax: `\\,` escapes a comma, a value in
    braces is a list)."""
    return ",".join(key if value is None else f"{key}={REDACTED}"
                    for key, value in _assignments(expr))


def set_strings(expr: str) -> list[str]:
    """The values of a `--set` expression as written (a list's items too): what to mask."""
    out = []
    for _, value in _assignments(expr):
        if value is not None:
            out.append(value)
            if value.startswith("{") and value.endswith("}"):
                out += value[1:-1].split(",")
    return out


def _assignments(expr: str) -> Iterator[tuple[str, str | None]]:
    """(key, value as written, None without `=`) for each comma-separated assignment."""
    key: list[str] = []
    value: list[str] | None = None
    depth, i = 0, 0
    while i < len(expr):
        c = expr[i]
        if c == "\\" and i + 1 < len(expr):
            (key if value is None else value).append(expr[i:i + 2])
            i += 2
            continue
        if value is None and c == "=":
            value = []
        elif c == "," and depth == 0:
            yield "".join(key), None if value is None else "".join(value)
            key, value = [], None
        elif value is not None:
            depth += {"{": 1, "}": -1}.get(c, 0)
            value.append(c)
        else:
            key.append(c)
        i += 1
    if key or value is not None:
        yield "".join(key), None if value is None else "".join(value)


def given_strings(values: Any) -> list[str]:
    """Every string in values the user gave, to mask in messages; numbers too when long enough
    to be a PIN or a key (`--set pin=12345678` is parsed as a number)."""
    if isinstance(values, Mapping):
        return [s for v in values.values() for s in given_strings(v)]
    if isinstance(values, list | tuple):
        return [s for v in values for s in given_strings(v)]
    if isinstance(values, str):
        return [values]
    if isinstance(values, int | float) and not isinstance(values, bool):
        return [str(values)] if len(str(values)) >= 6 else []
    return []


def mask(text: str, strings: Iterable[str]) -> str:
    """`text` with each given string of MIN_MASKED characters or more replaced by <redacted>
    (longest first, so a value is not half-masked by a shorter one inside it)."""
    for s in sorted({s.strip() for s in strings if len(s.strip()) >= MIN_MASKED},
                    key=len, reverse=True):
        text = text.replace(s, REDACTED)
        if (quoted := json.dumps(s)[1:-1]) != s:  # as Go's %q or JSON would escape it
            text = text.replace(quoted, REDACTED)
    return text


def helm_message(text: str) -> str:
    """Helm's error text with its schema violations rewritten to name the key and the rule:
    "- at '/password': 'S3cret' does not match pattern '^[a-z]+$'" → "password: does not
    match the schema's pattern". Other lines are kept (mask() handles what they quote)."""
    return "\n".join(_violation(m[1], m[2]) if (m := _AT.match(line.strip())) else line
                     for line in text.splitlines())


def _violation(pointer: str, message: str) -> str:
    key = ".".join(p.replace("~1", "/").replace("~0", "~")
                   for p in pointer.strip("/").split("/")) if pointer.strip("/") else "(top level)"
    return f"{key}: {helm_rule(message)};"


def helm_rule(message: str) -> str:
    """One of Helm's schema messages, in words that hold no value."""
    if _SAFE.fullmatch(message):
        return message
    if m := _BOUND.fullmatch(message):
        return BOUNDS[m[1]].format(m[2])
    for pattern, words in _RULES:
        if m := pattern.fullmatch(message):
            return words.format(*m.groups())
    return "does not match the schema"


# A bound broken, in words: the schema's number, not the value.
BOUNDS = {
    "minimum": "is less than the minimum of {}", "maximum": "is greater than the maximum of {}",
    "exclusiveMinimum": "is not greater than the exclusive minimum of {}",
    "exclusiveMaximum": "is not less than the exclusive maximum of {}",
    "minLength": "is shorter than {} characters", "maxLength": "is longer than {} characters",
    "minItems": "has fewer than {} items", "maxItems": "has more than {} items",
    "minProperties": "has fewer than {} keys", "maxProperties": "has more than {} keys",
    "multipleOf": "is not a multiple of {}",
}


def schema_rule(error: Any) -> str:
    """A jsonschema ValidationError in words that hold no value (its message quotes the
    instance: "'S3cret' does not match '^[a-z]+$'")."""
    rule, bound = error.validator, error.validator_value
    if rule == "pattern":
        return "does not match the schema's pattern"
    if rule == "type":
        wanted = " or ".join(bound) if isinstance(bound, list) else bound
        return f"is not of type {wanted}"
    if rule == "enum":
        return "is not one of the schema's allowed values"
    if rule == "const":
        return "is not the schema's constant value"
    if rule == "format":
        return f"is not a valid {bound}"
    if rule in ("required", "additionalProperties", "dependentRequired", "propertyNames"):
        return error.message  # names keys, not values
    if rule in BOUNDS:
        return BOUNDS[rule].format(bound)
    return f"fails the schema's {rule} rule"


# --- manifests kept on disk ----------------------------------------------------------------------

_PIECES = re.compile(r"^(?=---(?:[ \t\r\n]|\Z))", re.M)  # where read.manifests splits too

def mask_secrets(text: str, names: re.Pattern[str] | None = None) -> str:
    """Rendered manifests with their credentials replaced by `<redacted sha256:…>` (a digest of
    the value: a changed value still changes the text, and so the fleet's input hash): every
    Secret's `data` and `stringData` value, and the ConfigMap entries and literal env values
    named like a credential (`names`: the profile's secret_env pattern; the built-in one always
    counts) or holding a PEM private key (kept as a PEM block, so the credential checks still
    see it). Other documents are kept byte for byte; a document that does not parse is left
    out (it could hold anything), with a comment saying so."""
    patterns = [re.compile(SECRET_ENV_PATTERN, re.I), *([names] if names else [])]

    def named(key: Any) -> bool:
        return any(p.search(str(key)) for p in patterns)

    out = []
    for piece in _PIECES.split(text):
        try:
            docs = [parse(chunk).data for _, chunk in split_documents([piece])]
        except YAMLInputError:
            out.append("---\n# toolman-kit: a document that is not YAML, left out\n")
            continue
        masked = [_masked(d, named) for d in docs]
        if masked == docs:
            out.append(piece)
            continue
        lines = piece.splitlines()[1 if piece.startswith("---") else 0:]
        out.append("\n".join(["---", *_leading_comments(lines), yaml.safe_dump_all(
            masked, sort_keys=False).rstrip("\n")]) + "\n")
    return "".join(out)


def _masked(data: Any, named: Callable[[Any], bool]) -> Any:
    """A copy of `data` with its credentials digested (see mask_secrets)."""
    if isinstance(data, list):
        return [_masked(d, named) for d in data]
    if not isinstance(data, dict):
        return data
    out = {k: _masked(v, named) for k, v in data.items()}
    if out.get("kind") == "Secret":
        for field in ("data", "stringData"):
            if isinstance(out.get(field), dict):
                out[field] = {k: _digest(v) for k, v in out[field].items()}
            elif out.get(field) is not None:
                out[field] = _digest(out[field])
    elif out.get("kind") == "ConfigMap":
        for field in ("data", "binaryData"):
            if isinstance(out.get(field), dict):
                out[field] = {k: _digest(v) if named(k) or _pem(v) else v
                              for k, v in out[field].items()}
    if isinstance(out.get("env"), list):  # a container's literal env values
        out["env"] = [{**e, "value": _digest(e["value"])}
                      if isinstance(e, dict) and e.get("value") not in (None, "")
                      and (named(e.get("name", "")) or _pem(e["value"])) else e
                      for e in out["env"]]
    return out


def _pem(value: Any) -> bool:
    return isinstance(value, str) and PRIVATE_KEY.search(value) is not None


def _digest(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    masked = f"<redacted sha256:{hashlib.sha256(text.encode()).hexdigest()[:16]}>"
    if _pem(text):  # still a private key to the checks that look for one
        return f"-----BEGIN PRIVATE KEY-----\n{masked}\n-----END PRIVATE KEY-----\n"
    return masked


def _leading_comments(lines: list[str]) -> Iterator[str]:
    for line in lines:
        if not line.lstrip().startswith("#"):
            return
        yield line
