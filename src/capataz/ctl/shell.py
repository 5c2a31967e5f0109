"""The command interpreter under every capatazctl command: one line in, text out.

It is a ``cmd.Cmd`` like supervisorctl's, so the interactive shell, ``help``,
history and tab completion behave the same; the commands themselves live in
``process_commands``, ``admin_commands`` and ``log_commands``. Every command
records an LSB exit status exactly where supervisorctl records one.
"""

from __future__ import annotations

import cmd
import contextlib
import enum
import errno
import getpass
import sys
import xmlrpc.client
from collections.abc import Callable
from typing import IO, Any

from capataz.control.protocol import API_VERSION, Fault
from capataz.ctl.errors import CtlError
from capataz.ctl.options import CtlOptions
from capataz.ctl.transport import server_proxy


class Exit(enum.IntEnum):
    """supervisorctl's LSB exit statuses (``status`` uses 3 and 4 its own way)."""

    SUCCESS = 0
    GENERIC = 1
    INVALID_ARGS = 2
    UNIMPLEMENTED_FEATURE = 3
    INSUFFICIENT_PRIVILEGES = 4
    NOT_INSTALLED = 5
    NOT_RUNNING = 7
    STATUS_NOT_RUNNING = 3
    STATUS_UNKNOWN = 4


DEAD_PROGRAM_FAULTS = frozenset({Fault.SPAWN_ERROR, Fault.ABNORMAL_TERMINATION, Fault.NOT_RUNNING})

#: The commands ``help`` lists, as supervisorctl lists them.
COMMANDS = (
    "add", "avail", "clear", "exit", "fg", "maintail", "open", "pid", "quit", "reload",
    "remove", "reread", "restart", "shutdown", "signal", "start", "status", "stop", "tail",
    "update", "version",
)
_GROUP_ARG_COMMANDS = frozenset({"add", "remove", "update"})
_PROCESS_ARG_COMMANDS = frozenset(
    {"clear", "fg", "pid", "restart", "signal", "start", "status", "stop", "tail"}
)

ProxyFactory = Callable[[str, str | None, str | None], xmlrpc.client.ServerProxy]


