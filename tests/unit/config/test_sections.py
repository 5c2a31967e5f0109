"""[supervisord], the HTTP servers, [supervisorctl], plugins, and the unknown-name warnings."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from capataz.config import Config, ConfigError, default_control_socket, load
from capataz.config.host import Host

Reader = Callable[..., Config]


def test_supervisord_defaults_are_supervisors(read: Reader) -> None:
    """With [supervisord], unset options take Supervisor's defaults, paths from the cwd."""
    daemon = read("[supervisord]\n").supervisord
    assert (daemon.logfile, daemon.pidfile) == ("/srv/supervisord.log", "/srv/supervisord.pid")
    assert (daemon.logfile_maxbytes, daemon.logfile_backups, daemon.loglevel) == (
        50 * 1024 * 1024,
        10,
        "info",
    )
    assert (daemon.umask, daemon.minfds, daemon.minprocs, daemon.childlogdir) == (
        0o22,
        1024,
        200,
        "/tmp",
    )
    assert (daemon.nodaemon, daemon.silent, daemon.nocleanup, daemon.strip_ansi) == (
        False,
        False,
        False,
        False,
    )
    assert (daemon.identifier, daemon.user, daemon.directory, daemon.environment) == (
        "supervisor",
        None,
        None,
        (),
    )


def test_supervisord_options(read: Reader) -> None:
    """Every [supervisord] option is read; relative log/pid paths are made absolute from cwd."""
    daemon = read(
        "[supervisord]\nlogfile=logs/d.log\npidfile=%(here)s/d.pid\nlogfile_maxbytes=1MB\n"
        "logfile_backups=3\nloglevel=DEBUG\numask=077\nnodaemon=true\nsilent=true\n"
        "minfds=4096\nminprocs=50\nnocleanup=on\nchildlogdir=/var/log/kids\nuser=app\n"
        "directory=~/work\nstrip_ansi=yes\nidentifier=prod\n"
        'environment=HOST="%%(host_node_name)s",HOMEDIR=%(ENV_HOME)s\n'
    ).supervisord
    assert (daemon.logfile, daemon.pidfile) == ("/srv/logs/d.log", "/etc/app/d.pid")
    assert (daemon.logfile_maxbytes, daemon.logfile_backups, daemon.loglevel) == (
        1024**2,
        3,
        "debug",
    )
    assert (daemon.umask, daemon.nodaemon, daemon.silent, daemon.minfds, daemon.minprocs) == (
        0o77,
        True,
        True,
        4096,
        50,
    )
    assert (daemon.nocleanup, daemon.childlogdir, daemon.user, daemon.directory) == (
        True,
        "/var/log/kids",
        "app",
        "/home/ana/work",
    )
    assert (daemon.strip_ansi, daemon.identifier) == (True, "prod")
    assert daemon.environment == (("HOST", "testhost"), ("HOMEDIR", "/home/ana"))


def test_supervisord_environment_feeds_programs(read: Reader) -> None:
    """[supervisord] environment= is visible to every program as ENV_*."""
    config = read("[supervisord]\nenvironment=APP=/opt/a\n[program:w]\ncommand=%(ENV_APP)s/run\n")
    assert config.processes()[0].command == "/opt/a/run"


def test_syslog_logfile_stays_syslog(read: Reader) -> None:
    """logfile=syslog is the syslog service, not a file in the working directory."""
    assert read("[supervisord]\nlogfile=syslog\n").supervisord.logfile == "syslog"


def test_unknown_daemon_user_warns(read: Reader) -> None:
    """[supervisord] user= naming no user of this machine is a warning."""
    config = read("[supervisord]\nuser=ghost\n")
    assert config.supervisord.user == "ghost"
    assert any("'ghost' does not exist" in str(w) for w in config.warnings)


def test_missing_directories_warn(read: Reader) -> None:
    """A missing childlogdir or log directory is a warning on this machine, not an error."""
    config = read(
        "[supervisord]\nchildlogdir=/gone\nlogfile=/gone/d.log\n", missing_dirs=("/gone",)
    )
    assert sum("/gone does not exist" in str(w) for w in config.warnings) == 2


