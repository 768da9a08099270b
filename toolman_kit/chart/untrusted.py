"""What a chart directory may not do, checked before the Helm SDK loads it.

The SDK's loader follows symlinks, so a chart could render any file of the machine
(`templates/x.yaml → /etc/shadow`, read through `.Files.Get`); a symlink inside the chart that
points outside it is refused, naming it. A values.schema.json `$ref` is resolved by Helm against
`file:///values.schema.json` (a relative `other.json` reads `/other.json`; `file:///etc/…` and
`http://…` are read or fetched, and their first bytes end up in the error) and by jsonschema in
this process (which still fetches remote references): only references within the schema itself
(`#…`) are allowed, and `$schema` must name a JSON Schema draft.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from toolman_kit.errors import RenderError

SCHEMA = "values.schema.json"
DRAFTS = ("http://json-schema.org/", "https://json-schema.org/")


def check_chart_files(chart: str | os.PathLike[str]) -> None:
    """A RenderError naming the first symlink that leaves the chart, or the first schema
    reference that leaves its schema; nothing otherwise."""
    root = Path(chart)
    real_root = root.resolve()
    for folder, dirs, files in os.walk(root):
        for name in sorted(dirs + files):
            path = Path(folder, name)
            if path.is_symlink():
                target = path.resolve()
                if not target.is_relative_to(real_root):
                    raise RenderError(f"a symlink to {os.readlink(path)}, outside the chart: "
                                      "refused", file=str(path))
            if name == SCHEMA and name in files:
                check_schema(path)
        dirs.sort()


def check_schema(path: Path) -> None:
    try:
        schema = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return  # unreadable or not JSON: Helm says so, in its words
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref, draft = node.get("$ref"), node.get("$schema")
            if isinstance(ref, str) and not ref.startswith("#"):
                raise RenderError(f"$ref {ref[:200]!r}: only references within the schema "
                                  "(#…) are resolved", file=str(path))
            if isinstance(draft, str) and not draft.startswith(DRAFTS):
                raise RenderError(f"$schema {draft[:200]!r}: not a JSON Schema draft",
                                  file=str(path))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
