"""Errors of the control layer: one root, messages that say what to do."""

from __future__ import annotations

from capataz.control.protocol import Fault, fault_string


class ControlError(Exception):
    """The control servers cannot run as configured; the message says how to fix it."""


class RpcFault(ControlError):  # noqa: N818 - it is a fault on the wire, as Supervisor names it
    """A call that fails with one of Supervisor's fault codes.

    Raised by the backend (the daemon adapter or the in-memory fake) and turned
    into an XML-RPC ``<fault>`` by the server.
    """

    def __init__(self, code: Fault, detail: object = None) -> None:
        self.code = code
        self.text = fault_string(code, detail)
        super().__init__(self.text)
