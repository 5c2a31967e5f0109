"""capatazd's loop with the control servers: what ``capataz.supervisor.daemon`` will run.

(Named test_* only to live among the ctl acceptance tests; it holds no tests.)
Used by ``test_ctl_against_capatazd.py`` until the daemon starts the control
servers itself: ``python test_ctl_capatazd_runner.py supervisor.conf`` supervises in
the foreground and serves XML-RPC, exactly as ``capatazd -n`` will.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from capataz.config import load
from capataz.control.adapter import SupervisorBackend
from capataz.control.servers import start_control_servers
from capataz.supervisor import Supervisor, mainlog


async def supervise(path: str) -> None:
    config = load(path)
    settings = config.supervisord
    mainlog.setup(settings.logfile, maxbytes=settings.logfile_maxbytes,
                  backups=settings.logfile_backups, level=settings.loglevel, to_stdout=False)
    supervisor = Supervisor(config, loader=load)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, supervisor.shutdown)
    loop.add_signal_handler(signal.SIGHUP, supervisor.restart)
    servers = await start_control_servers(config, SupervisorBackend(supervisor))
    try:
        await supervisor.run()
    finally:
        supervisor.close()
        await servers.close()


if __name__ == "__main__":
    asyncio.run(supervise(sys.argv[1]))
