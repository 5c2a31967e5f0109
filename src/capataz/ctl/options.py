"""capatazctl's command line and its ``[supervisorctl]`` settings.

The flags are supervisorctl's (``-c -h -? -i -s -u -p -r`` and their long
forms) and so are the error messages, so scripts that wrap supervisorctl see
the same thing. Each connection flag also has an environment twin, weaker than
the flag and stronger than the file: ``CAPATAZ_SERVERURL``, ``CAPATAZ_USERNAME``,
``CAPATAZ_PASSWORD`` (a password in the environment stays out of ``ps``).
"""

from __future__ import annotations

import configparser
import getopt
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from capataz.config import ConfigError, SupervisorctlConfig, default_control_socket, load
from capataz.ctl.errors import UsageError

DEFAULT_SERVERURL = "http://localhost:9001"

#: supervisorctl's search order when ``-c`` is not given (the first two are
#: relative to the directory above the executable, e.g. a virtualenv's).
SEARCH_PATHS = (
    "supervisord.conf",
    "etc/supervisord.conf",
    "/etc/supervisord.conf",
    "/etc/supervisor/supervisord.conf",
)


def search_paths() -> list[str]:
    prefix = os.path.dirname(os.path.dirname(os.path.abspath(sys.argv[0])))
    return [os.path.join(prefix, "etc", "supervisord.conf"),
            os.path.join(prefix, "supervisord.conf"), *SEARCH_PATHS]

ENV_TWINS = {
    "serverurl": "CAPATAZ_SERVERURL",
    "username": "CAPATAZ_USERNAME",
    "password": "CAPATAZ_PASSWORD",
}

_SHORT = "h?c:is:u:p:r:"
_LONG = ["help", "configuration=", "interactive", "serverurl=", "username=", "password=",
         "history_file="]
_FLAG_NAMES = {
    "-c": "configfile", "--configuration": "configfile",
    "-s": "serverurl", "--serverurl": "serverurl",
    "-u": "username", "--username": "username",
    "-p": "password", "--password": "password",
    "-r": "history_file", "--history_file": "history_file",
}


@dataclass
class CtlSettings:
    """What the ``[supervisorctl]`` section of a config file says."""

    serverurl: str | None = None
    username: str | None = None
    password: str | None = None
    prompt: str = "supervisor"
    history_file: str | None = None


@dataclass
class CtlOptions:
    """Everything capatazctl needs to run one command or a shell."""

    serverurl: str = DEFAULT_SERVERURL
    username: str | None = None
    password: str | None = None
    prompt: str = "supervisor"
    history_file: str | None = None
    interactive: bool = False
    configfile: str | None = None
    args: list[str] = field(default_factory=list)
    show_help: bool = False


def _normalize(path: str) -> str:
    return os.path.normpath(os.path.abspath(os.path.expanduser(path)))


def _check_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme and (parts.netloc or parts.path):
        return value
    raise UsageError(f"invalid value for -s {value!r}: value {value!r} is not a URL")


def _expand(raw: str, names: Mapping[str, str], where: str) -> str:
    try:
        return raw % names
    except (KeyError, ValueError) as exc:
        raise UsageError(
            f"{where}: cannot expand {raw!r} ({exc}); write a literal % as %%"
        ) from exc


def read_ctl_settings(path: str, environ: Mapping[str, str] | None = None) -> CtlSettings:
    """The client's settings from the config file at ``path``.

    The file is read by the shared reader (``capataz.config.load``). A file it
    rejects (say, a program section only a newer Supervisor knows) still gives
    its ``[supervisorctl]`` section, read alone, as supervisorctl would.
    A file without ``[supervisorctl]`` is accepted (supervisorctl refuses it):
    the server URL is then the one of the daemon this file describes.
    """
    if not os.path.exists(path):
        raise UsageError(f"could not find config file {path}")
    try:
        config = load(path, environ=environ)
    except ConfigError:
        return read_ctl_section(path, environ)
    ctl = config.supervisorctl
    serverurl = ctl.serverurl
    if ctl == SupervisorctlConfig():  # no [supervisorctl], or one that says nothing
        if config.unix_http_server is not None:
            serverurl = f"unix://{config.unix_http_server.file}"
        elif config.inet_http_servers:
            inet = config.inet_http_servers[0]
            host = inet.host if is_specific(inet.host) else "localhost"
            serverurl = f"http://{host}:{inet.port}"
        else:
            serverurl = f"unix://{config.control_socket() or default_control_socket()}"
    return CtlSettings(serverurl, ctl.username, ctl.password, ctl.prompt, ctl.history_file)


