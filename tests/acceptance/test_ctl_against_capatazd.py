"""The real supervisorctl (and capatazctl) drive capatazd as they drive supervisord.

Two daemons run the same configuration in the foreground: Supervisor 4.3.0's
supervisord and capatazd. The same command against each must print the same
lines (pids, uptimes and dates normalized) and exit with the same code.
"""

from __future__ import annotations

import re
import shutil
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.daemon_harness import CHANGED, PASSWORD, Daemon, free_port


@pytest.fixture(scope="module")
def daemons(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Daemon, Daemon]]:
    pair = (Daemon("supervisord", tmp_path_factory.mktemp("sup"), free_port()),
            Daemon("capatazd", tmp_path_factory.mktemp("cap"), free_port()))
    try:
        for daemon in pair:
            daemon.start()
        yield pair
    finally:
        for daemon in pair:
            daemon.stop()
            shutil.rmtree(daemon.directory, ignore_errors=True)


def both(daemons: tuple[Daemon, Daemon], *args: str, tool: str = "supervisorctl"
         ) -> tuple[tuple[str, int], tuple[str, int]]:
    reference, ours = daemons
    return reference.ctl(tool, *args), ours.ctl(tool, *args)


READ_ONLY = [
    ("status",), ("status", "sleeper"), ("status", "grp:*"), ("status", "nosuch", "zz:*"),
    ("status", "once"), ("avail",), ("pid", "sleeper"), ("pid", "once"), ("pid", "nosuch"),
    ("tail", "grp:b"), ("tail", "grp:b", "stderr"), ("tail", "-3", "grp:b"), ("tail", "nosuch"),
    ("reread",), ("start", "sleeper"), ("start", "nosuch"), ("start", "zz:*"),
    ("start", "bad"), ("start", "grp:*"), ("stop", "once"), ("stop", "nosuch"),
    ("signal", "FOO", "sleeper"), ("signal", "HUP", "once"), ("signal", "CONT", "grp:*"),
    ("remove", "sleeper"), ("add", "sleeper"), ("add", "nosuch"), ("clear", "nosuch"),
    ("fg", "once"), ("fg", "nosuch"),
]


@pytest.mark.parametrize("args", READ_ONLY, ids=" ".join)
def test_same_answers_from_both_daemons(daemons: tuple[Daemon, Daemon], args: tuple[str, ...]
                                        ) -> None:
    """The real supervisorctl, commands that leave the state as it was: same text and code."""
    reference, ours = both(daemons, *args)
    assert ours == reference


@pytest.mark.parametrize("args", [("status",), ("avail",), ("start", "bad"), ("tail", "grp:b"),
                                  ("status", "nosuch", "zz:*"), ("signal", "HUP", "once")],
                         ids=" ".join)
def test_capatazctl_drives_capatazd_alike(daemons: tuple[Daemon, Daemon],
                                          args: tuple[str, ...]) -> None:
    """capatazctl against capatazd answers as capatazctl against supervisord."""
    reference, ours = both(daemons, *args, tool="capatazctl")
    assert ours == reference


@pytest.mark.parametrize(
    ("command", "restore"),
    [(("stop", "sleeper"), ("start", "sleeper")), (("stop", "grp:*"), ("start", "grp:*")),
     (("stop", "all"), ("start", "sleeper", "grp:*")), (("start", "once"), ()),
     (("restart", "sleeper"), ()), (("restart", "grp:*"), ()),
     (("remove", "once"), ("add", "once")), (("clear", "grp:b"), ())],
    ids=lambda args: " ".join(args) or "-",
)
def test_changes_read_the_same(daemons: tuple[Daemon, Daemon], command: tuple[str, ...],
                               restore: tuple[str, ...]) -> None:
    """State changes by the real supervisorctl: the same lines (in any order), same code."""
    reference, ours = both(daemons, *command)
    if restore:
        both(daemons, *restore)
    assert sorted(ours[0].splitlines()) == sorted(reference[0].splitlines())
    assert ours[1] == reference[1]


