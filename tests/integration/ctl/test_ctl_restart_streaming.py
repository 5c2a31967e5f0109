"""capatazctl restart brings each process back as soon as it has stopped.

Against the real supervisord: a program that takes seconds to stop must not
hold back the restart of the others, as supervisorctl's stop-all-then-start-all
does. Checked by the order of events, never by timing.
"""

from __future__ import annotations

from pathlib import Path

from tests.daemon_harness import running

PROGRAMS = """
[program:quick]
command=sleep 1000
startsecs=0

[program:slowstop]
command=sh -c 'trap "sleep 2; exit 0" TERM; while :; do sleep 0.1; done'
startsecs=0
stopwaitsecs=20
"""


def test_quick_is_back_before_slowstop_has_stopped(tmp_path: Path) -> None:
    """"quick: started" comes before "slowstop: stopped"; supervisorctl's comes after."""
    with running("supervisord", tmp_path, PROGRAMS, ready=("status", "quick")) as oracle:
        ours, code = oracle.capatazctl("restart", "all")
        lines = ours.splitlines()
        assert code == 0
        assert sorted(lines) == ["quick: started", "quick: stopped", "slowstop: started",
                                 "slowstop: stopped"]
        assert lines.index("quick: started") < lines.index("slowstop: stopped")
        theirs = oracle.supervisorctl("restart", "all")[0].splitlines()
        assert theirs.index("quick: started") > theirs.index("slowstop: stopped")
