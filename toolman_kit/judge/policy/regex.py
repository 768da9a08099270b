"""The Kubernetes regex library: find and findAll, with RE2 syntax and linear-time matching as
in cel-go (google-re2), so a hostile pattern cannot make a check backtrack for ever.

    'abc 123'.find('[0-9]+')               '123'
    '123 abc 456'.findAll('[0-9]+')        ['123', '456']
    '123 abc 456'.findAll('[0-9]+', 1)     ['123']      (a negative limit: all)
"""

from __future__ import annotations

from functools import lru_cache

import re2
from cel_expr_python import cel

T = cel.Type
_QUIET = re2.Options()
_QUIET.log_errors = False  # the error is ours to report, in one line, not RE2's on stderr


@lru_cache(maxsize=256)  # the same few patterns over every object of a run
def _compiled(pattern: str) -> re2._Regexp:
    try:
        return re2.compile(pattern, _QUIET)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ValueError(f"invalid regex {pattern!r}: {reason}") from None


def find(text: str, pattern: str) -> str:
    match = _compiled(pattern).search(text)
    return match.group(0) if match else ""


def find_all(text: str, pattern: str, limit: int = -1) -> list[str]:
    if limit == 0:
        return []
    found = [match.group(0) for match in _compiled(pattern).finditer(text)]
    return found if limit < 0 else found[:limit]


def declarations() -> list[cel.FunctionDecl]:
    return [
        cel.FunctionDecl("find", [cel.Overload(
            "string_find_string", T.STRING, [T.STRING, T.STRING], is_member=True, impl=find)]),
        cel.FunctionDecl("findAll", [
            cel.Overload("string_find_all_string", T.List(T.STRING), [T.STRING, T.STRING],
                         is_member=True, impl=find_all),
            cel.Overload("string_find_all_string_int", T.List(T.STRING),
                         [T.STRING, T.STRING, T.INT], is_member=True, impl=find_all)]),
    ]
