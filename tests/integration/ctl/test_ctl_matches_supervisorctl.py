"""capatazctl prints what supervisorctl prints and exits as it exits.

Both tools drive the same real supervisord in the same state; output is
compared after normalizing pids, uptimes, dates and file/line references.
"""

from __future__ import annotations

import time

import pytest
from tests.daemon_harness import BIN, Daemon, normalize

READ_ONLY = [
    ("status",),
    ("status", "sleeper"),
    ("status", "grp:*"),
    ("status", "grp:"),
    ("status", "all"),
    ("status", "nosuch", "grp:a", "zz:*"),
    ("status", "grp:nope"),
    ("status", "once"),
    ("avail",),
    ("avail", "extra"),
    ("pid",),
    ("pid", "sleeper"),
    ("pid", "once"),
    ("pid", "nosuch"),
    ("pid", "all"),
    ("tail", "grp:b"),
    ("tail", "grp:b", "stderr"),
    ("tail", "-3", "grp:b"),
    ("tail", "-3", "grp:b", "STDERR"),
    ("tail", "nosuch"),
    ("tail",),
    ("tail", "-f"),
    ("tail", "a", "b", "c", "d"),
    ("tail", "grp:b", "bogus"),
    ("tail", "-x", "grp:b"),
    ("tail", "bad"),
    ("maintail", "x"),
    ("maintail", "-x"),
    ("maintail", "a", "b"),
    ("version",),
    ("version", "extra"),
    ("help",),
    ("help", "help"),
    ("help", "nosuch"),
    ("reread",),
    ("reread", "extra"),
    ("update", "nosuch"),
    ("foo", "bar"),
    ("start",),
    ("stop",),
    ("restart",),
    ("signal",),
    ("signal", "HUP"),
    ("clear",),
    ("fg",),
    ("fg", "a", "b"),
    ("fg", "nosuch"),
    ("fg", "once"),
    ("start", "nosuch"),
    ("start", "zz:*"),
    ("start", "bad"),
    ("start", "sleeper"),
    ("start", "grp:*"),
    ("stop", "once"),
    ("stop", "nosuch"),
    ("stop", "zz:*"),
    ("signal", "FOO", "sleeper"),
    ("signal", "HUP", "once"),
    ("signal", "HUP", "zz:*"),
    ("signal", "HUP", "grp:nope"),
    ("signal", "CONT", "sleeper"),
    ("signal", "CONT", "grp:*"),
    ("signal", "CONT", "all"),
    ("remove", "nosuch"),
    ("remove", "sleeper"),
    ("add", "sleeper"),
    ("add", "nosuch"),
    ("shutdown", "extra"),
    ("reload", "extra"),
    ("open", "ftp://example.com"),
    ("clear", "nosuch"),
    ("clear", "grp:*"),
    ("clear", "grp:b"),
    ("clear", "all"),
]

COMMANDS = (
    "add", "avail", "clear", "exit", "fg", "maintail", "open", "pid", "quit", "reload",
    "remove", "reread", "restart", "shutdown", "signal", "start", "status", "stop", "tail",
    "update", "version", "EOF",
)


@pytest.mark.parametrize("args", READ_ONLY, ids=" ".join)
def test_same_output_and_exit_code(oracle: Daemon, args: tuple[str, ...]) -> None:
    """For a command that leaves the state as it found it, both tools agree exactly."""
    assert oracle.capatazctl(*args) == oracle.supervisorctl(*args)


def test_every_command_has_the_same_help(oracle: Daemon) -> None:
    """``help <command>`` prints supervisorctl's text for every command (one shell each)."""
    import subprocess

    script = "".join(f"help {command}\n" for command in COMMANDS)
    outputs = []
    for tool in ("capatazctl", "supervisorctl"):
        done = subprocess.run([str(BIN / tool), "-c", str(oracle.config)], input=script,
                              capture_output=True, text=True, timeout=60, check=False)
        outputs.append(done.stdout.split("supervisor> ", 1)[1])  # after the first status
    ours, theirs = outputs
    extra = "status --json [...]\tThe same, as a JSON array of process info\n"
    assert extra in ours  # ours documents one more line: status --json
    assert ours.replace(extra, "") == theirs


def test_maintail_reads_the_main_log(oracle: Daemon) -> None:
    """``maintail -N`` prints the end of supervisord's own log."""
    output, code = oracle.capatazctl("maintail", "-200")
    assert code == 0
    assert "INFO" in output


@pytest.mark.parametrize(
    ("command", "restore"),
    [
        (("stop", "sleeper"), ("start", "sleeper")),
        (("stop", "grp:*"), ("start", "grp:*")),
        (("stop", "grp:a", "sleeper"), ("start", "grp:a", "sleeper")),
        (("stop", "all"), ("start", "sleeper", "grp:*")),
        (("start", "once"), ("stop", "once")),
        (("start", "crash"), ()),
        (("remove", "once"), ("add", "once")),
    ],
    ids=" ".join,
)
def test_state_changes_report_the_same(
    oracle: Daemon, command: tuple[str, ...], restore: tuple[str, ...]
) -> None:
    """A command that changes state prints the same lines from the same starting state.

    (supervisord lists a group's results as its processes finish, in no set order.)
    """
    ours = oracle.capatazctl(*command)
    if restore:
        oracle.supervisorctl(*restore)
    theirs = oracle.supervisorctl(*command)
    if restore:
        oracle.supervisorctl(*restore)
    assert sorted(ours[0].splitlines()) == sorted(theirs[0].splitlines())
    assert ours[1] == theirs[1]


