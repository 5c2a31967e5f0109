"""capatazd's command line: supervisord's flags become [supervisord] overrides."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from capataz import exitcodes
from capataz.config.model import Config, SupervisordConfig
from capataz.supervisor import cli
from capataz.supervisor.errors import DaemonSetupError


def parse(*argv: str) -> dict[str, object]:
    return cli.overrides(cli.build_parser().parse_args(list(argv)))


def test_flags_become_overrides() -> None:
    """Each flag maps to its [supervisord] option, paths made absolute, sizes in bytes."""
    assert parse() == {}
    found = parse("-n", "-s", "-k", "-t", "-u", "www", "-e", "debug", "-i", "box", "-m", "027",
                  "-y", "5MB", "-z", "3", "-a", "2048", "--minprocs", "300", "-l", "d.log",
                  "-j", "d.pid", "-q", "logs", "-d", "/srv")
    assert found == {
        "nodaemon": True, "silent": True, "nocleanup": True, "strip_ansi": True,
        "user": "www", "loglevel": "debug", "identifier": "box", "umask": 0o27,
        "logfile_maxbytes": 5 * 1024 * 1024, "logfile_backups": 3, "minfds": 2048,
        "minprocs": 300, "logfile": os.path.abspath("d.log"),
        "pidfile": os.path.abspath("d.pid"), "childlogdir": os.path.abspath("logs"),
        "directory": "/srv",
    }
    assert parse("-l", "NONE")["logfile"] is None
    assert parse("-y", "1024")["logfile_maxbytes"] == 1024
    assert parse("-y", "2kb")["logfile_maxbytes"] == 2048


@pytest.mark.parametrize(
    ("argv", "message"),
    [(("-y", "big"), "-y/--logfile_maxbytes takes a size"),
     (("-m", "9"), "an octal number"),
     (("-z", "x"), "a whole number")],
)
def test_bad_values_are_explained(argv: tuple[str, ...], message: str) -> None:
    with pytest.raises(DaemonSetupError, match=message):
        parse(*argv)


def test_loader_applies_overrides_after_each_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command line wins over the file, on the first read and on every reload."""
    reads: list[str | None] = []

    def fake_load(path: str | None) -> Config:
        reads.append(path)
        return Config(path=path or "found", supervisord=SupervisordConfig(loglevel="warn"))

    monkeypatch.setattr(cli, "load", fake_load)
    loader = cli.config_loader({"loglevel": "debug"})
    assert loader(None).supervisord.loglevel == "debug"
    assert loader("x.conf").supervisord.loglevel == "debug"
    assert reads == [None, "x.conf"]


def test_main_reports_unreadable_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A configuration that cannot be read is a one-line error with a failing status."""
    folder = tmp_path / "dir.conf"
    folder.mkdir()
    status = cli.main(["-c", str(folder)])
    assert status in (exitcodes.USAGE, exitcodes.FAILURE)
    assert capsys.readouterr().err.startswith("capatazd: ")
