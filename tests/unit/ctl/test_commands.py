"""Each capatazctl command's text and exit code, against the dispatcher in process."""

from __future__ import annotations

import json

import pytest

from capataz.control.errors import RpcFault
from capataz.control.protocol import Fault
from capataz.control.testing import group_config

from .conftest import Ctl

RUNNING_LINE = "solo                             RUNNING   pid 7, uptime 0:16:40\n"


def test_status_all_and_exit_3_when_one_is_stopped(ctl: Ctl) -> None:
    """status lists every process; a stopped one makes the exit code 3."""
    text, code = ctl.run("status")
    assert text.splitlines()[2] == "idle                             STOPPED   Not started"
    assert code == 3
    assert ctl.run("status solo") == (RUNNING_LINE, 0)


def test_status_names_groups_and_errors(ctl: Ctl) -> None:
    """Bad names and groups print an error line first and exit 4."""
    text, code = ctl.run("status nosuch zz:* grp:*")
    assert text.splitlines()[:2] == ["nosuch: ERROR (no such process)", "zz: ERROR (no such group)"]
    assert len(text.splitlines()) == 4
    assert code == 4


def test_status_json(ctl: Ctl, capsys: pytest.CaptureFixture[str]) -> None:
    """status --json prints getProcessInfo structs; errors go to stderr; same exit codes."""
    text, code = ctl.run("status --json solo nosuch")
    infos = json.loads(text)
    assert [i["name"] for i in infos] == ["solo"]
    assert infos[0]["description"] == "pid 7, uptime 0:16:40"
    assert code == 4
    assert "nosuch: ERROR (no such process)" in capsys.readouterr().err


def test_status_with_a_long_name_widens_the_column(ctl: Ctl) -> None:
    """Names longer than 30 characters widen the column to the longest + 3."""
    long = "x" * 40
    ctl.backend.configured.append(group_config(long, [long]))
    ctl.backend.add_group(long)
    line = ctl.run(f"status {long}")[0]
    assert line == f"{long}   STOPPED   Not started\n"


def test_start_paths(ctl: Ctl) -> None:
    """start: started, already started (exit 0), bad name (1), bad group (2), spawn error (7)."""
    assert ctl.run("start idle") == ("idle: started\n", 0)
    assert ctl.run("start idle") == ("idle: ERROR (already started)\n", 0)
    assert ctl.run("start nosuch") == ("nosuch: ERROR (no such process)\n", 1)
    assert ctl.run("start zz:*") == ("zz: ERROR (no such group)\n", 2)
    ctl.backend.proc("idle").state = 0
    ctl.backend.proc("idle").outcome = "spawn_error"
    assert ctl.run("start idle") == ("idle: ERROR (spawn error)\n", 7)
    ctl.backend.proc("idle").state, ctl.backend.proc("idle").outcome = 0, "abnormal"
    assert ctl.run("start idle") == ("idle: ERROR (abnormal termination)\n", 7)
    ctl.backend.proc("idle").state = 0
    ctl.backend.proc("idle").command_fault = RpcFault(Fault.NOT_EXECUTABLE, "x")
    assert ctl.run("start idle") == ("idle: ERROR (file is not executable)\n", 1)
    ctl.backend.proc("idle").command_fault = None
    ctl.backend.proc("idle").state = 1000
    assert ctl.run("start idle") == ("idle: ERROR (FAILED: idle is in an unknown process "
                                     "state)\n", 1)
    text, code = ctl.run("start")
    assert text.startswith("Error: start requires a process name\nstart <name>")
    assert code == 2


def test_start_and_stop_groups_and_all(ctl: Ctl) -> None:
    """Group and all forms report one line per process touched."""
    assert ctl.run("stop grp:*") == ("grp:a: stopped\ngrp:b: stopped\n", 0)
    assert ctl.run("start grp:") == ("grp:a: started\ngrp:b: started\n", 0)
    assert ctl.run("stop all")[0].count("stopped") == 3
    assert ctl.run("start all")[0].count("started") == 4
    assert ctl.run("stop zz:*") == ("zz: ERROR (no such group)\n", 1)


