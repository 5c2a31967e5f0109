"""[program:x] and friends: every option's default, syntax, expansions and process list."""

from __future__ import annotations

import re
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from capataz.config import AUTO, AutoRestart, Config, ConfigError, GroupKind, load, values
from capataz.config.options import PROCESS_OPTIONS, OptionSpec, Scope

Reader = Callable[..., Config]

SEED = Path(__file__).parents[3] / "examples" / "seed-supervisor.conf"


def test_seed_reads_as_eight_workers() -> None:
    """The seed's block gives laravel-worker_00..07 with every documented value."""
    config = load(str(SEED), environ={})
    processes = config.processes()
    assert [p.name for p in processes] == [f"laravel-worker_{n:02d}" for n in range(8)]
    for number, process in enumerate(processes):
        assert process.group_name == "laravel-worker"
        assert process.process_num == number
        assert process.command == "php /var/www/html/artisan queue:work --sleep=3 --tries=3"
        assert process.autostart is True
        assert process.autorestart is AutoRestart.ALWAYS
        assert process.stopasgroup is True
        assert process.killasgroup is True
        assert process.user == "root"
        assert process.numprocs == 8
        assert process.redirect_stderr is True
        assert process.stdout.logfile == "/var/www/html/storage/logs/supervisor.log"
        assert process.stderr.logfile is None
        assert process.stopwaitsecs == 3600
    assert any("user=root" in str(w) and "www-data" in str(w) for w in config.warnings)


def test_defaults_are_supervisors(read: Reader) -> None:
    """An option that is not written has Supervisor's default."""
    process = read("[program:web]\ncommand=/bin/web\n").processes()[0]
    assert (process.name, process.group_name, process.priority) == ("web", "web", 999)
    assert process.autostart is True
    assert process.autorestart is AutoRestart.UNEXPECTED
    assert (process.startsecs, process.startretries, process.exitcodes) == (1, 3, (0,))
    assert (process.stopsignal, process.stopwaitsecs) == (signal.SIGTERM, 10)
    assert (process.stopasgroup, process.killasgroup) == (False, False)
    assert (process.user, process.directory, process.umask) == (None, None, None)
    assert process.redirect_stderr is False
    for channel in (process.stdout, process.stderr):
        assert channel.logfile is AUTO
        assert (channel.maxbytes, channel.backups) == (50 * 1024 * 1024, 10)
        assert (channel.capture_maxbytes, channel.events_enabled, channel.syslog) == (
            0,
            False,
            False,
        )
    assert process.environment == ()
    assert process.serverurl is AUTO


def test_every_option_written(read: Reader) -> None:
    """Every option's written value reaches the process."""
    process = read(
        "[program:web]\ncommand=/bin/web --port 80\npriority=5\nautostart=no\n"
        "autorestart=false\nstartsecs=0\nstartretries=7\nexitcodes=0,3\nstopsignal=QUIT\n"
        "stopwaitsecs=30\nkillasgroup=true\nuser=www-data\ndirectory=/srv/web\numask=002\n"
        "stdout_logfile=/var/log/web.out\nstdout_logfile_maxbytes=1KB\n"
        "stdout_logfile_backups=2\nstdout_capture_maxbytes=1MB\nstdout_events_enabled=true\n"
        "stdout_syslog=true\nstderr_logfile=NONE\nstderr_logfile_maxbytes=0\n"
        'stderr_logfile_backups=0\nenvironment=A=1,B="two words"\n'
        "serverurl=http://127.0.0.1:9001\n"
    ).processes()[0]
    assert process.command == "/bin/web --port 80"
    assert (process.priority, process.autostart, process.autorestart) == (
        5,
        False,
        AutoRestart.NEVER,
    )
    assert (process.startsecs, process.startretries, process.exitcodes) == (0, 7, (0, 3))
    assert (process.stopsignal, process.stopwaitsecs) == (signal.SIGQUIT, 30)
    assert (process.stopasgroup, process.killasgroup) == (False, True)
    assert (process.user, process.directory, process.umask) == ("www-data", "/srv/web", 0o2)
    assert process.stdout.logfile == "/var/log/web.out"
    assert (process.stdout.maxbytes, process.stdout.backups) == (1024, 2)
    assert (process.stdout.capture_maxbytes, process.stdout.events_enabled) == (1024**2, True)
    assert process.stdout.syslog is True
    assert (process.stderr.logfile, process.stderr.maxbytes, process.stderr.backups) == (None, 0, 0)
    assert process.environment == (("A", "1"), ("B", "two words"))
    assert process.serverurl == "http://127.0.0.1:9001"


