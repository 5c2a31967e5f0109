"""The ``Supervisor``: every group and process, and the operations clients ask for.

This is the one interface the control layer (XML-RPC, JSON, web) uses; see the
package docstring for the list. It owns no event loop: ``run()`` is a coroutine,
and the daemon (``capataz.supervisor.daemon``) adds signals, pidfile and
daemonizing around it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from capataz.config.model import Config, GroupConfig, GroupKind, ProcessConfig
from capataz.supervisor import logread
from capataz.supervisor.clock import Clock, LoopClock
from capataz.supervisor.errors import (
    AbnormalTerminationError,
    AlreadyAddedError,
    AlreadyStartedError,
    BadNameError,
    CantRereadError,
    FailedError,
    NoFileError,
    NotRunningError,
    ShutdownStateError,
    SpawnError,
    StillRunningError,
    SupervisorError,
)
from capataz.supervisor.eventlisteners import EventBus
from capataz.supervisor.events import (
    Event,
    GroupChange,
    Listener,
    ProcessInfo,
    SupervisorStateChange,
)
from capataz.supervisor.launch import Launcher, ProcessOutput, report_log_error
from capataz.supervisor.logfiles import LogFiles
from capataz.supervisor.output import catch_up
from capataz.supervisor.process import Process
from capataz.supervisor.reaper import Reaper
from capataz.supervisor.spawn import (
    ForkServerSpawner,
    SpawnedChild,
    Spawner,
    resolve_command,
)
from capataz.supervisor.states import RUNNING_STATES, ProcessState, SupervisorState

log = logging.getLogger("capataz.supervisor")
S = ProcessState
CHANNELS = ("stdout", "stderr")
#: Starting at least this many processes at once goes through a fork server
#: (see ``spawn.ForkServerSpawner``); fewer are forked sooner than it starts.
FORK_SERVER_FROM = 16


def autostart_count(groups: Iterable[GroupConfig]) -> int:
    """How many processes of these groups start on their own."""
    return sum(p.autostart for g in groups for p in g.processes)


@dataclass(frozen=True, slots=True)
class ProcessResult:
    """One process's outcome in a group or "all" operation (``error`` None = success)."""

    name: str
    group: str
    error: SupervisorError | None = None


