"""``python -m facturacion.billing.mailserver``: a local SMTP server that keeps every message.

For the demo and tests only: it accepts any message on loopback and files it in a
Maildir (one file per message under ``new/``), where people and tests read it. Built
on aiosmtpd (a dev dependency), so a production install never carries it.
"""

from __future__ import annotations

import argparse
import ipaddress
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from capataz import exitcodes


def start(host: str, port: int, maildir: Path) -> Any:
    """A running aiosmtpd controller filing messages into ``maildir``; ``.stop()`` it."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Mailbox

    # mailbox.Maildir creates its tmp/new/cur only for a directory that does not exist yet.
    for sub in ("tmp", "new", "cur"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    controller = Controller(Mailbox(maildir), hostname=host, port=port, ready_timeout=10.0)
    controller.start()
    return controller


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m facturacion.billing.mailserver",
        description="A local SMTP server that files every message into a Maildir.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=8025, help="TCP port (default 8025)")
    parser.add_argument("--maildir", type=Path, required=True, help="where messages are filed")
    options = parser.parse_args(argv)
    if not ipaddress.ip_address(options.host).is_loopback:
        print(f"mailserver: {options.host} is not a loopback address; this server is for "
              "local use only", file=sys.stderr)  # fmt: skip
        return exitcodes.USAGE
    try:
        import aiosmtpd  # noqa: F401 - only to give a clear message when it is missing
    except ImportError:
        print("mailserver: aiosmtpd is not installed; install capataz[dev]", file=sys.stderr)
        return exitcodes.FAILURE
    # Block the stop signals before the server thread starts, so only sigwait sees them.
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    try:
        controller = start(options.host, options.port, options.maildir)
    except (OSError, RuntimeError) as error:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, stop_signals)
        print(f"mailserver: cannot listen on {options.host}:{options.port}: {error}",
              file=sys.stderr)  # fmt: skip
        return exitcodes.FAILURE
    print(f"mailserver listening on smtp://{options.host}:{options.port}, "
          f"filing into {options.maildir}", flush=True)  # fmt: skip
    signal.sigwait(stop_signals)
    controller.stop()
    return exitcodes.OK


if __name__ == "__main__":
    raise SystemExit(main())
