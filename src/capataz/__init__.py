"""capataz: a Supervisor-compatible process supervisor, a job queue and its worker."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("capataz")
except PackageNotFoundError:  # pragma: no cover - only when run from an uninstalled tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
