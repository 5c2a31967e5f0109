"""Every supervisor.* and system.* method over a real socket, with every fault path.

The server runs on a FakeBackend; results are compared with what Supervisor
4.3.0 returns (shapes, order, fault codes and strings).
"""

from __future__ import annotations

import signal
import xmlrpc.client
from pathlib import Path

import pytest

from capataz.control.protocol import Fault
from capataz.control.testing import group_config

from .conftest import Served

STATES = {"RUNNING": 20, "STOPPED": 0}


def test_daemon_information(served: Served) -> None:
    """Version, identification, state and pid are reported as Supervisor shapes them."""
    sup = served.proxy().supervisor
    assert sup.getAPIVersion() == "3.0"
    assert sup.getVersion() == "3.0"
    assert sup.getSupervisorVersion() == "4.3.0"
    assert sup.getIdentification() == "supervisor"
    assert sup.getState() == {"statecode": 1, "statename": "RUNNING"}
    assert sup.getPID() == 4242


def test_process_info_structs(served: Served) -> None:
    """getProcessInfo has Supervisor's keys; getAllProcessInfo sorts by group then name."""
    sup = served.proxy().supervisor
    info = sup.getProcessInfo("grp:a")
    assert set(info) == {"name", "group", "start", "stop", "now", "state", "statename",
                         "spawnerr", "exitstatus", "logfile", "stdout_logfile",
                         "stderr_logfile", "pid", "description"}
    assert info["description"] == "pid 105, uptime 0:16:40"
    assert info["logfile"] == info["stdout_logfile"]
    assert [(i["group"], i["name"]) for i in sup.getAllProcessInfo()] == [
        ("grp", "a"), ("grp", "b"), ("idle", "idle"), ("solo", "solo")]
    assert sup.getProcessInfo("idle")["description"] == "Not started"
    assert served.fault(sup.getProcessInfo, "grp:*") == (10, "BAD_NAME: grp:*")
    assert served.fault(sup.getProcessInfo, "nosuch") == (10, "BAD_NAME: nosuch")
    assert served.fault(sup.getProcessInfo, "grp:zz") == (10, "BAD_NAME: grp:zz")


def test_descriptions_of_each_state(served: Served) -> None:
    """FATAL shows spawnerr (or a hint to tail), EXITED the stop time, STARTING nothing."""
    sup = served.proxy().supervisor
    idle = served.backend.proc("idle")
    idle.state = 200
    assert sup.getProcessInfo("idle")["description"] == 'unknown error (try "tail idle")'
    idle.spawnerr = "Exited too quickly (process log may have details)"
    assert sup.getProcessInfo("idle")["description"] == idle.spawnerr
    idle.state, idle.start, idle.stop = 100, 1.0, 1_699_999_999.0
    assert sup.getProcessInfo("idle")["description"].count(":") == 1  # "Nov 14 10:13 PM"
    idle.state = 10
    assert sup.getProcessInfo("idle")["description"] == ""
    idle.state, idle.start = 20, 2e10  # a start after "now" (clock set back): uptime 0
    assert sup.getProcessInfo("idle")["description"] == "pid 0, uptime 0:00:00"
    assert sup.getProcessInfo("idle")["start"] == 2**31 - 1  # capped like Supervisor


def test_start_and_stop_one_process(served: Served) -> None:
    """startProcess/stopProcess return True, with Supervisor's faults when they cannot."""
    sup = served.proxy().supervisor
    assert sup.startProcess("idle") is True
    assert sup.getProcessInfo("idle")["statename"] == "RUNNING"
    assert served.fault(sup.startProcess, "idle") == (60, "ALREADY_STARTED: idle")
    assert sup.stopProcess("idle") is True
    assert served.fault(sup.stopProcess, "idle") == (70, "NOT_RUNNING: idle")
    assert sup.startProcess("idle", False) is True
    assert sup.getProcessInfo("idle")["statename"] == "STARTING"
    assert sup.stopProcess("idle", False) is True
    assert sup.getProcessInfo("idle")["statename"] == "STOPPING"
    assert served.fault(sup.startProcess, "nosuch") == (10, "BAD_NAME: nosuch")
    assert served.fault(sup.stopProcess, "nosuch:x") == (10, "BAD_NAME: nosuch:x")


