"""`toolman-kit check | checks | report | compare | suggest | batch`: the kit from the command
line, for people, CI and schedules.

Exit status: 0 nothing at or above --fail-on; 1 findings at or above it; 2 usage or input error
(the good documents are still analyzed and printed); 130 interrupted, 143 terminated (SIGTERM,
what cron's `timeout` and Kubernetes send), after the clean-up either way.

Start-up is most of the cost of a `check` in a pre-commit hook or a CI loop over charts, so this
path imports no pandas, numpy or notebook machinery (a test keeps it so).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

from toolman_kit import __version__
from toolman_kit.analysis import Analysis
from toolman_kit.atomic import open_atomic
from toolman_kit.chart.render import load_chart
from toolman_kit.errors import RenderError, ToolmanKitError
from toolman_kit.judge.apis import DEFAULT_KUBE_VERSION
from toolman_kit.judge.registry import catalogue
from toolman_kit.present.formats import FORMATS
from toolman_kit.read.manifests import (
    DEFAULT_MAX_BYTES,
    LoadError,
    Manifests,
    gc_paused,
    load,
    merge,
)
from toolman_kit.text import plural

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT = 0, 1, 2
FAIL_ON = {"error": ("error",), "warning": ("error", "warning"), "never": ()}


class Terminated(BaseException):
    """SIGTERM as an exception, so that `finally` blocks run as they do for Ctrl-C: the report's
    private directory (its analyses hold Secret values) is removed, kernels are shut down, no
    half-written output is left and a fleet's lock is released. A BaseException, so that no
    `except Exception` on the way swallows it."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    return _main(_parser().parse_args(argv))


def run() -> NoReturn:
    """The `toolman-kit` command (console script, `python -m toolman_kit`): main(), then exit.
    A check leaves its analysis in `args.analysis` (millions of objects at cluster scale): the
    process ends without freeing them one by one, which took 1.2–1.4 s of a check of 20,000
    Deployments; the OS takes the memory back at once (mypy exits so too). Other commands exit
    normally: their libraries (Dask, process pools) clean up at exit."""
    args = _parser().parse_args()
    code = _main(args)
    if getattr(args, "analysis", None) is None:
        sys.exit(code)
    with contextlib.suppress(OSError):  # stdout may be a closed pipe (`check … | head`)
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def _main(args: argparse.Namespace) -> int:
    main_thread = threading.current_thread() is threading.main_thread()
    before = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    try:
        return args.run(args)
    except ToolmanKitError as exc:
        print(f"toolman-kit: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("toolman-kit: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("toolman-kit: terminated", file=sys.stderr)
        return 143
    except BrokenPipeError:  # `check … | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, before)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="toolman-kit",
        description="Is this Kubernetes deployment ready for production, and if not, "
                    "exactly what must change?")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="check rendered manifests or a chart")
    check.add_argument("paths", nargs="*", metavar="PATH",
                       help="manifest files or directories, '-' for standard input")
    _add_input_options(check)
    check.add_argument("--max-bytes", type=_size, default=DEFAULT_MAX_BYTES, metavar="SIZE",
                       help="refuse inputs larger than this (e.g. 200M; default 512M)")
    check.add_argument("--format", choices=sorted(FORMATS), default="table",
                       help="output format: %(choices)s (default: %(default)s)")
    check.add_argument("--only-failed", action="store_true",
                       help="leave out pass and skip rows (json, csv, junit; sarif and the "
                            "tables show only failures anyway)")
    check.add_argument("--fail-on", choices=tuple(FAIL_ON), default="error",
                       help="exit 1 when a finding has this severity or worse: %(choices)s "
                            "(default: %(default)s)")
    check.add_argument("-o", "--output", help="write to this file (atomically) instead of stdout")
    check.set_defaults(run=_check)

    checks = commands.add_parser("checks", help="print the check catalogue, or one check in full")
    checks.add_argument("id", nargs="?", metavar="ID", help="the check to describe in full")
    checks.add_argument("--format", choices=("table", "markdown", "json"), default="table",
                        help="output format: %(choices)s (default: %(default)s)")
    checks.add_argument("--profile", default="production",
                        help="profile whose values fill the fixes and whose grades are shown "
                             "(default: production)")
    checks.set_defaults(run=_checks)

    from toolman_kit.commands.compare import add_compare_command
    from toolman_kit.commands.report import add_report_command
    from toolman_kit.commands.suggest import add_suggest_command

    add_report_command(commands, _add_input_options)
    add_compare_command(commands, add_kube_version_option)
    add_suggest_command(commands, add_kube_version_option)
    from toolman_kit.commands.batch import add_batch_command

    add_batch_command(commands)
    return parser


