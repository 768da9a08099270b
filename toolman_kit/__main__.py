"""`python -m toolman_kit` = the `toolman-kit` command."""

from toolman_kit.commands import run

run()