class ControllerBase(cmd.Cmd):
    """State and plumbing shared by every command."""

    nohelp = "*** No help on %s"
    ruler = "="

    def __init__(
        self,
        options: CtlOptions,
        stdin: IO[str] | None = None,
        stdout: IO[str] | None = None,
        proxy_factory: ProxyFactory = server_proxy,
    ) -> None:
        super().__init__("tab", stdin, stdout)
        self.options = options
        self.prompt = options.prompt + "> "
        self.exitstatus: int = Exit.SUCCESS
        self.proxy_factory = proxy_factory
        self.vocab = ["help", *COMMANDS]
        self._proxy: xmlrpc.client.ServerProxy | None = None
        self._complete_info: list[dict[str, Any]] | None = None
        if stdin is not None:
            self.use_rawinput = False

    # ---------------------------------------------------------------- plumbing
    def output(self, message: str) -> None:
        self.stdout.write(message + "\n")
        self.stdout.flush()

    def new_proxy(self) -> xmlrpc.client.ServerProxy:
        """A fresh connection to the server (threads each need their own)."""
        return self.proxy_factory(
            self.options.serverurl, self.options.username, self.options.password
        )

    def server(self) -> Any:
        """The ``supervisor.*`` namespace of the current server."""
        if self._proxy is None:
            self._proxy = self.new_proxy()
        return self._proxy.supervisor

    def forget_connection(self) -> None:
        """Drop the cached connection after the URL or the credentials changed."""
        if self._proxy is not None:
            self._proxy("close")()
        self._proxy = None
        self._complete_info = None

    def set_exitstatus_from_fault(self, code: int, ignored: int | None = None) -> None:
        if code in (ignored, Fault.SUCCESS):
            return
        self.exitstatus = Exit.NOT_RUNNING if code in DEAD_PROGRAM_FAULTS else Exit.GENERIC

    def read_line(self, prompt: str) -> str:
        if self.use_rawinput:
            return input(prompt)
        self.stdout.write(prompt)
        self.stdout.flush()
        line = self.stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\n")

    def upcheck(self) -> bool:
        """Whether the server answers with the API we speak; says why not."""
        url = self.options.serverurl
        try:
            api = self.server().getVersion()
        except xmlrpc.client.Fault as exc:
            if exc.faultCode == Fault.UNKNOWN_METHOD:
                self.output(
                    "Sorry, supervisord responded but did not recognize "
                    "the supervisor namespace commands that supervisorctl "
                    "uses to control it.  Please check that the "
                    "[rpcinterface:supervisor] section is enabled in the "
                    "configuration file (see sample.conf)."
                )
                self.exitstatus = Exit.UNIMPLEMENTED_FEATURE
                return False
            self.exitstatus = Exit.GENERIC
            raise
        except OSError as exc:
            if exc.errno == errno.ECONNREFUSED:
                self.output(f"{url} refused connection")
                self.exitstatus = Exit.INSUFFICIENT_PRIVILEGES
                return False
            if exc.errno == errno.ENOENT:
                self.output(f"{url} no such file")
                self.exitstatus = Exit.NOT_RUNNING
                return False
            self.exitstatus = Exit.GENERIC
            raise
        if api != API_VERSION:
            self.output(
                "Sorry, this version of supervisorctl expects to talk to a server "
                f"with API version {API_VERSION}, but the remote version is {api}."
            )
            self.exitstatus = Exit.NOT_INSTALLED
            return False
        return True

    # ---------------------------------------------------------------- dispatch
    def emptyline(self) -> bool:
        return False  # a blank line must not repeat the last command

    def default(self, line: str) -> None:
        self.output(f"*** Unknown syntax: {line}")
        self.exitstatus = Exit.GENERIC

    def onecmd(self, line: str) -> bool:
        """Run one command line; print every failure as one line, never a traceback."""
        command, arg, line = self.parseline(line)
        if not line:
            return self.emptyline()
        if not command:
            self.default(line)
            return False
        self._complete_info = None
        self.lastcmd = line
        handler = getattr(self, "do_" + command, None)
        if handler is None:
            self.default(line)
            return False
        try:
            return bool(handler(arg))
        except xmlrpc.client.ProtocolError as exc:
            self.exitstatus = Exit.GENERIC
            if exc.errcode != 401:
                self.output(f"error: {self.options.serverurl} answered HTTP {exc.errcode} "
                            f"{exc.errmsg}")
                return False
            self.output("Server requires authentication")
            if self.options.interactive:
                self.options.username = self.read_line("Username:")
                self.options.password = getpass.getpass(prompt="Password:")
                self.output("")
                self.forget_connection()
                return self.onecmd(line)
            return False
        except CtlError as exc:  # ours, and its message already says what to do
            self.output(f"error: {exc}")
            self.exitstatus = Exit.GENERIC
            return False
        except Exception as exc:  # one line per failure, never a traceback
            self.output(f"error: {type(exc)}, {exc}")
            self.exitstatus = Exit.GENERIC
            return False

    # ---------------------------------------------------------------- completion
    def complete(self, text: str, state: int, line: str | None = None) -> str | None:  # type: ignore[override]
        if line is None:  # pragma: no cover - readline only exists on a terminal
            import readline

            line = readline.get_line_buffer()
        matches: list[str] = []
        words = line.split()
        if not words or (len(words) == 1 and not line.endswith(" ")) or words[0] == "help":
            matches = [a + " " for a in self.vocab if a.startswith(text)]
        elif words[0] in _GROUP_ARG_COMMANDS:
            matches = self._complete_groups(text)
        elif words[0] in _PROCESS_ARG_COMMANDS:
            matches = self._complete_processes(text)
        return matches[state] if state < len(matches) else None

    def _process_infos(self) -> list[dict[str, Any]]:
        # readline asks many times per <tab>; one call per command line is enough.
        if self._complete_info is None:
            self._complete_info = list(self.server().getAllProcessInfo())
        return self._complete_info

    def _complete_groups(self, text: str) -> list[str]:
        groups = dict.fromkeys(info["group"] for info in self._process_infos())
        return [g + " " for g in groups if g.startswith(text)]

    def _complete_processes(self, text: str) -> list[str]:
        names: list[str] = []
        for info in self._process_infos():
            if ":" in text or info["name"] != info["group"]:
                names.append(f"{info['group']}:{info['name']}")
                if f"{info['group']}:*" not in names:
                    names.append(f"{info['group']}:*")
            else:
                names.append(info["name"])
        return [n + " " for n in names if n.startswith(text)]

    # ---------------------------------------------------------------- help and quit
    def do_help(self, arg: str) -> None:
        topic = arg.strip()
        if topic == "help":
            self.help_help()
        elif topic:
            helper = getattr(self, "help_" + topic, None)
            if helper is not None:
                helper()
            elif getattr(getattr(self, "do_" + topic, None), "__doc__", None):
                self.output(getattr(self, "do_" + topic).__doc__)
            else:
                self.output(self.nohelp % (topic,))
        else:
            self.output("")
            self.print_topics("default commands (type help <topic>):", list(COMMANDS), 15, 80)

    def help_help(self) -> None:
        self.output("help\t\tPrint a list of available actions")
        self.output("help <action>\tPrint help for <action>")

    def do_EOF(self, arg: str) -> bool:  # noqa: N802 - cmd.Cmd's name for end of input
        del arg
        self.output("")
        return True

    def do_quit(self, arg: str) -> bool:
        return self.do_EOF(arg)

    def help_quit(self) -> None:
        self.output("quit\tExit the supervisor shell.")

    def do_exit(self, arg: str) -> bool:
        return self.do_EOF(arg)

    def help_exit(self) -> None:
        self.output("exit\tExit the supervisor shell.")

    # ---------------------------------------------------------------- the shell
    def run_shell(self) -> None:
        """The interactive shell: ``status`` first, readline history and completion."""
        try:
            import readline
        except ImportError:  # pragma: no cover - every Linux Python has readline
            readline = None  # type: ignore[assignment]
        if readline is not None:
            delims = readline.get_completer_delims()
            # "group:process", "group:*" and names with "-" are one word each.
            for char in ":*-":
                delims = delims.replace(char, "")
            readline.set_completer_delims(delims)
            if self.options.history_file:
                with contextlib.suppress(OSError):
                    readline.read_history_file(self.options.history_file)
        try:
            self.cmdqueue.append("status")
            self.cmdloop()
        except KeyboardInterrupt:
            self.output("")
        finally:
            if readline is not None and self.options.history_file:
                with contextlib.suppress(OSError):
                    readline.write_history_file(self.options.history_file)


def stdout_encoding_warning(controller: ControllerBase) -> None:
    """supervisorctl's warning when the terminal cannot show every character."""
    encoding = getattr(sys.stdout, "encoding", None) or ""
    if not encoding.lower().startswith("utf"):
        controller.output(
            f"Warning: sys.stdout.encoding is set to {sys.stdout.encoding}, so Unicode "
            "output may fail. Check your LANG and PYTHONIOENCODING environment settings."
        )