def test_start_fault_paths(served: Served) -> None:
    """NO_FILE, SPAWN_ERROR, ABNORMAL_TERMINATION and FAILED reach the client intact."""
    sup = served.proxy().supervisor
    from capataz.control.errors import RpcFault

    idle = served.backend.proc("idle")
    idle.command_fault = RpcFault(Fault.NO_FILE, "can't find command '/nope'")
    assert served.fault(sup.startProcess, "idle") == (20, "NO_FILE: can't find command '/nope'")
    idle.command_fault = None
    idle.outcome = "spawn_error"
    assert served.fault(sup.startProcess, "idle") == (50, "SPAWN_ERROR: idle")
    idle.state, idle.outcome = 0, "abnormal"
    assert served.fault(sup.startProcess, "idle") == (40, "ABNORMAL_TERMINATION: idle")
    idle.state = 1000
    assert served.fault(sup.startProcess, "idle") == (30, "FAILED: idle is in an unknown "
                                                          "process state")
    solo = served.backend.proc("solo")
    solo.stop_fails = "couldn't kill solo"
    assert served.fault(sup.stopProcess, "solo") == (30, "FAILED: couldn't kill solo")


def test_group_and_all_operations(served: Served) -> None:
    """Group and "all" calls touch only the processes Supervisor's would, one struct each."""
    sup = served.proxy().supervisor
    assert sup.startProcessGroup("grp") == []  # all running already: nothing to do
    stopped = sup.stopProcessGroup("grp")
    assert stopped == [{"name": "a", "group": "grp", "status": 80, "description": "OK"},
                       {"name": "b", "group": "grp", "status": 80, "description": "OK"}]
    assert sup.stopProcess("grp:*") == []  # already stopped: a group name gives a list
    assert len(sup.startProcess("grp:*")) == 2
    served.backend.proc("idle").outcome = "spawn_error"
    started = sup.startAllProcesses()
    assert started == [{"name": "idle", "group": "idle", "status": 50,
                        "description": "SPAWN_ERROR: idle"}]
    assert {r["name"] for r in sup.stopAllProcesses()} == {"a", "b", "idle", "solo"}  # BACKOFF too
    assert served.fault(sup.startProcessGroup, "nosuch") == (10, "BAD_NAME: nosuch")
    assert served.fault(sup.stopProcessGroup, "nosuch") == (10, "BAD_NAME: nosuch")
    assert served.fault(sup.startProcess, "nosuch:*") == (10, "BAD_NAME: nosuch:*")


def test_signals(served: Served) -> None:
    """Signals by name or number; BAD_SIGNAL and NOT_RUNNING as Supervisor names them."""
    sup = served.proxy().supervisor
    assert sup.signalProcess("solo", "HUP") is True
    assert sup.signalProcess("solo", "sigusr1") is True
    assert sup.signalProcess("solo", "15") is True
    assert served.backend.proc("solo").signals == [signal.SIGHUP, signal.SIGUSR1, 15]
    assert served.fault(sup.signalProcess, "solo", "FOO") == (11, "BAD_SIGNAL: FOO")
    assert served.fault(sup.signalProcess, "solo", "999") == (11, "BAD_SIGNAL: 999")
    assert served.fault(sup.signalProcess, "idle", "HUP") == (70, "NOT_RUNNING: idle")
    assert served.fault(sup.signalProcess, "nosuch", "HUP") == (10, "BAD_NAME: nosuch")
    assert [r["status"] for r in sup.signalProcessGroup("grp", "CONT")] == [80, 80]
    assert [r["status"] for r in sup.signalProcess("grp:*", "CONT")] == [80, 80]
    assert [r["name"] for r in sup.signalAllProcesses("CONT")] == ["a", "b", "solo"]
    bad = sup.signalAllProcesses("FOO")
    assert {r["status"] for r in bad} == {11}
    assert served.fault(sup.signalProcessGroup, "nosuch", "HUP") == (10, "BAD_NAME: nosuch")


def test_process_logs(served: Served) -> None:
    """read/tail/clear of process logs follow Supervisor's offset rules and faults."""
    sup = served.proxy().supervisor
    assert sup.readProcessStdoutLog("solo", 0, 0) == "solo stdout line 1\nsolo stdout line 2\n"
    assert sup.readProcessLog("solo", 5, 6) == "stdout"
    assert sup.readProcessStderrLog("solo", -7, 0) == "line 2\n"
    assert served.fault(sup.readProcessStdoutLog, "solo", -5, 5) == (3, "BAD_ARGUMENTS")
    assert served.fault(sup.readProcessStdoutLog, "solo", 0, -1) == (3, "BAD_ARGUMENTS")
    assert served.fault(sup.readProcessStdoutLog, "nosuch", 0, 0) == (10, "BAD_NAME: nosuch")
    assert sup.tailProcessStdoutLog("solo", 0, 7) == ["line 2\n", 38, True]
    assert sup.tailProcessLog("solo", 38, 100) == ["", 38, False]
    assert sup.tailProcessStderrLog("solo", 0, 100) == [
        "solo stderr line 1\nsolo stderr line 2\n", 38, False]
    served.backend.proc("idle").stdout_logfile = None
    assert served.fault(sup.readProcessStdoutLog, "idle", 0, 0) == (20, "NO_FILE")
    assert sup.tailProcessStdoutLog("idle", 0, 10) == ["", 0, False]
    assert sup.clearProcessLogs("solo") is True
    assert sup.readProcessStdoutLog("solo", 0, 0) == ""
    assert sup.clearProcessLog("grp:a") is True
    served.backend.proc("grp:b").clear_fails = True
    assert served.fault(sup.clearProcessLogs, "grp:b") == (30, "FAILED: grp:b")
    assert served.fault(sup.clearProcessLogs, "grp:*") == (10, "BAD_NAME: grp:*")
    results = sup.clearAllProcessLogs()
    assert [(r["name"], r["status"]) for r in results] == [
        ("a", 80), ("b", 30), ("idle", 80), ("solo", 80)]


