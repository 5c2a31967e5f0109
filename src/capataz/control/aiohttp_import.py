"""Import aiohttp's HTTP server without its HTTP client.

``import aiohttp`` runs the package's ``__init__``, which imports the whole
client as well (sessions, connector, cookie jar, form data, ...) and builds
two SSL contexts at import, each loading the system's CA certificates: about
4 MB of capatazd's 40 MB, for a daemon that never makes an HTTP request.

``import_server_only()``, called by capatazd before anything imports aiohttp,
creates the ``aiohttp`` package without running its ``__init__`` and imports
``aiohttp.web``, which needs only the server's modules. Nothing can tell the
difference: the first time anything reads a name that ``__init__`` defines
(``aiohttp.ClientSession``, ...), the ``__init__`` runs then, in the same
package, and the name is there.

The only thing taken from ``__init__`` beforehand is ``__version__`` (the
server's ``Server:`` header uses it), read from the ``__version__ = "..."``
line every aiohttp release has. If the installed aiohttp does not fit (no
such line, or anything at all fails on the way), the half-made package is
dropped and aiohttp is imported as usual: more memory, never a failure.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import re
import sys
import types
from collections.abc import Callable
from importlib.abc import Loader

log = logging.getLogger("capataz.control")

PACKAGE = "aiohttp"
_VERSION_LINE = re.compile(r"""^__version__\s*=\s*["']([^"']+)["']""", re.MULTILINE)


def import_server_only() -> bool:
    """Import ``aiohttp.web`` without aiohttp's client; False if aiohttp came in whole."""
    if PACKAGE in sys.modules:
        return False
    try:
        _import_web_into_bare_package()
    except Exception as exc:  # an aiohttp this was not made for: import it the usual way
        log.debug("aiohttp imported whole: %s", exc)
        _forget_package()
        importlib.import_module(f"{PACKAGE}.web")
        return False
    return True


def _import_web_into_bare_package() -> None:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None or spec.loader is None:
        raise ImportError(f"{PACKAGE} is not an ordinary package here")
    with open(spec.origin, encoding="utf-8") as init:
        version = _VERSION_LINE.search(init.read())
    if version is None:
        raise ImportError(f"no __version__ line in {spec.origin}")
    package = importlib.util.module_from_spec(spec)
    setattr(package, "__version__", version.group(1))  # noqa: B010 - not declared on ModuleType
    # Before its __init__ has run, the package answers only for submodules.
    setattr(package, "__getattr__", _run_init_when_needed(package, spec.loader))  # noqa: B010
    sys.modules[PACKAGE] = package
    importlib.import_module(f"{PACKAGE}.web")


def _run_init_when_needed(package: types.ModuleType, loader: Loader) -> Callable[[str], object]:
    def __getattr__(name: str) -> object:  # noqa: N807 - a module's attribute hook (PEP 562)
        if _is_submodule(name):
            # "from . import hdrs" asks the package first: let the import system load it.
            raise AttributeError(name)
        delattr(package, "__getattr__")
        loader.exec_module(package)  # the real __init__, now: every name it defines
        return getattr(package, name)

    return __getattr__


def _is_submodule(name: str) -> bool:
    try:
        return importlib.util.find_spec(f"{PACKAGE}.{name}") is not None
    except (ImportError, ValueError):  # not a module name at all ("", "a.b", ...)
        return False


def _forget_package() -> None:
    for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
        del sys.modules[name]
