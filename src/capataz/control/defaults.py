"""Where the control socket lives when the configuration names none.

Supervisor without an ``[unix_http_server]`` or ``[inet_http_server]`` section
serves nothing, and ``supervisorctl`` cannot reach it. capatazd always serves a
UNIX socket, mode 0700, so the owner can always control it:

* as root: ``/run/capataz/capatazd.sock``;
* otherwise under ``$XDG_RUNTIME_DIR/capataz/`` (a per-user, private directory);
* otherwise under ``<tempdir>/capataz-<uid>/`` (created mode 0700).
"""

from __future__ import annotations

import os
import tempfile

SOCKET_NAME = "capatazd.sock"


def default_socket_path() -> str:
    """The documented default place of capatazd's control socket."""
    if os.geteuid() == 0:
        return os.path.join("/run/capataz", SOCKET_NAME)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime):
        return os.path.join(runtime, "capataz", SOCKET_NAME)
    return os.path.join(tempfile.gettempdir(), f"capataz-{os.geteuid()}", SOCKET_NAME)
