"""The generated supervisor.conf both daemons read, and the /proc readings of a process."""

import configparser
import os
from pathlib import Path

from bench import proc
from bench.supervisor_side import conf


def test_generated_config_is_the_same_ini_for_both_daemons(tmp_path: Path) -> None:
    """One config holds the socket, the RPC interface and each program with startsecs=0."""
    programs = [conf.Program("sleeper", "/bin/sleep 100", numprocs=200),
                conf.Program("writer", "/usr/bin/true", autostart=False, autorestart=False,
                             logfile=str(tmp_path / "w.log"))]
    path = conf.write(tmp_path, programs)
    parsed = configparser.RawConfigParser()
    parsed.read(path)
    assert parsed["unix_http_server"]["file"] == str(tmp_path / "rpc.sock")
    assert parsed["supervisord"]["minfds"] == str(conf.MINFDS)
    assert "rpcinterface:supervisor" in parsed
    sleeper = parsed["program:sleeper"]
    assert (sleeper["numprocs"], sleeper["startsecs"], sleeper["autostart"]) == ("200", "0", "true")
    writer = parsed["program:writer"]
    assert (writer["autostart"], writer["stdout_logfile"]) == ("false", str(tmp_path / "w.log"))
    assert writer["stdout_logfile_maxbytes"] == "0"


def test_proc_readings_of_this_process() -> None:
    """CPU seconds, RSS and start time are read for a live process; a gone pid has none."""
    me = os.getpid()
    assert proc.cpu_seconds(me) > 0
    assert proc.rss_megabytes(me) > 1
    assert proc.alive(me)
    started = proc.start_time(me)
    assert started is not None
    assert proc.identities({me}) == {me: started}
    assert proc.start_time(2**22 + 1) is None
    assert not proc.alive(2**22 + 1)
    assert proc.children(2**22 + 1) == set()
