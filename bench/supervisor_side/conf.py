"""Write one supervisor.conf that both daemons read unchanged."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# Enough descriptors for 1,000 children (three pipes each on the daemon's side),
# raised the same way for both daemons. Supervisor's children close every fd below
# minfds before exec, so a larger value would slow supervisord's spawns for nothing.
MINFDS = 4096


@dataclass(frozen=True)
class Program:
    name: str
    command: str
    numprocs: int = 1
    autostart: bool = True
    autorestart: bool = True
    logfile: str = "NONE"  # NONE: output is read from the pipe and dropped


def render(directory: Path, programs: Sequence[Program]) -> str:
    lines = [
        "[unix_http_server]",
        f"file={directory / 'rpc.sock'}",
        "",
        "[supervisord]",
        f"logfile={directory / 'daemon.log'}",
        f"pidfile={directory / 'daemon.pid'}",
        f"childlogdir={directory}",
        "loglevel=warn",
        "nodaemon=true",
        f"minfds={MINFDS}",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{directory / 'rpc.sock'}",
    ]
    for program in programs:
        lines += [
            "",
            f"[program:{program.name}]",
            f"command={program.command}",
            f"numprocs={program.numprocs}",
            "process_name=%(program_name)s_%(process_num)04d",
            "startsecs=0",
            "startretries=3",
            f"autostart={'true' if program.autostart else 'false'}",
            f"autorestart={'true' if program.autorestart else 'false'}",
            "redirect_stderr=true",
            f"stdout_logfile={program.logfile}",
            "stdout_logfile_maxbytes=0",
            "stopwaitsecs=10",
        ]
    return "\n".join(lines) + "\n"


def write(directory: Path, programs: Sequence[Program]) -> Path:
    path = directory / "supervisor.conf"
    path.write_text(render(directory, programs))
    return path