def test_stop_paths(ctl: Ctl) -> None:
    """stop: not running is no failure; a FAILED stop prints the daemon's reason."""
    assert ctl.run("stop idle") == ("idle: ERROR (not running)\n", 0)
    assert ctl.run("stop nosuch") == ("nosuch: ERROR (no such process)\n", 1)
    ctl.backend.proc("solo").stop_fails = "couldn't stop solo"
    assert ctl.run("stop solo") == ("FAILED: couldn't stop solo\n", 1)
    assert ctl.run("stop")[1] == 1


def test_restart_streams_each_process(ctl: Ctl) -> None:
    """restart: each process stops then starts; stopped ones just start; errors reported."""
    assert ctl.run("restart solo") == ("solo: stopped\nsolo: started\n", 0)
    text, code = ctl.run("restart all")
    assert sorted(text.splitlines()) == sorted([
        "grp:a: stopped", "grp:a: started", "grp:b: stopped", "grp:b: started",
        "idle: started", "solo: stopped", "solo: started"])
    assert code == 0
    ctl.backend.proc("idle").state = 0
    assert ctl.run("restart idle") == ("idle: ERROR (not running)\nidle: started\n", 0)
    assert ctl.run("restart nosuch zz:*") == (
        "nosuch: ERROR (no such process)\nzz: ERROR (no such group)\n", 2)
    ctl.backend.proc("solo").stop_fails = "stuck"
    ctl.backend.proc("solo").state = 20
    assert ctl.run("restart solo") == (
        "FAILED: stuck\nsolo: ERROR (already started)\n", 1)
    assert ctl.run("restart")[0].startswith("Error: restart requires a process name")


def test_signal_paths(ctl: Ctl) -> None:
    """signal: per process, group and all; bad signal, not running, no such group."""
    assert ctl.run("signal HUP solo") == ("solo: signalled\n", 0)
    assert ctl.run("signal HUP grp:*") == ("grp:a: signalled\ngrp:b: signalled\n", 0)
    assert ctl.run("signal HUP all")[0].count("signalled") == 3
    assert ctl.run("signal FOO solo") == ("solo: ERROR (bad signal name)\n", 1)
    assert ctl.run("signal HUP idle") == ("idle: ERROR (not running)\n", 7)
    assert ctl.run("signal HUP zz:*") == ("zz: ERROR (no such group)\n", 1)
    assert ctl.run("signal HUP")[0].startswith("Error: signal requires")


def test_pid_paths(ctl: Ctl) -> None:
    """pid: the daemon's, one process's (0 and exit 7 when stopped), every one, unknown."""
    assert ctl.run("pid") == ("4242\n", 0)
    assert ctl.run("pid solo") == ("7\n", 0)
    assert ctl.run("pid idle") == ("0\n", 7)
    assert ctl.run("pid all") == ("7\n7\n0\n7\n", 0)
    assert ctl.run("pid nosuch") == ("No such process nosuch\n", 1)


def test_clear_paths(ctl: Ctl) -> None:
    """clear: one, all, bad names, failures."""
    assert ctl.run("clear solo") == ("solo: cleared\n", 0)
    assert ctl.run("clear nosuch") == ("nosuch: ERROR (no such process)\n", 1)
    assert ctl.run("clear grp:*") == ("grp:None: ERROR (no such process)\n", 1)
    ctl.backend.proc("grp:b").clear_fails = True
    assert ctl.run("clear grp:b") == ("grp:b: ERROR (failed)\n", 1)
    text, code = ctl.run("clear all")
    assert "grp:b: ERROR (failed)" in text
    assert "solo: cleared" in text
    assert code == 1
    assert ctl.run("clear")[0].startswith("Error: clear requires a process name")


