"""A local SUNAT: billService and billConsultService on loopback, for tests and demos.

Run it with ``python -m facturacion.simulator`` or ``facturacion-simulator``.
"""

from facturacion.simulator.app import create_app
from facturacion.simulator.state import FaultKind, FaultRule, FaultStyle, SimulatorState

__all__ = ["FaultKind", "FaultRule", "FaultStyle", "SimulatorState", "create_app"]
