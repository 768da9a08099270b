"""`toolman-kit check | checks | report | compare | suggest | batch`: the kit from the command
line, for people, CI and schedules. One module per command, each with `add_parser(subparsers)`;
their options come from commands/options.py, so a flag means the same in every command.

Exit status (toolman_kit/exits.py): 0 nothing at or above --fail-on; 1 findings at or above it;
2 usage or input error (the good documents are still analyzed and printed); 130 interrupted, 143
terminated (SIGTERM, what cron's `timeout` and Kubernetes send), after the clean-up either way.

An error is one line on stderr, `toolman-kit: error: <path or input>: <what>`, never a traceback:
a traceback's exit status 1 would read as "findings" in CI. Errors the kit raises on purpose
(ToolmanKitError) name their file and line; a file-system error, input nested past Python's
recursion limit or memory running out that reaches this far is still one line and exit 2.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

from toolman_kit import __version__
from toolman_kit.commands import batch, check, checks, compare, report, suggest
from toolman_kit.commands.options import add_config, apply_config, chart_source, render_limits
from toolman_kit.errors import ToolmanKitError
from toolman_kit.exits import EXIT_BROKEN_PIPE, EXIT_INPUT, EXIT_INTERRUPTED, EXIT_TERMINATED
from toolman_kit.text import terminal_safe

COMMANDS = (check, checks, report, compare, suggest, batch)  # in --help's order


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
        with apply_config(args), render_limits(args), chart_source(args):
            return args.run(args)
    except ToolmanKitError as exc:
        return _error(str(exc))
    except KeyboardInterrupt:
        print("toolman-kit: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print("toolman-kit: terminated", file=sys.stderr)
        return EXIT_TERMINATED
    except BrokenPipeError:  # `check … | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except OSError as exc:  # a file or directory the kit was given or told to write
        where = f"{exc.filename}: " if exc.filename else ""
        return _error(f"{where}{exc.strerror or exc}")
    except RecursionError:
        return _error("the input is nested too deeply to process (Python's recursion limit)")
    except MemoryError:
        return _error("out of memory: the input is too large for this machine")
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, before)


def _error(message: str) -> int:
    print(f"toolman-kit: error: {terminal_safe(message)}", file=sys.stderr)
    return EXIT_INPUT


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="toolman-kit",
        description="Is this Kubernetes deployment ready for production, and if not, "
                    "exactly what must change?")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(subparsers)
    for command_parser in subparsers.choices.values():
        add_config(command_parser)
    return parser
