"""The queue:* commands, run in-process against a real SQLite store."""

from __future__ import annotations

import json
import time

import pytest

from capataz import exitcodes
from capataz.queue.backends.base import NewJob
from capataz.queue.backends.sqlite import SqliteBackend
from capataz.queue.cli import main


@pytest.fixture
def url(tmp_path):
    return f"sqlite://{tmp_path / 'q.db'}"


@pytest.fixture
def store(url):
    backend = SqliteBackend(url.removeprefix("sqlite://"))
    yield backend
    backend.close()


def run(url: str, *args: str) -> int:
    return main([args[0], "--url", url, *args[1:]])


def fail_jobs(store: SqliteBackend, count: int, queue: str = "default") -> list[str]:
    uuids = [f"{queue}-{i}" for i in range(count)]
    now = time.time()
    store.push([NewJob(u, queue, json.dumps({"uuid": u, "job": "billing.send"}), now)
                for u in uuids])
    for _ in uuids:
        job = store.claim([queue], "w", 30)
        store.fail(job.lease_token, f"Traceback (most recent call last):\nRuntimeError: {job.uuid}")
    return uuids


def test_failed_lists_a_table_and_json(url, store, capsys):
    """queue:failed prints a table with the job name and last error line; --json everything."""
    assert run(url, "queue:failed") == exitcodes.OK
    assert "No failed jobs found." in capsys.readouterr().out
    fail_jobs(store, 2)
    assert run(url, "queue:failed") == exitcodes.OK
    out = capsys.readouterr().out
    assert "billing.send" in out
    assert "RuntimeError: default-1" in out
    assert out.splitlines()[0].split()[:5] == ["ID", "UUID", "Connection", "Queue", "Job"]
    assert run(url, "queue:failed", "--json") == exitcodes.OK
    rows = json.loads(capsys.readouterr().out)
    assert [r["uuid"] for r in rows] == ["default-0", "default-1"]
    assert rows[0]["exception"].startswith("Traceback")


def test_retry_by_id_uuid_queue_and_range(url, store, capsys):
    """queue:retry takes ids, uuids, --queue and --range; unknown ids are reported."""
    fail_jobs(store, 3)
    fail_jobs(store, 2, "mail")
    ids = {f.uuid: f.id for f in store.failed_jobs()}
    assert run(url, "queue:retry", str(ids["default-0"]), "default-1") == exitcodes.OK
    out = capsys.readouterr().out
    assert "The failed job [default-0] has been pushed back onto the queue." in out
    assert "The failed job [default-1] has been pushed back onto the queue." in out
    assert run(url, "queue:retry", "--queue", "mail") == exitcodes.OK
    assert "Pushed 2 of 2" in capsys.readouterr().out
    assert [f.uuid for f in store.failed_jobs()] == ["default-2"]
    assert run(url, "queue:retry", "--range", f"{ids['default-2']}-{ids['default-2']}") == 0
    assert store.failed_jobs() == []
    assert run(url, "queue:retry", "nope") == exitcodes.FAILURE
    assert "No failed job matches the given ID [nope]." in capsys.readouterr().err


def test_retry_streams_progress_for_many_jobs(url, store, capsys, monkeypatch):
    """queue:retry all moves jobs in batches and prints progress after each."""
    from capataz.queue import failed_commands

    monkeypatch.setattr(failed_commands, "RETRY_BATCH", 10)
    fail_jobs(store, 25)
    assert run(url, "queue:retry", "all") == exitcodes.OK
    out = capsys.readouterr().out
    assert "Retried 10 failed jobs so far..." in out
    assert "Retried 20 failed jobs so far..." in out
    assert "Pushed 25 of 25 matching failed jobs back onto their queues." in out
    assert sum(s.waiting for s in store.stats()) == 25


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["queue:retry"], "name failed jobs to retry"),
        (["queue:retry", "--range", "1-2,a-b"], "'a-b' is not FIRST-LAST"),
    ],
)
def test_retry_usage_errors(url, args, message, capsys):
    """queue:retry without a selection, or with a bad range, is a usage error."""
    assert run(url, *args) == exitcodes.USAGE
    assert message in capsys.readouterr().err


