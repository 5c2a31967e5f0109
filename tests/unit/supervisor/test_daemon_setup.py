"""The daemon's setup steps: limits, user, AUTO log cleanup, directories, pidfile, prctl."""

from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from capataz.config.model import Config, SupervisordConfig
from capataz.supervisor import daemon, forkserver
from capataz.supervisor.errors import DaemonSetupError


def in_child(code: str) -> subprocess.CompletedProcess[str]:
    """Run setup code that changes the whole process in a throwaway interpreter."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)


def test_raise_limits_lifts_the_soft_limit_to_minfds() -> None:
    """minfds above the soft limit raises it; one the hard limit forbids is a clear error."""
    script = (
        "import resource\n"
        "from capataz.config.model import SupervisordConfig\n"
        "from capataz.supervisor.daemon import raise_limits\n"
        "from capataz.supervisor.errors import DaemonSetupError\n"
        "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))\n"
        "raise_limits(SupervisordConfig(minfds=512, minprocs=1))\n"
        "print(resource.getrlimit(resource.RLIMIT_NOFILE)[0])\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, 300))\n"
        "import os; os.setuid(65534) if os.getuid() == 0 else None\n"
        "try:\n"
        "    raise_limits(SupervisordConfig(minfds=1000, minprocs=1))\n"
        "except DaemonSetupError as exc:\n"
        "    print(exc)\n"
    )
    result = in_child(script)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "512"
    assert "minfds limit 1000 is above what this user may have (300)" in lines[1]


def test_raise_limits_leaves_enough_alone() -> None:
    """Limits already high enough are not touched."""
    before = resource.getrlimit(resource.RLIMIT_NOFILE)
    daemon.raise_limits(SupervisordConfig(minfds=1, minprocs=1))
    assert resource.getrlimit(resource.RLIMIT_NOFILE) == before


def test_drop_privileges() -> None:
    """user= switches uid, gid and groups as root; unknown users and non-root are refused."""
    with pytest.raises(DaemonSetupError, match="can't find user 'no-such-user-x'"):
        daemon.drop_privileges("no-such-user-x")
    daemon.drop_privileges(str(os.getuid()))  # already that user: nothing to do
    script = (
        "import os\n"
        "from capataz.supervisor.daemon import drop_privileges\n"
        "from capataz.supervisor.errors import DaemonSetupError\n"
        "drop_privileges('nobody')\n"
        "print(os.getuid(), os.getgid())\n"
        "try:\n"
        "    drop_privileges('root')\n"
        "except DaemonSetupError as exc:\n"
        "    print(exc)\n"
    )
    if os.getuid() != 0:
        pytest.skip("switching users needs root")
    result = in_child(script)
    assert result.returncode == 0, result.stderr
    uid_gid, refusal = result.stdout.splitlines()
    assert uid_gid == "65534 65534"
    assert "only root can" in refusal


def test_clear_auto_logs_removes_only_our_identifiers_files(tmp_path: Path) -> None:
    """AUTO logs of this identifier (and their rotations) go; anything else stays."""
    ours = ["w-stdout---supervisor-abc123.log", "w-stderr---supervisor-x.log.3"]
    theirs = ["w-stdout---other-abc.log", "app.log", "notes.txt"]
    for name in ours + theirs:
        (tmp_path / name).write_text("x")
    daemon.clear_auto_logs(str(tmp_path), "supervisor")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(theirs)
    daemon.clear_auto_logs(str(tmp_path / "missing"), "supervisor")  # only a warning


def test_make_default_dirs_creates_only_capatazds_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default state directory is created (0700); a directory named in the file is not."""
    state = tmp_path / "state" / "capataz"
    monkeypatch.setattr(daemon.defaults, "state_dir", lambda environ, uid: str(state))
    settings = SupervisordConfig(logfile=str(state / "capatazd.log"),
                                 pidfile=str(tmp_path / "named" / "x.pid"),
                                 childlogdir=str(state))
    daemon.make_default_dirs(settings)
    assert state.is_dir()
    assert state.stat().st_mode & 0o777 == 0o700
    assert not (tmp_path / "named").exists()
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setattr(daemon.defaults, "state_dir", lambda environ, uid: str(blocker / "x"))
    with pytest.raises(DaemonSetupError, match="can't create"):
        daemon.make_default_dirs(SupervisordConfig(childlogdir=str(blocker / "x")))


def test_pidfile_written_whole_or_a_clear_error(tmp_path: Path) -> None:
    """The pidfile holds our pid; an impossible path names the option to fix."""
    path = tmp_path / "d.pid"
    daemon.write_pidfile(str(path))
    assert path.read_text() == f"{os.getpid()}\n"
    with pytest.raises(DaemonSetupError, match="fix pidfile="):
        daemon.write_pidfile(str(tmp_path / "missing" / "d.pid"))


def test_prctl_helpers() -> None:
    """The subreaper flag can be set and read back; a bad signal number is an OSError."""
    result = in_child(
        "from capataz.supervisor import linux\n"
        "print(linux.is_child_subreaper())\n"
        "linux.set_child_subreaper()\n"
        "print(linux.is_child_subreaper())\n"
    )
    assert result.stdout.split() == ["False", "True"]
    with pytest.raises(OSError, match="Invalid argument"):
        forkserver.set_parent_death_signal(9999)


def test_reload_with_no_servable_control_api_shuts_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """If neither the new nor the previous http sections can be served, the daemon stops."""
    from capataz.control import ControlServers

    async def refuse(*args: object, **kwargs: object) -> ControlServers:
        raise OSError(98, "Address already in use")

    class Stub:
        config = Config(path="/c.conf")
        stopped = False

        def shutdown(self) -> None:
            self.stopped = True

    monkeypatch.setattr(daemon, "start_control_servers", refuse)
    stub = Stub()
    listeners = daemon._ControlListeners(stub, ControlServers(), stub.config)  # type: ignore[arg-type]

    async def scenario() -> None:
        listeners.reopen_soon()
        listeners.reopen_soon()  # a second reload waits for the first
        await listeners.close()

    asyncio.run(scenario())
    assert stub.stopped

