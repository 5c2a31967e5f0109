"""SupervisorBackend turns the daemon's answers and errors into the control interface's."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

from capataz.config.model import Config, SupervisordConfig
from capataz.control.adapter import SupervisorBackend
from capataz.control.errors import RpcFault
from capataz.control.interface import ControlBackend
from capataz.control.protocol import Fault
from capataz.control.testing import group_config
from capataz.supervisor import (
    AlreadyAddedError,
    BadNameError,
    CantRereadError,
    ConfigDiff,
    FailedError,
    NoFileError,
    NotRunningError,
    ProcessState,
    SupervisorState,
)


class StubProcess:
    name, group, state, pid = "p", "g", ProcessState.RUNNING, 5
    start_wall, stop_wall, exitstatus, spawnerr = 1.0, 0.0, None, None
    stdout_logfile = "/out.log"
    stderr_logfile = None


class StubClock:
    def wall(self) -> float:
        return 2.0


class StubSupervisor:
    """The few daemon calls the adapter makes, each raising what ``errors`` says."""

    def __init__(self) -> None:
        self.state = SupervisorState.RUNNING
        self.config = Config("/c.conf", SupervisordConfig(identifier="ident"),
                             groups=(group_config("g", ["p"]),))
        self.groups = {"g": object()}
        self.main_logfile: str | None = "/main.log"
        self.errors: dict[str, Exception] = {}
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.clock = StubClock()

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any) -> Any:
            self.calls.append((name, args))
            if name in self.errors:
                raise self.errors[name]
            return {"process": StubProcess(), "reload_config": ConfigDiff(("n",), ("c",), ()),
                    "processes": [StubProcess()]}.get(name)
        if name in {"start_process", "stop_process"}:
            async def acall(*args: Any) -> Any:
                return call(*args)
            return acall
        return call


@pytest.fixture
def stub() -> StubSupervisor:
    return StubSupervisor()


def test_it_is_a_control_backend(stub: StubSupervisor) -> None:
    """The adapter satisfies the Protocol and passes simple answers through."""
    backend = SupervisorBackend(stub)  # type: ignore[arg-type]
    assert isinstance(backend, ControlBackend)
    assert backend.daemon_state() == 1
    assert backend.identification() == "ident"
    assert backend.daemon_pid() == os.getpid()
    assert backend.version()
    assert backend.has_group("g")
    assert not backend.has_group("x")
    [view] = backend.processes()
    assert (view.namespec, view.state, view.exitstatus, view.spawnerr) == ("g:p", 20, 0, "")
    assert (view.start, view.now, view.stdout_logfile) == (1.0, 2.0, "/out.log")
    assert backend.logfile("g:p", "stdout") == "/out.log"
    assert backend.logfile("g:p", "stderr") is None
    assert backend.main_logfile() == "/main.log"
    assert backend.reload_config() == (["n"], ["c"], [])
    assert [g.name for g in backend.config_groups()] == ["g"]
    backend.shutdown()
    backend.restart()
    backend.send_remote_comm_event("t", "d")
    assert ("send_remote_comm_event", ("t", "d")) in stub.calls
    asyncio.run(backend.start_process("g:p", True))
    asyncio.run(backend.stop_process("g:p", False))
    backend.signal_process("g:p", 1)
    backend.send_stdin("g:p", b"x")
    backend.clear_process_logs("g:p")
    backend.clear_main_log()
    backend.add_group("g")
    backend.remove_group("g")
    assert [c[0] for c in stub.calls].count("start_process") == 1


@pytest.mark.parametrize(
    ("method", "args", "error", "expected"),
    [("add_group", ("x",), AlreadyAddedError("x"), (Fault.ALREADY_ADDED, "ALREADY_ADDED: x")),
     ("remove_group", ("x",), BadNameError("no such group: x"),
      (Fault.BAD_NAME, "BAD_NAME: no such group: x")),
     ("reload_config", (), CantRereadError("bad"), (Fault.CANT_REREAD, "CANT_REREAD: bad")),
     ("signal_process", ("g:p", 1), FailedError("boom"), (Fault.FAILED, "FAILED: boom")),
     ("send_stdin", ("g:p", b"x"), NoFileError("g:p"), (Fault.NO_FILE, "NO_FILE: g:p")),
     # The fault comes from the error's class, never from words in its message.
     ("send_stdin", ("g:p", b"x"), NotRunningError("g:p: stdin is closed"),
      (Fault.NOT_RUNNING, "NOT_RUNNING: g:p: stdin is closed")),
     ("send_stdin", ("g:p", b"x"), NotRunningError("g:p"), (Fault.NOT_RUNNING, "NOT_RUNNING: g:p")),
     ("clear_process_logs", ("g:p",), NoFileError("/x: gone"), (Fault.FAILED, "FAILED: g:p")),
     ("clear_process_logs", ("g:p",), BadNameError("g:p"), (Fault.BAD_NAME, "BAD_NAME: g:p")),
     ("clear_main_log", (), NoFileError("/main.log: gone"), (Fault.NO_FILE,
                                                             "NO_FILE: /main.log: gone")),
     ("logfile", ("nope", "stdout"), BadNameError("nope"), (Fault.BAD_NAME, "BAD_NAME: nope"))],
)
def test_daemon_errors_become_faults(
    stub: StubSupervisor, method: str, args: tuple[Any, ...], error: Exception,
    expected: tuple[Fault, str],
) -> None:
    """Each daemon error class maps to the fault it names, in one place."""
    daemon_name = {"logfile": "process"}.get(method, method)
    stub.errors[daemon_name] = error
    with pytest.raises(RpcFault) as caught:
        getattr(SupervisorBackend(stub), method)(*args)  # type: ignore[arg-type]
    assert (caught.value.code, caught.value.text) == expected


def test_async_errors_and_no_main_log(stub: StubSupervisor) -> None:
    """start/stop faults come through the coroutine; no main log is NO_FILE."""
    stub.errors["start_process"] = NotRunningError("g:p")
    backend = SupervisorBackend(stub)  # type: ignore[arg-type]
    with pytest.raises(RpcFault) as caught:
        asyncio.run(backend.start_process("g:p", True))
    assert caught.value.code == Fault.NOT_RUNNING
    stub.main_logfile = None
    with pytest.raises(RpcFault) as caught:
        backend.clear_main_log()
    assert caught.value.text == "NO_FILE"
