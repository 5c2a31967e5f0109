"""Running ``Supervisor`` as the daemon: limits, user, daemonizing, pidfile, signals.

One asyncio loop runs everything. Signals arrive through ``add_signal_handler``
(the loop's wakeup fd), so a handler runs between two callbacks and never in
the middle of a transition.

Start-up order: the control sockets are bound first (a socket that cannot be
bound stops the daemon before any program starts), then the autostart
programs are spawned, and only then is the control API's server imported
(aiohttp and its apps: most of the daemon's own imports) and served on the
sockets bound at first, while the last children still exec.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pwd
import re
import resource
import signal
import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING

from capataz.config import defaults
from capataz.config.model import Config, SupervisordConfig
from capataz.control.errors import ControlError
from capataz.control.listeners import BoundListeners, bind_listeners
from capataz.supervisor import linux, mainlog
from capataz.supervisor.errors import DaemonSetupError
from capataz.supervisor.events import Event, SupervisorStateChange
from capataz.supervisor.spawn import ForkServerSpawner
from capataz.supervisor.states import SupervisorState
from capataz.supervisor.supervisor import FORK_SERVER_FROM, Supervisor, autostart_count

if TYPE_CHECKING:
    from capataz.control.servers import ControlServers

log = logging.getLogger("capataz.supervisor")

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)


def raise_limits(settings: SupervisordConfig) -> None:
    """Make room for ``minfds`` descriptors and ``minprocs`` processes, as Supervisor does."""
    for name, limit, wanted in (
        ("minfds", resource.RLIMIT_NOFILE, settings.minfds),
        ("minprocs", resource.RLIMIT_NPROC, settings.minprocs),
    ):
        soft, hard = resource.getrlimit(limit)
        if soft == resource.RLIM_INFINITY or soft >= wanted:
            continue
        new_hard = hard if hard == resource.RLIM_INFINITY or hard >= wanted else wanted
        try:
            resource.setrlimit(limit, (wanted, new_hard))
        except (OSError, ValueError):
            raise DaemonSetupError(
                f"the {name} limit {wanted} is above what this user may have ({hard}); "
                f"lower {name} or raise the hard limit (ulimit -H)"
            ) from None


def drop_privileges(user: str) -> None:
    """``[supervisord] user=``: become that user (only root can)."""
    try:
        entry = pwd.getpwnam(user) if not user.isdigit() else pwd.getpwuid(int(user))
    except KeyError:
        raise DaemonSetupError(f"can't find user {user!r}; fix user= (-u)") from None
    if entry.pw_uid == os.getuid():
        return
    if os.getuid() != 0:
        raise DaemonSetupError(f"can't switch to user {user!r}: only root can; drop user= (-u)")
    os.setgroups(sorted({entry.pw_gid, *os.getgrouplist(entry.pw_name, entry.pw_gid)}))
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)


def clear_auto_logs(childlogdir: str, identifier: str) -> None:
    """Remove the AUTO child logs of an earlier run (unless ``nocleanup``)."""
    pattern = re.compile(rf".+?---{re.escape(identifier)}-\S+\.log\.?\d{{0,4}}$")
    try:
        names = os.listdir(childlogdir)
    except OSError:
        log.warning("could not clear the child log directory %s", childlogdir)
        return
    for name in names:
        if pattern.match(name):
            with contextlib.suppress(OSError):
                os.remove(os.path.join(childlogdir, name))


def make_default_dirs(settings: SupervisordConfig) -> None:
    """Create capatazd's own default directories (0700) for the log, pid file and AUTO logs.

    Only those: a directory the configuration names must exist already, as in
    Supervisor, so a typo is reported instead of silently creating a tree.
    """
    ours = {
        defaults.runtime_dir(os.environ, os.getuid(), tempfile.gettempdir()),
        defaults.state_dir(os.environ, os.getuid()),
    }
    wanted = {settings.childlogdir, os.path.dirname(settings.pidfile)}
    if settings.logfile:
        wanted.add(os.path.dirname(settings.logfile))
    for directory in wanted & ours:
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
        except OSError as exc:
            raise DaemonSetupError(
                f"can't create {directory}: {exc.strerror}; create it or set the paths "
                "in [supervisord]"
            ) from None


def daemonize(directory: str | None) -> None:
    """Fork into the background, leave the terminal's session, point 0-2 at /dev/null."""
    if os.fork() != 0:
        os._exit(0)
    os.setsid()
    if directory:
        try:
            os.chdir(directory)
        except OSError as exc:
            log.critical("can't chdir into %r: %s", directory, exc.strerror)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def write_pidfile(path: str) -> None:
    # Written whole and renamed, so a reader never sees an empty pidfile.
    partial = f"{path}.{os.getpid()}.tmp"
    try:
        with open(partial, "w", encoding="ascii") as f:
            f.write(f"{os.getpid()}\n")
        os.replace(partial, path)
    except OSError as exc:
        raise DaemonSetupError(
            f"can't write the pidfile {path}: {exc.strerror}; fix pidfile= (-j)"
        ) from None


