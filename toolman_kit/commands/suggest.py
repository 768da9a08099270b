"""`toolman-kit suggest`: the proven values override as a values file, JSON or Markdown.

Exit status: 0 a suggestion was made (what values cannot fix is listed, not an error); 2 usage or
input error, e.g. a chart that does not render with the starting values (Helm's message).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from toolman_kit.commands.options import (
    add_api_versions,
    add_chart,
    add_exploration,
    add_format,
    add_kube_version,
    add_namespace_labels,
    add_output,
    add_policy,
    add_profile,
    add_render_bounds,
    emit,
)
from toolman_kit.exits import EXIT_OK
from toolman_kit.present.suggestion_doc import FORMATS
from toolman_kit.text import terminal_safe


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "suggest", help="write a values override that fixes what values can, proven by renders",
        description="Find the values that make failing checks pass, from the chart itself (the "
                    "keys that control each failing field, well-known keys, commented-out "
                    "blocks, values.schema.json) and the profile; keep each only when a "
                    "re-render proves that it fixes something and introduces nothing; write "
                    "the override to put after your values, and what values cannot fix. Your "
                    "-f files and --set values are the start; --set still wins over the "
                    "override, as in helm.")
    add_chart(p, required=True)
    add_profile(p)
    add_namespace_labels(p)
    add_policy(p)
    add_kube_version(p)
    add_api_versions(p)
    add_render_bounds(p)
    add_format(p, tuple(FORMATS), "yaml")
    add_output(p)
    add_exploration(p)
    p.set_defaults(run=_suggest)


def _suggest(args: argparse.Namespace) -> int:
    from toolman_kit.chart.values import DEFAULT_MAX_RENDERS
    from toolman_kit.present.suggestion_doc import failure_counts
    from toolman_kit.values.suggest import suggest

    s = suggest(args.chart, args.values, args.set_values, release=args.release,
                namespace=args.namespace, profile=args.profile, kube_version=args.kube_version,
                max_renders=DEFAULT_MAX_RENDERS if args.max_renders is None
                else args.max_renders, jobs=args.jobs, progress=sys.stderr,
                api_versions=args.api_versions)
    emit(FORMATS[args.format](s, args.config_path), args.output)
    for w in s.warnings:
        print(terminal_safe(f"{w['file']}: warning: {w['message']}"), file=sys.stderr)
    if s.release_warning:
        print(terminal_safe(f"suggest: warning: {s.release_warning}"), file=sys.stderr)
    print(f"suggest: {failure_counts(s)} ({s.renders} renders, {s.seconds:.1f}s)", file=sys.stderr)
    return EXIT_OK