@pytest.mark.parametrize("names", [("sleeper",), ("grp:*",), ("all",), ("bad", "zz:*")])
def test_restart_prints_the_same_lines(oracle: Daemon, names: tuple[str, ...]) -> None:
    """restart reports the same lines (ours in the order they happen) and exit code."""
    ours_text, ours_code = oracle.capatazctl("restart", *names)
    theirs_text, theirs_code = oracle.supervisorctl("restart", *names)
    theirs_lines = theirs_text.splitlines()
    ours_lines = ours_text.splitlines()
    if names == ("bad", "zz:*"):  # ours says "no such group" once, not once per pass
        theirs_lines.remove("zz: ERROR (no such group)")
    if names == ("all",):
        # `once` runs `true` with startsecs=0: whether it is seen RUNNING before it exits
        # is a race inside supervisord ("started" or "abnormal termination"), for both.
        ours_lines = [line for line in ours_lines if not line.startswith("once:")]
        theirs_lines = [line for line in theirs_lines if not line.startswith("once:")]
    assert sorted(ours_lines) == sorted(theirs_lines)
    assert ours_code == theirs_code


def test_interactive_shell_runs_status_first_then_reads_commands(oracle: Daemon) -> None:
    """Without a command the shell starts, shows status, and reads commands from stdin."""
    import subprocess

    script = "help\nstatus sleeper\nfoo\nstop nosuch\n\nexit\n"
    # Both shells print the status of every process: `once`, started by an earlier test,
    # must not end its half second of life between the two.
    deadline = time.monotonic() + 10
    while "RUNNING" in oracle.supervisorctl("status", "once")[0]:
        assert time.monotonic() < deadline, "`once` is still running after 10 s"
        time.sleep(0.1)
    outputs = []
    for tool in ("capatazctl", "supervisorctl"):
        done = subprocess.run(
            [str(BIN / tool), "-c", str(oracle.config)], input=script, capture_output=True,
            text=True, timeout=60, check=False,
        )
        outputs.append((normalize(done.stdout), done.returncode))
    assert outputs[0] == outputs[1]
    assert outputs[0][1] == 0


@pytest.mark.parametrize(
    "url_args",
    [
        ("-s", "unix:///nonexistent/supervisor.sock"),
        ("-s", "http://127.0.0.1:1"),
    ],
)
@pytest.mark.parametrize("command", [("status",), ("stop", "all"), ("version",), ("pid",)])
def test_no_server_gives_the_same_message_and_code(
    oracle: Daemon, url_args: tuple[str, ...], command: tuple[str, ...]
) -> None:
    """An absent server: "no such file" or "refused connection", and supervisorctl's codes."""
    assert oracle.capatazctl(*url_args, *command) == oracle.supervisorctl(*url_args, *command)


def test_tcp_with_the_password_works(oracle: Daemon) -> None:
    """Over TCP with the right user and password, status is the same as over the socket."""
    creds = ("-s", oracle.http_url, "-u", "admin", "-p", "s3cret")
    assert oracle.capatazctl(*creds, "status") == oracle.supervisorctl(*creds, "status")
    assert oracle.capatazctl(*creds, "status")[0] == oracle.capatazctl("status")[0]


@pytest.mark.parametrize("creds", [(), ("-u", "admin", "-p", "wrong")], ids=["none", "wrong"])
def test_tcp_without_the_right_password_is_refused(
    oracle: Daemon, creds: tuple[str, ...]
) -> None:
    """No or a wrong password: "Server requires authentication", exit 1 (no traceback line)."""
    ours, code = oracle.capatazctl("-s", oracle.http_url, *creds, "status")
    theirs, their_code = oracle.supervisorctl("-s", oracle.http_url, *creds, "status")
    assert ours == "Server requires authentication\n"
    assert theirs.startswith(ours)  # theirs adds a line about its own exception
    assert code == their_code == 1


@pytest.mark.parametrize(
    "args",
    [("-x",), ("-s", "foo", "status"), ("-c", "/nonexistent.conf", "status"),
     ("-s", "http://a", "-s", "http://b", "status")],
)
def test_bad_command_lines_exit_2(oracle: Daemon, args: tuple[str, ...]) -> None:
    """Bad flags and missing config files: supervisorctl's message and exit code 2."""
    import subprocess

    results = []
    for tool in ("capatazctl", "supervisorctl"):
        done = subprocess.run([str(BIN / tool), *args], capture_output=True, text=True,
                              timeout=60, check=False)
        results.append((normalize(done.stderr), done.returncode))
    assert results[0] == results[1]
    assert results[0][1] == 2
