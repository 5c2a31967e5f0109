"""The daemon-wide sections: ``[supervisord]``, the HTTP servers, ``[supervisorctl]``, plugins.

Each reader follows what Supervisor 4.3.0 reads from the section, with the
same defaults and the same ``%(x)s`` names: ``[supervisord]`` options see
``here`` and ``ENV_*``; ``[unix_http_server] file`` and ``[supervisorctl]
serverurl``/``history_file`` see ``here`` and ``ENV_*``; every other option of
these sections sees only ``ENV_*``.
"""

from __future__ import annotations

import os
from typing import Any

from capataz.config import values
from capataz.config.context import ReadContext
from capataz.config.model import (
    InetHttpServerConfig,
    RpcInterfaceConfig,
    SupervisorctlConfig,
    SupervisordConfig,
    UnixHttpServerConfig,
)

MAIN_RPC_FACTORY = "supervisor.rpcinterface:make_main_rpcinterface"
RPC_FACTORY_KEY = "supervisor.rpcinterface_factory"
CTL_FACTORY_KEY = "supervisor.ctl_factory"
SUPERVISORD = "supervisord"


def read_supervisord(ctx: ReadContext, defaults: SupervisordConfig) -> SupervisordConfig:
    """``[supervisord]``; when the section is absent, ``defaults`` (see ``defaults.py``)."""
    if SUPERVISORD not in ctx.doc.sections:
        return defaults
    section = SUPERVISORD

    def get(option: str, default: str, convert: values.Converter = values.text) -> Any:
        return ctx.read(section, option, convert(default), {}, convert)

    minfds = get("minfds", "1024", values.integer)
    minprocs = get("minprocs", "200", values.integer)
    directory: str | None = ctx.read(section, "directory", None, {})
    if directory is not None:
        directory = ctx.host.expanduser(directory)
        _warn_missing(ctx, section, "directory", directory, is_parent=False)
    user: str | None = ctx.read(section, "user", None, {})
    if user is not None and not ctx.host.user_exists(user):
        ctx.warn(
            f"user {user!r} does not exist on this machine; capatazd cannot switch to it "
            "(Supervisor refuses to start)",
            section,
            ctx.raw(section, "user"),
        )
    umask = get("umask", "022", values.octal)
    logfile = ctx.host.expanduser(str(get("logfile", "supervisord.log")))
    _warn_missing(ctx, section, "logfile", logfile, is_parent=True)
    if logfile != "syslog":
        logfile = ctx.host.absolute(logfile)
    maxbytes = get("logfile_maxbytes", "50MB", values.byte_size)
    backups = get("logfile_backups", "10", values.integer)
    loglevel = get("loglevel", "info", values.logging_level)
    pidfile = ctx.host.expanduser(str(get("pidfile", "supervisord.pid")))
    _warn_missing(ctx, section, "pidfile", pidfile, is_parent=True)
    identifier = get("identifier", "supervisor")
    nodaemon = get("nodaemon", "false", values.boolean)
    silent = get("silent", "false", values.boolean)
    childlogdir = ctx.host.expanduser(str(get("childlogdir", ctx.host.tempdir)))
    _warn_missing(ctx, section, "childlogdir", childlogdir, is_parent=False)
    nocleanup = get("nocleanup", "false", values.boolean)
    strip_ansi = get("strip_ansi", "false", values.boolean)
    # Supervisor expands this value twice: first with here and ENV_*, then also with
    # host_node_name (so %(host_node_name)s works here only when written %%(host_node_name)s).
    environment: tuple[tuple[str, str], ...] = ()
    value = ctx.raw(section, "environment")
    if value is not None:
        once = ctx.expand(section, "environment", value, {}, value.text)
        twice = ctx.expand(
            section, "environment", value, {"host_node_name": ctx.host.node_name}, once
        )
        environment = ctx.convert(section, "environment", value, twice, values.key_value_pairs)
    return SupervisordConfig(
        logfile=logfile,
        logfile_maxbytes=maxbytes,
        logfile_backups=backups,
        loglevel=loglevel,
        pidfile=ctx.host.absolute(pidfile),
        umask=umask,
        nodaemon=nodaemon,
        silent=silent,
        minfds=minfds,
        minprocs=minprocs,
        nocleanup=nocleanup,
        childlogdir=childlogdir,
        user=user,
        directory=directory,
        strip_ansi=strip_ansi,
        environment=environment,
        identifier=str(identifier),
    )


def _warn_missing(
    ctx: ReadContext, section: str, option: str, path: str, *, is_parent: bool
) -> None:
    if path == "syslog" and is_parent:
        return
    directory = os.path.dirname(path) if is_parent else path
    if directory and not ctx.host.is_dir(os.path.join(ctx.host.cwd, directory)):
        ctx.warn(
            f"{option}: the directory {directory} does not exist on this machine; create it "
            "before starting (Supervisor refuses the file while it is missing)",
            section,
            ctx.raw(section, option),
        )


