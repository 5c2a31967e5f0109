"""Where things go when the configuration does not say: the documented defaults.

With a ``[supervisord]`` section, every default is Supervisor's own (the log
and pid file in the working directory, AUTO child logs in the temporary
directory), so an existing setup behaves as before.

A file without ``[supervisord]`` (a ``conf.d`` snippet holding only
``[program:x]`` sections, like the billing system's) cannot run under
Supervisor at all; capatazd runs it with these per-user places instead of
littering the working directory:

* control socket: ``/run/capataz/capatazd.sock`` as root, else
  ``$XDG_RUNTIME_DIR/capataz/capatazd.sock``;
* pid file: ``capatazd.pid`` in the same directory;
* daemon log: ``/var/log/capataz/capatazd.log`` as root, else
  ``$XDG_STATE_HOME/capataz/capatazd.log``;
* AUTO child logs (``childlogdir``): the daemon log's directory.

Without ``XDG_RUNTIME_DIR`` the runtime directory is ``<tmp>/capataz-<uid>``;
without ``XDG_STATE_HOME`` the state directory is ``~/.local/state``. capatazd
creates these directories (mode 0700) when it needs them.

The control socket is the same with or without ``[supervisord]``: capatazd
always serves one (Supervisor serves none without ``[unix_http_server]``),
unless ``[unix_http_server] file`` names another place.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from capataz.config.model import SupervisordConfig

SOCKET_NAME = "capatazd.sock"
PIDFILE_NAME = "capatazd.pid"
LOGFILE_NAME = "capatazd.log"


def runtime_dir(environ: Mapping[str, str], uid: int, tempdir: str) -> str:
    """The private directory for the socket and the pid file."""
    if uid == 0:
        return "/run/capataz"
    runtime = environ.get("XDG_RUNTIME_DIR", "")
    if os.path.isabs(runtime):
        return os.path.join(runtime, "capataz")
    return os.path.join(tempdir, f"capataz-{uid}")


def state_dir(environ: Mapping[str, str], uid: int) -> str:
    """The directory for the daemon's log and the AUTO child logs."""
    if uid == 0:
        return "/var/log/capataz"
    state = environ.get("XDG_STATE_HOME", "")
    if not os.path.isabs(state):
        home = environ.get("HOME") or os.path.expanduser("~")
        state = os.path.join(home, ".local", "state")
    return os.path.join(state, "capataz")


def default_control_socket(
    environ: Mapping[str, str] | None = None, uid: int | None = None, tempdir: str | None = None
) -> str:
    """The control socket capatazd serves when ``[unix_http_server]`` names none."""
    import tempfile

    return os.path.join(
        runtime_dir(
            os.environ if environ is None else environ,
            os.geteuid() if uid is None else uid,
            tempfile.gettempdir() if tempdir is None else tempdir,
        ),
        SOCKET_NAME,
    )


def snippet_supervisord(environ: Mapping[str, str], uid: int, tempdir: str) -> SupervisordConfig:
    """``[supervisord]`` as capatazd runs a file that has none."""
    run = runtime_dir(environ, uid, tempdir)
    state = state_dir(environ, uid)
    return SupervisordConfig(
        logfile=os.path.join(state, LOGFILE_NAME),
        pidfile=os.path.join(run, PIDFILE_NAME),
        childlogdir=state,
    )
