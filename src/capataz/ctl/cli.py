"""``capatazctl``: control a capatazd (or a supervisord) from the command line.

Usage: capatazctl [options] [action [arguments]]

Options:
-c/--configuration FILENAME -- configuration file path (searches if not given)
-h/--help -- print usage message and exit
-i/--interactive -- start an interactive shell after executing commands
-s/--serverurl URL -- URL on which supervisord server is listening
     (default "http://localhost:9001").            [env: CAPATAZ_SERVERURL]
-u/--username USERNAME -- username to use for authentication with server
                                                   [env: CAPATAZ_USERNAME]
-p/--password PASSWORD -- password to use for authentication with server
                                                   [env: CAPATAZ_PASSWORD]
-r/--history-file -- keep a readline history (if readline is available)

action [arguments] -- see below

Actions are commands like "tail" or "stop".  If -i is specified or no action is
specified on the command line, a "shell" interpreting actions typed
interactively is started.  Use the action "help" to find out about available
actions.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from capataz import exitcodes
from capataz.cliutil import survives_closed_stdout
from capataz.ctl.admin_commands import AdminCommands
from capataz.ctl.errors import UsageError
from capataz.ctl.log_commands import LogCommands
from capataz.ctl.options import parse_args
from capataz.ctl.process_commands import ProcessCommands


class Controller(ProcessCommands, AdminCommands, LogCommands):
    """Every supervisorctl command, plus ``status --json`` and a faster ``restart``."""


@survives_closed_stdout
def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    progname = os.path.basename(sys.argv[0]) if argv is None else "capatazctl"
    try:
        options = parse_args(args)
    except UsageError as exc:
        sys.stderr.write(f"Error: {exc}\nFor help, use {progname} -h\n")
        return exitcodes.USAGE
    if options.show_help:
        sys.stdout.write((__doc__ or "").split("\n", 2)[2])
        return exitcodes.OK
    controller = Controller(options)
    try:
        if options.args:
            controller.onecmd(" ".join(options.args))
            return controller.exitstatus
        controller.run_shell()
        return exitcodes.OK  # like supervisorctl, the shell always exits 0
    finally:
        controller.forget_connection()