def setup_main_log(settings: SupervisordConfig) -> None:
    mainlog.setup(
        settings.logfile,
        maxbytes=settings.logfile_maxbytes,
        backups=settings.logfile_backups,
        level=settings.loglevel,
        to_stdout=settings.nodaemon and not settings.silent,
    )


def run(
    config: Config,
    loader: Callable[[str], Config] | None,
) -> None:
    """Set the process up and supervise until a stop signal; raises ``DaemonSetupError``."""
    settings = config.supervisord
    os.umask(settings.umask)
    make_default_dirs(settings)
    raise_limits(settings)
    if settings.user:
        drop_privileges(settings.user)
    if not settings.nocleanup:
        clear_auto_logs(settings.childlogdir, settings.identifier)
    setup_main_log(settings)
    for warning in config.warnings:
        log.warning("%s", warning)
    if not settings.nodaemon:
        daemonize(settings.directory)
        log.info("daemonizing the supervisord process")
    write_pidfile(settings.pidfile)
    try:
        # Orphaned descendants (double-forked daemons) come to us, not to init,
        # so they are reaped and can still be signalled with their group.
        linux.set_child_subreaper()
        log.info("capatazd started with pid %d", os.getpid())
        spawner = ForkServerSpawner()
        # Started first: its interpreter starts up while this one binds the
        # sockets. The autostart lets it go once done.
        if autostart_count(config.groups) >= FORK_SERVER_FROM:
            spawner.start()
        try:
            asyncio.run(_supervise(config, loader, spawner))
        finally:
            spawner.close()
    finally:
        with contextlib.suppress(OSError):
            os.unlink(settings.pidfile)


def _bind_control(config: Config) -> BoundListeners:
    """Bind the control API's sockets, before any program starts."""
    try:
        return bind_listeners(config)
    except (ControlError, OSError) as exc:
        log.critical("can't serve the control API: %s", exc)
        raise DaemonSetupError(f"can't serve the control API: {exc}") from None


def _import_control() -> None:
    """Import the control API's server: aiohttp's, without its client."""
    from capataz.control.aiohttp_import import import_server_only

    import_server_only()
    import capataz.control.adapter
    import capataz.control.servers  # noqa: F401


async def start_control_servers(
    config: Config, supervisor: Supervisor, listeners: BoundListeners | None = None
) -> ControlServers:
    """Serve the control API (XML-RPC, JSON) on ``listeners``, else on sockets bound now."""
    from capataz.control.adapter import SupervisorBackend
    from capataz.control.servers import start_control_servers as serve

    return await serve(config, SupervisorBackend(supervisor), listeners=listeners)


async def _start_control(
    config: Config, supervisor: Supervisor, listeners: BoundListeners
) -> ControlServers:
    try:
        return await start_control_servers(config, supervisor, listeners)
    except (ControlError, OSError) as exc:
        log.critical("can't serve the control API: %s", exc)
        raise DaemonSetupError(f"can't serve the control API: {exc}") from None