def test_numprocs_names_and_order(read: Reader) -> None:
    """numprocs/numprocs_start give one process per number, sorted by name as Supervisor does."""
    config = read(
        "[program:w]\ncommand=run %(process_num)d of %(numprocs)d\nnumprocs=3\n"
        "numprocs_start=9\nprocess_name=%(program_name)s-%(process_num)d\n"
    )
    processes = config.processes()
    assert [p.name for p in processes] == ["w-10", "w-11", "w-9"]
    assert [p.command for p in processes] == ["run 10 of 3", "run 11 of 3", "run 9 of 3"]


def test_numprocs_needs_process_num(read: Reader) -> None:
    """numprocs > 1 without %(process_num) in process_name is an error pointing at the fix."""
    with pytest.raises(ConfigError) as caught:
        read("[program:w]\ncommand=x\nnumprocs=2\n")
    assert caught.value.option == "process_name"
    assert "%(process_num)" in caught.value.message


def test_numprocs_zero_gives_an_empty_group(read: Reader) -> None:
    """numprocs=0 is accepted and gives a group without processes, as in Supervisor."""
    config = read("[program:w]\ncommand=x\nnumprocs=0\n")
    assert config.groups[0].processes == ()


def test_stopasgroup_implies_killasgroup(read: Reader) -> None:
    """stopasgroup=true makes killasgroup default to true; setting it false is an error."""
    assert read("[program:w]\ncommand=x\nstopasgroup=true\n").processes()[0].killasgroup
    with pytest.raises(ConfigError, match="killasgroup=true"):
        read("[program:w]\ncommand=x\nstopasgroup=true\nkillasgroup=false\n")


def test_missing_command(read: Reader) -> None:
    """A program without command= is an error naming the section."""
    with pytest.raises(ConfigError) as caught:
        read("[supervisord]\n[program:w]\nautostart=true\n")
    assert (caught.value.section, caught.value.option) == ("program:w", "command")


@pytest.mark.parametrize(
    ("line", "option"),
    [
        ("priority=high", "priority"),
        ("autostart=maybe", "autostart"),
        ("stopsignal=NOPE", "stopsignal"),
        ("exitcodes=300", "exitcodes"),
        ("umask=9", "umask"),
        ("stdout_logfile_maxbytes=1TB", "stdout_logfile_maxbytes"),
        ("environment=A=a@b", "environment"),
        ("autorestart=maybe", "autorestart"),
    ],
)
def test_bad_values_name_the_place(read: Reader, line: str, option: str) -> None:
    """A bad value is one error with file, line, section, option, the value and what is expected."""
    with pytest.raises(ConfigError) as caught:
        read(f"[program:w]\ncommand=x\n{line}\n")
    error = caught.value
    assert (error.file, error.line, error.section, error.option) == (
        "/etc/app/supervisord.conf",
        3,
        "program:w",
        option,
    )
    assert error.found == line.split("=", 1)[1]
    assert error.expected
    assert error.message.startswith("/etc/app/supervisord.conf:3 [program:w] " + option)