def is_specific(host: str) -> bool:
    """False for the addresses that mean "every interface"."""
    return host not in {"", "*", "0.0.0.0", "::"}  # noqa: S104 - compared, not bound


def read_ctl_section(path: str, environ: Mapping[str, str] | None = None) -> CtlSettings:
    """Only ``[supervisorctl]`` (and the http sections) of ``path``, tolerant of the rest."""
    parser = configparser.RawConfigParser(inline_comment_prefixes=(";", "#"), strict=False)
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle)
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"could not read config file {path}: {exc}") from exc
    except configparser.Error as exc:
        raise UsageError(f"config file {path} is not valid INI: {exc}") from exc
    env = os.environ if environ is None else environ
    names = {f"ENV_{key}": value for key, value in env.items()}
    names["here"] = os.path.dirname(_normalize(path))
    settings = CtlSettings()

    def get(section: str, option: str) -> str | None:
        if not parser.has_option(section, option):
            return None
        return _expand(parser.get(section, option), names, f"{path} [{section}] {option}")

    if parser.has_section("supervisorctl"):
        settings.serverurl = get("supervisorctl", "serverurl")
        settings.username = get("supervisorctl", "username")
        settings.password = get("supervisorctl", "password")
        settings.prompt = get("supervisorctl", "prompt") or settings.prompt
        history = get("supervisorctl", "history_file")
        settings.history_file = _normalize(history) if history else None
    if settings.serverurl is None:
        settings.serverurl = _url_of_servers(parser, get)
    if settings.serverurl and settings.serverurl.startswith("unix://"):
        settings.serverurl = "unix://" + _normalize(settings.serverurl[len("unix://") :])
    return settings


def _url_of_servers(
    parser: configparser.RawConfigParser,
    get: Callable[[str, str], str | None],
) -> str:
    """The URL of the daemon this file describes, when [supervisorctl] names none."""
    if parser.has_section("unix_http_server"):
        socket_file = get("unix_http_server", "file")
        if socket_file:
            return f"unix://{socket_file}"
    inet = [s for s in parser.sections() if s.split(":", 1)[0] == "inet_http_server"]
    if inet:
        port = get(inet[0], "port") or ""
        host, _, number = port.rpartition(":")
        if not is_specific(host):
            host = "localhost"
        return f"http://{host}:{number}"
    if parser.has_section("supervisorctl"):
        return DEFAULT_SERVERURL
    return f"unix://{default_control_socket()}"


def find_config() -> str | None:
    return next((p for p in search_paths() if os.path.exists(p)), None)


def parse_args(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> CtlOptions:
    """The command line, then the environment twins, then the file, then defaults."""
    env = os.environ if environ is None else environ
    try:
        pairs, args = getopt.getopt(list(argv), _SHORT, _LONG)
    except getopt.GetoptError as exc:
        raise UsageError(str(exc)) from exc
    options = CtlOptions(args=args)
    given: dict[str, str] = {}
    for flag, value in pairs:
        if flag in {"-h", "-?", "--help"}:
            options.show_help = True
        elif flag in {"-i", "--interactive"}:
            options.interactive = True
        else:
            name = _FLAG_NAMES[flag]
            if name in given:
                raise UsageError(f"conflicting command line option {flag!r}")
            given[name] = _check_url(value) if name == "serverurl" else value
    if options.show_help:
        return options
    for name, variable in ENV_TWINS.items():
        if name not in given and env.get(variable):
            given[name] = _check_url(env[variable]) if name == "serverurl" else env[variable]
    options.configfile = given.get("configfile") or find_config()
    settings = read_ctl_settings(options.configfile, env) if options.configfile else CtlSettings()
    options.serverurl = given.get("serverurl") or settings.serverurl or DEFAULT_SERVERURL
    options.username = given.get("username", settings.username)
    options.password = given.get("password", settings.password)
    options.prompt = settings.prompt
    options.history_file = given.get("history_file", settings.history_file)
    if not options.args:
        options.interactive = True
    return options
