"""What a process needs to start: its command, its environment and its output files.

``Launcher`` turns a ``ProcessConfig`` into a ``SpawnRequest`` against the
configuration in force (it changes on reload), and gives each process its
``ProcessOutput``: the two channels with their shared log files, and the pipe
readers of the child currently running.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from collections.abc import Callable, Mapping

from capataz.config.commands import lookup_path
from capataz.config.model import AUTO, ChannelLog, Config, ProcessConfig
from capataz.supervisor.logfiles import LogFile, LogFiles
from capataz.supervisor.output import OutputChannel, OutputSink, PipeReader
from capataz.supervisor.spawn import (
    SpawnedChild,
    SpawnRequest,
    build_environment,
    lookup_user,
    resolve_command,
)

log = logging.getLogger("capataz.supervisor")


class ProcessOutput:
    """A process's stdout and stderr channels and the pipes being read into them."""

    def __init__(
        self, paths: tuple[str | None, str | None], stdout: OutputChannel, stderr: OutputChannel
    ) -> None:
        self.paths = paths
        self.channels = {"stdout": stdout, "stderr": stderr}
        self.readers: list[PipeReader] = []

    def attach(self, child: SpawnedChild, stdout: OutputSink | None = None) -> None:
        """Read the child's pipes; ``stdout`` replaces the stdout channel (event listeners)."""
        loop = asyncio.get_running_loop()
        sinks: dict[str, OutputSink] = {"stdout": stdout or self.channels["stdout"],
                                        "stderr": self.channels["stderr"]}
        for name, fd in (("stdout", child.stdout), ("stderr", child.stderr)):
            if fd is not None:
                self.readers.append(
                    PipeReader(loop, fd, sinks[name], on_eof=self.readers.remove)
                )

    def close(self, logfiles: LogFiles) -> None:
        for reader in list(self.readers):
            reader.close()
        for channel in self.channels.values():
            if channel.logfile is not None:
                logfiles.release(channel.logfile)


class Launcher:
    def __init__(
        self,
        current: Callable[[], Config],
        logfiles: LogFiles,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._current = current
        self._logfiles = logfiles
        # The daemon's own environment, read once: nothing in the daemon changes
        # it, and reading os.environ decodes every variable again (a copy per
        # spawn was a good part of what starting a process cost).
        self._environ: Mapping[str, str] = dict(os.environ) if environ is None else environ

    def command_path(self, config: ProcessConfig) -> str:
        """The PATH a bare command name is looked up in (see config.commands)."""
        return lookup_path(config.environment, self._current().supervisord.environment,
                           self._environ)

    def server_url(self, config: ProcessConfig) -> str | None:
        if config.serverurl is not AUTO:
            return config.serverurl
        current = self._current()
        socket_path = current.control_socket()
        if socket_path:
            return f"unix://{socket_path}"
        if current.inet_http_servers:
            server = current.inet_http_servers[0]
            return f"http://{server.host or 'localhost'}:{server.port}"
        return None

    def request(self, config: ProcessConfig) -> SpawnRequest:
        """Everything the spawner needs; raises the spawn errors a client is told about."""
        executable, argv = resolve_command(config.command, self.command_path(config))
        user = lookup_user(config.user) if config.user else None
        env = build_environment(
            self._environ, self._current().supervisord.environment, config.environment,
            process_name=config.name, group_name=config.group_name,
            server_url=self.server_url(config), user=user,
        )
        return SpawnRequest(
            executable, argv, env, directory=config.directory, umask=config.umask, user=user,
            redirect_stderr=config.redirect_stderr,
        )

    def output(self, config: ProcessConfig) -> ProcessOutput:
        stdout_path = self._log_path(config, "stdout", config.stdout)
        stderr_path = (None if config.redirect_stderr
                       else self._log_path(config, "stderr", config.stderr))
        return ProcessOutput(
            (stdout_path, stderr_path),
            self._channel(config, "stdout", stdout_path, config.stdout),
            self._channel(config, "stderr", stderr_path, config.stderr),
        )

    def _log_path(self, config: ProcessConfig, channel: str, log_config: ChannelLog) -> str | None:
        if log_config.logfile is not AUTO:
            return log_config.logfile
        settings = self._current().supervisord
        try:
            fd, path = tempfile.mkstemp(
                prefix=f"{config.name}-{channel}---{settings.identifier}-",
                suffix=".log",
                dir=settings.childlogdir,
            )
        except OSError as exc:
            report_log_error(settings.childlogdir, exc)
            return None
        os.close(fd)
        return path

    def _channel(
        self, config: ProcessConfig, channel: str, path: str | None, log_config: ChannelLog
    ) -> OutputChannel:
        logfile: LogFile | None = None
        if path is not None:
            logfile = self._logfiles.acquire(path, log_config.maxbytes, log_config.backups)

        def echo(lines: bytes) -> None:
            # loglevel=debug copies child output into the daemon's log, as Supervisor does.
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%r %s output:\n%s", config.name, channel,
                          lines.decode("utf-8", "replace"))

        strip = self._current().supervisord.strip_ansi
        return OutputChannel(logfile, strip_ansi=strip, echo=echo)


def report_log_error(path: str, exc: OSError) -> None:
    log.error("cannot write log %s: %s; output is dropped until it can be written again",
              path, exc.strerror or exc)
