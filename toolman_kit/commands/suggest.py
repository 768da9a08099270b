"""`toolman-kit suggest`: the proven values override as a values file, JSON or Markdown.

Exit status: 0 a suggestion was made (what values cannot fix is listed, not an error); 2 usage or
input error, e.g. a chart that does not render with the starting values (Helm's message).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from toolman_kit.commands.options import add_output_options, add_release_options, emit
from toolman_kit.present.suggestion_doc import FORMATS


def add_suggest_command(subparsers: Any, add_kube_version_option: Callable) -> None:
    p = subparsers.add_parser(
        "suggest", help="write a values override that fixes what values can, proven by renders",
        description="Find the values that make failing checks pass, from the chart itself (the "
                    "keys that control each failing field, well-known keys, commented-out "
                    "blocks, values.schema.json) and the profile; keep each only when a "
                    "re-render proves that it fixes something and introduces nothing; write "
                    "the override to put after your values, and what values cannot fix.")
    p.add_argument("--chart", metavar="DIR", required=True, help="the Helm chart directory")
    p.add_argument("-f", "--values", dest="files", action="append", default=[],
                   metavar="FILE", help="your values (repeatable, later wins): the start")
    p.add_argument("--set", action="append", default=[], metavar="K=V", dest="set_values",
                   help="your --set values (helm syntax; they win over the suggestion)")
    add_release_options(p, add_kube_version_option)
    p.add_argument("--format", choices=tuple(FORMATS), default="yaml",
                   help="yaml: the values file (default); json; markdown")
    add_output_options(p, "renders (provenance and candidates)")
    p.set_defaults(run=_suggest)


def _suggest(args: argparse.Namespace) -> int:
    from toolman_kit.chart.values import DEFAULT_MAX_RENDERS
    from toolman_kit.present.suggestion_doc import failure_counts
    from toolman_kit.values.suggest import suggest

    s = suggest(args.chart, args.files, args.set_values, release=args.release,
                namespace=args.namespace, profile=args.profile, kube_version=args.kube_version,
                max_renders=DEFAULT_MAX_RENDERS if args.max_renders is None
                else args.max_renders, jobs=args.jobs, progress=sys.stderr)
    emit(FORMATS[args.format](s), args.output)
    print(f"suggest: {failure_counts(s)} ({s.renders} renders, {s.seconds:.1f}s)", file=sys.stderr)
    return 0