def test_snippet_defaults(read: Reader) -> None:
    """Without [supervisord], capatazd's per-user places are used and listed for creation."""
    config = read(
        "[program:w]\ncommand=x\n",
        environ={"XDG_RUNTIME_DIR": "/run/user/1000", "HOME": "/home/ana"},
    )
    assert config.supervisord_section is False
    assert config.supervisord.pidfile == "/run/user/1000/capataz/capatazd.pid"
    assert config.supervisord.logfile == "/home/ana/.local/state/capataz/capatazd.log"
    assert config.supervisord.childlogdir == "/home/ana/.local/state/capataz"
    assert config.control_socket() == "/run/user/1000/capataz/capatazd.sock"
    assert config.runtime_dirs == ("/home/ana/.local/state/capataz", "/run/user/1000/capataz")


def test_snippet_defaults_for_root(read: Reader) -> None:
    """As root the places are /run/capataz and /var/log/capataz."""
    config = read("[program:w]\ncommand=x\n", uid=0)
    assert config.supervisord.pidfile == "/run/capataz/capatazd.pid"
    assert config.supervisord.logfile == "/var/log/capataz/capatazd.log"
    assert config.control_socket() == "/run/capataz/capatazd.sock"


def test_unix_http_server(read: Reader) -> None:
    """The socket path is absolute; chmod is octal; chown splits user and group."""
    config = read(
        "[supervisord]\n[unix_http_server]\nfile=%(here)s/../run/s.sock\nchmod=0770\n"
        "chown=www-data:www-data\nusername=u\npassword={SHA}abc\n"
    )
    server = config.unix_http_server
    assert server is not None
    assert (server.file, server.chmod, server.chown) == (
        "/etc/run/s.sock",
        0o770,
        ("www-data", "www-data"),
    )
    assert (server.username, server.password) == ("u", "{SHA}abc")
    assert config.control_socket() == "/etc/run/s.sock"
    assert config.runtime_dirs == ()


def test_unix_http_server_needs_file_and_full_credentials(read: Reader) -> None:
    """file= is required; a username without a password is an error."""
    with pytest.raises(ConfigError, match="socket file"):
        read("[unix_http_server]\nchmod=0700\n")
    with pytest.raises(ConfigError, match="username without a password"):
        read("[unix_http_server]\nfile=/tmp/s\nusername=u\n")


def test_inet_http_servers(read: Reader) -> None:
    """[inet_http_server] and [inet_http_server:x] each give a server; no auth warns."""
    config = read(
        "[inet_http_server]\nport=127.0.0.1:9001\nusername=u\npassword=p\n"
        "[inet_http_server:public]\nport=*:9002\n"
    )
    first, second = config.inet_http_servers
    assert (first.name, first.host, first.port, first.username) == (
        "inet_http_server",
        "127.0.0.1",
        9001,
        "u",
    )
    assert (second.name, second.host, second.port) == ("inet_http_server:public", "", 9002)
    assert any("no username/password" in str(w) for w in config.warnings)
    with pytest.raises(ConfigError, match="which port"):
        read("[inet_http_server]\nusername=u\npassword=p\n")


def test_supervisorctl(read: Reader) -> None:
    """[supervisorctl] values, with unix:// paths made absolute."""
    ctl = read(
        "[supervisorctl]\nserverurl=unix://%(here)s/s.sock\nusername=u\npassword=p\n"
        "prompt=app\nhistory_file=~/.hist\n"
    ).supervisorctl
    assert (ctl.serverurl, ctl.username, ctl.password, ctl.prompt, ctl.history_file) == (
        "unix:///etc/app/s.sock",
        "u",
        "p",
        "app",
        "/home/ana/.hist",
    )
    assert read("[supervisorctl]\n").supervisorctl.serverurl == "http://localhost:9001"


