"""Command-line options that `compare` and `suggest` share (both render one chart many times)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable


def add_release_options(p: argparse.ArgumentParser, add_kube_version_option: Callable) -> None:
    """--release, -n, --profile and --kube-version."""
    p.add_argument("--release", default="release-name", help="release name")
    p.add_argument("-n", "--namespace", help="release namespace (default: default)")
    p.add_argument("--profile", default="production",
                   help="built-in profile name or profile YAML file (default: production)")
    add_kube_version_option(p)


def add_output_options(p: argparse.ArgumentParser, renders: str) -> None:
    """-o, --max-renders (bounding `renders`) and -j."""
    p.add_argument("-o", "--output", help="write to this file (atomically) instead of stdout")
    p.add_argument("--max-renders", type=int, default=None, metavar="N",
                   help=f"bound on {renders} (default 1000); what it leaves out is listed")
    p.add_argument("-j", "--jobs", type=int, metavar="N",
                   help="render processes (default: the CPU count)")


def emit(text: str, output: str | None) -> None:
    """`text` to the -o file (atomically), or to standard output."""
    from toolman_kit.atomic import write_atomic

    if output:
        write_atomic(output, text)
    else:
        sys.stdout.write(text)