def test_expansion_names_per_option(read: Reader) -> None:
    """Per-process options see process_num; options read once per section do not."""
    config = read(
        "[program:w]\ncommand=%(here)s/run %(host_node_name)s %(group_name)s %(ENV_HOME)s\n"
        "directory=/srv/%(process_num)d\nstdout_logfile=/var/log/%(program_name)s-%(process_num)d\n"
    )
    process = config.processes()[0]
    assert process.command == "/etc/app/run testhost w /home/ana"
    assert process.directory == "/srv/0"
    assert process.stdout.logfile == "/var/log/w-0"
    with pytest.raises(ConfigError, match="process_num"):
        read("[program:w]\ncommand=x\npriority=%(process_num)d\n")


def test_program_environment_feeds_later_options(read: Reader) -> None:
    """The program's own environment is visible as ENV_* in command, directory and logs."""
    process = read(
        "[program:w]\nenvironment=APP=/opt/app,N=%(process_num)d\n"
        "command=%(ENV_APP)s/bin/run\ndirectory=%(ENV_APP)s\n"
    ).processes()[0]
    assert process.command == "/opt/app/bin/run"
    assert process.directory == "/opt/app"
    assert process.environment == (("APP", "/opt/app"), ("N", "0"))


def test_logfile_is_expanded_twice(read: Reader) -> None:
    """Supervisor expands std*_logfile twice, so a literal % needs %%%%."""
    process = read("[program:w]\ncommand=x\nstdout_logfile=/var/log/100%%%%.log\n").processes()[0]
    assert process.stdout.logfile == "/var/log/100%.log"
    with pytest.raises(ConfigError):
        read("[program:w]\ncommand=x\nstdout_logfile=/var/log/100%%.log\n")


def test_log_warnings(read: Reader) -> None:
    """AUTO without rotation, syslog as a file name and a redirected stderr_logfile warn."""
    config = read(
        "[program:w]\ncommand=x\nstdout_logfile_maxbytes=0\nredirect_stderr=true\n"
        "stderr_logfile=/var/log/err\n[program:v]\ncommand=y\nstdout_logfile=syslog\n"
    )
    text = "\n".join(str(w) for w in config.warnings)
    assert "never rotated" in text
    assert "stderr_logfile is ignored" in text
    assert "stdout_syslog=true" in text
    by_name = {p.name: p for p in config.processes()}
    assert by_name["w"].stderr.logfile is None
    assert (by_name["v"].stdout.logfile, by_name["v"].stdout.syslog) == (None, True)


def test_host_facts_are_warnings(read: Reader) -> None:
    """An unknown user or a missing log directory warns instead of failing."""
    config = read(
        "[program:w]\ncommand=x\nuser=ghost\nstdout_logfile=/nowhere/w.log\n",
        missing_dirs=("/nowhere",),
    )
    text = "\n".join(str(w) for w in config.warnings)
    assert "user 'ghost' does not exist" in text
    assert "/nowhere does not exist" in text


def test_logfile_tilde_uses_home(read: Reader) -> None:
    """~ in a log path is the HOME of the environment."""
    process = read("[program:w]\ncommand=x\nstdout_logfile=~/w.log\n").processes()[0]
    assert process.stdout.logfile == "/home/ana/w.log"


def test_invalid_program_name(read: Reader) -> None:
    """A section name with a space, ':' or '/' is an error."""
    with pytest.raises(ConfigError, match="without spaces"):
        read("[program:a/b]\ncommand=x\n")


def test_group_section_regroups(read: Reader) -> None:
    """[group:x] takes its programs out of their own groups and into x, with x's priority."""
    config = read(
        "[group:site]\nprograms=web,worker\npriority=10\n"
        "[program:web]\ncommand=w\npriority=3\n[program:worker]\ncommand=q %(group_name)s\n"
        "[program:other]\ncommand=o\n"
    )
    assert [g.name for g in config.groups] == ["site", "other"]
    site = config.group("site")
    assert site is not None
    assert site.priority == 10
    assert [(p.name, p.group_name, p.priority) for p in site.processes] == [
        ("web", "site", 3),
        ("worker", "site", 999),
    ]
    assert site.processes[1].command == "q site"