def test_rpcinterface_and_ctlplugin(read: Reader) -> None:
    """Supervisor's factory line means our API; other factories warn; ctlplugins are kept."""
    config = read(
        "[rpcinterface:supervisor]\n"
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n"
        "[rpcinterface:twiddler]\nsupervisor.rpcinterface_factory = twiddler:make\nlevel=3\n"
        "[ctlplugin:extra]\nsupervisor.ctl_factory = extra:make\n[ctlplugin:broken]\n"
    )
    assert [(r.name, r.factory, r.options) for r in config.rpcinterfaces] == [
        ("supervisor", "supervisor.rpcinterface:make_main_rpcinterface", ()),
        ("twiddler", "twiddler:make", (("level", "3"),)),
    ]
    assert [(c.name, c.factory) for c in config.ctlplugins] == [("extra", "extra:make")]
    text = "\n".join(str(w) for w in config.warnings)
    assert "twiddler:make is not loaded" in text
    assert "names no supervisor.ctl_factory" in text
    with pytest.raises(ConfigError, match="rpcinterface_factory"):
        read("[rpcinterface:x]\nfoo=1\n")


def test_unknown_options_suggest_the_close_one(read: Reader) -> None:
    """A misspelt option is a warning with 'did you mean'; an unrelated one without."""
    config = read("[program:w]\ncommand=x\nautorestar=true\nflavour=mint\n")
    text = [str(w) for w in config.warnings]
    assert any("'autorestar' is ignored; did you mean autorestart?" in w for w in text)
    assert any("'flavour' is ignored" in w and "did you mean" not in w for w in text)
    assert any(":3 [program:w]" in w for w in text)


def test_unknown_sections_warn(read: Reader) -> None:
    """Supervisor ignores [programs:x]; we warn and suggest [program:x]."""
    config = read("[programs:w]\ncommand=x\n[zzz]\n")
    text = [str(w) for w in config.warnings]
    assert any("[programs:w] is ignored; did you mean [program:w]?" in w for w in text)
    assert any("[zzz] is ignored" in w for w in text)
    assert config.groups == ()


def test_a_section_or_option_written_twice_in_one_file_warns(read: Reader) -> None:
    """A copied [program:x] block left unrenamed merges into the first, as in Supervisor
    (the later command wins); we say where, and that only the later value counts."""
    config = read("[program:a]\ncommand=one\n[program:a]\ncommand=two\n"
                  "[supervisord]\nlogfile=/x\nlogfile=/y\n[DEFAULT]\nhome=/a\nhome=/b\n",
                  files={"/bin/two": ""})
    assert [p.command for g in config.groups for p in g.processes] == ["two"]
    assert config.supervisord.logfile == "/y"
    text = [str(w) for w in config.warnings]
    assert any(":3 [program:a]" in w and "[program:a] appears again in this file (first at "
               "line 1)" in w for w in text)
    assert any(":4 [program:a]" in w and "option 'command' is set again in [program:a] "
               "(first at line 2); only the later value counts" in w for w in text)
    assert any(":7 [supervisord]" in w and "'logfile' is set again" in w for w in text)
    assert any(":10 [DEFAULT]" in w and "'home' is set again" in w for w in text)
    assert len(text) == 4


def test_a_section_continued_in_an_included_file_does_not_warn(
    make_host: Callable[..., Host],
) -> None:
    """Overriding a section from conf.d is how includes are meant to be used."""
    host = make_host({
        "/etc/app/supervisord.conf": "[include]\nfiles=conf.d/*.conf\n[program:a]\ncommand=one\n",
        "/etc/app/conf.d/a.conf": "[program:a]\ncommand=two\n",
        "/bin/two": "",
    })
    config = load("/etc/app/supervisord.conf", host=host)
    assert [p.command for g in config.groups for p in g.processes] == ["two"]
    assert config.warnings == ()


