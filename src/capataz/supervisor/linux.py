"""The few Linux process controls the standard library lacks, through libc's prctl.

A child's parent-death signal is set in ``forkserver`` instead: that module also runs
as a bare interpreter that cannot import this package.

Loaded once at import so a freshly forked child never has to load a library
between fork and exec.
"""

from __future__ import annotations

import ctypes
import os

PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37

# The running program's own symbols, which include libc's: ctypes.util.find_library
# would run ldconfig in a subprocess to find a library that is already loaded.
_libc = ctypes.CDLL(None, use_errno=True)
_prctl = _libc.prctl
_prctl.restype = ctypes.c_int


def _call(option: int, arg: int | ctypes.c_void_p) -> None:
    if _prctl(option, arg, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def set_child_subreaper(enabled: bool = True) -> None:
    """Adopt orphaned descendants, so they are reaped here and not by init."""
    _call(PR_SET_CHILD_SUBREAPER, int(enabled))


def is_child_subreaper() -> bool:
    value = ctypes.c_int(0)
    _call(PR_GET_CHILD_SUBREAPER, ctypes.cast(ctypes.pointer(value), ctypes.c_void_p))
    return bool(value.value)