def test_tail_and_maintail(ctl: Ctl) -> None:
    """tail and maintail print the end of a log; errors name the problem."""
    assert ctl.run("tail solo") == ("solo says hi\n\n", 0)
    assert ctl.run("tail -3 solo stderr") == ("hi\n\n", 0)
    assert ctl.run("tail nosuch") == ("nosuch: ERROR (no such process name)\n", 1)
    ctl.backend.proc("idle").stdout_logfile = None
    assert ctl.run("tail idle") == ("idle: ERROR (no log file)\n", 1)
    assert ctl.run("tail -x solo") == ("Error: bad argument -x\n", 1)
    assert ctl.run("tail solo both") == ("Error: bad channel 'both'\n", 1)
    assert ctl.run("tail -f") == ("Error: tail requires process name\n", 1)
    assert ctl.run("tail")[0].startswith("Error: too few arguments")
    assert ctl.run("tail a b c d")[0].startswith("Error: too many arguments")
    assert ctl.run("maintail") == ("main log line\n\n", 0)
    assert ctl.run("maintail -5") == ("line\n\n", 0)
    assert ctl.run("maintail x") == ("Error: bad argument x\n", 1)
    assert ctl.run("maintail -x") == ("Error: bad argument -x\n", 1)
    assert ctl.run("maintail a b")[0].startswith("Error: too many arguments")
    ctl.backend.main_log = None
    assert ctl.run("maintail") == ("supervisord: ERROR (no log file)\n", 1)


def test_avail_reread_add_remove(ctl: Ctl) -> None:
    """avail, reread, add and remove as supervisorctl words them."""
    text, code = ctl.run("avail")
    assert text.splitlines()[0] == "grp:a                            in use    auto      999:999"
    assert code == 0
    assert ctl.run("avail x")[0].startswith("Error: avail accepts no arguments")
    assert ctl.run("reread") == ("No config updates to processes\n", 0)
    assert ctl.run("reread x")[1] == 1
    ctl.backend.next_config = [group_config("solo", ["solo"], command="other"),
                               group_config("grp", ["a", "b"]), group_config("new", ["new"])]
    assert ctl.run("reread") == ("idle: disappeared\nnew: available\nsolo: changed\n", 0)
    assert ctl.run("add new") == ("new: added process group\n", 0)
    assert ctl.run("add new") == ("ERROR: process group already active\n", 0)
    assert ctl.run("add zz") == ("ERROR: no such process/group: zz\n", 1)
    assert ctl.run("remove solo") == ("ERROR: process/group still running: solo\n", 1)
    assert ctl.run("remove zz") == ("ERROR: no such process/group: zz\n", 1)
    assert ctl.run("remove idle") == ("idle: removed process group\n", 0)
    ctl.backend.next_config = "bad file"
    assert ctl.run("reread") == ("ERROR: CANT_REREAD: bad file\n", 1)


def test_update(ctl: Ctl) -> None:
    """update: removed stopped and removed, changed restarted, added added; named groups."""
    ctl.backend.next_config = [group_config("solo", ["solo"], command="other"),
                               group_config("grp", ["a", "b"]), group_config("new", ["new"])]
    assert ctl.run("update zz new") == ("ERROR: no such group: zz\nnew: added process group\n",
                                        1)
    text, code = ctl.run("update all")
    assert text == ("idle: stopped\nidle: removed process group\nsolo: stopped\n"
                    "solo: updated process group\n")
    assert code == 0
    ctl.backend.next_config = [group_config("grp", ["a", "b"])]
    ctl.backend.proc("solo").state = 20
    ctl.backend.proc("solo").stop_fails = "stuck"
    assert ctl.run("update") == ("new: stopped\nnew: removed process group\nsolo: stopped\n"
                                 "solo: has problems; not removing\n", 1)