def test_group_errors_and_warnings(read: Reader) -> None:
    """A group naming an unknown program fails; one with no programs warns."""
    with pytest.raises(ConfigError, match="no \\[program:nope\\]"):
        read("[group:g]\nprograms=nope\n")
    config = read("[group:g]\n[program:a]\ncommand=x\n")
    assert any("no processes" in str(w) for w in config.warnings)
    with pytest.raises(ConfigError, match="both a program and an fcgi-program"):
        read(
            "[group:g]\nprograms=a\n[program:a]\ncommand=x\n"
            "[fcgi-program:a]\ncommand=x\nsocket=tcp://localhost:9000\n"
        )


def test_eventlistener(read: Reader) -> None:
    """An event listener pool has priority -1, its events and its buffer."""
    config = read(
        "[eventlistener:mon]\ncommand=watch\nevents=process_state, TICK_60\nbuffer_size=5\n"
    )
    group = config.groups[0]
    assert (group.kind, group.priority) == (GroupKind.EVENTLISTENER, -1)
    assert group.eventlistener is not None
    assert group.eventlistener.events == ("PROCESS_STATE", "TICK_60")
    assert group.eventlistener.buffer_size == 5
    assert group.processes[0].priority == 999


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("events=NOT_AN_EVENT", "unknown event"),
        ("command=x", "which events"),
        ("events=TICK_5\nbuffer_size=0", "at least one"),
        ("events=TICK_5\nredirect_stderr=true", "stderr cannot"),
    ],
)
def test_eventlistener_errors(read: Reader, body: str, match: str) -> None:
    """Listeners need known events, a positive buffer and their own stderr."""
    with pytest.raises(ConfigError, match=match):
        read(f"[eventlistener:mon]\ncommand=w\n{body}\n")


def test_fcgi_program(read: Reader) -> None:
    """A FastCGI program's socket is normalised; owner and mode only apply to UNIX sockets."""
    config = read(
        "[fcgi-program:php]\ncommand=php-cgi\nsocket=unix:///run/%(program_name)s/../php.sock\n"
        "socket_owner=www-data:www-data\nsocket_mode=0660\nsocket_backlog=64\n"
        "[fcgi-program:py]\ncommand=app\nsocket=tcp://LOCALHOST:9000\n"
    )
    php, py = config.group("php"), config.group("py")
    assert php is not None
    assert py is not None
    assert php.fcgi is not None
    assert py.fcgi is not None
    assert (php.fcgi.socket, php.fcgi.socket_owner, php.fcgi.socket_mode) == (
        "unix:///run/php.sock",
        "www-data:www-data",
        0o660,
    )
    assert php.fcgi.socket_backlog == 64
    assert not any("socket_owner" in str(w) for w in config.warnings)
    assert (py.fcgi.socket, py.fcgi.socket_mode, py.kind) == (
        "tcp://localhost:9000",
        0o700,
        GroupKind.FCGI_PROGRAM,
    )


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("", "needs the socket"),
        ("socket=unix://relative.sock", "not absolute"),
        ("socket=tcp://h:9000\nsocket_mode=0600", "only to a UNIX socket"),
        ("socket=udp://h:1", "can bind"),
        ("socket=tcp://h:1\nsocket_backlog=0", "out of range"),
    ],
)
def test_fcgi_errors(read: Reader, body: str, match: str) -> None:
    """The socket is required and must be tcp://host:port or unix:///absolute."""
    with pytest.raises(ConfigError, match=match):
        read(f"[fcgi-program:f]\ncommand=x\n{body}\n")


def test_option_table_is_the_one_source() -> None:
    """Every process option appears once in the table, with a scope and a converter."""
    names = [spec.name for spec in PROCESS_OPTIONS]
    assert len(names) == len(set(names))
    assert {spec.scope for spec in PROCESS_OPTIONS} == set(Scope)
    for spec in PROCESS_OPTIONS:
        if spec.default is not None and spec.name != "process_name":
            spec.convert(spec.default)


