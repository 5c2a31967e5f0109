"""The command line: listing, selection errors and bad run counts, without running anything."""

import pytest
from bench.cli import main


def test_list_prints_every_selected_scenario_with_its_sides(
        capsys: pytest.CaptureFixture[str]) -> None:
    """--list names each scenario, its size in the chosen mode and who is compared."""
    assert main(["--list", "--quick", "--scenarios", "sup.start.*"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == ["sup.start.8", "sup.start.200", "sup.start.1000"]
    assert "300 processes" in out[2]
    assert out[0].endswith("[capatazd, supervisord]")


def test_unknown_scenario_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """A glob that matches nothing exits 2 with the known names, and runs nothing."""
    assert main(["--scenarios", "queue.nothing"]) == 2
    assert "no scenario matches queue.nothing" in capsys.readouterr().err


def test_runs_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    """--runs 0 is refused before anything is installed or started."""
    assert main(["--runs", "0"]) == 2
    assert "--runs must be at least 1" in capsys.readouterr().err


def test_sides_keep_only_matching_sides(capsys: pytest.CaptureFixture[str]) -> None:
    """--sides narrows each scenario to the matching sides and drops those left empty."""
    assert main(["--list", "--scenarios", "queue.process.*,ref.redis", "--sides", "capataz*"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == [
        "queue.process.sqlite", "queue.process.postgres", "queue.process.redis"]
    assert out[2].endswith("[capataz-redis]")
    assert main(["--list", "--sides", "nobody"]) == 2
    assert "no scenario has a side matching --sides" in capsys.readouterr().err


def test_capataz_is_byte_compiled_before_a_run_even_without_bytecode_writing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An editable install has no .pyc files under PYTHONDONTWRITEBYTECODE; the harness
    writes them, so capataz starts as an installed package does, like the peers."""
    import importlib.util
    import sys
    from pathlib import Path

    from bench import cli, peers_env

    module = peers_env.REPO_ROOT / "src" / "capataz" / "exitcodes.py"
    cached = Path(importlib.util.cache_from_source(str(module)))
    cached.unlink(missing_ok=True)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    cli._compile_sources()
    assert cached.exists()
