"""Read a supervisor.conf: :func:`parse_text` (pure) and :func:`load` (from a file).

The reader accepts every file Supervisor 4.3.0 accepts and gives it the same
meaning; its options, defaults and ``%(x)s`` names are in ``options.py`` and
``sections.py``. Deliberate differences, each in the user's favour:

* a file without ``[supervisord]`` (a ``conf.d`` snippet, like the seed's) is
  accepted; Supervisor refuses it. It runs with per-user defaults (``defaults.py``,
  ``docs/configuration.md``): socket and pid file in ``/run/capataz`` (root) or
  ``$XDG_RUNTIME_DIR/capataz``, daemon log and AUTO child logs in
  ``/var/log/capataz`` (root) or ``$XDG_STATE_HOME/capataz``. With
  ``[supervisord]`` every default is Supervisor's (log and pid file in the working
  directory, child logs in the temporary directory); the control socket is
  ``[unix_http_server] file`` or, without one, the same default socket;
* facts about this machine (a ``user=`` that does not exist, a log directory
  that is missing) are warnings, not errors, so a file can be checked on a
  machine other than the one it is for;
* a ``%`` specifier without a name (``%s``) is an error instead of the whole
  environment pasted into the value;
* unknown sections and options are warnings with a "did you mean";
  ``rpcinterface``/``result_handler`` factories are never imported.

Without ``-c``, :func:`find_config_file` looks where Supervisor looks, for
``capataz.conf`` first and then ``supervisord.conf``:
``<exe>/../etc/NAME``, ``<exe>/../NAME``, ``./NAME``, ``./etc/NAME``,
``/etc/NAME`` and ``/etc/capataz/capataz.conf`` or ``/etc/supervisor/supervisord.conf``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping

from capataz.config import defaults
from capataz.config.context import ReadContext
from capataz.config.errors import ConfigError
from capataz.config.groups import read_process_groups
from capataz.config.host import Host
from capataz.config.ini import IniDocument
from capataz.config.lint import lint, lint_processes
from capataz.config.model import Config
from capataz.config.sections import (
    CTL_FACTORY_KEY,
    RPC_FACTORY_KEY,
    read_inet_http_servers,
    read_plugins,
    read_supervisorctl,
    read_supervisord,
    read_unix_http_server,
)

CONFIG_NAMES = (("capataz.conf", "capataz"), ("supervisord.conf", "supervisor"))


def search_paths(host: Host) -> list[str]:
    """Where a configuration is looked for when none is given, in order."""
    beside = os.path.dirname(os.path.dirname(host.executable))
    paths = []
    for name, etc_dir in CONFIG_NAMES:
        paths += [
            os.path.join(beside, "etc", name),
            os.path.join(beside, name),
            name,
            os.path.join("etc", name),
            f"/etc/{name}",
            f"/etc/{etc_dir}/{name}",
        ]
    return paths


def find_config_file(host: Host) -> str:
    paths = search_paths(host)
    for path in paths:
        if host.exists(os.path.join(host.cwd, path)):
            return path
    raise ConfigError(
        "no configuration file was given and none was found at " + ", ".join(paths),
        expected="-c /path/to/supervisord.conf",
    )


def _host(host: Host | None, environ: Mapping[str, str] | None, host_node_name: str | None) -> Host:
    if host is None:
        return Host.current(environ=environ, host_node_name=host_node_name)
    if environ is not None:
        host = dataclasses.replace(host, environ=dict(environ))
    if host_node_name is not None:
        host = dataclasses.replace(host, node_name=host_node_name)
    return host


def load(
    path: str | None,
    *,
    environ: Mapping[str, str] | None = None,
    host_node_name: str | None = None,
    host: Host | None = None,
) -> Config:
    """Read the configuration at ``path`` (searched for when None) and its includes."""
    host = _host(host, environ, host_node_name)
    if path is None:
        path = find_config_file(host)
    return parse_text(read_file(host, path), path, host=host)


def read_file(host: Host, path: str) -> str:
    """The text of ``path``, or a :class:`ConfigError` saying why it cannot be read."""
    try:
        return host.read_text(os.path.join(host.cwd, path))
    except FileNotFoundError:
        problem, expected = "the file does not exist", "the path of a supervisor.conf file"
    except IsADirectoryError:
        problem, expected = "this is a directory", "the path of a supervisor.conf file"
    except PermissionError:
        problem, expected = "permission denied", "a file this user can read (check its mode)"
    except UnicodeDecodeError as bad:
        line = bad.object[: bad.start].count(b"\n") + 1
        raise ConfigError(
            "the file is not UTF-8 text",
            file=path,
            line=line,
            found=repr(bad.object[bad.start : bad.end]),
            expected="UTF-8 text (convert it with iconv -t UTF-8)",
        ) from None
    except OSError as error:
        problem, expected = f"cannot read the file ({error.strerror})", "a readable file"
    raise ConfigError(problem, file=path, expected=expected)


def _read_includes(ctx: ReadContext) -> tuple[str, ...]:
    """Read the files ``[include] files=`` names: globs relative to the main file, sorted."""
    if "include" not in ctx.doc.sections:
        return ()
    value = ctx.raw("include", "files")
    if value is None:
        ctx.fail(
            "the [include] section has no files= line",
            "include",
            "files",
            expected="files=conf.d/*.conf (space-separated globs, relative to this file)",
        )
    patterns = ctx.expand(
        "include", "files", value, {"host_node_name": ctx.host.node_name}, value.text
    ).split()
    included: list[str] = []
    for pattern in patterns:
        full = os.path.join(ctx.main_dir, pattern)
        matches = sorted(ctx.host.glob(full))
        if not matches:
            ctx.warn(f"[include] no file matches {full}", "include", value)
        for filename in matches:
            ctx.doc.read(read_file(ctx.host, filename), filename)
            included.append(filename)
            nested = ctx.doc.get("include", "files")
            if nested is not None and nested.file == filename:
                ctx.warn(
                    f"{filename} has its own [include]; includes are not followed from "
                    "included files (as in Supervisor): list its files in the main file",
                    "include",
                    nested,
                )
    return tuple(included)


def parse_text(
    text: str,
    path: str,
    *,
    environ: Mapping[str, str] | None = None,
    host_node_name: str | None = None,
    host: Host | None = None,
) -> Config:
    """The :class:`Config` that ``text``, read from ``path``, means.

    ``environ`` and ``host_node_name`` fix ``%(ENV_X)s`` and ``%(host_node_name)s``;
    ``host`` replaces every other fact about the machine (see :class:`Host`).
    """
    host = _host(host, environ, host_node_name)
    main_file = host.absolute(path)
    document = IniDocument()
    document.read(text, main_file)
    ctx = ReadContext(
        document, host, main_file, {f"ENV_{key}": val for key, val in host.environ.items()}
    )
    included = _read_includes(ctx)
    supervisorctl = read_supervisorctl(ctx)
    has_supervisord = "supervisord" in document.sections
    fallback = defaults.snippet_supervisord(host.environ, host.uid, host.tempdir)
    supervisord = read_supervisord(ctx, fallback)
    ctx.env_names.update({f"ENV_{key}": val for key, val in supervisord.environment})
    rpcinterfaces = read_plugins(ctx, "rpcinterface:", RPC_FACTORY_KEY)
    groups = read_process_groups(ctx)
    unix_http_server = read_unix_http_server(ctx)
    inet_http_servers = read_inet_http_servers(ctx)
    ctlplugins = read_plugins(ctx, "ctlplugin:", CTL_FACTORY_KEY)
    lint(ctx)
    lint_processes(ctx, groups, supervisord.environment)
    runtime = defaults.runtime_dir(host.environ, host.uid, host.tempdir)
    runtime_dirs: list[str] = [] if unix_http_server else [runtime]
    if not has_supervisord:
        runtime_dirs = sorted({runtime, defaults.state_dir(host.environ, host.uid)})
    return Config(
        path=main_file,
        supervisord=supervisord,
        unix_http_server=unix_http_server,
        inet_http_servers=inet_http_servers,
        supervisorctl=supervisorctl,
        rpcinterfaces=rpcinterfaces,
        groups=groups,
        included_files=included,
        warnings=tuple(ctx.warnings),
        ctlplugins=ctlplugins,
        supervisord_section=has_supervisord,
        default_control_socket=os.path.join(runtime, defaults.SOCKET_NAME),
        runtime_dirs=tuple(runtime_dirs),
    )
