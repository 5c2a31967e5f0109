"""`capatazd -c FILE --check` driven through the installed console script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SEED = Path(__file__).parents[2] / "examples" / "seed-supervisor.conf"
CAPATAZD = str(Path(sys.executable).with_name("capatazd"))


def _check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CAPATAZD, "-c", str(path), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_seed_config_is_valid_and_listed() -> None:
    """The seed's file: exit 0, eight workers with command, user and log, and the root warning."""
    result = _check(SEED)
    assert result.returncode == 0, result.stderr
    for number in range(8):
        assert f"laravel-worker:laravel-worker_{number:02d}\n" in result.stdout
    assert (
        result.stdout.count(
            "    command: php /var/www/html/artisan queue:work --sleep=3 --tries=3\n"
        )
        == 8
    )
    assert result.stdout.count("    user:    root\n") == 8
    assert (
        result.stdout.count(
            "    log:     /var/www/html/storage/logs/supervisor.log (stdout and stderr)\n"
        )
        == 8
    )
    assert "user=root" in result.stderr
    assert "create an unprivileged user" in result.stderr.lower()
    assert "Traceback" not in result.stdout + result.stderr


def test_broken_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """A malformed file: exit 2, one line naming file, line, section and option, no traceback."""
    broken = tmp_path / "broken.conf"
    broken.write_text("[program:web]\ncommand=/bin/web\nnumprocs=two\n")
    result = _check(broken)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert f"{broken}:3 [program:web] numprocs" in lines[0]
    assert "found 'two'" in lines[0]
    assert "expected a whole number" in lines[0]
    assert "Traceback" not in result.stderr


def test_missing_and_undecodable_files(tmp_path: Path) -> None:
    """A missing file and a file that is not UTF-8 are exit 2 with a message, not a traceback."""
    missing = _check(tmp_path / "nope.conf")
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr
    latin = tmp_path / "latin1.conf"
    latin.write_bytes(b"[program:caf\xe9]\ncommand=x\n")
    undecodable = _check(latin)
    assert undecodable.returncode == 2
    assert "not UTF-8" in undecodable.stderr
    assert "Traceback" not in missing.stderr + undecodable.stderr
