"""`python -m toolman_kit` = the `toolman-kit` command."""

import sys

from toolman_kit.cli import main

sys.exit(main())
