"""Commands that read logs and talk to a process: tail, maintail, fg.

``tail -f`` and ``maintail -f`` read the server's streaming ``/logtail`` and
``/mainlogtail`` pages with ``http.client`` (which understands chunked
responses, the reason supervisorctl carries its own HTTP client).
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import sys
import threading
import xmlrpc.client
from typing import IO

from capataz.control.protocol import Fault, ProcessState
from capataz.ctl.shell import ControllerBase, Exit, stdout_encoding_warning
from capataz.ctl.transport import basic_auth_header, open_connection

DEFAULT_TAIL_BYTES = 1600
_READ_ERRORS: dict[int, str] = {
    Fault.NO_FILE: "no log file",
    Fault.FAILED: "unknown error reading log",
}


class LogStream:
    """One streaming GET of a log page, written to ``out`` as it arrives."""

    def __init__(self, ctl: ControllerBase, path: str, out: IO[str]) -> None:
        self.url = ctl.options.serverurl + path
        self._path = path
        self._out = out
        self._conn = open_connection(ctl.options.serverurl)
        self._auth = basic_auth_header(ctl.options.username, ctl.options.password)
        self._closing = False

    def run(self) -> None:
        try:
            self._conn.request("GET", self._path, headers={"Accept": "*/*", **self._auth})
            response = self._conn.getresponse()
            if response.status != 200:
                sys.stderr.write(f"{self.url} Cannot read, status code {response.status}\n")
                return
            while chunk := response.read1(65536):
                self._out.write(chunk.decode("utf-8", "replace"))
                self._out.flush()
        except (OSError, http.client.HTTPException) as exc:
            if not self._closing:
                sys.stderr.write(f"{self.url} Cannot connect, error: {type(exc)} ({exc})\n")
        finally:
            self._conn.close()

    def close(self) -> None:
        """Stop a stream that another thread is reading.

        Closing the connection from here would wait for the reader's buffer lock
        (held while it blocks in recv); shutting the socket down wakes the reader
        with end-of-file instead, and it closes the connection itself.
        """
        self._closing = True
        sock = self._conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class LogCommands(ControllerBase):
    def _follow(self, path: str) -> None:
        stdout_encoding_warning(self)
        self.output("==> Press Ctrl-C to exit <==")
        stream = LogStream(self, path, self.stdout)
        try:
            stream.run()
        except KeyboardInterrupt:
            stream.close()
            self.output("")

    def _bytes_modifier(self, modifier: str) -> int | None:
        """``-f`` -> None (follow), ``-N`` -> N; anything else is reported, -> -1."""
        what = modifier[1:]
        if what == "f":
            return None
        try:
            return int(what)
        except ValueError:
            self.output(f"Error: bad argument {modifier}")
            self.exitstatus = Exit.GENERIC
            return -1

    def do_tail(self, arg: str) -> None:
        if not self.upcheck():
            return
        args = arg.split()
        if not args or len(args) > 3:
            self.output("Error: too few arguments" if not args else "Error: too many arguments")
            self.exitstatus = Exit.GENERIC
            self.help_tail()
            return
        modifier = args.pop(0) if args[0].startswith("-") else None
        if not args:
            self.output("Error: tail requires process name")
            self.exitstatus = Exit.GENERIC
            return
        name, channel = args[0], (args[-1].lower() if len(args) > 1 else "stdout")
        if channel not in {"stdout", "stderr"}:
            self.output(f"Error: bad channel {channel!r}")
            self.exitstatus = Exit.GENERIC
            return
        count: int | None = DEFAULT_TAIL_BYTES
        if modifier is not None:
            count = self._bytes_modifier(modifier)
            if count == -1:
                return
        if count is None:
            self._follow(f"/logtail/{name}/{channel}")
            return
        stdout_encoding_warning(self)
        method = "readProcessStdoutLog" if channel == "stdout" else "readProcessStderrLog"
        try:
            text = getattr(self.server(), method)(name, -count, 0)
        except xmlrpc.client.Fault as exc:
            self.exitstatus = Exit.GENERIC
            problem = {**_READ_ERRORS, Fault.BAD_NAME: "no such process name"}.get(exc.faultCode)
            if problem is None:
                raise
            self.output(f"{name}: ERROR ({problem})")
        else:
            self.output(text)

    def help_tail(self) -> None:
        self.output(
            "tail [-f] <name> [stdout|stderr] (default stdout)\n"
            "Ex:\n"
            "tail -f <name>\t\tContinuous tail of named process stdout\n"
            "\t\t\tCtrl-C to exit.\n"
            "tail -100 <name>\tlast 100 *bytes* of process stdout\n"
            "tail <name> stderr\tlast 1600 *bytes* of process stderr"
        )

    def do_maintail(self, arg: str) -> None:
        if not self.upcheck():
            return
        args = arg.split()
        size = DEFAULT_TAIL_BYTES
        if len(args) > 1:
            self.output("Error: too many arguments")
            self.exitstatus = Exit.GENERIC
            self.help_maintail()
            return
        if args:
            if not args[0].startswith("-"):
                self.output(f"Error: bad argument {args[0]}")
                self.exitstatus = Exit.GENERIC
                return
            parsed = self._bytes_modifier(args[0])
            if parsed is None:
                self._follow("/mainlogtail")
                return
            if parsed == -1:
                return
            size = parsed
        try:
            text = self.server().readLog(-size, 0)
        except xmlrpc.client.Fault as exc:
            self.exitstatus = Exit.GENERIC
            problem = _READ_ERRORS.get(exc.faultCode)
            if problem is None:
                raise
            self.output(f"supervisord: ERROR ({problem})")
        else:
            self.output(text)

    def help_maintail(self) -> None:
        self.output(
            "maintail -f \tContinuous tail of supervisor main log file (Ctrl-C to exit)\n"
            "maintail -100\tlast 100 *bytes* of supervisord main log file\n"
            "maintail\tlast 1600 *bytes* of supervisor main log file\n"
        )

    # ---------------------------------------------------------------- fg
    def do_fg(self, arg: str) -> None:
        if not self.upcheck():
            return
        names = arg.split()
        if len(names) != 1:
            self.output("ERROR: no process name supplied" if not names
                        else "ERROR: too many process names supplied")
            self.exitstatus = Exit.GENERIC
            if not names:
                self.help_fg()
            return
        name = names[0]
        server = self.server()
        try:
            info = server.getProcessInfo(name)
        except xmlrpc.client.Fault as exc:
            if exc.faultCode != Fault.BAD_NAME:
                self.output(f"ERROR: {exc}")
                return
            self.output("ERROR: bad process name supplied")
            self.exitstatus = Exit.GENERIC
            return
        if info["state"] != ProcessState.RUNNING:
            self.output("ERROR: process not running")
            self.exitstatus = Exit.GENERIC
            return
        self.output("==> Press Ctrl-C to exit <==")
        self._foreground(name)

    def _foreground(self, name: str) -> None:
        streams = [LogStream(self, f"/logtail/{name}/{channel}", self.stdout)
                   for channel in ("stdout", "stderr")]
        readers = [threading.Thread(target=stream.run, daemon=True) for stream in streams]
        for reader in readers:
            reader.start()
        server = self.server()
        try:
            while True:
                line = self.read_line("") + "\n"
                try:
                    server.sendProcessStdin(name, line)
                except xmlrpc.client.Fault as exc:
                    self.output("Process got killed" if exc.faultCode == Fault.NOT_RUNNING
                                else f"ERROR: {exc}")
                    break
                if server.getProcessInfo(name)["state"] != ProcessState.RUNNING:
                    self.output("Process got killed")
                    break
        except (KeyboardInterrupt, EOFError):
            pass
        for stream in streams:
            stream.close()
        for reader in readers:
            reader.join(5)  # so their last output comes before ours
        self.output("Exiting foreground")

    def help_fg(self) -> None:
        self.output("fg <process>\tConnect to a process in foreground mode")
        self.output("\t\tCtrl-C to exit")
