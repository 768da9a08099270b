"""Who to be at a chart repository or registry: Helm's own files, else the environment.

  * `repositories.yaml` (HELM_REPOSITORY_CONFIG, default ~/.config/helm/repositories.yaml):
    `username`/`password` of the entry whose `url` the request's URL starts with;
  * `registry/config.json` (HELM_REGISTRY_CONFIG, default ~/.config/helm/registry/config.json):
    docker-style `auths` keyed by host (`auth` is base64 of user:password);
  * TOOLMAN_KIT_REPO_USERNAME / TOOLMAN_KIT_REPO_PASSWORD: for the host of the chart named on
    the command line (or in the fleet target) only, never sent to a dependency's other host.
Credentials are kept in memory only: never printed, never part of a message or a cache key.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from toolman_kit.read import yamlsafe

ENV_USERNAME = "TOOLMAN_KIT_REPO_USERNAME"
ENV_PASSWORD = "TOOLMAN_KIT_REPO_PASSWORD"

Login = tuple[str, str]


def _config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def repositories_file() -> Path:
    return Path(os.environ.get("HELM_REPOSITORY_CONFIG")
                or _config_home() / "helm" / "repositories.yaml")


def registry_file() -> Path:
    return Path(os.environ.get("HELM_REGISTRY_CONFIG")
                or _config_home() / "helm" / "registry" / "config.json")


def repositories() -> list[dict[str, Any]]:
    """The entries of repositories.yaml ([] when there is none or it cannot be read: Helm's
    file is optional here, and a broken one must not stop a public download)."""
    try:
        data = yamlsafe.parse(repositories_file().read_text(encoding="utf-8")).data
    except (OSError, UnicodeDecodeError, yamlsafe.YAMLInputError, ValueError):
        return []
    entries = data.get("repositories") if isinstance(data, dict) else None
    return [e for e in entries or () if isinstance(e, dict) and e.get("url")]


def repository_named(name: str) -> str | None:
    """The URL of the repositories.yaml entry `name` (a dependency's `@name`/`alias:name`)."""
    return next((str(e["url"]) for e in repositories() if e.get("name") == name), None)


def login(url: str, env_host: str | None = None) -> Login | None:
    """The username and password for `url`, or None (anonymous)."""
    parts = urlsplit(url)
    if parts.username is not None:  # given in the URL itself
        from urllib.parse import unquote

        return unquote(parts.username), unquote(parts.password or "")
    for entry in repositories():
        base = str(entry["url"]).rstrip("/")
        if (url == base or url.startswith(base + "/")) and entry.get("username"):
            return str(entry["username"]), str(entry.get("password") or "")
    if found := _registry_login(parts.netloc):
        return found
    user, password = os.environ.get(ENV_USERNAME), os.environ.get(ENV_PASSWORD)
    if user and env_host and parts.netloc == env_host:
        return user, password or ""
    return None


def _registry_login(host: str) -> Login | None:
    try:
        auths = json.loads(registry_file().read_text(encoding="utf-8")).get("auths") or {}
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return None
    for key, entry in auths.items() if isinstance(auths, dict) else ():
        if urlsplit(key if "://" in key else f"//{key}").netloc != host:
            continue
        if not isinstance(entry, dict):
            continue
        if entry.get("auth"):
            try:
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                continue
            return user, password
        if entry.get("username"):
            return str(entry["username"]), str(entry.get("password") or "")
    return None
