"""`toolman-kit report`: the command line of build_report (present/report)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from toolman_kit.commands.options import (
    PROFILE,
    add_api_versions,
    add_chart,
    add_jobs,
    add_kube_version,
    add_namespace_labels,
    add_out_dir,
    add_paths,
    add_peer_exemptions,
    add_policy,
    add_profile,
    add_render_bounds,
    need_chart,
    parse_value_sets,
)
from toolman_kit.errors import ToolmanKitError
from toolman_kit.exits import EXIT_INPUT, EXIT_OK
from toolman_kit.present.report import EXAMPLE, Report, build_report
from toolman_kit.text import terminal_safe


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "report", help="write the HTML/Markdown/JSON/SARIF report (default: the Toolman example)",
        description="Execute the analysis notebooks and write a self-contained report. With no "
                    "input, report on the embedded Toolman example: its production values "
                    "against the chart defaults, with the Toolman profile, release and "
                    "namespace `toolman`, and the values toolman-kit suggests. With "
                    "--value-set NAME=FILE, every section shows the chart defaults and each "
                    "named set side by side.")
    add_paths(p, stdin=False)
    add_chart(p, value_sets=True)
    add_profile(p)
    add_peer_exemptions(p)
    add_namespace_labels(p)
    add_policy(p)
    add_kube_version(p)
    add_api_versions(p)
    add_render_bounds(p)
    p.add_argument("--baseline", nargs="+", metavar="PATH",
                   help="manifests to compare against (e.g. the default values rendering)")
    p.add_argument("--baseline-values", action="append", metavar="FILE",
                   help="with --chart: render the baseline with these values (repeatable); "
                        "default: the chart's own values when -f is given")
    p.add_argument("--no-baseline", action="store_true", help="no comparison")
    p.add_argument("--suggest", action=argparse.BooleanOptionalAction, default=None,
                   help="with --chart: add the suggested values (toolman-kit suggest) for the "
                        "first set, as a column of the values comparison and a section "
                        "(default: on for the Toolman example, off otherwise)")
    add_out_dir(p)
    p.add_argument("--force-out", action="store_true",
                   help="write into an --out directory that is not empty and holds no report: "
                        "the report's files go in beside the others, which are kept (default: "
                        "refused)")
    p.add_argument("--title", help="report title (default: NAME Deployment Analysis)")
    p.add_argument("--with-code", action="store_true", help="show the notebooks' code cells")
    add_jobs(p, "notebook kernels")
    p.set_defaults(run=_report, default_profile=_default_profile)


def _named_sets(args: argparse.Namespace) -> list[dict[str, Any]]:
    """`--value-set NAME=FILE …`: the chart defaults, then each named set; -f and --set shared."""
    from toolman_kit.chart.values import DEFAULTS

    if args.paths:
        raise ToolmanKitError("--value-set needs --chart DIR: it renders value sets")
    if args.baseline or args.baseline_values or args.no_baseline:
        raise ToolmanKitError("--value-set sets are compared with the chart defaults: "
                              "not with --baseline, --baseline-values or --no-baseline")
    shared, expressions = list(args.values), list(args.set_values)
    return [{"name": DEFAULTS, "values": shared, "set": expressions},
            *({"name": name, "values": [*files, *shared], "set": expressions}
              for name, files in parse_value_sets(args.value_sets))]


def _default_profile(args: argparse.Namespace) -> str:
    """Without --profile or a configured one: the example's own profile, else PROFILE."""
    return str(EXAMPLE / "profile.yaml") if not args.paths and not args.chart else PROFILE


def _report(args: argparse.Namespace) -> int:
    if "-" in args.paths:
        raise ToolmanKitError("report reads files: save standard input to a file first")
    if args.paths and args.chart:
        raise ToolmanKitError("give manifest paths or --chart DIR, not both")
    need_chart(args)
    if args.baseline_values and not (args.chart or not args.paths):
        raise ToolmanKitError("--baseline-values needs --chart (use --baseline for manifests)")
    example = not args.paths and not args.chart
    chart = str(EXAMPLE / "chart") if example else args.chart
    name = "toolman" if example else Path(chart or args.paths[0]).resolve().stem or "report"
    common = {
        "out": args.out or Path("reports") / name, "chart": chart,
        "profile": args.profile,
        "namespace": args.namespace or ("toolman" if example else None),
        "release": "toolman" if example else args.release,
        "title": args.title or ("Toolman Deployment Analysis" if example else None),
        "with_code": args.with_code, "jobs": args.jobs, "progress": sys.stderr,
        "kube_version": args.kube_version, "api_versions": args.api_versions,
        "force": args.force_out, "config": args.config_path,
        "suggest": example if args.suggest is None else args.suggest}
    if args.value_sets:
        return _print_report(build_report(sets=_named_sets(args), **common))
    values = [str(EXAMPLE / "chart" / "values-production.yaml")] if example else args.values
    baseline_values = args.baseline_values
    if args.no_baseline:
        baseline_values = None
    elif chart and baseline_values is None and values and not args.baseline:
        baseline_values = []  # the values against the chart's own defaults
    return _print_report(build_report(
        manifests=args.paths, baseline=None if args.no_baseline else args.baseline,
        values=values, baseline_values=baseline_values, set_values=args.set_values, **common))


def _print_report(report: Report) -> int:
    """The one-line summary on stderr, then the input errors; the exit status."""
    c = report.counts
    line = (f"{report.index}  ❌ {c.get('fail', 0)}  ⚠️ {c.get('warning', 0)}  "
            f"✅ {c.get('pass', 0)}")
    if b := report.baseline_counts:
        line += f"  (baseline ❌ {b['fail']}  ⚠️ {b['warning']}  ✅ {b['pass']})"
    print(f"{line}  in {report.seconds:.1f}s", file=sys.stderr)
    for error in report.input_errors:  # the good documents are in the report; these are not
        print(terminal_safe(str(error)), file=sys.stderr)
    return EXIT_INPUT if report.input_errors else EXIT_OK