def test_log_text_is_always_valid_xml(served: Served) -> None:
    """Invalid UTF-8 and control characters in a log never break the response."""
    path = Path(str(served.backend.proc("solo").stdout_logfile))
    path.write_bytes(b"ok \xff\x00\x1b[31m red\n")
    assert served.proxy().supervisor.readProcessStdoutLog("solo", 0, 0) == (
        "ok \ufffd\ufffd\ufffd[31m red\n")


def test_main_log(served: Served) -> None:
    """readLog/readMainLog/clearLog on the daemon's own log; NO_FILE when there is none."""
    sup = served.proxy().supervisor
    assert sup.readLog(0, 0) == "2026-01-01 INFO supervisord started\n"
    assert sup.readMainLog(-8, 0) == "started\n"
    assert served.fault(sup.readLog, -1, 1) == (3, "BAD_ARGUMENTS")
    assert sup.clearLog() is True
    assert sup.readLog(0, 0) == ""
    main = served.backend.main_log
    served.backend.main_log = None
    assert served.fault(sup.readLog, 0, 0) == (20, "NO_FILE")
    assert served.fault(sup.clearLog) == (20, "NO_FILE")
    served.backend.main_log = str(main) + ".missing"
    assert served.fault(sup.readLog, 0, 0) == (20, f"NO_FILE: {main}.missing")


def test_stdin_and_remote_events(served: Served) -> None:
    """sendProcessStdin writes bytes; faults for a wrong type, a dead or deaf process."""
    sup = served.proxy().supervisor
    assert sup.sendProcessStdin("solo", "héllo\n") is True
    assert bytes(served.backend.proc("solo").stdin) == "héllo\n".encode()
    assert served.fault(sup.sendProcessStdin, "solo", 5) == (2, "INCORRECT_PARAMETERS: 5")
    assert served.fault(sup.sendProcessStdin, "idle", "x") == (70, "NOT_RUNNING: idle")
    assert served.fault(sup.sendProcessStdin, "nosuch", "x") == (10, "BAD_NAME: nosuch")
    served.backend.proc("solo").stdin_closed = True
    assert served.fault(sup.sendProcessStdin, "solo", "x") == (20, "NO_FILE: solo")
    assert sup.sendRemoteCommEvent("type", "data") is True
    assert served.backend.remote_events == [("type", "data")]


def test_configuration_changes(served: Served) -> None:
    """reloadConfig diffs; add/remove groups with ALREADY_ADDED, STILL_RUNNING, BAD_NAME."""
    sup = served.proxy().supervisor
    assert sup.reloadConfig() == [[[], [], []]]
    backend = served.backend
    backend.next_config = [
        group_config("solo", ["solo"], command="sleep 2"), group_config("grp", ["a", "b"], 5),
        group_config("new", ["new"])]
    assert sup.reloadConfig() == [[["new"], ["solo"], ["idle"]]]
    assert sup.addProcessGroup("new") is True
    assert served.fault(sup.addProcessGroup, "new") == (90, "ALREADY_ADDED: new")
    assert served.fault(sup.addProcessGroup, "idle") == (10, "BAD_NAME: idle")
    assert served.fault(sup.removeProcessGroup, "solo") == (91, "STILL_RUNNING: solo")
    assert sup.removeProcessGroup("idle") is True
    assert served.fault(sup.removeProcessGroup, "idle") == (10, "BAD_NAME: idle")
    backend.next_config = "/etc/x.conf:3 [program:y] command: missing"
    assert served.fault(sup.reloadConfig) == (
        92, "CANT_REREAD: /etc/x.conf:3 [program:y] command: missing")


