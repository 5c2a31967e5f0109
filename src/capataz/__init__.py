"""capataz: a Supervisor-compatible process supervisor, a job queue and its worker."""

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    # ``__version__`` is read from the installed metadata when first asked for:
    # importlib.metadata (with zipfile, csv and email) would otherwise cost every
    # process about a megabyte, capatazd included, which only needs it for -v.
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("capataz")
    except PackageNotFoundError:  # pragma: no cover - only when run from an uninstalled tree
        found = "0.0.0"
    globals()["__version__"] = found
    return found
