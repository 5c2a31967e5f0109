"""One supervised process: Supervisor's state machine, driven by events and timers.

All state changes go through ``_transition()``, which checks ``TRANSITIONS``,
logs and emits the event. Nothing polls: a spawn schedules the startsecs timer
(RUNNING exactly startsecs later), an entry into BACKOFF schedules the retry
(1, 2, 3 ... s), a stop schedules the SIGKILL escalation (re-sent every
stopwaitsecs), and a reaped child arrives through ``child_exited``.

A forked child has not exec'd yet: the process stays STARTING until its
exec-status pipe says so (``ExecWatch``), and startsecs counts from there. A
child that could not exec (no such directory, setuid refused, exec failed)
is a spawn error once it is reaped: spawnerr, BACKOFF, FATAL after
startretries, exactly as an error seen before the fork.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import signal
import time
from collections.abc import Callable

from capataz.config.model import AutoRestart, ProcessConfig
from capataz.supervisor.clock import Clock, Timer
from capataz.supervisor.errors import InvalidTransitionError, SupervisorError
from capataz.supervisor.events import ProcessInfo, ProcessStateChange
from capataz.supervisor.output import StdinPipe
from capataz.supervisor.spawn import ExecWatch, SpawnedChild, Spawner, SpawnRequest
from capataz.supervisor.states import STOPPED_STATES, TRANSITIONS, ProcessState

S = ProcessState
log = logging.getLogger("capataz.supervisor")

#: An autorestart after an exit waits until this long after the previous start.
#: Supervisor's 1 s tick gives the same floor; without it a command that exits
#: at once with startsecs=0 would be forked as fast as the machine can.
MIN_RESTART_INTERVAL = 1.0


def describe_exit(waitstatus: int) -> tuple[int, str]:
    """Supervisor's (exitstatus, message): a death by signal is status -1."""
    if os.WIFSIGNALED(waitstatus):
        signum = os.WTERMSIG(waitstatus)
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        return -1, f"terminated by {name}"
    code = os.waitstatus_to_exitcode(waitstatus)
    return code, f"exit status {code}"