@dataclass(frozen=True, slots=True)
class ConfigDiff:
    """Group names, as Supervisor's ``reloadConfig`` reports them."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


def diff_groups(active: Iterable[GroupConfig], new: Config) -> ConfigDiff:
    old = {g.name: g for g in active}
    fresh = {g.name: g for g in new.groups}
    return ConfigDiff(
        added=tuple(sorted(fresh.keys() - old.keys())),
        changed=tuple(sorted(n for n in fresh.keys() & old.keys() if fresh[n] != old[n])),
        removed=tuple(sorted(old.keys() - fresh.keys())),
    )


class Group:
    def __init__(self, config: GroupConfig, processes: dict[str, Process]) -> None:
        self.config = config
        self.processes = processes

    @property
    def name(self) -> str:
        return self.config.name

    def ordered(self) -> list[Process]:
        return sorted(self.processes.values(), key=lambda p: (p.config.priority, p.name))


class Supervisor:
    def __init__(
        self,
        config: Config,
        *,
        clock: Clock | None = None,
        spawner: Spawner | None = None,
        loader: Callable[[str], Config] | None = None,
        environ: Mapping[str, str] | None = None,
        reap: bool = True,
    ) -> None:
        self.config = config
        self.clock: Clock = clock or LoopClock()
        self._spawner = spawner or ForkServerSpawner()
        self._loader = loader
        self.state = SupervisorState.RUNNING
        self._listeners: list[Listener] = []
        self.logfiles = LogFiles(on_error=report_log_error)
        self._launcher = Launcher(lambda: self.config, self.logfiles, environ)
        self.groups: dict[str, Group] = {}
        self._outputs: dict[Process, ProcessOutput] = {}
        self._by_pid: dict[int, Process] = {}
        self._reaper = Reaper(self.child_exited) if reap else None
        self.event_bus = EventBus(self.clock, lambda: self.config.supervisord.identifier)
        self._request: asyncio.Event | None = None
        self._restart_requested = False
        for group_config in config.groups:
            self._add_group(group_config)

    # ------------------------------------------------------------ events
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` on every change; returns the unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _emit(self, event: Event) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("event listener %r failed on %r", listener, event)
        self.event_bus.publish(event)

    def send_remote_comm_event(self, kind: str, data: str) -> None:
        """REMOTE_COMMUNICATION to the event listeners (``sendRemoteCommEvent``)."""
        self.event_bus.notify("REMOTE_COMMUNICATION", f"type:{kind}\n{data}")

    def _set_state(self, state: SupervisorState) -> None:
        if state is not self.state:
            old, self.state = self.state, state
            self._emit(SupervisorStateChange(old, state))

    def _may_autospawn(self) -> bool:
        return self.state is SupervisorState.RUNNING

    # ------------------------------------------------------------ lookup
    def processes(self) -> list[Process]:
        """Every process, groups by (priority, name), then processes by (priority, name)."""
        return [p for g in self._ordered_groups() for p in g.ordered()]

    def _ordered_groups(self) -> list[Group]:
        return sorted(self.groups.values(), key=lambda g: (g.config.priority, g.name))

    def group(self, name: str) -> Group:
        try:
            return self.groups[name]
        except KeyError:
            raise BadNameError(name) from None

    def process(self, namespec: str) -> Process:
        """``group:name``, or ``name`` for a process alone in its own group."""
        group_name, _, name = namespec.partition(":")
        group = self.groups.get(group_name)
        process = group.processes.get(name or group_name) if group else None
        if process is None:
            raise BadNameError(namespec)
        return process

    def select(self, namespec: str) -> list[Process]:
        """``group:*`` or a bare group name selects the group; otherwise one process."""
        group_name, _, name = namespec.partition(":")
        if name == "*" or (not name and group_name in self.groups and
                           group_name not in self.groups[group_name].processes):
            return self.group(group_name).ordered()
        return [self.process(namespec)]

    def process_info(self, namespec: str) -> ProcessInfo:
        return self.process(namespec).info()

    def all_process_info(self) -> list[ProcessInfo]:
        return [p.info() for p in self.processes()]

    # ------------------------------------------------------------ building
    def _add_group(self, config: GroupConfig) -> Group:
        processes = {pc.name: self._make_process(pc) for pc in config.processes}
        group = Group(config, processes)
        self.groups[config.name] = group
        if config.kind is GroupKind.EVENTLISTENER and config.eventlistener is not None:
            self.event_bus.add_group(config, group.ordered())
        return group

    def _make_process(self, config: ProcessConfig) -> Process:
        output = self._launcher.output(config)
        process = Process(
            config,
            clock=self.clock,
            spawner=self._spawner,
            prepare=self._launcher.request,
            on_change=self._emit,
            may_autospawn=self._may_autospawn,
            on_spawned=self._spawned,
            logfiles=output.paths,
        )
        self._outputs[process] = output
        for name, log_config in (("stdout", config.stdout), ("stderr", config.stderr)):
            if log_config.events_enabled:
                output.channels[name].on_lines = self._log_event(process, name)
        return process

    def _log_event(self, process: Process, channel: str) -> Callable[[bytes], None]:
        """PROCESS_LOG_STDOUT/STDERR for ``*_events_enabled``, payload as Supervisor's."""
        def notify(lines: bytes) -> None:
            header = (f"processname:{process.name} groupname:{process.group} "
                      f"pid:{process.pid} channel:{channel}\n")
            text = lines.decode("utf-8", "replace")
            self.event_bus.notify(f"PROCESS_LOG_{channel.upper()}", header + text)

        return notify

    # ------------------------------------------------------------ children
    def _spawned(self, process: Process, child: SpawnedChild) -> None:
        self._by_pid[child.pid] = process
        self._outputs[process].attach(child, self.event_bus.listener_for(process))

    def child_exited(self, pid: int, waitstatus: int) -> bool:
        """Route a reaped child's status to its process; False if it is not ours."""
        process = self._by_pid.pop(pid, None)
        if process is None:
            return False
        catch_up(self._outputs[process].readers)  # its last words in the log before EXITED
        process.child_exited(waitstatus)
        return True

    # ------------------------------------------------------------ start / stop
    def _check_running(self) -> None:
        if self.state is not SupervisorState.RUNNING:
            raise ShutdownStateError  # no detail: Supervisor's faultString is the name alone

    async def start_process(self, namespec: str, wait: bool = True) -> None:
        """Spawn it; with ``wait``, return once RUNNING (after startsecs) or raise."""
        self._check_running()
        process = self.process(namespec)
        resolve_command(process.config.command, self._launcher.command_path(process.config))
        if process.state in RUNNING_STATES:
            raise AlreadyStartedError(namespec)
        if process.state is S.UNKNOWN:
            raise FailedError(f"{namespec} is in an unknown process state")
        process.spawn()
        # Even without ``wait`` a child that cannot exec is this call's SPAWN_ERROR.
        while process.exec_pending:
            await process.changed()
        if process.spawnerr:
            raise SpawnError(namespec)  # the reason is the process's spawnerr
        while wait and not process.reached_running:
            if process.spawnerr:
                raise SpawnError(namespec)
            if process.state is not S.STARTING:
                raise AbnormalTerminationError(namespec)
            await process.changed()

    async def stop_process(self, namespec: str, wait: bool = True) -> None:
        """Send stopsignal (SIGKILL after stopwaitsecs); with ``wait``, until stopped."""
        self._check_running()
        process = self.process(namespec)
        await self._stop(process, wait, namespec)

    async def _stop(self, process: Process, wait: bool, namespec: str) -> None:
        if process.state not in RUNNING_STATES:
            raise NotRunningError(namespec)
        problem = process.stop()
        if problem is not None:
            raise FailedError(problem)
        while wait and not process.stopped:
            await process.changed()

    async def start_group(self, name: str, wait: bool = True) -> list[ProcessResult]:
        self._check_running()
        return await self._start_many(self.group(name).ordered(), wait)

    async def stop_group(self, name: str, wait: bool = True) -> list[ProcessResult]:
        self._check_running()
        return await self._stop_many(self.group(name).ordered()[::-1], wait)

    async def start_all(self, wait: bool = True) -> list[ProcessResult]:
        """Start every stopped process in priority order (``startAllProcesses``)."""
        self._check_running()
        todo = [p for p in self.processes() if p.state not in RUNNING_STATES]
        return await self._start_many(todo, wait)

    async def stop_all(self, wait: bool = True) -> list[ProcessResult]:
        """Stop every running process, highest priority first (``stopAllProcesses``)."""
        self._check_running()
        todo = [p for p in self.processes()[::-1] if p.state in RUNNING_STATES]
        return await self._stop_many(todo, wait)

    async def _start_many(self, processes: list[Process], wait: bool) -> list[ProcessResult]:
        # Spawned in order at once, then awaited together: a process does not wait
        # for the previous one to be RUNNING, as in Supervisor's own startup.
        with self._fork_server_for(len(processes)):
            runs = [asyncio.ensure_future(self._result(p, self.start_process(_namespec(p), wait)))
                    for p in processes]
            try:
                await asyncio.sleep(0)  # each run up to its first wait: every spawn is done
            except BaseException:
                for run in runs:
                    run.cancel()
                raise
        return list(await asyncio.gather(*runs))

    async def _stop_many(self, processes: list[Process], wait: bool) -> list[ProcessResult]:
        runs = [self._result(p, self._stop(p, wait, _namespec(p))) for p in processes]
        return list(await asyncio.gather(*runs))

    @staticmethod
    async def _result(process: Process, work: Awaitable[None]) -> ProcessResult:
        try:
            await work
        except SupervisorError as exc:
            return ProcessResult(process.name, process.group, exc)
        return ProcessResult(process.name, process.group)

    def signal_process(self, namespec: str, signum: int) -> None:
        """Send any signal to one running process (``signalProcess``)."""
        self._check_running()
        process = self.process(namespec)
        if process.state not in (S.RUNNING, S.STARTING, S.STOPPING):
            raise NotRunningError(namespec)
        problem = process.signal(signum)
        if problem is not None:
            raise FailedError(problem)

    def send_stdin(self, namespec: str, data: bytes) -> None:
        self._check_running()
        process = self.process(namespec)
        if not process.pid or process.killing:
            raise NotRunningError(namespec)
        try:
            process.write_stdin(data)
        except OSError as exc:
            raise NoFileError(namespec) from exc  # its stdin is closed

    # ------------------------------------------------------------ logs
    def output_tail(self, namespec: str, channel: str = "stdout") -> bytes:
        """The latest output kept in memory (also for ``NONE`` log files)."""
        return bytes(self._outputs[self.process(namespec)].channels[channel].tail)

    def _logfile(self, namespec: str, channel: str) -> str | None:
        process = self.process(namespec)
        return process.stdout_logfile if channel == "stdout" else process.stderr_logfile

    def read_process_log(self, namespec: str, channel: str, offset: int, length: int) -> bytes:
        return logread.read_file(self._logfile(namespec, channel), offset, length)

    def tail_process_log(
        self, namespec: str, channel: str, offset: int, length: int
    ) -> tuple[bytes, int, bool]:
        return logread.tail_file(self._logfile(namespec, channel), offset, length)

    def clear_process_logs(self, namespec: str) -> None:
        """Empty the process's log files (shared ones too, as Supervisor) and its tail."""
        process = self.process(namespec)
        for channel in self._outputs[process].channels.values():
            channel.clear()
            if channel.logfile is not None:
                try:
                    channel.logfile.clear()
                except OSError as exc:
                    raise FailedError(f"{namespec}: {exc.strerror}") from None

    def clear_all_process_logs(self) -> list[ProcessResult]:
        results = []
        for process in self.processes():
            try:
                self.clear_process_logs(_namespec(process))
            except SupervisorError as exc:
                results.append(ProcessResult(process.name, process.group, exc))
            else:
                results.append(ProcessResult(process.name, process.group))
        return results

    @property
    def main_logfile(self) -> str | None:
        return self.config.supervisord.logfile

    def read_main_log(self, offset: int, length: int) -> bytes:
        return logread.read_file(self.main_logfile, offset, length)

    def clear_main_log(self) -> None:
        logread.clear_file(self.main_logfile)
        root = logging.getLogger("capataz.supervisor")
        for handler in root.handlers:
            reopen = getattr(handler, "reopen", None)
            if callable(reopen):
                reopen()

    def reopen_logs(self) -> None:
        """SIGUSR2: reopen every child log file (after an outside logrotate)."""
        log.info("received SIGUSR2 indicating log reopen request")
        self.logfiles.reopen_all()

    # ------------------------------------------------------------ configuration
    def reload_config(self) -> ConfigDiff:
        """Read the configuration file again and compare its groups with the active ones.

        Nothing starts or stops: as ``reloadConfig``, the new file only becomes
        what ``add_group`` draws from. ``update`` is ``remove_group`` for removed
        and changed groups (after stopping them) and ``add_group`` for added and
        changed ones.
        """
        self._check_running()
        new = self._load()
        diff = diff_groups((g.config for g in self.groups.values()), new)
        self.config = new
        return diff

    def _load(self) -> Config:
        if self._loader is None:
            raise CantRereadError("this supervisor was built without a configuration file")
        try:
            return self._loader(self.config.path)
        except Exception as exc:  # the reader's own errors, and OSError
            raise CantRereadError(str(exc)) from exc

    def add_group(self, name: str) -> None:
        """Create a group from the last configuration read and autostart it."""
        self._check_running()
        # The configuration first, as Supervisor: a group still active but gone
        # from the file after a reread is BAD_NAME, not ALREADY_ADDED.
        config = self.config.group(name)
        if config is None:
            raise BadNameError(name)
        if name in self.groups:
            raise AlreadyAddedError(name)
        group = self._add_group(config)
        self._emit(GroupChange(name, added=True))
        self._autostart(group.ordered())

    def remove_group(self, name: str) -> None:
        """Forget a group whose processes are all stopped."""
        self._check_running()
        group = self.group(name)
        if any(not p.stopped for p in group.processes.values()):
            raise StillRunningError(name)
        self._drop_group(group)
        self._emit(GroupChange(name, added=False))

    def _drop_group(self, group: Group) -> None:
        for process in group.processes.values():
            process.close()
            self._outputs.pop(process).close(self.logfiles)
        self.event_bus.remove_group(group.name)
        del self.groups[group.name]

    # ------------------------------------------------------------ daemon lifecycle
    def shutdown(self) -> None:
        """Stop everything (reverse priority, honouring stopwaitsecs), then ``run`` returns."""
        if self.state is SupervisorState.SHUTDOWN:
            return
        self._restart_requested = False
        self._set_state(SupervisorState.SHUTDOWN)
        self._wake()

    def restart(self) -> None:
        """Stop everything, read the configuration again and start as at first (SIGHUP)."""
        if self.state is not SupervisorState.RUNNING:
            log.info("ignoring restart request: already %s", self.state.name.lower())
            return
        self._restart_requested = True
        self._set_state(SupervisorState.RESTARTING)
        self._wake()

    def _autostart(self, processes: list[Process]) -> None:
        with self._fork_server_for(sum(p.config.autostart for p in processes)):
            for process in processes:
                process.autostart()

    @contextlib.contextmanager
    def _fork_server_for(self, starts: int) -> Iterator[None]:
        """Around ``starts`` spawns in a row: a fork server does them if they are many."""
        spawner = self._spawner
        if starts < FORK_SERVER_FROM or not isinstance(spawner, ForkServerSpawner):
            yield
            return
        spawner.start()
        try:
            yield
        finally:
            spawner.close()

    def _wake(self) -> None:
        if self._request is not None:
            self._request.set()

    async def run(self) -> None:
        """Start the autostart processes and supervise until ``shutdown()``."""
        loop = asyncio.get_running_loop()
        self._request = asyncio.Event()
        if self._reaper is not None:
            self._reaper.install(loop)
        self.event_bus.start_ticks()
        try:
            while True:
                self._set_state(SupervisorState.RUNNING)
                self._autostart(self.processes())
                await self._request.wait()
                self._request.clear()
                await self.stop_everything()
                if not self._restart_requested:
                    break
                self._reload_for_restart()
        finally:
            self.event_bus.stop_ticks()
            if self._reaper is not None:
                self._reaper.uninstall()
            self._request = None

    def _reload_for_restart(self) -> None:
        self._restart_requested = False
        new = self.config
        if self._loader is not None:
            try:
                new = self._load()
            except CantRereadError as exc:
                log.error("restart: %s; keeping the previous configuration", exc)  # noqa: TRY400 - the reader's message is the whole story
        for group in list(self.groups.values()):
            self._drop_group(group)
        self.config = new
        for group_config in new.groups:
            self._add_group(group_config)

    async def stop_everything(self) -> None:
        """Stop group after group, highest priority first, each waiting for the previous.

        A process in BACKOFF gives up (FATAL) instead of retrying, as in Supervisor.
        """
        for group in self._ordered_groups()[::-1]:
            for process in group.ordered()[::-1]:
                if process.state in (S.RUNNING, S.STARTING):
                    process.stop()
                elif process.state is S.BACKOFF:
                    process.give_up()
            waiting = [p for p in group.processes.values() if not p.stopped]
            while waiting:
                # Said at once, then every 3 s while it lasts, as Supervisor does.
                log.info("waiting for %s to die", ", ".join(p.name for p in waiting))
                changes = [asyncio.ensure_future(p.changed()) for p in waiting]
                await asyncio.wait(changes, timeout=3)
                for change in changes:
                    change.cancel()
                waiting = [p for p in waiting if not p.stopped]

    def close(self) -> None:
        """Release every log file and the spawner's fork server (the daemon is exiting)."""
        for group in list(self.groups.values()):
            self._drop_group(group)
        self.logfiles.close_all()
        if isinstance(self._spawner, ForkServerSpawner):
            self._spawner.close()


def _namespec(process: Process) -> str:
    return f"{process.group}:{process.name}"