def _add_input_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--chart", metavar="DIR", help="render this Helm chart instead of reading files")
    p.add_argument("-f", "--values", action="append", default=[], metavar="FILE",
                   help="values file for --chart (repeatable, later wins)")
    p.add_argument("--set", action="append", default=[], metavar="K=V", dest="set_values",
                   help="value override for --chart, as helm --set (repeatable)")
    p.add_argument("--release", default="release-name", help="release name for --chart")
    p.add_argument("-n", "--namespace", help="release namespace (objects without one go there)")
    p.add_argument("--profile", default="production",
                   help="built-in profile name or profile YAML file (default: production)")
    add_kube_version_option(p)


def add_kube_version_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kube-version", metavar="V",
                   help="target Kubernetes version, e.g. 1.29: apiVersions it no longer serves "
                        "are errors, and charts render with it as .Capabilities.KubeVersion "
                        f"(default: the profile's, else {DEFAULT_KUBE_VERSION})")



def manifests_from(args: argparse.Namespace, paths: Sequence[str],
                   values: Sequence[str] = ()) -> Manifests:
    """Manifests from the paths and, with --chart, its rendering: a chart that does not render
    is an input error like a bad file, and the other inputs are still analyzed."""
    if not paths and not args.chart:
        raise ToolmanKitError("nothing to check: give manifest paths, '-' or --chart DIR")
    manifests = load(*paths, namespace=args.namespace, max_bytes=args.max_bytes)
    if args.chart:
        try:
            rendered, _ = load_chart(args.chart, values, args.set_values, release=args.release,
                                     namespace=args.namespace,
                                     kube_version=kube_version_for(args))
        except RenderError as exc:
            manifests.errors.insert(0, LoadError(exc.file or args.chart, exc.line,
                                                 exc.message, exc.column))
        else:
            manifests = merge(manifests, rendered)
    return manifests


def kube_version_for(args: argparse.Namespace) -> str:
    """--kube-version, else the profile's target: a chart renders for what it is checked against."""
    from toolman_kit.judge.profiles import load_profile

    return args.kube_version or load_profile(args.profile or "production").kube_version


def _size(text: str) -> int:
    match = re.fullmatch(r"(\d+)([KMG]?)", text.strip(), re.IGNORECASE)
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 1048576, 200M, 1G)")
    return int(match[1]) * {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}[match[2].upper()]


def _check(args: argparse.Namespace) -> int:
    manifests = manifests_from(args, args.paths, args.values)
    analysis = args.analysis = Analysis.of(manifests, profile=args.profile, errors="ignore",
                                           kube_version=args.kube_version)  # see run()
    write = FORMATS[args.format]
    with gc_paused():  # the formats make one small object after another: see gc_paused
        if args.output:
            with open_atomic(args.output) as out:
                write(analysis, out, args.only_failed)
        else:
            write(analysis, sys.stdout, args.only_failed)
            sys.stdout.flush()
    for warning in analysis.warnings:
        print(f"{warning.file}{f':{warning.line}' if warning.line else ''}: warning: "
              f"{warning.message}", file=sys.stderr)
    for error in analysis.errors:
        print(f"{error}", file=sys.stderr)
    if analysis.errors:
        return EXIT_INPUT
    gate = FAIL_ON[args.fail_on]
    return EXIT_FINDINGS if any(r[2] in gate for r in analysis.rows.failed()) else EXIT_OK


def _checks(args: argparse.Namespace) -> int:
    import json

    from toolman_kit.judge.profiles import load_profile
    from toolman_kit.present.docs import catalogue_markdown, catalogue_records, check_text, record

    profile = load_profile(args.profile)
    checks = catalogue()
    if args.id is not None:
        if args.id not in checks:
            from difflib import get_close_matches

            near = get_close_matches(args.id, checks, n=3)
            hint = f"; did you mean {' or '.join(near)}?" if near else \
                " (toolman-kit checks lists them)"
            raise ToolmanKitError(f"no check {args.id!r}{hint}")
        c = checks[args.id]
        if args.format == "json":
            sys.stdout.write(json.dumps(record(c, profile), indent=2, ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(check_text(c, profile))
    elif args.format == "markdown":
        sys.stdout.write(catalogue_markdown())
    elif args.format == "json":
        sys.stdout.write(json.dumps(catalogue_records(profile), indent=2, ensure_ascii=False)
                         + "\n")
    else:
        for c in checks.values():
            severity = profile.severity(c.id, c.severity.value)
            print(f"{c.id:<36} {severity:<8} {c.area.value:<13} {c.title}")
        print(f"\n{plural(len(checks), 'check')}; `toolman-kit checks ID` describes one in full")
    return EXIT_OK
