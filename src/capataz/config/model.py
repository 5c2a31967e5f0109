"""The configuration as typed, frozen values: what a supervisor.conf means.

These classes are the contract between the reader (``capataz.config.reader``)
and everything that acts on a configuration (the daemon, the control API,
``--check``). They hold resolved values: every ``%(x)s`` expansion done, every
default applied, every size in bytes and every signal a number. ``AUTO`` log
files stay symbolic because their real path is chosen when a process starts,
exactly as Supervisor does.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Auto(enum.Enum):
    """Supervisor's ``AUTO``: a value the daemon picks at run time."""

    AUTO = "AUTO"

    def __repr__(self) -> str:
        return "AUTO"


AUTO = Auto.AUTO

#: A log destination: a path, ``AUTO`` (a file in ``childlogdir``) or ``None``
#: (``NONE``/``OFF``: the output is read and dropped).
LogFile = str | Auto | None


class AutoRestart(enum.Enum):
    """When a process that exited from RUNNING is started again."""

    NEVER = "false"
    UNEXPECTED = "unexpected"  # only when the exit code is not in exitcodes
    ALWAYS = "true"


class GroupKind(enum.Enum):
    PROGRAM = "program"
    EVENTLISTENER = "eventlistener"
    FCGI_PROGRAM = "fcgi-program"


@dataclass(frozen=True, slots=True)
class Source:
    """Where a value was written, for messages that point at the right line."""

    file: str
    line: int
    section: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} [{self.section}]"


@dataclass(frozen=True, slots=True)
class ChannelLog:
    """How one output channel (stdout or stderr) of a process is kept."""

    logfile: LogFile = AUTO
    maxbytes: int = 50 * 1024 * 1024
    backups: int = 10
    capture_maxbytes: int = 0
    events_enabled: bool = False
    syslog: bool = False


@dataclass(frozen=True, slots=True)
class ProcessConfig:
    """One process to run: a program with ``numprocs=8`` gives eight of these."""

    name: str
    program_name: str
    group_name: str
    command: str
    process_num: int = 0
    numprocs: int = 1
    priority: int = 999
    autostart: bool = True
    autorestart: AutoRestart = AutoRestart.UNEXPECTED
    startsecs: int = 1
    startretries: int = 3
    exitcodes: tuple[int, ...] = (0,)
    stopsignal: int = 15
    stopwaitsecs: int = 10
    stopasgroup: bool = False
    killasgroup: bool = False
    user: str | None = None
    directory: str | None = None
    umask: int | None = None
    redirect_stderr: bool = False
    stdout: ChannelLog = field(default_factory=ChannelLog)
    stderr: ChannelLog = field(default_factory=ChannelLog)
    #: The program's own ``environment=`` pairs, in file order. The daemon adds
    #: its own environment, ``[supervisord] environment`` and SUPERVISOR_*.
    environment: tuple[tuple[str, str], ...] = ()
    serverurl: str | Auto | None = AUTO
    source: Source | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class EventListenerOptions:
    events: tuple[str, ...]
    buffer_size: int = 10
    result_handler: str = "supervisor.dispatchers:default_handler"


@dataclass(frozen=True, slots=True)
class FcgiSocketOptions:
    socket: str  # tcp://host:port or unix:///absolute/path
    socket_backlog: int | None = None  # None: the system's SOMAXCONN
    socket_owner: str | None = None  # "user" or "user:group"
    socket_mode: int = 0o700


@dataclass(frozen=True, slots=True)
class GroupConfig:
    """A process group: a program (its own group) or a ``[group:x]``."""

    name: str
    priority: int
    kind: GroupKind
    processes: tuple[ProcessConfig, ...]
    eventlistener: EventListenerOptions | None = None
    fcgi: FcgiSocketOptions | None = None
    source: Source | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class SupervisordConfig:
    """The ``[supervisord]`` section; defaults are Supervisor's."""

    logfile: str | None = "supervisord.log"  # made absolute by the reader; None = NONE
    logfile_maxbytes: int = 50 * 1024 * 1024
    logfile_backups: int = 10
    loglevel: str = "info"
    pidfile: str = "supervisord.pid"
    umask: int = 0o022
    nodaemon: bool = False
    silent: bool = False
    minfds: int = 1024
    minprocs: int = 200
    nocleanup: bool = False
    childlogdir: str = "/tmp"  # noqa: S108 - Supervisor's default is tempfile.gettempdir()
    user: str | None = None
    directory: str | None = None
    strip_ansi: bool = False
    environment: tuple[tuple[str, str], ...] = ()
    identifier: str = "supervisor"


@dataclass(frozen=True, slots=True)
class UnixHttpServerConfig:
    file: str
    chmod: int = 0o700
    chown: tuple[str, str | None] | None = None  # (user, group)
    username: str | None = None
    password: str | None = None  # plain, or "{SHA}" + hex sha1


@dataclass(frozen=True, slots=True)
class InetHttpServerConfig:
    name: str  # "inet_http_server" or "inet_http_server:x"
    host: str  # "" means every interface
    port: int
    username: str | None = None
    password: str | None = None


@dataclass(frozen=True, slots=True)
class SupervisorctlConfig:
    serverurl: str = "http://localhost:9001"
    username: str | None = None
    password: str | None = None
    prompt: str = "supervisor"
    history_file: str | None = None


@dataclass(frozen=True, slots=True)
class RpcInterfaceConfig:
    name: str
    factory: str
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ConfigWarning:
    """Something valid that is probably not what the author meant."""

    message: str
    source: Source | None = None

    def __str__(self) -> str:
        return f"{self.source}: {self.message}" if self.source else self.message


@dataclass(frozen=True, slots=True)
class Config:
    """A whole configuration, after includes, expansions and defaults."""

    path: str
    supervisord: SupervisordConfig = field(default_factory=SupervisordConfig)
    unix_http_server: UnixHttpServerConfig | None = None
    inet_http_servers: tuple[InetHttpServerConfig, ...] = ()
    supervisorctl: SupervisorctlConfig = field(default_factory=SupervisorctlConfig)
    rpcinterfaces: tuple[RpcInterfaceConfig, ...] = ()
    groups: tuple[GroupConfig, ...] = ()
    included_files: tuple[str, ...] = ()
    warnings: tuple[ConfigWarning, ...] = field(default=(), compare=False)
    #: ``[ctlplugin:x]`` sections (``supervisor.ctl_factory``): read by capatazctl only.
    ctlplugins: tuple[RpcInterfaceConfig, ...] = ()
    #: False for a file without ``[supervisord]`` (a conf.d snippet such as the seed's):
    #: ``supervisord`` then holds capatazd's per-user defaults (``capataz.config.defaults``).
    supervisord_section: bool = True
    #: The socket capatazd serves when ``[unix_http_server]`` names none.
    default_control_socket: str | None = None
    #: Directories holding defaulted paths (socket, pid file, logs); capatazd creates
    #: them with mode 0700 when missing. Empty when the file names every path itself.
    runtime_dirs: tuple[str, ...] = ()

    def control_socket(self) -> str | None:
        """The UNIX socket capatazd listens on: the configured one, else the default."""
        if self.unix_http_server is not None:
            return self.unix_http_server.file
        return self.default_control_socket

    def processes(self) -> tuple[ProcessConfig, ...]:
        """Every process, groups in (priority, name) order, as Supervisor starts them."""
        ordered = sorted(self.groups, key=lambda g: (g.priority, g.name))
        return tuple(p for g in ordered for p in g.processes)

    def group(self, name: str) -> GroupConfig | None:
        return next((g for g in self.groups if g.name == name), None)