def test_run_time_failures_are_warned(read: Reader) -> None:
    """An unclosed quote (often a ' ;' read as a comment), an empty command, a rotated
    /dev/stdout, and duplicate names are warnings: Supervisor accepts them, then fails."""
    config = read(
        "[program:cut]\ncommand=bash -c 'sleep 1 ; echo done'\n"
        "[program:empty]\ncommand=\n"
        "[program:dev]\ncommand=x\nstdout_logfile=/dev/stdout\n"
        "[program:same]\ncommand=x\n[eventlistener:same]\ncommand=x\nevents=TICK_5\n"
    )
    text = "\n".join(str(w) for w in config.warnings)
    assert "unclosed quote" in text
    assert '"; echo done\'" was read as a comment' in text
    assert "command is empty" in text
    assert "stdout_logfile_maxbytes=0" in text
    assert "two process groups are named 'same'" in text


def test_duplicate_process_names_in_a_group(read: Reader) -> None:
    """Two programs of one [group:x] with the same process name are warned about."""
    config = read(
        "[group:g]\nprograms=a,b\n[program:a]\ncommand=x\nprocess_name=worker\n"
        "[program:b]\ncommand=y\nprocess_name=worker\n"
    )
    assert any("two processes of group 'g' are named 'worker'" in str(w) for w in config.warnings)


def test_expanded_names_that_cannot_be_addressed(read: Reader) -> None:
    """A process name that expands to nothing or to a ':' is accepted, with a warning."""
    config = read(
        "[program:a]\ncommand=x\nprocess_name=%(ENV_EMPTY)s\n"
        "[program:b]\ncommand=x\nprocess_name=%(ENV_COLON)s\n",
        environ={"EMPTY": "", "COLON": "b:1"},
    )
    assert sorted(p.name for p in config.processes()) == ["", "b:1"]
    assert sum("supervisorctl cannot name it" in str(w) for w in config.warnings) == 2


def test_documented_options_match_the_table() -> None:
    """docs/configuration.md lists every option of the table, and no other."""
    docs = (Path(__file__).parents[3] / "docs" / "configuration.md").read_text(encoding="utf-8")
    section = docs.split("## Process options", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    documented = {name for row in rows for name in re.findall(r"`([a-z_]+)`", row.split("|")[1])}
    assert documented == {spec.name for spec in PROCESS_OPTIONS}


def test_fcgi_socket_owner_unknown_user_warns(read: Reader) -> None:
    """A socket_owner naming no user of this machine is a warning."""
    config = read(
        "[fcgi-program:f]\ncommand=x\nsocket=unix:///run/f.sock\nsocket_owner=ghost:web\n"
    )
    assert any("socket_owner: user 'ghost'" in str(w) for w in config.warnings)


_NUMERIC = [
    spec
    for spec in PROCESS_OPTIONS
    if spec.convert in (values.integer, values.byte_size) and spec.scope is not Scope.GROUP
]


@pytest.mark.parametrize("spec", _NUMERIC, ids=[spec.name for spec in _NUMERIC])
def test_process_num_only_where_the_table_allows_it(read: Reader, spec: OptionSpec) -> None:
    """%(process_num)d works in per-process options and is refused in per-section ones."""
    text = f"[program:w]\ncommand=x\n{spec.name}=%(process_num)d\n"
    if spec.scope is Scope.PROCESS:
        read(text)
        return
    with pytest.raises(ConfigError) as caught:
        read(text)
    assert caught.value.option == spec.name
    assert "%(process_num)s is not one of them" in str(caught.value.expected)


@pytest.mark.parametrize(
    "name", ["here", "program_name", "group_name", "host_node_name", "ENV_HOME"]
)
def test_section_names_work_everywhere_in_a_program(read: Reader, name: str) -> None:
    """The names every program option may use expand in a once-per-section option too."""
    config = read(f"[program:w]\ncommand=x\nuser=%({name})s\n", users=())
    assert config.processes()[0].user in ("/etc/app", "w", "testhost", "/home/ana")
