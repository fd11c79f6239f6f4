"""``python -m infra.emulator --port N [--host H] [--profile instant|field] [--time-scale F]``."""

import sys

from infra.emulator.server import main

sys.exit(main())
