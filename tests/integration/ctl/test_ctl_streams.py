"""capatazctl's streaming commands against the real supervisord's /logtail pages."""

from __future__ import annotations

import signal
import subprocess

from tests.daemon_harness import BIN, Daemon


def test_tail_f_follows_supervisord_and_stops_on_ctrl_c(oracle: Daemon) -> None:
    """tail -f prints supervisord's stream of grp:b's stdout; Ctrl-C ends it with exit 0."""
    child = subprocess.Popen([str(BIN / "capatazctl"), "-c", str(oracle.config), "tail", "-f",
                              "grp:b"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert child.stdout is not None
    try:
        assert child.stdout.readline() == b"==> Press Ctrl-C to exit <==\n"
        assert child.stdout.readline().endswith(b"hello\n")
        child.send_signal(signal.SIGINT)
        assert child.wait(20) == 0
    finally:
        child.kill()
        child.wait()
        child.stdout.close()


def test_fg_talks_to_a_supervisord_process(oracle: Daemon) -> None:
    """fg on a running process: input goes to its stdin; end of input leaves cleanly."""
    done = subprocess.run([str(BIN / "capatazctl"), "-c", str(oracle.config), "fg", "sleeper"],
                          input=b"ignored by sleep\n", capture_output=True, timeout=60,
                          check=False)
    assert done.returncode == 0
    assert done.stdout.startswith(b"==> Press Ctrl-C to exit <==\n")
    assert done.stdout.endswith(b"Exiting foreground\n")
