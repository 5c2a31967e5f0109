"""reread, update, reload and shutdown: capatazctl against the real supervisord.

Each change is made twice from the same starting state, once by each tool, and
the two reports must be the same.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from tests.daemon_harness import CHANGED, Daemon, running


def _with_changed_config(oracle: Daemon, action: Callable[[], tuple[str, int]]) -> tuple[str, int]:
    """Run ``action`` with the changed file in place, then put everything back."""
    oracle.write_config(CHANGED)
    try:
        return action()
    finally:
        oracle.write_config()
        oracle.supervisorctl("update")


def test_reread_reports_added_changed_and_disappeared(oracle: Daemon) -> None:
    """reread lists each group as available, changed or disappeared, in name order."""
    oracle.write_config(CHANGED)
    try:
        ours = oracle.capatazctl("reread")
        assert ours == oracle.supervisorctl("reread")
    finally:
        oracle.write_config()
    assert ours[0].splitlines() == [
        "gone: available", "newp: available", "once: disappeared", "sleeper: changed",
    ]


def test_update_applies_the_same_changes(oracle: Daemon) -> None:
    """update stops and removes the removed, restarts the changed, adds the new."""
    ours = _with_changed_config(oracle, lambda: oracle.capatazctl("update"))
    theirs = _with_changed_config(oracle, lambda: oracle.supervisorctl("update"))
    assert ours == theirs
    assert "sleeper: updated process group" in ours[0]


def test_update_of_named_groups_touches_only_them(oracle: Daemon) -> None:
    """update <group> applies only that group's change; unknown names are errors."""
    args = ("update", "newp", "nosuch")
    ours = _with_changed_config(oracle, lambda: oracle.capatazctl(*args))
    theirs = _with_changed_config(oracle, lambda: oracle.supervisorctl(*args))
    assert ours == theirs
    assert ours == ("ERROR: no such group: nosuch\nnewp: added process group\n", 1)


def test_reread_of_a_broken_file_is_an_error(oracle: Daemon) -> None:
    """A file that no longer parses: reread prints supervisord's reason, exit 1."""
    good = oracle.config.read_text()
    oracle.config.write_text(good + "\n[program:broken]\n")
    try:
        ours, theirs = oracle.capatazctl("reread"), oracle.supervisorctl("reread")
    finally:
        oracle.config.write_text(good)
    assert ours == theirs
    assert ours[0].startswith("ERROR: CANT_REREAD")


def test_reload_restarts_the_daemon(oracle: Daemon) -> None:
    """reload answers "Restarted supervisord" and the daemon comes back."""
    ours = oracle.capatazctl("reload")
    oracle.wait_until_serving()
    theirs = oracle.supervisorctl("reload")
    oracle.wait_until_serving()
    assert ours == theirs == ("Restarted supervisord\n", 0)


def test_shutdown_then_commands_on_a_dead_server(tmp_path: Path) -> None:
    """shutdown says "Shut down"; afterwards both tools say the socket is gone."""
    results = []
    for tool in ("capatazctl", "supervisorctl"):
        directory = tmp_path / "run"  # the same path twice: messages name the socket
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir()
        with running("supervisord", directory) as server:
            run = server.capatazctl if tool == "capatazctl" else server.supervisorctl
            said = run("shutdown")
            assert server.process is not None
            server.process.wait(30)
            results.append((said, run("status"), run("shutdown"), run("stop", "all")))
    assert results[0] == results[1]
    assert results[0][0] == ("Shut down\n", 0)
