"""The demo's configuration is the example's, moved into the work directory."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import pytest

from capataz.demo import main as demo_main
from capataz.supervisor.cli import main as capatazd
from facturacion.billing.demo.setup import (
    DemoPaths,
    environment_of,
    example_config,
    prepare,
    render_config,
)


def test_the_rendered_config_keeps_the_seed_block_and_moves_paths(tmp_path: Path) -> None:
    """Paths, user, ports and programs change; numprocs, stopwaitsecs and the rest do not."""
    paths = DemoPaths(tmp_path)
    text = render_config(example_config().read_text(), paths, 18089, 18025, 18090)
    assert "/srv/facturacion" not in text
    assert f"stdout_logfile={tmp_path}/logs/supervisor.log" in text
    assert f"user={getpass.getuser()}" in text
    seed_options = (
        "numprocs=8", "stopwaitsecs=3600", "stopasgroup=true", "killasgroup=true",
        "process_name=%(program_name)s_%(process_num)02d", "--sleep=3 --tries=3",
    )  # fmt: skip
    for kept in seed_options:
        assert kept in text
    assert f"command={Path(sys.executable).parent / 'capataz'} work" in text
    env = environment_of(text)
    assert env["FACTURACION_SUNAT_BILL_URL"] == "http://127.0.0.1:18089/billService"
    assert env["FACTURACION_SMTP_PORT"] == "18025"
    assert env["CAPATAZ_QUEUE_URL"] == f"sqlite://{tmp_path}/data/queue.sqlite3"
    assert env["CAPATAZ_LEASE"] == "10"
    assert env["FACTURACION_WEBHOOK_URL"] == "http://127.0.0.1:18090/erp/comprobantes"


def test_prepare_makes_a_config_capatazd_accepts(tmp_path: Path) -> None:
    """The prepared work directory has a certificate and a config that passes --check."""
    paths = DemoPaths(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "old.sqlite3").write_text("previous run")
    programs = prepare(paths, 18089, 18025)
    assert not (tmp_path / "data" / "old.sqlite3").exists()
    assert b"PRIVATE KEY" in paths.certificate.read_bytes()
    assert programs.environment["FACTURACION_CERT"] == str(paths.certificate)
    assert programs.worker[-2:] == ["--sleep=3", "--tries=3"]
    assert capatazd(["-c", str(paths.config), "--check"]) == 0


def test_the_demo_refuses_bad_flags(capsys: pytest.CaptureFixture[str]) -> None:
    """A non-positive batch size is a usage error with the reason, exit 2."""
    assert demo_main(["--receipts", "0"]) == 2
    assert "must be 1 or more" in capsys.readouterr().err
    assert demo_main(["--kill-workers", "x"]) == 2
    assert demo_main(["--help"]) == 0