def test_forget_flush_and_prune(url, store, capsys):
    """forget deletes one; flush deletes all; prune-failed keeps the recent ones."""
    fail_jobs(store, 3)
    assert run(url, "queue:forget", "default-0") == exitcodes.OK
    assert "Failed job deleted successfully." in capsys.readouterr().out
    assert run(url, "queue:forget", "default-0") == exitcodes.FAILURE
    assert run(url, "queue:prune-failed") == exitcodes.OK  # default 24 h: all are recent
    assert "Deleted 0 failed jobs older than 24 hours." in capsys.readouterr().out
    assert run(url, "queue:prune-failed", "--hours", "0") == exitcodes.OK
    assert store.failed_jobs() == []
    fail_jobs(store, 2, "mail")
    assert run(url, "queue:flush") == exitcodes.OK
    assert "Deleted 2 failed jobs." in capsys.readouterr().out


def test_clear_monitor_and_stats(url, store, capsys):
    """clear empties a queue; monitor alerts over --max (exit 1); stats shows counts."""
    now = time.time()
    store.push([NewJob(f"j{i}", "default", "{}", now) for i in range(5)])
    store.push([NewJob("m", "mail", "{}", now + 60)])
    assert run(url, "queue:monitor", "default,mail", "--max", "3") == exitcodes.FAILURE
    out = capsys.readouterr().out
    assert "ALERT" in out
    assert run(url, "queue:monitor", "default,mail,none", "--max", "10", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [
        {"queue": "default", "size": 5, "status": "OK"},
        {"queue": "mail", "size": 1, "status": "OK"},
        {"queue": "none", "size": 0, "status": "OK"},
    ]
    assert run(url, "queue:pause", "mail") == exitcodes.OK
    assert run(url, "queue:stats") == exitcodes.OK
    out = capsys.readouterr().out
    assert "Waiting" in out
    assert "yes" in out.splitlines()[-1]
    assert run(url, "queue:stats", "--json") == exitcodes.OK
    stats = {s["queue"]: s for s in json.loads(capsys.readouterr().out)}
    assert stats["default"]["waiting"] == 5
    assert stats["mail"]["delayed"] == 1
    assert stats["mail"]["paused"] is True
    assert run(url, "queue:clear") == exitcodes.OK
    assert "Cleared 5 jobs from the [default] queue." in capsys.readouterr().out
    assert run(url, "queue:clear", "--queue", "mail") == exitcodes.OK
    assert run(url, "queue:stats") == exitcodes.OK
    assert "No jobs." in capsys.readouterr().out


def test_pause_resume_and_restart_write_markers(url, store, capsys):
    """pause/resume set and clear markers (--all: maintenance); restart stamps a time."""
    assert run(url, "queue:pause", "high,default") == exitcodes.OK
    assert set(store.markers()) == {"pause:high", "pause:default"}
    assert run(url, "queue:resume", "high") == exitcodes.OK
    assert run(url, "queue:continue", "default") == exitcodes.OK
    assert store.markers() == {}
    assert run(url, "queue:pause", "--all") == exitcodes.OK
    assert "Every queue paused." in capsys.readouterr().out
    assert set(store.markers()) == {"pause:*"}
    assert run(url, "queue:resume", "--all") == exitcodes.OK
    assert run(url, "queue:pause") == exitcodes.USAGE
    assert run(url, "queue:restart") == exitcodes.OK
    assert "Broadcasting queue restart signal." in capsys.readouterr().out
    assert "restart" in store.markers()


def test_push_a_job_by_name(url, store, capsys):
    """queue:push stores a payload; known jobs are checked, bad JSON is a usage error."""
    assert run(url, "queue:push", "billing.send", "--args", '{"invoice": 7}', "--delay", "5") == 0
    assert "Pushed billing.send" in capsys.readouterr().out
    [stats] = store.stats()
    assert stats.delayed == 1
    assert run(url, "queue:push", "x", "--args", "{bad") == exitcodes.USAGE
    assert "--args is not valid JSON" in capsys.readouterr().err
    assert run(url, "queue:push", "x", "--args", "5") == exitcodes.USAGE
    assert run(url, "queue:push", "x", "--args", "[" * 100_000 + "]" * 100_000) == 2
    assert "nests JSON too deeply" in capsys.readouterr().err


def test_push_checks_arguments_of_a_loaded_job(url, store, capsys, monkeypatch):
    """With -A, queue:push refuses arguments that do not fit the job and uses its queue."""
    from pathlib import Path

    jobs = Path(__file__).resolve().parents[2] / "fixtures" / "jobs"
    monkeypatch.syspath_prepend(str(jobs))
    assert run(url, "queue:push", "tests.noop", "-A", "queue_test_jobs", "--args", "[1, 2]") == 1
    assert "do not fit tests.noop" in capsys.readouterr().err
    assert run(url, "queue:push", "tests.noop", "-A", "queue_test_jobs", "--args", "[1]") == 0


def test_bad_input_is_a_message_not_a_traceback(tmp_path, capsys, monkeypatch):
    """A bad URL, an unknown scheme, a bad flag value and a bad env value give one clear line."""
    assert main(["queue:stats", "--url", "nonsense"]) == exitcodes.FAILURE
    assert "is not a queue URL" in capsys.readouterr().err
    assert main(["queue:stats", "--url", "ftp://localhost"]) == exitcodes.FAILURE
    assert "no queue backend for ftp://" in capsys.readouterr().err
    assert main(["queue:stats", "--url", "sqlite://"]) == exitcodes.FAILURE
    assert "needs a path" in capsys.readouterr().err
    assert main(["work", "--sleep", "soon"]) == exitcodes.USAGE
    assert "'soon' is not a number of seconds" in capsys.readouterr().err
    monkeypatch.setenv("CAPATAZ_TRIES", "-1")
    assert main(["work"]) == exitcodes.USAGE
    assert "CAPATAZ_TRIES='-1' is not valid" in capsys.readouterr().err
    monkeypatch.delenv("CAPATAZ_TRIES")
    monkeypatch.setenv("CAPATAZ_ONCE", "maybe")
    assert main(["work"]) == exitcodes.USAGE
    assert "CAPATAZ_ONCE='maybe' is not a yes/no value" in capsys.readouterr().err
    monkeypatch.delenv("CAPATAZ_ONCE")
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert main(["queue:stats", "--url", f"sqlite://{blocked}/q.db"]) == exitcodes.FAILURE
    assert "cannot open the queue store" in capsys.readouterr().err
    assert main(["work", "-A", "no_such_module_here", "--url", f"sqlite://{tmp_path}/q.db"]) == 1
    assert "cannot load the application module 'no_such_module_here'" in capsys.readouterr().err


def test_every_flag_of_every_command_has_an_environment_twin():
    """Each option (not --help/--version) of each subcommand names its CAPATAZ_* variable."""
    import argparse

    from capataz.queue.cli import build_parser

    parser = build_parser()
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    missing = [
        f"{name} {action.option_strings[-1]}"
        for name, sub in commands.choices.items()
        for action in sub._actions
        if action.option_strings and action.dest != "help" and "[env: " not in action.help
    ]
    assert missing == []


def test_help_shows_every_environment_twin(capsys):
    """Every flag of capataz work names its CAPATAZ_* variable in --help."""
    assert main(["work", "--help"]) == exitcodes.OK
    text = " ".join(capsys.readouterr().out.split())
    for flag in ("queue", "sleep", "tries", "backoff", "timeout", "max-jobs", "max-time",
                 "memory", "rest", "once", "stop-when-empty", "name", "force", "lease", "json"):
        assert f"--{flag}" in text
        assert f"[env: CAPATAZ_{flag.upper().replace('-', '_')}]" in text
    assert "[env: CAPATAZ_QUEUE_URL]" in text
    assert "[env: CAPATAZ_APP]" in text


# In-process workers below pass --memory=0: the pytest process running the whole
# suite is far past the worker's 128 MB default, which would end them with code 12.
def test_work_once_in_process(url, store, capsys, monkeypatch):
    """capataz work --once runs one job in this process and exits 0."""
    from pathlib import Path

    jobs = Path(__file__).resolve().parents[2] / "fixtures" / "jobs"
    monkeypatch.syspath_prepend(str(jobs))
    now = time.time()
    store.push([NewJob("n1", "default", json.dumps({"uuid": "n1", "job": "tests.noop"}), now)])
    argv = ["work", "--url", url, "-A", "queue_test_jobs", "--once", "--memory=0"]
    assert main(argv) == exitcodes.OK
    out = capsys.readouterr().out
    assert "tests.noop n1" in out
    assert "DONE" in out
    assert main(["work", "--url", url, "--once", "--memory=0"]) == exitcodes.OK
    assert "no application modules loaded" in capsys.readouterr().err


def test_work_takes_a_connection_name_like_laravel(tmp_path, capsys, monkeypatch):
    """capataz queue:work reports reads CAPATAZ_QUEUE_URL_REPORTS; unknown names say so."""
    monkeypatch.delenv("CAPATAZ_QUEUE_URL_REPORTS", raising=False)
    assert main(["queue:work", "reports", "--once", "--memory=0"]) == exitcodes.USAGE
    assert "set CAPATAZ_QUEUE_URL_REPORTS" in capsys.readouterr().err
    monkeypatch.setenv("CAPATAZ_QUEUE_URL_REPORTS", f"sqlite://{tmp_path}/reports.db")
    now = time.time()
    store = SqliteBackend(tmp_path / "reports.db")
    store.push([NewJob("r1", "default", json.dumps({"uuid": "r1", "job": "nope"}), now)])
    assert main(["queue:work", "reports", "--once", "--memory=0"]) == exitcodes.OK
    [failed] = store.failed_jobs()
    assert failed.connection == "reports"
    store.close()


def test_app_modules_load_from_the_working_directory(url, store, tmp_path, capsys, monkeypatch):
    """-A finds a module in the directory the command runs from, like `python -m`."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "cwd_jobs_for_test.py").write_text(
        "from capataz.queue import job\n\n@job(name='cwd.hello')\ndef hello():\n    pass\n"
    )
    monkeypatch.chdir(project)
    monkeypatch.setattr("sys.path", [p for p in __import__("sys").path if p not in ("", ".")])
    now = time.time()
    store.push([NewJob("c1", "default", json.dumps({"uuid": "c1", "job": "cwd.hello"}), now)])
    argv = ["work", "--url", url, "-A", "cwd_jobs_for_test", "--once", "--memory=0"]
    assert main(argv) == exitcodes.OK
    assert "DONE" in capsys.readouterr().out


def test_failed_lists_hostile_payloads_without_breaking(url, store, capsys):
    """queue:failed shows '?' for payloads that are not JSON or nest too deeply."""
    now = time.time()
    deep = '{"job": ' + "[" * 100_000 + "]" * 100_000 + "}"
    store.push([NewJob("deep", "default", deep, now), NewJob("junk", "default", "{x", now)])
    for _ in range(2):
        store.fail(store.claim(["default"], "w", 30).lease_token, "PayloadError: bad")
    assert run(url, "queue:failed") == exitcodes.OK
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [row.split()[4] for row in rows] == ["?", "?"]


def test_version_prints_the_installed_version_and_exits_ok(capsys):
    """--version answers from the package metadata, read only when the flag is given."""
    from importlib.metadata import version

    assert main(["--version"]) == exitcodes.OK
    assert capsys.readouterr().out.strip() == version("capataz")
