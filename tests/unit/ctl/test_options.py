"""capatazctl's command line, environment twins and config file settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from capataz.ctl import cli
from capataz.ctl.errors import UsageError
from capataz.ctl.options import DEFAULT_SERVERURL, parse_args, read_ctl_section, read_ctl_settings


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "supervisord.conf"
    path.write_text(text)
    return str(path)


def test_flags_beat_environment_beat_file(tmp_path: Path) -> None:
    """-s/-u/-p win over CAPATAZ_* variables, which win over [supervisorctl]."""
    conf = write(tmp_path, "[supervisorctl]\nserverurl=http://file:1\nusername=f\npassword=fp\n"
                           "prompt=mine\n")
    env = {"CAPATAZ_SERVERURL": "http://env:2", "CAPATAZ_PASSWORD": "ep"}
    options = parse_args(["-c", conf, "-u", "cli", "status"], env)
    assert (options.serverurl, options.username, options.password) == ("http://env:2", "cli",
                                                                        "ep")
    assert options.prompt == "mine"
    assert options.args == ["status"]
    assert not options.interactive
    assert parse_args(["-c", conf, "-s", "unix:///a"], env).serverurl == "unix:///a"
    assert parse_args(["-c", conf], {}).interactive


def test_usage_errors() -> None:
    """Unknown flags, repeated flags and non-URLs are UsageErrors with supervisorctl's words."""
    with pytest.raises(UsageError, match="option -x not recognized"):
        parse_args(["-x"], {})
    with pytest.raises(UsageError, match="conflicting command line option '-s'"):
        parse_args(["-s", "http://a", "-s", "http://b"], {})
    with pytest.raises(UsageError, match="value 'foo' is not a URL"):
        parse_args(["-s", "foo"], {})
    with pytest.raises(UsageError, match="could not find config file /nonexistent"):
        parse_args(["-c", "/nonexistent"], {})
    assert parse_args(["-h"], {}).show_help


def test_server_url_when_supervisorctl_names_none(tmp_path: Path) -> None:
    """Without [supervisorctl]: the unix socket, else the inet port, else the default socket."""
    unix = write(tmp_path, "[unix_http_server]\nfile=%(here)s/s.sock\n")
    assert read_ctl_settings(unix, {}).serverurl == f"unix://{tmp_path}/s.sock"
    inet = write(tmp_path, "[inet_http_server]\nport=*:9005\n")
    assert read_ctl_settings(inet, {}).serverurl == "http://localhost:9005"
    inet = write(tmp_path, "[inet_http_server]\nport=10.0.0.5:9005\n")
    assert read_ctl_settings(inet, {}).serverurl == "http://10.0.0.5:9005"
    bare = write(tmp_path, "[program:x]\ncommand=true\n")
    assert read_ctl_settings(bare, {}).serverurl.endswith("capatazd.sock")
    relative = write(tmp_path, "[supervisorctl]\nserverurl=unix://rel.sock\n")
    assert read_ctl_settings(relative, {}).serverurl.startswith("unix:///")


def test_a_file_the_reader_rejects_still_gives_its_supervisorctl_section(tmp_path: Path) -> None:
    """A broken program section does not stop the client from finding its server."""
    broken = write(tmp_path, "[supervisorctl]\nserverurl=unix://%(here)s/x.sock\n"
                             "username=%(ENV_WHO)s\nhistory_file=~/h\n[program:x]\n")
    settings = read_ctl_settings(broken, {"WHO": "ana"})
    assert settings.serverurl == f"unix://{tmp_path}/x.sock"
    assert settings.username == "ana"
    assert settings.history_file is not None
    assert settings.history_file.endswith("/h")
    for text, expected in [
        ("[unix_http_server]\nfile=/s.sock\n[program:x]\n", "unix:///s.sock"),
        ("[inet_http_server]\nport=:9001\n[program:x]\n", "http://localhost:9001"),
        ("[inet_http_server]\nport=h:9001\n[program:x]\n", "http://h:9001"),
        ("[supervisorctl]\n[program:x]\n", DEFAULT_SERVERURL),
        ("[program:x]\n", "capatazd.sock"),
    ]:
        assert read_ctl_section(write(tmp_path, text), {}).serverurl.endswith(expected)


def test_bad_files_are_usage_errors(tmp_path: Path) -> None:
    """Unreadable INI and bad %(x)s expansions name the file and the fix."""
    with pytest.raises(UsageError, match="not valid INI"):
        read_ctl_section(write(tmp_path, "no section header\n"), {})
    with pytest.raises(UsageError, match="cannot expand"):
        read_ctl_section(write(tmp_path, "[supervisorctl]\nusername=%(ENV_NOPE)s\n"), {})
    with pytest.raises(UsageError, match="could not read config file"):
        read_ctl_section(str(tmp_path / "none.conf"), {})


def test_main_prints_usage_errors_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    """main: a usage error exits 2 with a hint; -h prints the usage and exits 0."""
    assert cli.main(["-x"]) == 2
    assert capsys.readouterr().err == ("Error: option -x not recognized\n"
                                       "For help, use capatazctl -h\n")
    assert cli.main(["-h"]) == 0
    assert "Usage: capatazctl" in capsys.readouterr().out


def test_main_runs_one_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """main with a command runs it and returns its exit code (no server: 4 for status)."""
    assert cli.main(["-s", f"unix://{tmp_path}/none.sock", "status"]) == 4
    assert capsys.readouterr().out == f"unix://{tmp_path}/none.sock no such file\n"


def test_config_search_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without -c: supervisord.conf in the working directory is found, as supervisorctl does."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.argv", [str(tmp_path / "bin" / "capatazctl")])
    assert parse_args(["status"], {}).configfile in (None, "/etc/supervisord.conf",
                                                     "/etc/supervisor/supervisord.conf")
    (tmp_path / "supervisord.conf").write_text("[supervisorctl]\nserverurl=http://here:1\n")
    options = parse_args(["status"], {})
    assert options.configfile == str(tmp_path / "supervisord.conf")
    assert options.serverurl == "http://here:1"
