"""capatazd --check: the processes and warnings on success, one clear line on failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from capataz.config.check import run_check


def test_valid_file_lists_processes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each process is shown with its command, user and logs; warnings go to stderr."""
    path = tmp_path / "s.conf"
    path.write_text(
        "[supervisord]\nchildlogdir=/tmp\n[group:g]\nprograms=a\n"
        "[program:a]\ncommand=/bin/a\nuser=nobody\nstdout_logfile=NONE\nstdout_syslog=true\n"
        "[program:b]\ncommand=/bin/b\nautorestar=true\n"
    )
    assert run_check(str(path)) == 0
    out, err = capsys.readouterr()
    assert "g:a\n    command: /bin/a\n    user:    nobody\n" in out
    assert "stdout:  none (output discarded) + syslog" in out
    assert "b\n    command: /bin/b\n    user:    (the user capatazd runs as)" in out
    assert "stderr:  AUTO (a file in /tmp)" in out
    assert "configuration OK (3 warning(s))" in out
    assert "warning:" in err
    assert "did you mean autorestart?" in err
    assert "the program /bin/a does not exist" in err


def test_invalid_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An invalid file gives exit 2 and one line naming file, line, section and option."""
    path = tmp_path / "s.conf"
    path.write_text("[program:a]\ncommand=x\nstartsecs=soon\n")
    assert run_check(str(path)) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert f"{path}:3 [program:a] startsecs: invalid value; found 'soon'" in err
