"""A fake machine for the configuration reader: fixed environment, host name and files."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Mapping

import pytest

from capataz.config import Config, parse_text
from capataz.config.host import Host

Reader = Callable[..., Config]


def fake_host(
    files: Mapping[str, str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    missing_dirs: tuple[str, ...] = (),
    users: tuple[str, ...] = ("root", "www-data", "nobody", "0"),
    uid: int = 1000,
) -> Host:
    """A host whose files, users and directories are exactly the ones given."""
    contents = dict(files or {})

    def read_text(path: str) -> str:
        if path not in contents:
            raise FileNotFoundError(path)
        return contents[path]

    def glob(pattern: str) -> list[str]:
        return [path for path in contents if fnmatch.fnmatch(path, pattern)]

    return Host(
        environ=dict(environ if environ is not None else {"HOME": "/home/ana", "PATH": "/bin"}),
        node_name="testhost",
        cwd="/srv",
        uid=uid,
        tempdir="/tmp",
        executable="/opt/capataz/bin/capatazd",
        read_text=read_text,
        glob=glob,
        exists=lambda path: os.path.normpath(path) in contents,
        is_dir=lambda path: os.path.normpath(path) not in missing_dirs,
        user_exists=lambda name: name in users,
    )


@pytest.fixture
def read() -> Reader:
    """Parse config text as /etc/app/supervisord.conf on the fake host."""

    def _read(text: str, path: str = "/etc/app/supervisord.conf", **host_options: object) -> Config:
        return parse_text(text, path, host=fake_host(**host_options))  # type: ignore[arg-type]

    return _read


@pytest.fixture
def make_host() -> Callable[..., Host]:
    """Build a fake host (files, environment, missing directories, known users)."""
    return fake_host