class Process:
    def __init__(
        self,
        config: ProcessConfig,
        *,
        clock: Clock,
        spawner: Spawner,
        prepare: Callable[[ProcessConfig], SpawnRequest],
        on_change: Callable[[ProcessStateChange], None],
        may_autospawn: Callable[[], bool] = lambda: True,
        on_spawned: Callable[[Process, SpawnedChild], None] | None = None,
        logfiles: tuple[str | None, str | None] = (None, None),
    ) -> None:
        self.config = config
        self._clock = clock
        self._spawner = spawner
        self._prepare = prepare
        self._on_change = on_change
        self._may_autospawn = may_autospawn
        self._on_spawned = on_spawned
        self.stdout_logfile, self.stderr_logfile = logfiles
        self.state = S.STOPPED
        self.pid = 0
        self.laststart = 0.0  # monotonic; 0 = never started
        self.start_wall = 0.0
        self.stop_wall = 0.0
        self.backoff = 0
        self.exitstatus: int | None = None
        self.spawnerr: str | None = None
        self.killing = False
        #: This spawn got to RUNNING (it may have exited since): a started start.
        self.reached_running = False
        self.stdin: StdinPipe | None = None
        self._timer: Timer | None = None
        self._group_timer: Timer | None = None
        self._kill_deadline = 0.0
        self._waiters: list[asyncio.Future[None]] = []
        #: The current child's exec status, while it is not known yet.
        self._exec_watch: ExecWatch | None = None
        #: Why the current child could not exec, until it is reaped.
        self._exec_error: str | None = None

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def group(self) -> str:
        return self.config.group_name

    def __repr__(self) -> str:
        return f"<Process {self.group}:{self.name} {self.state.name} pid={self.pid}>"

    # ------------------------------------------------------------ transitions
    def _transition(
        self, new: ProcessState, *, expected: bool | None = None, pid: int | None = None
    ) -> None:
        old = self.state
        if new not in TRANSITIONS[old]:
            raise InvalidTransitionError(f"{self.name}: {old.name} -> {new.name} is not allowed")
        self.state = new
        log.debug("%s: %s -> %s", self.name, old.name, new.name)
        tries = self.backoff if new in (S.STARTING, S.BACKOFF) else 0
        self._on_change(
            ProcessStateChange(
                self.name, self.group, old, new, self.pid if pid is None else pid, tries, expected
            )
        )
        self._wake_waiters()

    def _wake_waiters(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    def _schedule(self, delay: float, action: Callable[[], None]) -> None:
        self._cancel_timer()
        self._timer = self._clock.call_later(delay, action)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def changed(self) -> None:
        """Wait for the next state change (or news of the child's exec)."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        await waiter

    # ------------------------------------------------------------ starting
    @property
    def exec_pending(self) -> bool:
        """The current child may still fail to exec (a spawn error, not an exit)."""
        return self._exec_watch is not None or self._exec_error is not None

    def spawn(self) -> int | None:
        """STARTING, then fork; a failure goes to BACKOFF. Returns the pid.

        The child execs on its own: ``_execed`` follows when it has, and an
        exec failure is a spawn error when the child is reaped.
        """
        if self.pid:
            log.warning("process %r already running", self.name)
            return None
        self._cancel_timer()
        self.laststart = self._clock.monotonic()
        self.start_wall = self._clock.wall()
        self.spawnerr = None
        self.exitstatus = None
        self.killing = False
        self.reached_running = False
        self._transition(S.STARTING)
        try:
            child = self._spawner.spawn(self._prepare(self.config))
        except (SupervisorError, OSError) as exc:
            self._spawn_failed(str(exc))
            return None
        self.pid = child.pid
        self.stdin = StdinPipe(child.stdin) if child.stdin is not None else None
        if self._on_spawned is not None:
            self._on_spawned(self, child)
        if child.exec_status is None:
            self._execed()
        else:
            self._exec_watch = ExecWatch(child.exec_status, self._exec_reported)
        return self.pid

    def _spawn_failed(self, reason: str) -> None:
        self.spawnerr = reason
        log.info("spawnerr: %s", reason)
        self._enter_backoff()

    def _exec_reported(self, error: str | None) -> None:
        self._exec_watch = None
        if error is None:
            self._execed()
        else:
            self._exec_error = error  # the child is exiting; its reaping ends the spawn
            self._wake_waiters()

    def _execed(self) -> None:
        log.info("spawned: %r with pid %d", self.name, self.pid)
        self._wake_waiters()
        if self.state is not S.STARTING:
            return  # stopped before it got to exec
        if self.config.startsecs <= 0:
            self._started()  # as Supervisor's startProcess: RUNNING before it answers
        else:
            self._schedule(self.config.startsecs, self._started)

    def _started(self) -> None:
        self._timer = None
        if self.state is S.STARTING:
            self.backoff = 0
            self.reached_running = True
            self._transition(S.RUNNING)
            log.info(
                "success: %s entered RUNNING state, process has stayed up for > than %d "
                "seconds (startsecs)", self.name, self.config.startsecs,
            )

    def _enter_backoff(self) -> None:
        self.backoff += 1
        self._transition(S.BACKOFF)
        if self.backoff > self.config.startretries:
            self.give_up()
        else:
            self._schedule(self.backoff, self._retry)

    def _retry(self) -> None:
        self._timer = None
        if self.state is S.BACKOFF and self._may_autospawn():
            self.spawn()

    def give_up(self) -> None:
        """BACKOFF -> FATAL: no more retries (used up, or the daemon is stopping)."""
        self._cancel_timer()
        self._transition(S.FATAL)
        log.info("gave up: %s entered FATAL state, too many start retries too quickly", self.name)

    def autostart(self) -> None:
        """Spawn at daemon start if ``autostart`` and never started."""
        if self.config.autostart and self.state is S.STOPPED and not self.laststart:
            self.spawn()

    # ------------------------------------------------------------ exiting
    def child_exited(self, waitstatus: int) -> None:
        """The child was reaped: STOPPED after a stop, BACKOFF if too quick, else EXITED.

        A child that never exec'd is a spawn error (BACKOFF) unless it was being stopped.
        """
        exec_error = self._settle_exec()
        self._cancel_timer()
        if exec_error is not None:
            if self.state is S.STARTING:
                self.pid = 0
                self._close_stdin()
                self._spawn_failed(exec_error)
                return
            self.spawnerr = exec_error  # it was being stopped: that ends as any stop
            log.info("spawnerr: %s", exec_error)
        exitstatus, how = describe_exit(waitstatus)
        now = self._clock.monotonic()
        self.stop_wall = self._clock.wall()
        too_quickly = now - self.laststart < self.config.startsecs
        expected = exitstatus in self.config.exitcodes
        # The pid is cleared first so a listener may start the process again at
        # once; the events still carry the pid that exited.
        pid, self.pid = self.pid, 0
        self._close_stdin()
        if self.killing or self.state is S.UNKNOWN:
            self.killing = False
            self.exitstatus = exitstatus
            if self.config.killasgroup:
                self._finish_group_later(pid)
            level = logging.INFO if expected else logging.WARNING
            log.log(level, "stopped: %s (%s)", self.name, how)
            self._transition(S.STOPPED, pid=pid)
        elif too_quickly and self.state is S.STARTING:
            self.exitstatus = None
            self.spawnerr = "Exited too quickly (process log may have details)"
            log.warning("exited: %s (%s; not expected)", self.name, how)
            self._enter_backoff()
        else:
            self.backoff = 0
            self.exitstatus = exitstatus
            if self.state is S.STARTING:
                self.reached_running = True
                self._transition(S.RUNNING, pid=pid)
            if expected:
                log.info("exited: %s (%s; expected)", self.name, how)
            else:
                self.spawnerr = f"Bad exit code {exitstatus}"
                log.warning("exited: %s (%s; not expected)", self.name, how)
            self._transition(S.EXITED, expected=expected, pid=pid)
            self._maybe_restart(expected)

    def _settle_exec(self) -> str | None:
        """Why the reaped child could not exec, or None if it did."""
        if self._exec_watch is not None:  # reaped before the loop read its exec status
            watch, self._exec_watch = self._exec_watch, None
            error = watch.settle()
            if error is None:
                self._execed()
            else:
                self._exec_error = error
        error, self._exec_error = self._exec_error, None
        return error

    def _maybe_restart(self, expected: bool) -> None:
        policy = self.config.autorestart
        if policy is AutoRestart.NEVER or (policy is AutoRestart.UNEXPECTED and expected):
            return
        wait = self.laststart + MIN_RESTART_INTERVAL - self._clock.monotonic()
        self._schedule(wait, self._restart)

    def _restart(self) -> None:
        self._timer = None
        if self.state is S.EXITED and self._may_autospawn():
            self.spawn()

    # ------------------------------------------------------------ stopping
    def stop(self) -> str | None:
        """Send ``stopsignal``; None when done, else why it could not be."""
        return self.kill(self.config.stopsignal)

    def kill(self, signum: int) -> str | None:
        """Signal the process to make it exit (STOPPING); BACKOFF just becomes STOPPED."""
        if self.state is S.BACKOFF:
            self._cancel_timer()
            self._transition(S.STOPPED)
            return None
        if not self.pid:
            return (
                f"attempted to kill {self.name} with sig {_signame(signum)} but it wasn't running"
            )
        as_group = self.config.killasgroup if self.state is S.STOPPING else self.config.stopasgroup
        self.killing = True
        self._kill_deadline = self._clock.monotonic() + self.config.stopwaitsecs
        self._schedule(self.config.stopwaitsecs, self._escalate)
        self._transition(S.STOPPING)
        log.debug(
            "killing %s (pid %d) %swith signal %s",
            self.name, self.pid, "process group " if as_group else "", _signame(signum),
        )
        return self._send(-self.pid if as_group else self.pid, signum)

    def _finish_group_later(self, pgid: int) -> None:
        # Supervisor stops here: once the group leader is reaped, members that
        # ignored the stop signal live on as orphans (its issue #1101). They get
        # the rest of stopwaitsecs, then the SIGKILL killasgroup promised.
        def kill_leftovers() -> None:
            self._group_timer = None
            try:
                self._spawner.kill(-pgid, 0)
            except OSError:
                return  # the whole group is gone
            log.warning("killing what is left of %r's process group %d with SIGKILL",
                        self.name, pgid)
            with contextlib.suppress(OSError):
                self._spawner.kill(-pgid, signal.SIGKILL)

        if self._group_timer is not None:
            self._group_timer.cancel()
        delay = self._kill_deadline - self._clock.monotonic()
        self._group_timer = self._clock.call_later(delay, kill_leftovers)

    def _escalate(self) -> None:
        self._timer = None
        if self.state is S.STOPPING and self.pid:
            log.warning("killing %r (%d) with SIGKILL", self.name, self.pid)
            self.kill(signal.SIGKILL)

    def signal(self, signum: int) -> str | None:
        """Send any signal, without a state change (``signalProcess``)."""
        if not self.pid:
            return f"attempted to send {self.name} sig {_signame(signum)} but it wasn't running"
        return self._send(self.pid, signum)

    def _send(self, target: int, signum: int) -> str | None:
        try:
            self._spawner.kill(target, signum)
        except OSError as exc:
            if exc.errno == errno.ESRCH:
                # It exited on its own; the reaper will tell us.
                log.debug("unable to signal %s (pid %d): it probably just exited", self.name,
                          self.pid)
                return None
            message = f"unknown problem killing {self.name} ({self.pid}): {exc}"
            log.critical(message)
            self._cancel_timer()
            self.killing = False
            if self.state is not S.UNKNOWN:
                self._transition(S.UNKNOWN)
            return message
        return None

    def _close_stdin(self) -> None:
        if self.stdin is not None:
            self.stdin.close()
            self.stdin = None

    def write_stdin(self, data: bytes) -> None:
        """Send to the child's stdin (kept in memory while its pipe is full).

        Raises ``OSError`` when the child has no stdin or closed it.
        """
        if self.stdin is None:
            raise BrokenPipeError(errno.EPIPE, "the process has no stdin open")
        self.stdin.write(data)

    def close(self) -> None:
        """Forget timers and the pipes (the process is being removed)."""
        self._cancel_timer()
        if self._exec_watch is not None:
            self._exec_watch.cancel()
            self._exec_watch = None
        if self._group_timer is not None:
            self._group_timer.cancel()
            self._group_timer = None
        self._close_stdin()

    # ------------------------------------------------------------ reporting
    @property
    def stopped(self) -> bool:
        return self.state in STOPPED_STATES

    def info(self) -> ProcessInfo:
        now = self._clock.wall()
        return ProcessInfo(
            name=self.name,
            group=self.group,
            state=self.state,
            pid=self.pid,
            start=self.start_wall,
            stop=self.stop_wall,
            now=now,
            exitstatus=self.exitstatus,
            spawnerr=self.spawnerr or "",
            stdout_logfile=self.stdout_logfile,
            stderr_logfile=self.stderr_logfile,
            description=self.describe(now),
        )

    def describe(self, now: float) -> str:
        """The description column of ``supervisorctl status``, as Supervisor words it."""
        if self.state is S.RUNNING:
            seconds = max(0, int(now - self.start_wall))
            hours, rest = divmod(seconds, 3600)
            days, hours = divmod(hours, 24)
            uptime = f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
            if days:
                uptime = f"{days} day{'s' if days > 1 else ''}, {uptime}"
            return f"pid {self.pid}, uptime {uptime}"
        if self.state in (S.FATAL, S.BACKOFF):
            return self.spawnerr or f'unknown error (try "tail {self.name}")'
        if self.state in (S.STOPPED, S.EXITED):
            if not self.start_wall:
                return "Not started"
            return time.strftime("%b %d %I:%M %p", time.localtime(self.stop_wall))
        return ""


def _signame(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return str(signum)