def test_update_applies_config_changes_alike(daemons: tuple[Daemon, Daemon]) -> None:
    """reread then update: added started, changed restarted, removed stopped, others untouched."""
    ours = daemons[1]
    pids_before = {name: ours.pid(name) for name in ("grp:a", "sleeper")}
    for daemon in daemons:
        daemon.write_config(CHANGED)
    try:
        rereads = both(daemons, "reread")
        assert rereads[1] == rereads[0]
        assert rereads[1][0].splitlines() == [
            "gone: available", "newp: available", "once: disappeared", "sleeper: changed"]
        updates = both(daemons, "update")
        assert updates[1] == updates[0]
        assert ours.ctl("supervisorctl", "status", "newp")[1] == 0  # added and running
        assert ours.ctl("supervisorctl", "status", "once")[1] == 4  # removed: no such process
        assert ours.pid("grp:a") == pids_before["grp:a"]  # unchanged group untouched
        assert ours.pid("sleeper") not in {pids_before["sleeper"], 0}  # changed: restarted
    finally:
        for daemon in daemons:
            daemon.write_config()
        both(daemons, "update")


@pytest.mark.parametrize("creds", [(), ("-u", "admin", "-p", "wrong")], ids=["none", "wrong"])
def test_tcp_refuses_without_the_password(daemons: tuple[Daemon, Daemon],
                                          creds: tuple[str, ...]) -> None:
    """Over TCP without the right password both daemons answer 401 the same way."""
    outputs = [d.ctl("supervisorctl", "-s", f"http://127.0.0.1:{d.port}", *creds, "status")
               for d in daemons]
    assert outputs[0][1] == outputs[1][1] == 1
    assert outputs[0][0].splitlines()[0] == outputs[1][0].splitlines()[0] == (
        "Server requires authentication")


def test_tcp_with_the_password(daemons: tuple[Daemon, Daemon]) -> None:
    """With the password, status over TCP is the same as over the socket."""
    outputs = [d.ctl("supervisorctl", "-s", f"http://127.0.0.1:{d.port}", "-u", "admin",
                     "-p", PASSWORD, "status") for d in daemons]
    assert outputs[0] == outputs[1]


def test_maintail_and_version_answer(daemons: tuple[Daemon, Daemon]) -> None:
    """maintail reads capatazd's own log; version answers (capataz's own version)."""
    ours = daemons[1]
    text, code = ours.ctl("supervisorctl", "maintail", "-2000")
    assert code == 0
    assert text.strip()
    version, code = ours.ctl("supervisorctl", "version")
    assert code == 0
    assert version.strip()


@pytest.mark.parametrize("args", [("status",), ("avail",), ("tail", "grp:b"), ("pid", "once"),
                                  ("start", "bad"), ("stop", "once"), ("signal", "CONT", "all")],
                         ids=" ".join)
def test_same_answers_over_tcp_with_password(daemons: tuple[Daemon, Daemon],
                                             args: tuple[str, ...]) -> None:
    """The real supervisorctl over TCP with the password: the same as against supervisord."""
    outputs = [d.ctl("supervisorctl", "-s", f"http://127.0.0.1:{d.port}", "-u", "admin",
                     "-p", PASSWORD, *args) for d in daemons]
    assert outputs[1] == outputs[0]


def test_socket_file_is_private(daemons: tuple[Daemon, Daemon]) -> None:
    """capatazd's socket gets [unix_http_server]'s default mode, 0700, as supervisord's."""
    modes = [stat.S_IMODE(d.socket_path.stat().st_mode) for d in daemons]
    assert modes == [0o700, 0o700]


def test_hostile_requests_leave_capatazd_serving_in_bounded_memory(
    daemons: tuple[Daemon, Daemon],
) -> None:
    """Entity bomb, external entity, garbage, 100 MB body, private method: refused; alive."""
    ours = daemons[1]
    assert ours.process is not None
    before = rss_kib(ours.process.pid)
    bodies = [
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;'
        b'&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><methodCall>'
        b"<methodName>supervisor.getPID</methodName><params><param><value>&c;</value></param>"
        b"</params></methodCall>",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY s SYSTEM "file:///etc/passwd">]>'
        b"<methodCall><methodName>&s;</methodName></methodCall>",
        b"\x00\xff garbage",
    ]
    for body in bodies:
        assert raw_post(ours.socket_path, body).startswith(b"HTTP/1.1 400")
    big = raw_post(ours.socket_path, b"<" * 65536, length=100 * 1024 * 1024)
    assert big.startswith(b"HTTP/1.1 413")
    private = raw_post(ours.socket_path, b"<?xml version='1.0'?><methodCall><methodName>"
                       b"supervisor._update</methodName><params/></methodCall>")
    assert b"<int>1</int>" in private  # faultCode UNKNOWN_METHOD
    assert ours.ctl("supervisorctl", "status", "sleeper")[1] == 0
    assert rss_kib(ours.process.pid) - before < 50 * 1024


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def raw_post(path: Path, body: bytes, length: int | None = None) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(20)
        sock.connect(str(path))
        size = len(body) if length is None else length
        sock.sendall(b"POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n"
                     b"Content-Length: %d\r\n\r\n" % size + body)
        return sock.recv(65536)


