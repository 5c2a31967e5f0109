"""What the reader may ask of the machine, behind one injectable object.

Reading a configuration is pure except for these few facts: the environment
(``%(ENV_X)s``), the host name (``%(host_node_name)s``), the working directory
(relative paths), the files an ``[include]`` names, and whether users and
directories exist (for warnings). Tests pass a :class:`Host` built from plain
values; :meth:`Host.current` asks the real machine.
"""

from __future__ import annotations

import glob
import os
import platform
import pwd
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


def _read_text(path: str) -> str:
    # utf-8-sig: a byte-order mark some editors write must not hide the first section.
    with open(path, encoding="utf-8-sig") as handle:
        return handle.read()


def _user_exists(name: str) -> bool:
    try:
        if name.isdigit():
            pwd.getpwuid(int(name))
        else:
            pwd.getpwnam(name)
    except (KeyError, OverflowError):
        return False
    return True


@dataclass(frozen=True)
class Host:
    """The machine as the reader sees it."""

    environ: Mapping[str, str] = field(default_factory=dict)
    node_name: str = "localhost"
    cwd: str = "/"
    uid: int = 1000
    tempdir: str = "/tmp"  # noqa: S108 - the fallback Supervisor itself uses
    #: ``sys.argv[0]``: Supervisor also looks for its file next to the executable.
    executable: str = ""
    read_text: Callable[[str], str] = _read_text
    exists: Callable[[str], bool] = os.path.exists
    glob: Callable[[str], list[str]] = glob.glob
    is_dir: Callable[[str], bool] = os.path.isdir
    user_exists: Callable[[str], bool] = _user_exists

    @classmethod
    def current(
        cls,
        *,
        environ: Mapping[str, str] | None = None,
        host_node_name: str | None = None,
    ) -> Host:
        """The real machine, with the environment and host name optionally fixed."""
        return cls(
            environ=dict(os.environ if environ is None else environ),
            node_name=platform.node() if host_node_name is None else host_node_name,
            cwd=os.getcwd(),
            uid=os.geteuid(),
            tempdir=tempfile.gettempdir(),
            executable=sys.argv[0],
        )

    def expanduser(self, path: str) -> str:
        """``~`` and ``~user`` as ``os.path.expanduser`` does, but from our environ."""
        if not path.startswith("~"):
            return path
        end = path.find("/", 1)
        if end < 0:
            end = len(path)
        name = path[1:end]
        if name:
            try:
                home = pwd.getpwnam(name).pw_dir
            except KeyError:
                return path
        else:
            home = self.environ.get("HOME") or os.path.expanduser("~")
        return (home.rstrip("/") + path[end:]) or "/"

    def absolute(self, path: str) -> str:
        """Supervisor's ``normalize_path``: expand ``~``, make absolute from cwd, normalise."""
        expanded = self.expanduser(path)
        return os.path.normpath(os.path.join(self.cwd, expanded))
