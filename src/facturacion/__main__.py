"""``python -m facturacion``."""

import sys

from facturacion.cli import main

sys.exit(main())