def _credentials(ctx: ReadContext, section: str) -> tuple[str | None, str | None]:
    username: str | None = ctx.read(section, "username", None, {}, here=False)
    password: str | None = ctx.read(section, "password", None, {}, here=False)
    if (username is None) != (password is None):
        missing = "password" if password is None else "username"
        ctx.fail(
            f"a {'username' if missing == 'password' else 'password'} without a {missing}",
            section,
            missing,
            expected="both username= and password=, or neither",
        )
    return username, password


def _server_sections(ctx: ReadContext, prefix: str) -> list[str]:
    # Supervisor matches these by prefix: [inet_http_server], [inet_http_server:x] and more.
    return [name for name in ctx.doc.sections if name.startswith(prefix)]


def read_unix_http_server(ctx: ReadContext) -> UnixHttpServerConfig | None:
    found = _server_sections(ctx, "unix_http_server")
    if not found:
        return None
    servers = [_unix_server(ctx, section) for section in found]
    for extra in found[1:]:
        ctx.warn(f"[{extra}]: capatazd serves only the first UNIX socket, [{found[0]}]", extra)
    return servers[0]


def _unix_server(ctx: ReadContext, section: str) -> UnixHttpServerConfig:
    file: str | None = ctx.read(section, "file", None, {})
    if file is None:
        ctx.fail(
            "the section does not say where the socket file is",
            section,
            "file",
            expected="file=/run/capataz/capatazd.sock (an absolute path)",
        )
    username, password = _credentials(ctx, section)
    chown_text: str | None = ctx.read(section, "chown", None, {}, here=False)
    chown = None if chown_text is None else values.user_group(chown_text)
    if chown is not None and not ctx.host.user_exists(chown[0]):
        ctx.warn(
            f"chown: user {chown[0]!r} does not exist on this machine",
            section,
            ctx.raw(section, "chown"),
        )
    chmod: int = ctx.read(section, "chmod", 0o700, {}, values.octal, here=False)
    return UnixHttpServerConfig(ctx.host.absolute(file.strip()), chmod, chown, username, password)


def read_inet_http_servers(ctx: ReadContext) -> tuple[InetHttpServerConfig, ...]:
    servers = []
    for section in _server_sections(ctx, "inet_http_server"):
        port_value = ctx.raw(section, "port")
        if port_value is None:
            ctx.fail(
                "the section does not say which port to listen on",
                section,
                "port",
                expected="port=127.0.0.1:9001 (or port=9001 for every interface)",
            )
        port_text = ctx.expand(section, "port", port_value, {}, port_value.text, here=False)
        host, port = ctx.convert(section, "port", port_value, port_text, values.inet_address)
        username, password = _credentials(ctx, section)
        if username is None:
            ctx.warn(
                f"no username/password: anyone who can reach "
                f"{host or '*'}:{port} can start, stop and read every process; set username= "
                "and password=, or listen on 127.0.0.1 only",
                section,
            )
        servers.append(InetHttpServerConfig(section, host, port, username, password))
    return tuple(servers)


def read_supervisorctl(ctx: ReadContext) -> SupervisorctlConfig:
    section = "supervisorctl"
    if section not in ctx.doc.sections:
        return SupervisorctlConfig()
    serverurl: str = ctx.read(section, "serverurl", "http://localhost:9001", {})
    if serverurl.startswith("unix://"):
        serverurl = "unix://" + ctx.host.absolute(serverurl[len("unix://") :])
    username: str | None = ctx.read(section, "username", None, {}, here=False)
    password: str | None = ctx.read(section, "password", None, {}, here=False)
    prompt: str = ctx.read(section, "prompt", "supervisor", {}, here=False)
    history: str | None = ctx.read(section, "history_file", None, {})
    return SupervisorctlConfig(
        serverurl, username, password, prompt, ctx.host.absolute(history) if history else None
    )


def read_plugins(ctx: ReadContext, prefix: str, factory_key: str) -> tuple[RpcInterfaceConfig, ...]:
    """``[rpcinterface:x]`` or ``[ctlplugin:x]``: a factory and its keyword arguments."""
    plugins = []
    for section in ctx.doc.sections:
        if not section.startswith(prefix):
            continue
        factory: str | None = ctx.read(section, factory_key, None, {}, here=False)
        if factory is None and factory_key == CTL_FACTORY_KEY:
            ctx.warn(f"the section names no {factory_key}; capatazctl will refuse it", section)
            continue
        if factory is None:
            ctx.fail(
                f"the section does not name its {factory_key}",
                section,
                factory_key,
                expected=f"{factory_key} = {MAIN_RPC_FACTORY}"
                if factory_key == RPC_FACTORY_KEY
                else f"{factory_key} = package.module:callable",
            )
        extras = tuple(
            (option, str(ctx.read(section, option, "", {}, here=False)))
            for option in ctx.doc.options(section)
            if option != factory_key
        )
        if factory_key == RPC_FACTORY_KEY and factory != MAIN_RPC_FACTORY:
            ctx.warn(
                f"[{section}]: capatazd serves Supervisor's main API itself; the factory "
                f"{factory} is not loaded",
                section,
                ctx.raw(section, factory_key),
            )
        plugins.append(RpcInterfaceConfig(section.split(":", 1)[1], factory, extras))
    return tuple(plugins)
