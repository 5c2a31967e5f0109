"""The daemon's own log: Supervisor's format and level names, rotated by size."""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys

from capataz.supervisor.errors import DaemonSetupError

#: Supervisor's loglevel names; trace and blather are finer than debug.
LEVELS = {
    "critical": logging.CRITICAL,
    "error": logging.ERROR,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "trace": 5,
    "blather": 3,
}
_SHORT = {
    logging.CRITICAL: "CRIT",
    logging.ERROR: "ERRO",
    logging.WARNING: "WARN",
    logging.INFO: "INFO",
    logging.DEBUG: "DEBG",
    5: "TRAC",
    3: "BLAT",
}


class _SupervisorFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.shortlevel = _SHORT.get(record.levelno, record.levelname)
        return super().format(record)


class ReopenableFileHandler(logging.handlers.RotatingFileHandler):
    def reopen(self) -> None:
        """Open the path again (after an outside rotation or a clear)."""
        self.acquire()
        try:
            if self.stream:
                self.stream.close()
            self.stream = self._open()
        finally:
            self.release()


def setup(
    logfile: str | None,
    *,
    maxbytes: int,
    backups: int,
    level: str,
    to_stdout: bool,
) -> logging.Logger:
    """Send ``capataz.supervisor`` records to the log file (and stdout in the foreground).

    The new handlers are made before the old ones go, so a failure (on a reload)
    leaves the daemon logging where it did.
    """
    try:
        numeric = LEVELS[level.lower()]
    except KeyError:
        choices = ", ".join(sorted(LEVELS))
        raise DaemonSetupError(f"unknown loglevel {level!r}; use one of {choices}") from None
    formatter = _SupervisorFormatter("%(asctime)s %(shortlevel)s %(message)s")
    handlers: list[logging.Handler] = []
    if logfile == "syslog":
        handlers.append(logging.handlers.SysLogHandler(address="/dev/log"))
        handlers[-1].setFormatter(logging.Formatter("capatazd: %(message)s"))
    elif logfile is not None:
        try:
            handlers.append(ReopenableFileHandler(
                logfile, maxBytes=maxbytes, backupCount=backups, encoding="utf-8"
            ))
        except OSError as exc:
            raise DaemonSetupError(
                f"can't open the log file {logfile}: {exc.strerror}; "
                "create its directory or set logfile= (-l) to a writable path"
            ) from None
        handlers[-1].setFormatter(formatter)
    if to_stdout:
        handlers.append(logging.StreamHandler(sys.stdout))
        handlers[-1].setFormatter(formatter)
    logger = logging.getLogger("capataz.supervisor")
    for old in list(logger.handlers):
        logger.removeHandler(old)
        old.close()
    for handler in handlers:
        logger.addHandler(handler)
    logger.setLevel(numeric)
    logger.propagate = False
    return logger


def reopen(logger: logging.Logger) -> None:
    for handler in logger.handlers:
        if isinstance(handler, ReopenableFileHandler):
            handler.reopen()


def writes_to(path: str) -> bool:
    """True if the daemon's own log is the file at ``path`` (a child log there is shared)."""
    logger = logging.getLogger("capataz.supervisor")
    target = os.path.abspath(path)
    return any(isinstance(handler, ReopenableFileHandler) and handler.baseFilename == target
               for handler in logger.handlers)
