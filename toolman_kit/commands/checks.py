"""`toolman-kit checks [ID]`: the check catalogue, or one check in full."""

from __future__ import annotations

import argparse
import json
import sys
from difflib import get_close_matches
from typing import Any

from toolman_kit.commands.options import add_format, add_policy, add_profile
from toolman_kit.errors import ToolmanKitError
from toolman_kit.exits import EXIT_INPUT, EXIT_OK
from toolman_kit.judge import engine
from toolman_kit.judge.profiles import load_profile
from toolman_kit.judge.registry import catalogue
from toolman_kit.present.docs import catalogue_markdown, catalogue_records, check_text, record
from toolman_kit.read.index import Index
from toolman_kit.read.manifests import Manifests
from toolman_kit.text import plural, terminal_safe


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "checks", help="print the check catalogue, or one check in full",
        description="Print the check catalogue, or one check in full: what, why, the fix, how "
                    "peers differ and its fixtures. The profile's values fill the fixes, and "
                    "its grades are shown.")
    p.add_argument("id", nargs="?", metavar="ID",
                   help="the check to describe in full (default: list them all)")
    add_format(p, ("table", "markdown", "json"), "table")
    add_profile(p)
    add_policy(p)
    p.set_defaults(run=_checks)


def _checks(args: argparse.Namespace) -> int:
    profile = load_profile(args.profile)
    policies, errors = engine.policy_checks(Index(Manifests()), profile)  # --policy's, listed
    for error in errors:  # with their source; one that does not load is an input error
        print(terminal_safe(str(error)), file=sys.stderr)
    checks = {**catalogue(), **policies}
    if args.id is not None:
        if args.id not in checks:
            near = get_close_matches(args.id, checks, n=3)
            hint = f"; did you mean {' or '.join(near)}?" if near else \
                " (toolman-kit checks lists them)"
            raise ToolmanKitError(f"no check {args.id!r}{hint}")
        c = checks[args.id]
        if args.format == "json":
            sys.stdout.write(json.dumps(record(c, profile), indent=2, ensure_ascii=False) + "\n")
        else:
            sys.stdout.write("".join(terminal_safe(line) + "\n"  # a rule's or policy's text
                                     for line in check_text(c, profile).splitlines()))
    elif args.format == "markdown":
        sys.stdout.write(catalogue_markdown())
    elif args.format == "json":
        sys.stdout.write(json.dumps([*catalogue_records(profile),
                                     *(record(c, profile) for c in policies.values())],
                                    indent=2, ensure_ascii=False) + "\n")
    else:
        for c in checks.values():
            severity = profile.severity(c.id, c.severity.value)
            source = f"  (rule of profile {c.source})" if c.source else ""
            print(terminal_safe(f"{c.id:<36} {severity:<8} {c.area.value:<13} {c.title}{source}"))
        print(f"\n{plural(len(checks), 'check')}; `toolman-kit checks ID` describes one in full")
    return EXIT_INPUT if errors else EXIT_OK