def test_shutting_down_daemon(ctl: Ctl) -> None:
    """A daemon shutting down: each command says so its own way."""
    ctl.backend.state = -1
    assert ctl.run("avail") == ("ERROR: supervisor shutting down\n", 1)
    assert ctl.run("reread") == ("ERROR: supervisor shutting down\n", 1)
    assert ctl.run("update") == ("ERROR: already shutting down\n", 1)
    assert ctl.run("reload") == ("ERROR: already shutting down\n", 1)
    assert ctl.run("shutdown") == ("ERROR: already shutting down\n", 0)
    assert ctl.run("add solo") == ("ERROR: shutting down\n", 1)
    text, code = ctl.run("remove solo")
    assert text.startswith("error: <class 'xmlrpc.client.Fault'>")
    assert code == 1


def test_reload_and_shutdown(ctl: Ctl) -> None:
    """Non-interactive: at once. Interactive: only after y."""
    assert ctl.run("reload") == ("Restarted supervisord\n", 0)
    ctl.backend.state = 1
    ctl.stdin.write("n\ny\n")
    ctl.stdin.seek(0)
    assert ctl.run("shutdown", interactive=True) == (
        "Really shut the remote supervisord process down y/N? ", 0)
    assert ctl.backend.state == 1
    assert ctl.run("shutdown", interactive=True)[0].endswith("Shut down\n")
    assert ctl.backend.state == -1
    assert ctl.run("reload", interactive=True)[0].startswith("Really restart")  # EOF: no
    assert ctl.run("shutdown x")[0].startswith("Error: shutdown accepts no arguments")
    assert ctl.run("reload x")[0].startswith("Error: reload accepts no arguments")


def test_version_open_and_unknown(ctl: Ctl) -> None:
    """version prints the daemon's; open checks the scheme; unknown commands exit 1."""
    assert ctl.run("version") == ("4.3.0\n", 0)
    assert ctl.run("version x")[0].startswith("Error: version accepts no arguments")
    assert ctl.run("open ftp://x") == ("ERROR: url must be http:// or unix://\n", 1)
    text, code = ctl.run("open unix:///other.sock")
    assert text.startswith("grp:a")
    assert code == 0  # open keeps the exit status it had
    assert ctl.run("frobnicate") == ("*** Unknown syntax: frobnicate\n", 1)
    assert ctl.run("") == ("", 0)
    assert ctl.run("!ls") == ("*** Unknown syntax: !ls\n", 1)


def test_help(ctl: Ctl) -> None:
    """help lists the commands; help <cmd> prints its usage; unknown topics say so."""
    text = ctl.run("help")[0]
    assert "default commands (type help <topic>):" in text
    assert ctl.run("help help")[0] == ("help\t\tPrint a list of available actions\n"
                                       "help <action>\tPrint help for <action>\n")
    assert ctl.run("help nosuch") == ("*** No help on nosuch\n", 0)
    for command in ("add", "avail", "clear", "exit", "fg", "maintail", "open", "pid", "quit",
                    "reload", "remove", "reread", "restart", "shutdown", "signal", "start",
                    "status", "stop", "tail", "update", "version"):
        assert ctl.run(f"help {command}")[0].strip(), command


def test_fg_refusals(ctl: Ctl) -> None:
    """fg needs exactly one running process."""
    assert ctl.run("fg")[0].startswith("ERROR: no process name supplied")
    assert ctl.run("fg a b") == ("ERROR: too many process names supplied\n", 1)
    assert ctl.run("fg nosuch") == ("ERROR: bad process name supplied\n", 1)
    assert ctl.run("fg idle") == ("ERROR: process not running\n", 1)
    assert ctl.run("fg grp:*") == ("ERROR: bad process name supplied\n", 1)


def test_quit_and_eof_end_the_shell(ctl: Ctl) -> None:
    """quit, exit and EOF stop the loop (onecmd returns True)."""
    controller = ctl.controller()
    assert controller.onecmd("quit") is True
    assert controller.onecmd("exit") is True
    assert controller.onecmd("EOF") is True
