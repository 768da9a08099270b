"""`python -m toolman_kit` = the `toolman-kit` command."""

import sys

from .cli import main

sys.exit(main())
