"""bench/.venv: the peers' own virtual environment, created and pinned on first use."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import venv
from collections.abc import Callable
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
VENV_DIR = BENCH_DIR / ".venv"
REQUIREMENTS = BENCH_DIR / "requirements-peers.txt"
STAMP = VENV_DIR / ".bench-installed"
PEER_PYTHON = VENV_DIR / "bin" / "python"
PEER_BIN = VENV_DIR / "bin"

PEER_DISTRIBUTIONS = ("supervisor", "rq", "celery", "kombu", "dramatiq", "huey", "arq",
                      "procrastinate", "psycopg", "redis")


class PeerEnvError(Exception):
    """bench/.venv could not be created or filled; the message says what to try."""


def _wanted_stamp() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def ensure(log: Callable[[str], None]) -> None:
    """Create bench/.venv and install the pinned peers, unless that is already done."""
    if not PEER_PYTHON.exists():
        _say(log, f"creating {VENV_DIR.relative_to(REPO_ROOT)}")
        venv.EnvBuilder(with_pip=True).create(VENV_DIR)
    wanted = _wanted_stamp()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    _say(log, f"installing the peers from {REQUIREMENTS.relative_to(REPO_ROOT)}")
    done = subprocess.run(
        [str(PEER_PYTHON), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)],
        capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        raise PeerEnvError(
            f"pip could not install the peers into {VENV_DIR}:\n{done.stderr[-2000:]}\n"
            "Check the network to PyPI, or delete bench/.venv and run again."
        )
    STAMP.write_text(wanted + "\n")


def _say(log: Callable[[str], None], message: str) -> None:
    log(f"bench: {message}")


def peer_versions() -> dict[str, str]:
    script = (
        "import json, importlib.metadata as m\n"
        f"names = {list(PEER_DISTRIBUTIONS)!r}\n"
        "out = {}\n"
        "for n in names:\n"
        "    try: out[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: out[n] = 'absent'\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run([str(PEER_PYTHON), "-c", script], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        return dict.fromkeys(PEER_DISTRIBUTIONS, "unknown")
    loaded: dict[str, str] = json.loads(done.stdout)
    return loaded


def capataz_version() -> str:
    try:
        import capataz
    except ImportError:
        return "absent"
    commit = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True, check=False).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(REPO_ROOT), "status", "--porcelain", "src"],
                           capture_output=True, text=True, check=False).stdout.strip()
    suffix = f" (commit {commit}{', src/ modified' if dirty else ''})" if commit else ""
    return f"{capataz.__version__}{suffix}"


def versions() -> dict[str, str]:
    return {"capataz": capataz_version(), "harness Python": sys.version.split()[0],
            **peer_versions()}