def test_all_config_info(served: Served) -> None:
    """getAllConfigInfo: one struct per configured process, by name, AUTO/None spelled out.

    An AUTO log of a group in use reads as its real path (supervisord shows the path
    it chose until a reread); with no path yet, "auto".
    """
    served.backend.proc("grp:b").stdout_logfile = None
    infos = served.proxy().supervisor.getAllConfigInfo()
    assert [i["name"] for i in infos] == ["a", "b", "idle", "solo"]
    first = infos[0]
    assert first["group"] == "grp"
    assert first["group_prio"] == 5
    assert first["inuse"] is True
    assert first["stdout_logfile"].endswith("grp_a-stdout.log")
    assert infos[1]["stdout_logfile"] == "auto"
    assert first["directory"] == "none"
    assert first["uid"] == "none"
    assert first["serverurl"] == "none"
    assert first["stopsignal"] == 15
    assert first["exitcodes"] == [0]
    assert len(first) == 29


def test_shutdown_and_restart_refuse_later_calls(served: Served) -> None:
    """After shutdown or restart, supervisor.* calls fault SHUTDOWN_STATE (not remote events)."""
    sup = served.proxy().supervisor
    assert sup.restart() is True
    assert served.fault(sup.getState) == (6, "SHUTDOWN_STATE")
    assert sup.sendRemoteCommEvent("t", "d") is True
    served.backend.state = 1
    assert sup.shutdown() is True
    assert served.fault(sup.startProcess, "idle") == (6, "SHUTDOWN_STATE")
    assert served.proxy().system.listMethods()  # system.* still answers


def test_system_methods(served: Served) -> None:
    """listMethods, methodHelp and methodSignature list Supervisor's 41 methods."""
    system = served.proxy().system
    methods = system.listMethods()
    assert len(methods) == 41
    assert methods == sorted(methods)
    assert system.methodSignature("supervisor.startProcess") == ["boolean", "string", "boolean"]
    assert system.methodSignature("system.multicall") == ["array", "array"]
    assert "wait" in system.methodHelp("supervisor.startProcess")
    assert served.fault(system.methodHelp, "nope") == (4, "SIGNATURE_UNSUPPORTED")
    assert served.fault(system.methodSignature, "nope") == (4, "SIGNATURE_UNSUPPORTED")


def test_multicall(served: Served) -> None:
    """multicall returns each value as is, faults as structs; no nesting."""
    system = served.proxy().system
    results = system.multicall([
        {"methodName": "supervisor.getPID", "params": []},
        {"methodName": "system.multicall", "params": []},
        {"params": []},
        {"methodName": "supervisor.nope"},
        {"methodName": "supervisor.getProcessInfo", "params": "x"},
        {"methodName": "supervisor.stopProcess", "params": ["solo"]},
    ])
    assert results == [
        4242,
        {"faultCode": 2, "faultString": "INCORRECT_PARAMETERS: Recursive system.multicall "
                                        "forbidden"},
        {"faultCode": 2, "faultString": "INCORRECT_PARAMETERS: No methodName"},
        {"faultCode": 1, "faultString": "UNKNOWN_METHOD"},
        {"faultCode": 2, "faultString": "INCORRECT_PARAMETERS: params must be an array"},
        True,
    ]


@pytest.mark.parametrize(
    ("method", "params"),
    [("supervisor._update", ("x",)), ("supervisor.api.backend.shutdown", ()),
     ("supervisor.backend", ()), ("nope.getPID", ()), ("getPID", ()), ("supervisor.nope", ()),
     ("system._listMethods", ())],
)
def test_unknown_and_private_methods(served: Served, method: str, params: tuple[str]) -> None:
    """Private, dotted-path and unknown names are UNKNOWN_METHOD (cf. CVE-2017-11610)."""
    proxy = served.proxy()
    assert served.fault(getattr(proxy, method), *params) == (1, "UNKNOWN_METHOD")
    assert served.backend.state == 1


@pytest.mark.parametrize(
    ("method", "params"),
    [("getPID", (1,)), ("startProcess", ()), ("startProcess", ("a", True, 3)),
     ("readLog", ("x", 0)), ("getProcessInfo", (5,)), ("stopProcess", ("a", "yes"))],
)
def test_wrong_parameters(served: Served, method: str, params: tuple[object, ...]) -> None:
    """A wrong count or type of parameters is INCORRECT_PARAMETERS, nothing runs."""
    code, _ = served.fault(getattr(served.proxy().supervisor, method), *params)
    assert code == 2


def test_sha_password_and_wrong_ones(served: Served) -> None:
    """TCP needs the right Basic credentials: none or wrong ones give HTTP 401."""
    assert served.http_proxy().supervisor.getPID() == 4242
    for user, password in [(None, None), ("admin", "wrong"), ("other", "s3cret")]:
        with pytest.raises(xmlrpc.client.ProtocolError) as caught:
            served.http_proxy(user, password).supervisor.getPID()
        assert caught.value.errcode == 401
    assert caught.value.headers["WWW-Authenticate"] == 'Basic realm="default"'
