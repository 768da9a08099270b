"""The exit statuses of `toolman-kit` and the --fail-on gates: one definition, for the commands
and for the fleet (a batch exits as a check does, a failed target counting as an input error)."""

from __future__ import annotations

EXIT_OK = 0  # nothing at or above --fail-on
EXIT_FINDINGS = 1  # findings at or above --fail-on
EXIT_INPUT = 2  # a usage or input error (the good inputs are still analyzed); a failed target
EXIT_INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, as shells report it
EXIT_BROKEN_PIPE = 141  # the reader of standard output went away: 128 + SIGPIPE
EXIT_TERMINATED = 143  # SIGTERM (cron's `timeout`, Kubernetes): 128 + SIGTERM

# --fail-on LEVEL: the finding severities that make the exit status EXIT_FINDINGS.
FAIL_ON: dict[str, tuple[str, ...]] = {
    "error": ("error",), "warning": ("error", "warning"), "never": ()}
