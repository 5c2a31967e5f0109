"""Reaping children on SIGCHLD: one handler, ``waitpid(-1, WNOHANG)`` until none is left.

SIGCHLD rather than one pidfd per child because the daemon must also reap
processes it never started: as a child subreaper (and as PID 1 in a container)
it inherits every orphaned descendant, and only ``waitpid(-1)`` collects those.
The handler runs in the event loop (``add_signal_handler``), never blocks, and
hands each known pid's wait status to its owner.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable

log = logging.getLogger("capataz.supervisor")


class Reaper:
    def __init__(self, on_exit: Callable[[int, int], bool]) -> None:
        """``on_exit(pid, waitstatus)`` returns False for a pid nobody owns."""
        self._on_exit = on_exit
        self._loop: asyncio.AbstractEventLoop | None = None
        self.reaped_unknown = 0

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        loop.add_signal_handler(signal.SIGCHLD, self.reap)
        # Hundreds of children exiting at once fill the loop's wakeup pipe. That
        # is harmless (one byte per signal number is enough to run the handler,
        # which reaps every child), so Python should not warn about it.
        wakeup_fd = signal.set_wakeup_fd(-1)
        signal.set_wakeup_fd(wakeup_fd, warn_on_full_buffer=False)
        self.reap()  # children that exited before the handler existed

    def uninstall(self) -> None:
        if self._loop is not None:
            self._loop.remove_signal_handler(signal.SIGCHLD)
            self._loop = None

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if not self._on_exit(pid, status):
                self.reaped_unknown += 1
                log.debug("reaped unknown pid %d (%s)", pid, _describe(status))


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"
