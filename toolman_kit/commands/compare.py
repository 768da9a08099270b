"""`toolman-kit compare`: a chart's value sets side by side, as a table, Markdown or JSON.

Exit status: 0 every set rendered and was compared; 2 usage or input error, or a set that does
not render (the other sets are still compared and printed).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from toolman_kit.commands.options import (
    RELEASE,
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
    parse_value_sets,
)
from toolman_kit.exits import EXIT_INPUT, EXIT_OK
from toolman_kit.present.comparison_doc import FORMATS, document
from toolman_kit.text import terminal_safe


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "compare", help="compare a chart's value sets: what each changes, what does nothing",
        description="Render a chart with its defaults and with each named value set, and "
                    "compare them: the checklist side by side; objects added, removed and "
                    "changed; findings fixed and introduced; values that do nothing (in "
                    "context); keys nobody reads; values.schema.json errors; what the "
                    "templates read that the defaults leave unset; which values keys control "
                    "each failing field, and which failing fields no value can change.")
    add_chart(p, required=True, value_sets=True)
    add_profile(p)
    add_namespace_labels(p)
    add_policy(p)
    add_kube_version(p)
    add_api_versions(p)
    add_render_bounds(p)
    add_format(p, sorted(FORMATS), "table")
    add_output(p)
    add_exploration(p)
    p.set_defaults(run=_compare)


def _compare(args: argparse.Namespace) -> int:
    from toolman_kit.chart.values import DEFAULT_MAX_RENDERS
    from toolman_kit.values.sets import compare_values

    comparison = compare_values(
        args.chart, parse_value_sets(args.value_sets), args.values, args.set_values,
        release=args.release or RELEASE, namespace=args.namespace, profile=args.profile,
        kube_version=args.kube_version, api_versions=args.api_versions,
        max_renders=DEFAULT_MAX_RENDERS if args.max_renders is None else args.max_renders,
        jobs=args.jobs, progress=sys.stderr)
    emit(FORMATS[args.format](document(comparison, args.config_path)), args.output)
    for w in comparison.warnings:
        print(terminal_safe(f"{w['file']}: warning: {w['message']}"), file=sys.stderr)
    for error in comparison.errors:
        print(f"toolman-kit: error: {terminal_safe(str(error))}", file=sys.stderr)
    return EXIT_INPUT if comparison.errors else EXIT_OK
