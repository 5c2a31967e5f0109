"""Our reader against Supervisor's own parser, config by config over the corpus.

For each file in ``tests/fixtures/configs/`` both readers run with the same
environment, host name and working directory; both must give the same process
groups and every option value, or both must reject the file.

Two facts about the machine are taken out of Supervisor's hands so that the
comparison is about meaning, not about this machine: whether a log directory
exists (Supervisor refuses the file; we warn) and whether a user exists (the
user is compared by name through the same lookup). A file without
``[supervisord]`` gets an empty one appended for Supervisor, which refuses
such files outright; we read them with our own defaults.

A corpus file may declare a deliberate difference on its first line:
``; differential: capataz-rejects`` (Supervisor accepts something we refuse,
with the reason on the same line).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capataz.config import AUTO, AutoRestart, Config, ConfigError, GroupKind, load

supervisor_options = pytest.importorskip("supervisor.options")
supervisor_datatypes = pytest.importorskip("supervisor.datatypes")
supervisor_events = pytest.importorskip("supervisor.events")
supervisor_loggers = pytest.importorskip("supervisor.loggers")

CORPUS = Path(__file__).parents[2] / "fixtures" / "configs"
FILES = sorted(p for p in CORPUS.rglob("*.conf") if p.parent == CORPUS)
ENVIRON = {"HOME": "/home/corpus", "APP_ENV": "production", "PATH": "/usr/bin:/bin"}
NODE = "corpus-host"


def _uid(name: str) -> object:
    """The same user lookup for both readers: the real uid, or the name when unknown."""
    try:
        return pwd.getpwuid(int(name)).pw_uid if name.isdigit() else pwd.getpwnam(name).pw_uid
    except (KeyError, OverflowError):
        return ("unknown-user", name)


def _gid(name: str) -> object:
    import grp

    try:
        return grp.getgrgid(int(name)).gr_gid if name.isdigit() else grp.getgrnam(name).gr_gid
    except (KeyError, OverflowError):
        return ("unknown-group", name)


@pytest.fixture
def oracle(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """Supervisor's parser with the machine facts fixed as described above."""

    def lenient_dirpath(value: str) -> str:
        return os.path.expanduser(value)

    for module in (supervisor_options, supervisor_datatypes):
        monkeypatch.setattr(module, "existing_dirpath", lenient_dirpath, raising=False)
        monkeypatch.setattr(module, "existing_directory", lenient_dirpath, raising=False)
        monkeypatch.setattr(module, "name_to_uid", _uid, raising=False)
        monkeypatch.setattr(module, "name_to_gid", _gid, raising=False)
    monkeypatch.setattr(supervisor_options, "gid_for_uid", lambda uid: ("gid-of", uid))
    monkeypatch.setattr(supervisor_options.platform, "node", lambda: NODE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", ENVIRON["HOME"])  # Supervisor's ~ comes from the real HOME

    def read(path: Path) -> Any:
        options = supervisor_options.ServerOptions()
        options.environ_expansions = {f"ENV_{k}": v for k, v in ENVIRON.items()}
        options.configfile = str(path)
        options.process_config(do_usage=False)
        return options

    return read


def _channel_logfile(value: object) -> object:
    if value is supervisor_datatypes.Automatic:
        return AUTO
    return value or None


def _restart(value: object) -> AutoRestart:
    if value is supervisor_datatypes.RestartUnconditionally:
        return AutoRestart.ALWAYS
    if value is supervisor_datatypes.RestartWhenExitUnexpected:
        return AutoRestart.UNEXPECTED
    return AutoRestart.NEVER


def _theirs(options: Any) -> dict[str, Any]:
    section = options.configroot.supervisord
    groups = []
    for group in options.process_group_configs:
        entry: dict[str, Any] = {
            "name": group.name,
            "priority": group.priority,
            "kind": type(group).__name__,
            "processes": [_their_process(p, section.environment) for p in group.process_configs],
        }
        if hasattr(group, "pool_events"):
            names = [supervisor_events.getEventNameByType(e) for e in group.pool_events]
            entry["listener"] = (sorted(names), group.buffer_size)
        if hasattr(group, "socket_config"):
            sock = group.socket_config
            entry["fcgi"] = (
                sock.url,
                sock.backlog,
                getattr(sock, "owner", None),
                getattr(sock, "mode", None),
            )
        groups.append(entry)
    daemon = {
        "logfile": section.logfile
        if section.logfile == "syslog"
        else os.path.abspath(section.logfile),
        "pidfile": os.path.abspath(section.pidfile),
        "loglevel": section.loglevel,
        "environment": dict(section.environment),
        **{key: getattr(section, key) for key in _DAEMON_KEYS},
    }
    return {"groups": groups, "servers": _their_servers(section.server_configs), "daemon": daemon}


_DAEMON_KEYS = (
    "logfile_maxbytes",
    "logfile_backups",
    "umask",
    "nodaemon",
    "silent",
    "minfds",
    "minprocs",
    "nocleanup",
    "childlogdir",
    "user",
    "directory",
    "strip_ansi",
    "identifier",
)


def _their_process(process: Any, daemon_env: dict[str, str]) -> dict[str, Any]:
    environment = dict(daemon_env)
    environment.update(process.environment or {})
    result = {
        key: getattr(process, key)
        for key in (
            "name",
            "command",
            "priority",
            "autostart",
            "startsecs",
            "startretries",
            "stopsignal",
            "stopwaitsecs",
            "stopasgroup",
            "killasgroup",
            "directory",
            "umask",
            "redirect_stderr",
            "uid",
        )
    }
    result.update(
        autorestart=_restart(process.autorestart),
        exitcodes=tuple(process.exitcodes),
        environment=environment,
        serverurl=process.serverurl or AUTO,
    )
    for channel in ("stdout", "stderr"):
        result[channel] = (
            _channel_logfile(getattr(process, f"{channel}_logfile")),
            getattr(process, f"{channel}_logfile_maxbytes"),
            getattr(process, f"{channel}_logfile_backups"),
            getattr(process, f"{channel}_capture_maxbytes"),
            bool(getattr(process, f"{channel}_events_enabled")),
            bool(getattr(process, f"{channel}_syslog")),
        )
    return result


def _their_servers(configs: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    servers = []
    for config in configs:
        if config["family"] == socket.AF_UNIX:
            chown = None if config["chown"] == (-1, -1) else config["chown"]
            servers.append(
                (
                    "unix",
                    config["file"],
                    config["chmod"],
                    chown,
                    config["username"],
                    config["password"],
                )
            )
        else:
            servers.append(
                ("inet", config["host"], config["port"], config["username"], config["password"])
            )
    return servers


_KIND_CLASS = {
    GroupKind.PROGRAM: "ProcessGroupConfig",
    GroupKind.EVENTLISTENER: "EventListenerPoolConfig",
    GroupKind.FCGI_PROGRAM: "FastCGIGroupConfig",
}


def _ours(config: Config) -> dict[str, Any]:
    daemon_env = dict(config.supervisord.environment)
    groups = []
    for group in config.groups:
        entry: dict[str, Any] = {
            "name": group.name,
            "priority": group.priority,
            "kind": _KIND_CLASS[group.kind],
            "processes": [_our_process(p, daemon_env) for p in group.processes],
        }
        if group.eventlistener is not None:
            entry["listener"] = (
                sorted(group.eventlistener.events),
                group.eventlistener.buffer_size,
            )
        if group.fcgi is not None:
            fcgi = group.fcgi
            owner = None
            mode = None
            if fcgi.socket.startswith("unix://"):
                mode = fcgi.socket_mode
                if fcgi.socket_owner is not None:
                    user, _, grp_name = fcgi.socket_owner.partition(":")
                    owner = (_uid(user), _gid(grp_name) if grp_name else -1)
                else:
                    owner = _default_fcgi_owner(group.processes)
            entry["fcgi"] = (fcgi.socket, fcgi.socket_backlog, owner, mode)
        groups.append(entry)
    servers: list[tuple[Any, ...]] = [
        ("inet", s.host, s.port, s.username, s.password) for s in config.inet_http_servers
    ]
    if config.unix_http_server is not None:
        unix = config.unix_http_server
        chown = None
        if unix.chown is not None:
            chown = (_uid(unix.chown[0]), _gid(unix.chown[1]) if unix.chown[1] else -1)
        servers.append(("unix", unix.file, unix.chmod, chown, unix.username, unix.password))
    ours = config.supervisord
    daemon = {
        "logfile": ours.logfile,
        "pidfile": ours.pidfile,
        "loglevel": supervisor_loggers.getLevelNumByDescription(ours.loglevel),
        "environment": dict(ours.environment),
        **{key: getattr(ours, key) for key in _DAEMON_KEYS},
    }
    return {"groups": groups, "servers": servers, "daemon": daemon}


def _default_fcgi_owner(processes: tuple[Any, ...]) -> object:
    """Supervisor gives the socket to the program's user when it is not the current one."""
    user = processes[0].user if processes else None
    if user is None or _uid(user) == os.getuid():
        return None
    return (_uid(user), ("gid-of", _uid(user)))


def _our_process(process: Any, daemon_env: dict[str, str]) -> dict[str, Any]:
    environment = dict(daemon_env)
    environment.update(dict(process.environment))
    result = {
        key: getattr(process, key)
        for key in (
            "name",
            "command",
            "priority",
            "autostart",
            "startsecs",
            "startretries",
            "stopsignal",
            "stopwaitsecs",
            "stopasgroup",
            "killasgroup",
            "directory",
            "umask",
            "redirect_stderr",
        )
    }
    result.update(
        uid=None if process.user is None else _uid(process.user),
        autorestart=process.autorestart,
        exitcodes=process.exitcodes,
        environment=environment,
        serverurl=process.serverurl,
    )
    for name in ("stdout", "stderr"):
        channel = getattr(process, name)
        result[name] = (
            channel.logfile,
            channel.maxbytes,
            channel.backups,
            channel.capture_maxbytes,
            channel.events_enabled,
            channel.syslog,
        )
    return result


def _prepare(source: Path, workdir: Path) -> tuple[Path, Path, str]:
    """Copy the corpus (includes are relative) and give Supervisor a [supervisord] if missing.

    Returns our file, Supervisor's file and the declared difference ("" when none).
    """
    copy = workdir / "corpus"
    if not copy.exists():
        shutil.copytree(CORPUS, copy)
    text = source.read_text(encoding="utf-8")
    first = text.splitlines()[0] if text else ""
    declared = first.split("differential:", 1)[1].strip() if "differential:" in first else ""
    oracle_file = copy / f"oracle-{source.name}"
    has_section = any(line.strip() == "[supervisord]" for line in text.splitlines())
    oracle_file.write_text(text if has_section else text + "\n[supervisord]\n", encoding="utf-8")
    return copy / source.name, oracle_file, declared


def test_corpus_is_big_enough() -> None:
    """The corpus holds at least 40 configurations."""
    assert len(FILES) >= 40


def _both(ours_file: Path, their_file: Path, oracle: Any) -> tuple[Any, Any]:
    """Each reader's view of the file, or "rejected: why"."""
    try:
        theirs: dict[str, Any] | str = _theirs(oracle(their_file))
    except ValueError as error:
        theirs = f"rejected: {error}"
    try:
        ours: dict[str, Any] | str = _ours(
            load(str(ours_file), environ=ENVIRON, host_node_name=NODE)
        )
    except ConfigError as error:
        ours = f"rejected: {error}"
    return ours, theirs


def _assert_same(ours: Any, theirs: Any, *, compare_daemon: bool) -> None:
    if isinstance(theirs, str) or isinstance(ours, str):
        assert isinstance(theirs, str), f"only we reject it: {ours}"
        assert isinstance(ours, str), f"only Supervisor rejects it: {theirs}"
        return
    assert ours["servers"] == theirs["servers"]
    if compare_daemon:
        assert ours["daemon"] == theirs["daemon"]
    assert [g["name"] for g in ours["groups"]] == [g["name"] for g in theirs["groups"]]
    for mine, real in zip(ours["groups"], theirs["groups"], strict=True):
        assert mine == real


@pytest.mark.parametrize("source", FILES, ids=[p.stem for p in FILES])
def test_same_meaning_as_supervisor(source: Path, oracle: Any, tmp_path: Path) -> None:
    """Both readers give the same groups, processes and values, or both reject the file."""
    ours_file, their_file, declared = _prepare(source, tmp_path)
    ours, theirs = _both(ours_file, their_file, oracle)
    if declared.startswith("capataz-rejects"):
        assert isinstance(ours, str), "declared: we reject this file"
        assert not isinstance(theirs, str), "declared: Supervisor accepts this file"
        return
    has_daemon = "[supervisord]" in source.read_text(encoding="utf-8")
    _assert_same(ours, theirs, compare_daemon=has_daemon)


_LOGS = [
    "AUTO",
    "NONE",
    "off",
    "syslog",
    "/tmp/%(program_name)s.log",
    "/tmp/%(process_num)d.log",
    "/tmp/100%%%%",
    "/tmp/a%%b",
    "",
    "~/x.log",
    "rel/x.log",
]
GENERATED_VALUES: dict[str, list[str]] = {
    "command": [
        "/bin/cat",
        "%(ENV_HOME)s/run %(process_num)d",
        "echo 100%%",
        "bash -c 'a ; b'",
        "",
        "%(group_name)s %(host_node_name)s %(numprocs)d",
        "%(here)s/x",
        "a %(nope)s",
    ],
    "process_name": [
        "%(program_name)s",
        "%(program_name)s_%(process_num)02d",
        "x y",
        "p%(process_num)d",
        "%(ENV_APP_ENV)s%(process_num)d",
        "q:%(process_num)d",
    ],
    "numprocs": ["1", "2", "0", "3", "-1", "x"],
    "numprocs_start": ["0", "5", "-2"],
    "priority": ["1", "-1", "999", "x", "1_0", "%(ENV_NOPE)s"],
    "autostart": ["true", "False", "yes", "0", "maybe"],
    "autorestart": ["true", "false", "unexpected", "UNEXPECTED", "sometimes", "on"],
    "startsecs": ["0", "10", "-1", "1.5"],
    "startretries": ["0", "3", "%(program_name)s"],
    "exitcodes": ["0", "0,2", "", "256", "0, 1", "a", "-1"],
    "stopsignal": ["TERM", "sigint", "9", "KILL", "33", "NOPE", "usr2", "0"],
    "stopwaitsecs": ["1", "3600", "%(process_num)d"],
    "stopasgroup": ["true", "false"],
    "killasgroup": ["true", "false", "x"],
    "user": ["root", "nobody", "33", "ghost", "%(ENV_USER_X)s"],
    "directory": ["/tmp", "%(here)s", "/srv/%(process_num)d", "~", "%(ENV_HOME)s"],
    "umask": ["022", "0o77", "8", "", "777"],
    "redirect_stderr": ["true", "false", "2"],
    "stdout_logfile": _LOGS,
    "stderr_logfile": _LOGS,
    "stdout_logfile_maxbytes": ["0", "1MB", "10 kb", "1.5MB", "1GB", "%(process_num)d"],
    "stderr_logfile_backups": ["0", "10", "x"],
    "stdout_capture_maxbytes": ["0", "1KB", "%(process_num)d"],
    "stderr_events_enabled": ["true", "no"],
    "stdout_syslog": ["true", "%(process_num)d"],
    "environment": [
        'A="1",B=2',
        "A=%(process_num)d",
        "A=a@b",
        'X="%(ENV_HOME)s"',
        "",
        "A=1 B=2",
        "K='v w',K=2",
        "A=%(ENV_A)s",
    ],
    "serverurl": ["AUTO", "http://x:1", "unix:///tmp/s", ""],
}
_PROGRAM_NAMES = ["a", "b", "web", "w_1"]
DAEMON_VALUES: dict[str, list[str]] = {
    "logfile": ["/tmp/d.log", "syslog", "rel.log", "%(here)s/d.log", "~/d.log", "%(program_name)s"],
    "pidfile": ["/tmp/d.pid", "run/d.pid", "%(ENV_HOME)s/d.pid"],
    "logfile_maxbytes": ["0", "5MB", "x"],
    "loglevel": ["info", "DEBUG", "blather", "warn", "verbose"],
    "umask": ["022", "7", "9"],
    "minfds": ["1024", "x"],
    "childlogdir": ["/tmp", "~", "%(here)s"],
    "identifier": ["prod", "%(ENV_APP_ENV)s"],
    "nodaemon": ["true", "x"],
    "environment": ['A="1"', "A=%(ENV_HOME)s", "H=%%(host_node_name)s", "A=a@b", "H=%(here)s"],
}
LISTENER_VALUES: dict[str, list[str]] = {
    "events": ["PROCESS_STATE", "tick_5,TICK_60", "NOPE", "", "PROCESS_LOG_STDOUT"],
    "buffer_size": ["10", "1", "0", "x"],
}
FCGI_VALUES: dict[str, list[str]] = {
    "socket": [
        "tcp://localhost:9000",
        "unix:///tmp/%(program_name)s.sock",
        "unix://rel",
        "tcp://h",
        "tcp://H:9%(ENV_NOPE)s",
    ],
    "socket_backlog": ["10", "0", "70000"],
    "socket_mode": ["0600", "9"],
    "socket_owner": ["nobody", "nobody:nogroup", "ghost"],
}
UNIX_VALUES: dict[str, list[str]] = {
    "file": ["/tmp/s.sock", "%(here)s/s.sock", "rel.sock", "%(program_name)s"],
    "chmod": ["0700", "0777", "9"],
    "chown": ["nobody", "nobody:nogroup", "ghost"],
    "username": ["u", "%(ENV_HOME)s"],
    "password": ["p", "{SHA}0000"],
}
INET_VALUES: dict[str, list[str]] = {
    "port": ["9001", "127.0.0.1:9001", "*:9001", ":9001", "x", "70000"],
    "username": ["u"],
    "password": ["p"],
}
_INVALID = frozenset(
    {
        "a %(nope)s",
        "x y",
        "q:%(process_num)d",
        "x",
        "%(ENV_NOPE)s",
        "maybe",
        "sometimes",
        "1.5",
        "%(program_name)s",
        "256",
        "a",
        "-1",
        "33",
        "NOPE",
        "ghost",
        "%(ENV_USER_X)s",
        "8",
        "",
        "2",
        "/tmp/a%%b",
        "1.5MB",
        "A=a@b",
        "A=1 B=2",
        "A=%(ENV_A)s",
        "%(process_num)d",
        "verbose",
        "9",
        "70000",
        "unix://rel",
        "tcp://h",
        "tcp://H:9%(ENV_NOPE)s",
    }
)


def _pick(draw: st.DrawFn, choices: list[str]) -> str:
    """Mostly a value valid for the option, so that most files are accepted and compared."""
    valid = [value for value in choices if value not in _INVALID] or choices
    # Hypothesis favours small integers, so the common case is the small one.
    return draw(st.sampled_from(choices if draw(st.integers(0, 9)) == 9 else valid))


def _options(draw: st.DrawFn, table: dict[str, list[str]], required: str = "") -> list[str]:
    chosen = draw(st.lists(st.sampled_from(sorted(table)), unique=True))
    if required and required not in chosen and draw(st.integers(0, 9)) < 9:
        chosen.append(required)
    return [f"{option}={_pick(draw, table[option])}" for option in chosen]


@st.composite
def _generated_config(draw: st.DrawFn) -> str:
    names = draw(st.lists(st.sampled_from(_PROGRAM_NAMES), min_size=1, max_size=3, unique=True))
    kinds = {
        name: draw(st.sampled_from(["program", "program", "eventlistener", "fcgi-program"]))
        for name in names
    }
    lines = ["[supervisord]", *_options(draw, DAEMON_VALUES)]
    groupable = [name for name in names if kinds[name] != "eventlistener"]
    if groupable and draw(st.booleans()):
        grouped = draw(st.lists(st.sampled_from(groupable), min_size=1, unique=True))
        lines += ["[group:g]", "programs=" + ",".join(grouped)]
    for name in names:
        lines.append(f"[{kinds[name]}:{name}]")
        lines += _options(draw, GENERATED_VALUES, required="command")
        if kinds[name] == "eventlistener":
            lines += _options(draw, LISTENER_VALUES, required="events")
        if kinds[name] == "fcgi-program":
            lines += _options(draw, FCGI_VALUES, required="socket")
    for header, table, required in (
        ("[unix_http_server]", UNIX_VALUES, "file"),
        ("[inet_http_server]", INET_VALUES, "port"),
    ):
        if draw(st.booleans()):
            lines += [header, *_options(draw, table, required)]
    return "\n".join(lines) + "\n"


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=_generated_config())
def test_generated_configs_mean_the_same(text: str, oracle: Any, tmp_path: Path) -> None:
    """Random programs built from interesting values: same meaning, or both reject."""
    path = tmp_path / "generated.conf"
    path.write_text(text, encoding="utf-8")
    ours, theirs = _both(path, path, oracle)
    _assert_same(ours, theirs, compare_daemon=True)


CTL_FILES = [p for p in FILES if "[supervisorctl]" in p.read_text(encoding="utf-8")]


@pytest.mark.parametrize("source", CTL_FILES, ids=[p.stem for p in CTL_FILES])
def test_supervisorctl_section_as_supervisorctl_reads_it(
    source: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """[supervisorctl] gives the same server URL, credentials, prompt and history file."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", ENVIRON["HOME"])
    client = supervisor_options.ClientOptions()
    client.environ_expansions = {f"ENV_{k}": v for k, v in ENVIRON.items()}
    client.configfile = str(source)
    client.process_config(do_usage=False)
    ctl = load(str(source), environ=ENVIRON, host_node_name=NODE).supervisorctl
    theirs = (
        client.serverurl,
        client.username,
        client.password,
        client.prompt,
        client.history_file,
    )
    assert (ctl.serverurl, ctl.username, ctl.password, ctl.prompt, ctl.history_file) == theirs
