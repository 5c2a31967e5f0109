"""capatazd imports aiohttp's server without its client, and nothing can tell.

Each case runs in a fresh interpreter: the test process has imported aiohttp
whole long before.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from capataz.control.aiohttp_import import _is_submodule, import_server_only


def run(code: str, path: Path | None = None) -> dict[str, object]:
    """Run ``code`` in a new interpreter (``path`` first on sys.path); its last line is JSON."""
    env = dict(os.environ)
    if path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(path), env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    return dict(json.loads(done.stdout.splitlines()[-1]))


def test_the_server_comes_without_the_client() -> None:
    found = run("""
        import json, sys
        from capataz.control.aiohttp_import import import_server_only
        lean = import_server_only()
        client_before = "aiohttp.client" in sys.modules or "aiohttp.connector" in sys.modules
        from aiohttp import web
        app = web.Application()
        import aiohttp
        session = aiohttp.ClientSession.__name__  # the __init__ runs now, on demand
        from importlib.metadata import version
        print(json.dumps({"lean": lean, "client_before": client_before, "session": session,
                          "client_after": "aiohttp.client" in sys.modules,
                          "version": aiohttp.__version__ == version("aiohttp"),
                          "same_web": aiohttp.web is web}))
    """)
    assert found == {"lean": True, "client_before": False, "session": "ClientSession",
                     "client_after": True, "version": True, "same_web": True}


def test_an_aiohttp_already_imported_is_left_alone() -> None:
    import aiohttp

    assert import_server_only() is False
    assert sys.modules["aiohttp"] is aiohttp


def fake_aiohttp(root: Path, init: str, web: str) -> Path:
    package = root / "aiohttp"
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent(init))
    (package / "web.py").write_text(textwrap.dedent(web))
    (package / "hdrs.py").write_text("NAME = 'hdrs'\n")
    return root


PROBE = """
    import json, sys
    from capataz.control.aiohttp_import import import_server_only
    lean = import_server_only()
    import aiohttp
    from aiohttp import web
    print(json.dumps({"lean": lean, "init_ran": getattr(aiohttp, "INIT_RAN", False),
                      "web": web.WHAT, "version": aiohttp.__version__}))
"""


def test_an_aiohttp_without_a_version_line_is_imported_whole(tmp_path: Path) -> None:
    root = fake_aiohttp(tmp_path, "from .version import __version__\nINIT_RAN = True\n",
                        "from . import hdrs\nWHAT = hdrs.NAME\n")
    (root / "aiohttp" / "version.py").write_text("__version__ = '9.9'\n")
    assert run(PROBE, root) == {"lean": False, "init_ran": True, "web": "hdrs", "version": "9.9"}


def test_a_server_that_needs_the_init_gets_it(tmp_path: Path) -> None:
    """A web module that reads a name only __init__ defines runs __init__ on the spot."""
    root = fake_aiohttp(tmp_path, "__version__ = '9.9'\nINIT_RAN = True\nSHARED = 'from init'\n",
                        "from . import SHARED\nWHAT = SHARED\n")
    assert run(PROBE, root) == {"lean": True, "init_ran": True, "web": "from init",
                                "version": "9.9"}


def test_a_server_that_fails_to_import_leaves_no_half_package(tmp_path: Path) -> None:
    root = fake_aiohttp(tmp_path, "__version__ = '9.9'\nINIT_RAN = True\n",
                        "import builtins\nfrom . import hdrs\n"
                        "if not hasattr(builtins, 'TRIED'):\n"
                        "    builtins.TRIED = True\n    raise RuntimeError('first try fails')\n"
                        "WHAT = 'second try'\n")
    assert run(PROBE, root) == {"lean": False, "init_ran": True, "web": "second try",
                                "version": "9.9"}


def test_a_server_that_only_uses_submodules_never_runs_the_init(tmp_path: Path) -> None:
    root = fake_aiohttp(tmp_path, "__version__ = \"9.9\"\nINIT_RAN = True\n",
                        "from . import hdrs\nWHAT = hdrs.NAME\n")
    found = run("""
        import json
        from capataz.control.aiohttp_import import import_server_only
        lean = import_server_only()
        import aiohttp
        from aiohttp import web
        print(json.dumps({"lean": lean, "init_ran": "INIT_RAN" in vars(aiohttp),
                          "web": web.WHAT}))
    """, root)
    assert found == {"lean": True, "init_ran": False, "web": "hdrs"}


def test_only_real_submodule_names_count_as_submodules() -> None:
    import aiohttp  # noqa: F401 - find_spec looks inside the imported package

    assert _is_submodule("hdrs")
    assert not _is_submodule("ClientSession")
    assert not _is_submodule("")  # not a module name: no error, simply not one
    assert not _is_submodule("no.such")
