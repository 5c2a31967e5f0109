"""Throwaway PostgreSQL clusters and Redis servers, so restart tests never touch shared ones.

Both run as child processes on a free port with their data in a temporary
directory; ``stop()`` and ``start()`` restart them with their data kept, and the
fixture's teardown always stops them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from tests.daemon_harness import free_port

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PG_BIN = Path(os.environ.get("CAPATAZ_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def unavailable(message: str) -> None:
    if IN_CI:
        pytest.fail(f"{message}; CI must provide it")
    pytest.skip(message)



def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 0.2):
            return True
    except OSError:
        return False


class OwnPostgres:
    """A PostgreSQL cluster of our own (initdb; as the postgres user when we are root)."""

    def __init__(self) -> None:
        if not (PG_BIN / "initdb").exists():
            unavailable(f"no PostgreSQL binaries in {PG_BIN} (set CAPATAZ_TEST_PG_BIN)")
        self.port = free_port()
        # Not under pytest's tmp_path: the postgres user must be able to enter the directory.
        self.dir = Path(tempfile.mkdtemp(prefix="capataz-pg-"))
        self.dir.chmod(0o777)
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.dir, "postgres")
        self._run("initdb", "-D", str(self.dir / "data"), "-A", "trust", "-U", "postgres",
                  "--no-sync")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.as_user, str(PG_BIN / tool), *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-o", options,
                  "-l", str(self.dir / "server.log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")

    def close(self) -> None:
        if (self.dir / "data" / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class OwnRedis:
    """A redis-server of our own, with the append-only file on (the documented durability)."""

    def __init__(self, tmp: Path) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            unavailable("no redis-server on PATH")
        self.port = free_port()
        self.dir = tmp / "redis"
        self.dir.mkdir()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.binary is not None
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
             "--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
             "--logfile", str(self.dir / "server.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while not _answers(self.port):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"redis-server did not start: {self.dir / 'server.log'}")
            time.sleep(0.05)

    def stop(self) -> None:
        """A clean SHUTDOWN (SIGTERM): Redis writes the append-only file out and exits."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
