"""The Kubernetes format library (apiserver library/format.go): format.named(name) (an optional)
and format.dns1123Label() … format.datetime(), whose validate(string) is optional.none() when the
string is valid, else an optional of the error messages, worded as apimachinery's validation
functions word them.

    format.dns1123Label().validate('my-name').hasValue()               false
    format.named('dns1035Label').value().validate('1abc').value()      ["a DNS-1035 label must …"]
    format.named('nope').hasValue()                                    false

Deviation: cel-expr-python 0.1.3 cannot return an optional from Python, so these optionals are
library values (opaque.py) with their own hasValue() and value(), which work as on CEL's
optionals, and so does optMap() (a macro over those two: its result is a real CEL optional).
orValue() and or() cannot be added (cel-cpp evaluates them in a step of its own that takes only
its optionals: "No matching overloads" at evaluation), and `x == optional.none()` is false.
Declaring a function's result as `optional_type<dyn>` (cel.Type.AbstractType("optional_type",
[DYN]), the only way 0.1.3 offers) does not help: the type-checker holds it apart from CEL's
optional_type(T), so `.orValue()`, `.hasValue()` and `== optional.none()` on it do not compile.
uuid, byte, date and datetime follow kube-openapi's strfmt checks.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from cel_expr_python import cel

from toolman_kit.judge.policy import opaque, urls

T = cel.Type
FORMAT, OPTIONAL = "Format", "Optional"
_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN = _LABEL + r"(\." + _LABEL + ")*"
_DNS1035 = "[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"
_UUID = re.compile(r"(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}")
_DATETIME = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?"
                       r"(Z|[+-]\d{2}:?\d{2})?")


def _max_length(limit: int) -> str:
    return f"must be no more than {limit} characters"


def _regex_error(message: str, pattern: str, *examples: str) -> str:
    """apimachinery's RegexError, its odd ", or" included."""
    if not examples:
        return f"{message} (regex used for validation is '{pattern}')"
    shown = " or ".join(f"'{example}', " for example in examples)
    return f"{message} (e.g. {shown}regex used for validation is '{pattern}')"


def _checker(pattern: str, limit: int, message: str, *examples: str
             ) -> Callable[[str], list[str]]:
    compiled = re.compile(pattern)

    def check(value: str) -> list[str]:
        errors = [_max_length(limit)] if len(value) > limit else []
        if not compiled.fullmatch(value):
            errors.append(_regex_error(message, pattern, *examples))
        return errors
    return check


dns1123_label = _checker(
    _LABEL, 63, "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
    "'-', and must start and end with an alphanumeric character", "my-name", "123-abc")
dns1123_subdomain = _checker(
    _SUBDOMAIN, 253, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
    "characters, '-' or '.', and must start and end with an alphanumeric character",
    "example.com")
dns1035_label = _checker(
    _DNS1035, 63, "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
    "start with an alphabetic character, and end with an alphanumeric character",
    "my-name", "abc-123")
label_value = _checker(
    _LABEL_VALUE, 63, "a valid label must be an empty string or consist of alphanumeric "
    "characters, '-', '_' or '.', and must start and end with an alphanumeric character",
    "MyValue", "my_value", "12345")
_QUALIFIED_MESSAGE = ("must consist of alphanumeric characters, '-', '_' or '.', and must start "
                      "and end with an alphanumeric character")


def qualified_name(value: str) -> list[str]:
    """apimachinery's IsQualifiedName: an optional DNS subdomain prefix, '/', a name."""
    errors: list[str] = []
    parts = value.split("/")
    example = _regex_error(_QUALIFIED_MESSAGE, _QUALIFIED, "MyName", "my.name", "123-abc")
    if len(parts) > 2:
        return [f"a qualified name {example} with an optional DNS subdomain prefix and '/' "
                "(e.g. 'example.com/MyName')"]
    name = parts[-1]
    if len(parts) == 2:
        if not parts[0]:
            errors.append("prefix part must be non-empty")
        else:
            errors += [f"prefix part {message}" for message in dns1123_subdomain(parts[0])]
    if not name:
        errors.append("name part must be non-empty")
    elif len(name) > 63:
        errors.append(f"name part {_max_length(63)}")
    if not re.fullmatch(_QUALIFIED, name):
        errors.append(f"name part {example}")
    return errors


def _prefix(check: Callable[[str], list[str]]) -> Callable[[str], list[str]]:
    """apimachinery's NameIs…(name, prefix=true): a generateName may end in '-' (maskTrailingDash
    replaces the last two characters by 'a', as it does)."""
    return lambda value: check(value[:-2] + "a" if len(value) > 1 and value.endswith("-")
                               else value)


def _uri(value: str) -> list[str]:
    try:
        urls.parse(value)
    except urls.UrlError as exc:
        return [f"Invalid URI: {exc}"]
    return []


def _uuid(value: str) -> list[str]:
    return [] if _UUID.fullmatch(value) else ["does not match the UUID format"]


def _byte(value: str) -> list[str]:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return ["invalid base64"]
    return []


def _date(value: str) -> list[str]:
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError(value)
        date.fromisoformat(value)
    except ValueError:
        return ["invalid date"]
    return []


def _datetime(value: str) -> list[str]:
    match = _DATETIME.fullmatch(value)
    try:
        if not match:
            raise ValueError(value)
        datetime.fromisoformat(f"{match[1]}T{match[2]}:{match[3]}:{match[4] or '00'}")
        if match[6] and match[6] != "Z" and int(match[6][1:3]) > 23:
            raise ValueError(value)
    except ValueError:
        return ["invalid datetime"]
    return []


FORMATS: dict[str, Callable[[str], list[str]]] = {
    "dns1123Label": dns1123_label, "dns1123Subdomain": dns1123_subdomain,
    "dns1035Label": dns1035_label, "qualifiedName": qualified_name,
    "dns1123LabelPrefix": _prefix(dns1123_label),
    "dns1123SubdomainPrefix": _prefix(dns1123_subdomain),
    "dns1035LabelPrefix": _prefix(dns1035_label),
    "labelValue": label_value, "uri": _uri, "uuid": _uuid, "byte": _byte, "date": _date,
    "datetime": _datetime,
}


def validate(form: Any, value: str) -> dict[str, Any]:
    errors = FORMATS[opaque.unwrap(form, FORMAT)](value)
    return opaque.wrap(OPTIONAL, errors or None)


def named(name: str) -> dict[str, Any]:
    return opaque.wrap(OPTIONAL, opaque.wrap(FORMAT, name) if name in FORMATS else None)


def _value(optional: Any) -> Any:
    value = opaque.unwrap(optional, OPTIONAL)
    if value is None:
        raise ValueError("optional.none() dereference")
    return value


def declarations() -> list[cel.FunctionDecl]:
    member, function = opaque.member, opaque.function
    return [
        function("format.named", [cel.Overload("format_named_string", T.DYN, [T.STRING],
                                               impl=named)]),
        *(function(f"format.{name}", [cel.Overload(
            f"format_{name}", T.DYN, [], impl=lambda name=name: opaque.wrap(FORMAT, name))])
          for name in FORMATS),
        function("validate", [member("validate", validate, T.DYN, (T.STRING,))]),
        function("hasValue", [member("hasValue", lambda optional: opaque.unwrap(
            optional, OPTIONAL) is not None, T.BOOL)]),
        function("value", [member("value", _value)]),
    ]