class _ControlListeners:
    """The control API's listeners, reopened after a restart from the re-read file.

    As supervisord, a reload (SIGHUP, ``supervisor.restart``) closes the HTTP
    servers and opens them again, so a changed ``[unix_http_server]`` or
    ``[inet_http_server]`` applies. If the new sections cannot be served, the
    previous ones are served again; if even that fails, the daemon shuts down
    rather than run with no way to control it.
    """

    def __init__(self, supervisor: Supervisor, servers: ControlServers, config: Config) -> None:
        self._supervisor = supervisor
        self._servers = servers
        self._served = config
        self._reopening: asyncio.Task[None] | None = None

    def reopen_soon(self) -> None:
        earlier = self._reopening
        self._reopening = asyncio.get_running_loop().create_task(self._reopen(earlier))

    async def _reopen(self, earlier: asyncio.Task[None] | None) -> None:
        if earlier is not None:  # two quick reloads: one reopening at a time
            await earlier
        new, previous = self._supervisor.config, self._served
        await self._servers.close()
        for config in (new, previous):
            try:
                self._servers = await start_control_servers(config, self._supervisor)
            except (ControlError, OSError) as exc:
                log.critical("restart: can't serve the control API: %s", exc)
                continue
            self._served = config
            if config is not new:
                log.critical("restart: serving the control API as before the reload")
            return
        log.critical("restart: no control API can be served; shutting down")
        self._supervisor.shutdown()

    async def close(self) -> None:
        if self._reopening is not None:
            await self._reopening
        await self._servers.close()


async def _supervise(
    config: Config, loader: Callable[[str], Config] | None, spawner: ForkServerSpawner
) -> None:
    loop = asyncio.get_running_loop()
    listeners = _bind_control(config)
    supervisor = Supervisor(config, loader=loader, spawner=spawner)

    def stop(signum: int) -> None:
        log.warning("received %s indicating exit request", signal.Signals(signum).name)
        supervisor.shutdown()

    def restart() -> None:
        log.warning("received SIGHUP indicating restart request")
        supervisor.restart()

    def reopen() -> None:
        supervisor.reopen_logs()
        mainlog.reopen(log)

    servers: _ControlListeners | None = None

    def after_restart(event: Event) -> None:
        # A reload applies the [supervisord] logging options, as supervisord's does.
        if (isinstance(event, SupervisorStateChange)
                and event.from_state is SupervisorState.RESTARTING):
            try:
                setup_main_log(supervisor.config.supervisord)
            except DaemonSetupError as exc:
                log.error("restart: %s; logging on as before", exc)  # noqa: TRY400 - said in full
            if servers is not None:
                servers.reopen_soon()

    supervisor.subscribe(after_restart)
    for signum in _STOP_SIGNALS:
        loop.add_signal_handler(signum, stop, signum)
    loop.add_signal_handler(signal.SIGHUP, restart)
    loop.add_signal_handler(signal.SIGUSR2, reopen)
    # SIGUSR1's default action would kill the daemon and orphan every child.
    loop.add_signal_handler(signal.SIGUSR1, log.info, "received SIGUSR1; ignoring it")
    running = loop.create_task(supervisor.run())
    try:
        await asyncio.sleep(0)  # run() starts the autostart burst, up to its first await
        try:
            _import_control()
            servers = _ControlListeners(
                supervisor, await _start_control(config, supervisor, listeners), config)
        except BaseException:
            listeners.close()
            supervisor.shutdown()
            await running
            raise
        await running
    finally:
        if servers is not None:
            await servers.close()
        supervisor.close()
        for signum in (*_STOP_SIGNALS, signal.SIGHUP, signal.SIGUSR2, signal.SIGUSR1):
            loop.remove_signal_handler(signum)
    log.info("capatazd stopped; exiting")
