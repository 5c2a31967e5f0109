"""The supervisor daemon: processes, their state machine, logs, signals.

The control layer (XML-RPC, JSON, web) talks to the daemon only through
``Supervisor`` and the types below; this list is the stable interface.

``Supervisor(config, *, clock=None, spawner=None, loader=None, environ=None, reap=True)``
    Owns every group and process of a ``capataz.config.Config``. ``loader``
    (normally ``capataz.config.load``) reads ``config.path`` again on reload
    and restart. Everything runs on the caller's asyncio loop.

Attributes
    ``state`` (``SupervisorState``: RUNNING, RESTARTING, SHUTDOWN), ``config``
    (the configuration last read), ``groups`` (name -> ``Group`` with
    ``.config`` and ``.processes``), ``main_logfile``, ``logfiles``.

Lookup (raise ``BadNameError``)
    ``process(namespec)`` (``"group:name"``, or ``"name"`` when the group has
    the process's name), ``group(name)``, ``select(namespec)`` (``"group:*"``
    gives the group's processes), ``processes()`` in start order,
    ``process_info(namespec)`` and ``all_process_info()`` -> ``ProcessInfo``
    (name, group, state, statename, pid, start, stop, now, exitstatus,
    spawnerr, stdout_logfile, stderr_logfile, description, namespec).

Processes (coroutines; raise the ``errors`` classes, each with its ``fault`` name)
    ``await start_process(namespec, wait=True)``: returns once RUNNING (after
    startsecs) when ``wait``; ``SpawnError``/``AbnormalTerminationError`` if it
    fails, ``AlreadyStartedError``, ``NoFileError``/``NotExecutableError``.
    ``await stop_process(namespec, wait=True)``: ``NotRunningError``, ``FailedError``.
    ``await start_group(name, wait)``, ``stop_group``, ``start_all``, ``stop_all``
    -> ``list[ProcessResult]`` (name, group, error or None), in priority order.
    ``signal_process(namespec, signum)`` (``NotRunningError``),
    ``send_stdin(namespec, data: bytes)`` (``NotRunningError`` without a pid or
    while stopping, ``NoFileError`` when the child closed its stdin; data the
    pipe cannot take yet waits in memory).

Logs
    ``read_process_log(namespec, "stdout"|"stderr", offset, length)`` and
    ``read_main_log(offset, length)`` (Supervisor's readLog rules),
    ``tail_process_log(namespec, channel, offset, length)`` -> (bytes, offset,
    overflow) (``(b"", 0, False)`` without a file), ``clear_process_logs(namespec)``
    (``FailedError``), ``clear_all_process_logs()``,
    ``clear_main_log()``, ``output_tail(namespec, channel)`` (in-memory tail,
    also for ``NONE`` logs), ``reopen_logs()``.

Configuration
    ``reload_config()`` -> ``ConfigDiff(added, changed, removed)`` (group names;
    ``CantRereadError``), ``add_group(name)`` (``AlreadyAddedError``),
    ``remove_group(name)`` (``StillRunningError``). ``update`` is built from these.

Daemon
    ``await run()`` supervises until ``shutdown()``; ``restart()`` stops
    everything, reads the configuration again and starts over (same pid).
    ``subscribe(listener)`` -> unsubscribe: ``listener(event)`` gets every
    ``ProcessStateChange``, ``SupervisorStateChange`` and ``GroupChange``.
    ``send_remote_comm_event(type, data)`` sends REMOTE_COMMUNICATION to the
    ``[eventlistener:x]`` pools (``event_bus``; see ``eventlisteners``).

Any call that changes something raises ``ShutdownStateError`` unless ``state``
is RUNNING.
"""

from capataz.supervisor.clock import Clock, FakeClock, LoopClock
from capataz.supervisor.errors import (
    AbnormalTerminationError,
    AlreadyAddedError,
    AlreadyStartedError,
    BadArgumentsError,
    BadNameError,
    BadSignalError,
    CantRereadError,
    FailedError,
    NoFileError,
    NotExecutableError,
    NotRunningError,
    ShutdownStateError,
    SpawnError,
    StillRunningError,
    SupervisorError,
)
from capataz.supervisor.events import (
    Event,
    GroupChange,
    ProcessInfo,
    ProcessStateChange,
    SupervisorStateChange,
)
from capataz.supervisor.states import (
    RUNNING_STATES,
    SIGNALLABLE_STATES,
    STOPPED_STATES,
    ProcessState,
    SupervisorState,
)
from capataz.supervisor.supervisor import ConfigDiff, Group, ProcessResult, Supervisor

__all__ = [
    "RUNNING_STATES",
    "SIGNALLABLE_STATES",
    "STOPPED_STATES",
    "AbnormalTerminationError",
    "AlreadyAddedError",
    "AlreadyStartedError",
    "BadArgumentsError",
    "BadNameError",
    "BadSignalError",
    "CantRereadError",
    "Clock",
    "ConfigDiff",
    "Event",
    "FailedError",
    "FakeClock",
    "Group",
    "GroupChange",
    "LoopClock",
    "NoFileError",
    "NotExecutableError",
    "NotRunningError",
    "ProcessInfo",
    "ProcessResult",
    "ProcessState",
    "ProcessStateChange",
    "ShutdownStateError",
    "SpawnError",
    "StillRunningError",
    "Supervisor",
    "SupervisorError",
    "SupervisorState",
    "SupervisorStateChange",
]
