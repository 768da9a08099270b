"""The fleet file: the targets `toolman-kit batch` reports on, validated against the package's
schemas/fleet.schema.json. A file that does not validate is one FleetError naming the file, the
line and the key (e.g. `fleet.yaml:7: targets[1].name: must be lowercase …`).

    defaults: {profile: production, kube_version: "1.31"}
    targets:
      - name: toolman                  # unique, used in paths: [a-z0-9-]
        chart: charts/toolman
        values: [charts/toolman/values-production.yaml]
        api_versions: [monitoring.coreos.com/v1]  # served besides the built-ins (helm -a)
      - name: payments
        paths: [rendered/payments/]    # rendered manifests instead of a chart
        profile: profiles/payments.yaml
      - name: vendor
        chart: charts/vendor
        render_timeout: 10             # seconds per render, this target only
      - name: ingress
        chart: ingress-nginx           # a chart name with `repo`, or oci://…, or a .tgz or URL
        repo: https://charts.example.com/ingress-nginx
        version: "4.15.1"              # or a range: "^4.15"
        plain_http: true               # OCI registries over plain HTTP (helm --plain-http)
        policies: [policies/prod/]     # admission policies (files or directories), as --policy

Paths (chart, values, paths, baseline, policies, a profile that is not built in) are relative to
the fleet file and come out absolute; a `chart` that is a URL, or a name with `repo`, is kept as
written. A target's `policies` are added to the defaults' (and to its profile's), as --policy adds
to a profile's. The file holds data only: there is nothing to execute in it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from toolman_kit.errors import FleetError
from toolman_kit.judge.profiles import BUILT_IN
from toolman_kit.read.yamlsafe import Parsed, parse_file


@dataclass(frozen=True)
class Target:
    name: str
    chart: str | None = None
    values: tuple[str, ...] = ()
    release: str | None = None
    paths: tuple[str, ...] = ()
    namespace: str | None = None
    profile: str = "production"
    repo: str | None = None  # an HTTP chart repository: `chart` is a chart name in it
    version: str | None = None  # the version or range for `repo` and oci:// charts
    kube_version: str | None = None
    api_versions: tuple[str, ...] = ()  # served besides the built-ins and the chart's CRDs
    baseline: tuple[str, ...] = ()  # what the first run compares against
    title: str | None = None
    render_timeout: float | None = None  # seconds per render (None: --render-timeout's)
    policies: tuple[str, ...] = ()  # admission policy files and directories (absolute)
    plain_http: bool = False  # OCI registries over plain HTTP, not only on loopback


@dataclass(frozen=True)
class Fleet:
    path: Path
    targets: tuple[Target, ...]

    def only(self, names: list[str] | None) -> tuple[Target, ...]:
        """The targets named (all when none are); an unknown name is an error."""
        if not names:
            return self.targets
        known = {t.name for t in self.targets}
        if unknown := [n for n in names if n not in known]:
            raise FleetError(f"--only {unknown[0]}: no such target (targets: "
                             f"{', '.join(sorted(known))})", str(self.path))
        return tuple(t for t in self.targets if t.name in names)


def load_fleet(path: str | Path) -> Fleet:
    path = Path(path)
    parsed = parse_file(path, "fleet file", FleetError)
    data = parsed.data
    _validate(data, parsed, path)
    defaults = data.get("defaults") or {}
    base = path.parent.resolve()
    targets, seen = [], {}
    for i, entry in enumerate(data["targets"]):
        if entry["name"] in seen:
            raise FleetError(f"targets[{i}].name: {entry['name']!r} is already the name of "
                             f"targets[{seen[entry['name']]}]", str(path),
                             _line(parsed, ["targets", i, "name"]))
        seen[entry["name"]] = i
        options = {**defaults, **entry}
        targets.append(Target(
            name=entry["name"], repo=options.get("repo"), version=options.get("version"),
            chart=options.get("chart") if "://" in str(options.get("chart")) or
            options.get("repo") else _path(base, options.get("chart")),
            values=_paths(base, options.get("values")), release=options.get("release"),
            paths=_paths(base, options.get("paths")), namespace=options.get("namespace"),
            profile=_profile(base, options.get("profile", "production")),
            kube_version=options.get("kube_version"),
            api_versions=tuple(options.get("api_versions") or ()),
            baseline=_paths(base, options.get("baseline")), title=options.get("title"),
            render_timeout=options.get("render_timeout"),
            plain_http=bool(options.get("plain_http", False)),
            policies=tuple(dict.fromkeys(_paths(base, [*defaults.get("policies", ()),
                                                       *entry.get("policies", ())])))))
    return Fleet(path, tuple(targets))


def schema() -> dict[str, Any]:
    schemas = resources.files("toolman_kit").joinpath("schemas")
    return json.loads(schemas.joinpath("fleet.schema.json").read_text(encoding="utf-8"))


def _validate(data: Any, parsed: Parsed, path: Path) -> None:
    import jsonschema

    errors = list(jsonschema.Draft202012Validator(schema()).iter_errors(data))
    if not errors:
        return
    # The first error in the file; at one place, the one about the deepest key.
    first = min(errors, key=lambda e: (_line(parsed, _where(e)) or 0, -len(e.absolute_path)))
    where = _where(first)
    raise FleetError(f"{_key(where)}: {_message(first)}", str(path), _line(parsed, where))


def _where(error: Any) -> list[Any]:
    """The path of the offending key: for an unexpected key, that key itself."""
    where = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        where.append(next(k for k in error.instance if k not in allowed))
    return where


def _message(error: Any) -> str:
    if error.validator == "additionalProperties":
        return "unknown key (see the fleet file's schema)"
    custom = error.schema.get("errorMessage")
    if isinstance(custom, dict):
        custom = custom.get(error.validator)
    return custom or error.message


def _key(where: list[Any]) -> str:
    text = ""
    for part in where:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "(top level)"


def _line(parsed: Parsed, where: list[Any]) -> int | None:
    """1-based line of the key (or list item) at `where`, else of its nearest parent."""
    node, line = parsed.data, None
    for part in where:
        lines = parsed.lines.get(id(node))
        try:
            line, node = lines[part] + 1, node[part]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            break
    return line if line is not None else 1


def _path(base: Path, value: str | None) -> str | None:
    return None if value is None else str(base / value)


def _paths(base: Path, values: list[str] | None) -> tuple[str, ...]:
    return tuple(str(base / v) for v in values or ())


def _profile(base: Path, value: str) -> str:
    return value if value in BUILT_IN else str(base / value)
