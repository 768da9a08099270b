"""`toolman-kit check`: check rendered manifests or a chart, in any output format, with an exit
status for CI (toolman_kit/exits.py).

Start-up is most of the cost of a `check` in a pre-commit hook or a CI loop over charts, so this
path imports no pandas, numpy or notebook machinery (a test keeps it so).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from toolman_kit.analysis import Analysis
from toolman_kit.chart.render import load_chart
from toolman_kit.commands.options import (
    RELEASE,
    add_api_versions,
    add_baseline,
    add_chart,
    add_fail_on,
    add_format,
    add_kube_version,
    add_namespace_labels,
    add_output,
    add_paths,
    add_peer_exemptions,
    add_policy,
    add_profile,
    add_render_bounds,
    need_chart,
    output_file,
)
from toolman_kit.errors import RenderError, ToolmanKitError
from toolman_kit.exits import EXIT_FINDINGS, EXIT_INPUT, EXIT_OK, FAIL_ON
from toolman_kit.judge import baseline as baselines
from toolman_kit.judge.findings import Row
from toolman_kit.judge.profiles import load_profile
from toolman_kit.present.formats import FORMATS
from toolman_kit.read.manifests import (
    LoadError,
    Manifests,
    gc_paused,
    load,
    merge,
)
from toolman_kit.text import terminal_safe


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("check", help="check rendered manifests or a chart")
    add_paths(p, stdin=True)
    add_chart(p)
    add_profile(p)
    add_peer_exemptions(p)
    add_namespace_labels(p)
    add_policy(p)
    add_kube_version(p)
    add_api_versions(p)
    add_render_bounds(p)
    add_format(p, sorted(FORMATS), "table")
    p.add_argument("--only-failed", action="store_true",
                   help="leave out pass and skip rows (json, csv, junit; sarif and the "
                        "tables show only failures anyway)")
    add_fail_on(p)
    add_baseline(p)
    add_output(p)
    p.set_defaults(run=_check)


def _check(args: argparse.Namespace) -> int:
    need_chart(args)
    baseline = baselines.load(args.baseline) if args.baseline else None  # before any work
    manifests = manifests_from(args, args.paths, args.values)
    profile = load_profile(args.profile)  # with the flags that set profile keys: apply_config
    analysis = args.analysis = Analysis.of(manifests, profile=profile, errors="ignore",
                                           kube_version=args.kube_version)  # see commands.run()
    marks = baselines.mark(baseline, analysis.rows) if baseline else None
    write = FORMATS[args.format]
    with gc_paused():  # the formats make one small object after another: see gc_paused
        if args.output:
            with output_file(args.output) as out:
                write(analysis, out, args.only_failed, baseline=marks, config=args.config_path)
        else:
            write(analysis, sys.stdout, args.only_failed, baseline=marks,
                  config=args.config_path)
            sys.stdout.flush()
    for warning in analysis.warnings:
        print(terminal_safe(f"{warning.file}{f':{warning.line}' if warning.line else ''}: "
                            f"warning: {warning.message}"), file=sys.stderr)
    for error in analysis.errors:
        print(terminal_safe(str(error)), file=sys.stderr)
    if analysis.errors:
        return EXIT_INPUT
    failed = marks.new(analysis.rows.failed()) if marks else analysis.rows.failed()
    worst = next(iter(failed), None)  # the failures come most severe first
    return EXIT_FINDINGS if worst and Row._make(worst).severity in FAIL_ON[args.fail_on] \
        else EXIT_OK


def manifests_from(args: argparse.Namespace, paths: Sequence[str],
                   values: Sequence[str] = ()) -> Manifests:
    """Manifests from the paths and, with --chart, its rendering: a chart that does not render
    is an input error like a bad file, and the other inputs are still analyzed."""
    if not paths and not args.chart:
        raise ToolmanKitError("nothing to check: give manifest paths, '-' or --chart DIR")
    manifests = load(*paths, namespace=args.namespace, max_bytes=args.max_bytes)
    if args.chart:
        try:
            rendered, _ = load_chart(args.chart, values, args.set_values,
                                     release=args.release or RELEASE, namespace=args.namespace,
                                     kube_version=kube_version_for(args),
                                     api_versions=api_versions_for(args))
        except RenderError as exc:
            manifests.errors.insert(0, LoadError(exc.file or args.chart, exc.line,
                                                 exc.message, exc.column))
        else:
            manifests = merge(manifests, rendered)
    return manifests


def kube_version_for(args: argparse.Namespace) -> str:
    """--kube-version, else the profile's target: a chart renders for what it is checked against."""
    return args.kube_version or load_profile(args.profile).kube_version


def api_versions_for(args: argparse.Namespace) -> list[str]:
    """The profile's `api_versions`, then --api-versions: what the target cluster serves."""
    return load_profile(args.profile).served(args.api_versions)
