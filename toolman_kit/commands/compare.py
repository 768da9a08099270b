"""`toolman-kit compare`: a chart's value sets side by side, as a table, Markdown or JSON.

Exit status: 0 every set rendered and was compared; 2 usage or input error, or a set that does
not render (the other sets are still compared and printed).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from toolman_kit.commands.options import add_output_options, add_release_options, emit
from toolman_kit.present.comparison_doc import FORMATS, document


def add_compare_command(subparsers: Any, add_kube_version_option: Callable) -> None:
    p = subparsers.add_parser(
        "compare", help="compare a chart's value sets: what each changes, what does nothing",
        description="Render a chart with its defaults and with each named value set, and "
                    "compare them: the checklist side by side; objects added, removed and "
                    "changed; findings fixed and introduced; values that do nothing (in "
                    "context); keys nobody reads; values.schema.json errors; what the "
                    "templates read that the defaults leave unset; which values keys control "
                    "each failing field, and which failing fields no value can change.")
    p.add_argument("--chart", metavar="DIR", required=True, help="the Helm chart directory")
    p.add_argument("--values", action="append", default=[], metavar="NAME=FILE",
                   help="a named value set (repeat NAME to give a set several files, later "
                        "wins); the chart's defaults are always the first set, `defaults`")
    p.add_argument("-f", dest="shared", action="append", default=[], metavar="FILE",
                   help="a values file applied to every set, after its own files")
    p.add_argument("--set", action="append", default=[], metavar="K=V", dest="set_values",
                   help="a value applied to every set, last (helm --set syntax)")
    add_release_options(p, add_kube_version_option)
    p.add_argument("--format", choices=sorted(FORMATS), default="table")
    add_output_options(p, "exploratory renders (leave-one-out and provenance)")
    p.set_defaults(run=_compare)


def _compare(args: argparse.Namespace) -> int:
    from toolman_kit.chart.values import DEFAULT_MAX_RENDERS, parse_named
    from toolman_kit.values.sets import compare_values

    comparison = compare_values(
        args.chart, parse_named(args.values), args.shared, args.set_values,
        release=args.release, namespace=args.namespace, profile=args.profile,
        kube_version=args.kube_version,
        max_renders=DEFAULT_MAX_RENDERS if args.max_renders is None else args.max_renders,
        jobs=args.jobs, progress=sys.stderr)
    emit(FORMATS[args.format](document(comparison)), args.output)
    for error in comparison.errors:
        print(f"toolman-kit: error: {error}", file=sys.stderr)
    return 2 if comparison.errors else 0