def proxy_of(daemon: Daemon) -> Any:
    from capataz.ctl.transport import server_proxy

    return server_proxy(f"unix://{daemon.socket_path}")


def test_xmlrpc_answers_match_supervisord(daemons: tuple[Daemon, Daemon]) -> None:
    """The raw API: method list, signatures, config info and process info have one shape."""
    reference, ours = (proxy_of(d) for d in daemons)
    try:
        methods = ours.system.listMethods()
        assert methods == reference.system.listMethods()
        for method in methods:
            assert ours.system.methodSignature(method) == reference.system.methodSignature(
                method), method
        volatile = {"pid", "start", "stop", "now", "description", "logfile", "stdout_logfile",
                    "stderr_logfile"}

        def stable(infos: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [{k: v for k, v in i.items() if k not in volatile} for i in infos]

        assert stable(ours.supervisor.getAllProcessInfo()) == stable(
            reference.supervisor.getAllProcessInfo())
        ours_config, their_config = (ours.supervisor.getAllConfigInfo(),
                                     reference.supervisor.getAllConfigInfo())
        # An AUTO log reads as its real path, or as "auto" in supervisord after a reread.
        auto = re.compile(r"^/.*/\w+-std(?:out|err)---supervisor-\S+\.log$|^auto$")
        ours_config, their_config = (
            [{k: auto.sub("AUTO", v) if isinstance(v, str) else v for k, v in i.items()}
             for i in infos] for infos in (ours_config, their_config))
        for mine, theirs in zip(ours_config, their_config, strict=True):
            assert {k: (v, theirs.get(k)) for k, v in mine.items() if theirs.get(k) != v} == {}
            assert set(mine) == set(theirs)
        assert ours.supervisor.getState() == reference.supervisor.getState()
        assert ours.supervisor.tailProcessStdoutLog("grp:b", 0, 3) == (
            reference.supervisor.tailProcessStdoutLog("grp:b", 0, 3))
        assert ours.system.multicall([{"methodName": "supervisor.getAPIVersion"},
                                      {"methodName": "supervisor._x"}]) == (
            reference.system.multicall([{"methodName": "supervisor.getAPIVersion"},
                                        {"methodName": "supervisor._x"}]))
    finally:
        reference("close")()
        ours("close")()


def test_reload_restarts_capatazd_alike(daemons: tuple[Daemon, Daemon]) -> None:
    """reload: "Restarted supervisord" from both, and both come back serving (runs last)."""
    results = both(daemons, "reload")
    for daemon in daemons:
        daemon.wait_until_serving()
    assert results[1] == results[0] == ("Restarted supervisord\n", 0)
    statuses = both(daemons, "status")
    assert statuses[1] == statuses[0]


def test_shutdown_alike(tmp_path: Path) -> None:
    """shutdown: "Shut down", the daemon exits 0, and then both report the socket gone."""
    results = []
    for kind in ("supervisord", "capatazd"):
        directory = tmp_path / "run"  # the same path twice: messages name the socket
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir()
        daemon = Daemon(kind, directory, free_port())
        daemon.start()
        try:
            said = daemon.ctl("supervisorctl", "shutdown")
            assert daemon.process is not None
            code = daemon.process.wait(30)
            results.append((said, code, daemon.ctl("supervisorctl", "status"),
                            daemon.ctl("capatazctl", "shutdown")))
        finally:
            daemon.stop()
    assert results[1] == results[0]
    assert results[1][0] == ("Shut down\n", 0)
