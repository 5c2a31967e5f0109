"""``python -m facturacion.simulator``."""

import sys

from facturacion.simulator.cli import main

sys.exit(main())