@pytest.mark.parametrize(
    ("config", "files", "missing"),
    [
        ("[program:a]\ncommand=/opt/app/run --fast\n", {},
         "the program /opt/app/run does not exist"),
        ("[program:a]\ncommand=/opt/app/run\n", {"/opt/app/run": ""}, None),
        ("[program:a]\ncommand=php artisan\n", {}, "no program 'php' in any directory"),
        ("[program:a]\ncommand=php artisan\n", {"/bin/php": ""}, None),
        # the program's own PATH, then [supervisord]'s, then the daemon's (here PATH=/bin)
        ("[program:a]\ncommand=php\nenvironment=PATH=/opt/php\n", {"/bin/php": ""},
         "no program 'php'"),
        ("[program:a]\ncommand=php\nenvironment=PATH=/opt/php\n", {"/opt/php/php": ""}, None),
        ("[supervisord]\nenvironment=PATH=/opt/php\n[program:a]\ncommand=php\n",
         {"/opt/php/php": ""}, None),
        # where only spawning can tell: a relative path, a relative PATH entry
        ("[program:a]\ncommand=bin/run\n", {}, None),
        ("[program:a]\ncommand=php\nenvironment=PATH=vendor/bin:/usr/bin\n", {}, None),
    ],
)
def test_a_command_that_cannot_be_found_warns(
    read: Reader, config: str, files: dict[str, str], missing: str | None
) -> None:
    """Supervisor says "can't find command" only when it spawns; --check says it first."""
    text = [str(w) for w in read(config, files=files).warnings if "FATAL" in str(w)]
    if missing is None:
        assert text == []
    else:
        assert len(text) == 1
        assert missing in text[0]
        assert text[0].startswith("/etc/app/supervisord.conf:")


def test_options_of_every_section_are_checked(read: Reader) -> None:
    """Typos in daemon-wide sections are caught too."""
    config = read(
        "[supervisord]\nlogfil=/x\n[unix_http_server]\nfile=/tmp/s\nchmood=1\n"
        "[group:g]\nprogram=a\n"
    )
    text = "\n".join(str(w) for w in config.warnings)
    assert "did you mean logfile?" in text
    assert "did you mean chmod?" in text
    assert "did you mean programs?" in text


def test_default_control_socket_places() -> None:
    """The default socket: /run/capataz as root, XDG_RUNTIME_DIR, else a per-uid temp dir."""
    assert default_control_socket({}, 0, "/tmp") == "/run/capataz/capatazd.sock"
    assert (
        default_control_socket({"XDG_RUNTIME_DIR": "/run/user/7"}, 7, "/tmp")
        == "/run/user/7/capataz/capatazd.sock"
    )
    assert (
        default_control_socket({"XDG_RUNTIME_DIR": "rel"}, 7, "/t") == "/t/capataz-7/capatazd.sock"
    )
    assert default_control_socket().endswith("/capatazd.sock")


def test_state_dir_honours_xdg_state_home(read: Reader) -> None:
    """XDG_STATE_HOME, when absolute, holds the daemon log of a snippet file."""
    config = read("[program:w]\ncommand=x\n", environ={"XDG_STATE_HOME": "/state"})
    assert config.supervisord.logfile == "/state/capataz/capatazd.log"


def test_second_unix_server_and_unknown_chown_user(read: Reader) -> None:
    """Only the first UNIX socket is served (warned); an unknown chown user warns."""
    config = read(
        "[unix_http_server]\nfile=/tmp/a.sock\nchown=ghost\n[unix_http_server:b]\nfile=/tmp/b.sock\n"
    )
    assert config.control_socket() == "/tmp/a.sock"
    text = "\n".join(str(w) for w in config.warnings)
    assert "serves only the first UNIX socket" in text
    assert "user 'ghost' does not exist" in text


def test_fcgi_program_inside_a_group_warns(read: Reader) -> None:
    """A grouped FastCGI program loses its socket in Supervisor; we say so."""
    config = read(
        "[group:g]\nprograms=f\n[fcgi-program:f]\ncommand=x\nsocket=tcp://localhost:9000\n"
    )
    assert config.groups[0].kind.value == "program"
    assert any("without their socket" in str(w) for w in config.warnings)
