"""Errors of capatazctl: one root, messages that say what to do."""

from __future__ import annotations


class CtlError(Exception):
    """Something capatazctl cannot do as asked; the message tells the user why."""


class UsageError(CtlError):
    """A bad command line or configuration: printed with a hint, exit code 2."""
