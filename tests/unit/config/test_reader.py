"""Reading files: includes, the search path, unreadable files, and the public API."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import capataz.config
from capataz.config import ConfigError, load, parse_text
from capataz.config.host import Host
from capataz.config.reader import search_paths

MAIN = "/etc/app/supervisord.conf"


def test_public_api() -> None:
    """The package exports the reader functions next to the model."""
    assert {"load", "parse_text", "default_control_socket", "ConfigError"} <= set(
        capataz.config.__all__
    )


def test_includes_are_sorted_globs_relative_to_the_file(make_host: Callable[..., Host]) -> None:
    """files= globs are relative to the including file, read sorted, with their own %(here)s."""
    host = make_host(
        {
            MAIN: "[supervisord]\n[include]\nfiles=conf.d/*.conf extra/none-*.conf\n",
            "/etc/app/conf.d/b.conf": "[program:b]\ncommand=%(here)s/b\n",
            "/etc/app/conf.d/a.conf": "[program:a]\ncommand=a\n",
        }
    )
    config = load(MAIN, host=host)
    assert config.included_files == ("/etc/app/conf.d/a.conf", "/etc/app/conf.d/b.conf")
    assert [p.command for p in config.processes()] == ["a", "/etc/app/conf.d/b"]
    assert any("no file matches /etc/app/extra/none-*.conf" in str(w) for w in config.warnings)


def test_includes_are_not_recursive(make_host: Callable[..., Host]) -> None:
    """An [include] inside an included file is not followed, and we say so."""
    host = make_host(
        {
            MAIN: "[include]\nfiles=a.conf\n",
            "/etc/app/a.conf": "[include]\nfiles=b.conf\n",
            "/etc/app/b.conf": "[program:b]\ncommand=b\n",
        }
    )
    config = load(MAIN, host=host)
    assert config.groups == ()
    assert any("not followed" in str(w) for w in config.warnings)


def test_include_without_files(make_host: Callable[..., Host]) -> None:
    """[include] without files= is an error."""
    with pytest.raises(ConfigError, match="no files= line"):
        load(MAIN, host=make_host({MAIN: "[include]\n"}))


def test_error_in_an_included_file_names_that_file(make_host: Callable[..., Host]) -> None:
    """A bad value in an included file points at the included file and its line."""
    host = make_host(
        {
            MAIN: "[include]\nfiles=a.conf\n",
            "/etc/app/a.conf": "\n[program:a]\ncommand=a\nstartsecs=soon\n",
        }
    )
    with pytest.raises(ConfigError) as caught:
        load(MAIN, host=host)
    assert (caught.value.file, caught.value.line) == ("/etc/app/a.conf", 4)


def test_missing_file(make_host: Callable[..., Host]) -> None:
    """A missing file is an error naming it."""
    with pytest.raises(ConfigError, match="does not exist"):
        load("/etc/nope.conf", host=make_host({}))


def test_unreadable_files(tmp_path: Path) -> None:
    """A directory or a file that is not UTF-8 is a clear error with the line."""
    with pytest.raises(ConfigError, match="directory"):
        load(str(tmp_path))
    bad = tmp_path / "latin1.conf"
    bad.write_bytes(b"[program:x]\ncommand=caf\xe9\n")
    with pytest.raises(ConfigError) as caught:
        load(str(bad))
    assert caught.value.line == 2
    assert "UTF-8" in caught.value.message


def test_permission_and_os_errors(make_host: Callable[..., Host]) -> None:
    """Permission problems and other OS errors are ConfigErrors too."""

    def denied(path: str) -> str:
        raise PermissionError(13, "Permission denied", path)

    def broken(path: str) -> str:
        raise OSError(5, "Input/output error", path)

    with pytest.raises(ConfigError, match="permission denied"):
        load(MAIN, host=Host(read_text=denied))
    with pytest.raises(ConfigError, match="Input/output error"):
        load(MAIN, host=Host(read_text=broken))


def test_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    """A UTF-8 byte-order mark before the first header is not part of the text."""
    path = tmp_path / "bom.conf"
    path.write_bytes(b"\xef\xbb\xbf[program:x]\ncommand=x\n")
    assert load(str(path)).processes()[0].name == "x"


def test_search_path_order(make_host: Callable[..., Host]) -> None:
    """capataz.conf is looked for first, then supervisord.conf, in Supervisor's places."""
    paths = search_paths(make_host())
    assert paths == [
        "/opt/capataz/etc/capataz.conf",
        "/opt/capataz/capataz.conf",
        "capataz.conf",
        "etc/capataz.conf",
        "/etc/capataz.conf",
        "/etc/capataz/capataz.conf",
        "/opt/capataz/etc/supervisord.conf",
        "/opt/capataz/supervisord.conf",
        "supervisord.conf",
        "etc/supervisord.conf",
        "/etc/supervisord.conf",
        "/etc/supervisor/supervisord.conf",
    ]


def test_search_finds_the_first(make_host: Callable[..., Host]) -> None:
    """Without a path, the first existing file is read; relative ones from the cwd."""
    host = make_host(
        {
            "/srv/etc/supervisord.conf": "[program:a]\ncommand=a\n",
            "/etc/supervisord.conf": "[program:b]\ncommand=b\n",
        }
    )
    assert load(None, host=host).path == "/srv/etc/supervisord.conf"


def test_search_fails_saying_where(make_host: Callable[..., Host]) -> None:
    """When nothing is found, the error lists every place looked at."""
    with pytest.raises(ConfigError) as caught:
        load(None, host=make_host({}))
    assert "/etc/supervisor/supervisord.conf" in caught.value.message
    assert "-c" in caught.value.message


def test_parse_text_with_fixed_environment() -> None:
    """parse_text takes the environment and host name to use for expansions."""
    config = parse_text(
        "[program:w]\ncommand=%(ENV_GREETING)s %(host_node_name)s\n",
        "/x/s.conf",
        environ={"GREETING": "hola"},
        host_node_name="box",
    )
    assert config.processes()[0].command == "hola box"
    fixed = Host(environ={"GREETING": "a"})
    config = parse_text(
        "[program:w]\ncommand=%(ENV_GREETING)s\n",
        "s.conf",
        host=fixed,
        environ={"GREETING": "b"},
        host_node_name="n",
    )
    assert config.processes()[0].command == "b"


def test_real_host_defaults() -> None:
    """Host.current reads the real machine; ~ expands from HOME or the password database."""
    host = Host.current(environ={"HOME": "/home/x"}, host_node_name="n")
    assert (host.environ, host.node_name) == ({"HOME": "/home/x"}, "n")
    assert host.expanduser("~/a") == "/home/x/a"
    assert host.expanduser("~") == "/home/x"
    assert host.expanduser("~root/a").endswith("/a")
    assert host.expanduser("~no-such-user-here/a") == "~no-such-user-here/a"
    assert host.expanduser("/plain") == "/plain"
    assert host.user_exists("root")
    assert host.user_exists("0")
    assert not host.user_exists("no-such-user-here")
    assert not host.user_exists("4000000000")
