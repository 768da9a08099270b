"""The configuration file, `.toolman-kit.yaml`: defaults for every command, so that a repository
says once how it is checked (profile, target Kubernetes, check's format and --fail-on …).

    profile: profiles/payments.yaml    # relative to this file
    kube_version: "1.31"
    fail_on: warning
    exemptions:
      - {check: pdb-missing, name: batch-*, reason: "jobs drain themselves"}

It is found from the working directory up to the repository root (the first directory holding
`.git`) and no further, so a checkout never picks up a file from outside it. The file is
validated against schemas/config.schema.json with fastjsonschema (`check` starts without
jsonschema): an error is one line naming the file, the line and the key, with a did-you-mean
for an unknown key. What each key does to a command is commands/options.py's `apply_config`.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from toolman_kit.errors import ConfigError
from toolman_kit.read.yamlsafe import Parsed, parse_file

NAME = ".toolman-kit.yaml"


@dataclass(frozen=True)
class Config:
    path: Path
    values: dict[str, Any]
    lines: dict[str, int]  # the 1-based line of each key, for errors found while applying it

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{key}: {message}", str(self.path), self.lines.get(key))


def discover(start: Path | None = None) -> Path | None:
    """The nearest `.toolman-kit.yaml` from `start` (the working directory) up to the repository
    root (the first directory holding `.git`) or the filesystem root, whichever comes first."""
    directory = (start or Path.cwd()).resolve()
    for candidate in (directory, *directory.parents):
        if (candidate / NAME).is_file():
            return candidate / NAME
        if (candidate / ".git").exists():  # a worktree's .git is a file
            return None
    return None


def load_config(path: str | Path) -> Config:
    path = Path(path)
    parsed = parse_file(path, "configuration file", ConfigError)
    data = {} if parsed.data is None else parsed.data  # an empty file configures nothing
    _validate(data, parsed, path)
    lines = parsed.lines.get(id(data)) or {}
    return Config(path, data, {k: v + 1 for k, v in dict(lines).items()})


def schema() -> dict[str, Any]:
    schemas = resources.files("toolman_kit").joinpath("schemas")
    return json.loads(schemas.joinpath("config.schema.json").read_text(encoding="utf-8"))


@cache
def _validator() -> Any:
    import fastjsonschema

    return fastjsonschema.compile(schema())


def _validate(data: Any, parsed: Parsed, path: Path) -> None:
    import fastjsonschema

    try:
        _validator()(data)
    except fastjsonschema.JsonSchemaValueException as exc:
        # exc.path starts with "data" and gives list indices as strings
        where: list[Any] = [int(p) if str(p).isdigit() else p for p in exc.path[1:]]
        definition = exc.definition or {}
        if exc.rule == "additionalProperties" and isinstance(exc.value, dict):
            known = list(definition.get("properties", {}))
            unknown = next(k for k in exc.value if k not in known)
            where.append(unknown)
            close = difflib.get_close_matches(str(unknown), known, n=1)
            message = "unknown key" + (f"; did you mean {close[0]!r}?" if close else
                                       f" (known: {', '.join(known)})")
        else:
            message = definition.get("errorMessage") or exc.message.removeprefix(exc.name).strip()
        raise ConfigError(f"{_key(where)}: {message}", str(path), _line(parsed, where)) from None


def _key(where: list[Any]) -> str:
    text = ""
    for part in where:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "(top level)"


def _line(parsed: Parsed, where: list[Any]) -> int:
    """1-based line of the key (or list item) at `where`, else of its nearest parent."""
    node, line = parsed.data, 1
    for part in where:
        try:
            line, node = parsed.lines[id(node)][part] + 1, node[part]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            break
    return line
