"""Bind the control listeners a configuration asks for, with the socket module alone.

capatazd binds them first, before any program starts: a socket that cannot be
bound (address in use, bad path, a live server on the UNIX socket) stops the
daemon with its message, as in Supervisor. Serving them (``servers``, which
needs aiohttp) comes later, on the sockets bound here, so nothing can take an
address in between.

``[unix_http_server]`` gives a UNIX socket (``chmod``, ``chown``, credentials);
each ``[inet_http_server]`` a TCP port. With neither, capatazd still binds a
UNIX socket at ``capataz.config.default_control_socket()``, mode 0700, so its
owner can always reach it.

A TCP listener beyond the loopback interface without a password would let
anyone who can reach the port run any command as the daemon's user (the
programs are the daemon's to start, and ``supervisor.*`` can stop them all),
so it is refused unless the caller passes ``allow_unauthenticated=True``
(capatazd: ``CAPATAZ_ALLOW_UNAUTHENTICATED_HTTP=1``).
"""

from __future__ import annotations

import contextlib
import errno
import grp
import ipaddress
import logging
import os
import pwd
import socket
import stat
from dataclasses import dataclass, field

from capataz.config import default_control_socket
from capataz.config.model import Config, InetHttpServerConfig, UnixHttpServerConfig
from capataz.control.errors import ControlError

log = logging.getLogger("capataz.control")

ALLOW_ENV = "CAPATAZ_ALLOW_UNAUTHENTICATED_HTTP"

Section = UnixHttpServerConfig | InetHttpServerConfig


@dataclass
class BoundListeners:
    """Bound sockets, each with the section it serves, the UNIX one first.

    ``close()`` closes those not handed over yet and removes the socket file.
    """

    sockets: list[tuple[Section, socket.socket]] = field(default_factory=list)
    socket_path: str | None = None

    @property
    def tcp_addresses(self) -> list[tuple[str, int]]:
        return [sock.getsockname()[:2] for section, sock in self.sockets
                if isinstance(section, InetHttpServerConfig)]

    def close(self) -> None:
        for _, sock in self.sockets:
            sock.close()
        self.sockets.clear()
        if self.socket_path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.socket_path)
            self.socket_path = None


def bind_listeners(config: Config, *, allow_unauthenticated: bool | None = None
                   ) -> BoundListeners:
    """Bind (and listen on) every socket ``config`` asks for; raises ``ControlError``."""
    if allow_unauthenticated is None:
        allow_unauthenticated = os.environ.get(ALLOW_ENV, "") == "1"
    for inet in config.inet_http_servers:
        check_exposure(inet, allow_unauthenticated)
    unix = config.unix_http_server or UnixHttpServerConfig(
        file=config.control_socket() or default_control_socket()
    )
    if config.unix_http_server is None:
        os.makedirs(os.path.dirname(unix.file), mode=0o700, exist_ok=True)
    bound = BoundListeners()
    try:
        _claim_socket_path(unix.file)
        sock = _bind_unix(unix.file, unix.chmod)
        bound.sockets.append((unix, sock))
        bound.socket_path = unix.file
        if unix.chown is not None:
            _chown(unix.file, unix.chown)
        for inet in config.inet_http_servers:
            if inet.username is None:
                log.critical("[%s] running without any HTTP authentication checking", inet.name)
            bound.sockets.append((inet, _bind_tcp(inet)))
        for _, sock in bound.sockets:
            sock.listen(100)  # as aiohttp's default backlog
    except BaseException:
        bound.close()
        raise
    return bound


def _claim_socket_path(path: str) -> None:
    """Remove a stale socket file; refuse if a live server answers on it."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise ControlError(f"{path} exists and is not a socket; remove it or choose another "
                           "[unix_http_server] file")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError:
        os.unlink(path)  # nobody listens: left over by a daemon that died
        return
    finally:
        probe.close()
    raise ControlError(f"another program is already listening on {path}; stop it (or "
                       "shutdown that daemon) first, or choose another [unix_http_server] file")


def _bind_unix(path: str, mode: int) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # umask is process-wide, but bind() is the only call in between and the
    # daemon spawns nothing while it binds its sockets: the socket is never,
    # even for an instant, open wider than its configured mode.
    old = os.umask(0o777 & ~mode)
    try:
        sock.bind(path)
    except OSError as exc:
        sock.close()
        raise ControlError(f"cannot create the control socket {path}: {exc.strerror}") from exc
    finally:
        os.umask(old)
    os.chmod(path, mode)
    return sock


def _chown(path: str, owner: tuple[str, str | None]) -> None:
    user, group = owner
    try:
        entry = pwd.getpwnam(user)
        gid = grp.getgrnam(group).gr_gid if group else entry.pw_gid
        os.chown(path, entry.pw_uid, gid)
    except KeyError as exc:
        raise ControlError(f"[unix_http_server] chown: no such user or group {exc}") from None
    except OSError as exc:
        raise ControlError(f"cannot chown {path} to {user}: {exc.strerror} (chown needs root)"
                           ) from exc


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a).is_loopback for a in addresses)


def check_exposure(section: InetHttpServerConfig, allow_unauthenticated: bool) -> None:
    if section.username is not None or is_loopback(section.host):
        return
    where = section.host or "every interface"
    if allow_unauthenticated:
        log.critical("[%s] serves %s:%s without a password: anyone who can reach it can "
                     "stop, start and signal every process", section.name, where, section.port)
        return
    raise ControlError(
        f"[{section.name}] would listen on {where}:{section.port} without a username and "
        "password, so anyone who can reach that port could stop, start and signal every "
        "process as this daemon's user. Set username= and password= in that section, or "
        "listen on 127.0.0.1, or (on a network you trust) set "
        f"{ALLOW_ENV}=1 to allow it anyway."
    )


def _bind_tcp(section: InetHttpServerConfig) -> socket.socket:
    host = section.host or None
    try:
        infos = socket.getaddrinfo(host, section.port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except OSError as exc:
        raise ControlError(f"[{section.name}] port: cannot resolve {section.host!r}: {exc}"
                           ) from exc
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ControlError(f"[{section.name}] port {section.port} is already in use by "
                               "another program; stop it or choose another port") from exc
        raise ControlError(f"[{section.name}] cannot listen on {section.host}:{section.port}: "
                           f"{exc.strerror}") from exc
    return sock
