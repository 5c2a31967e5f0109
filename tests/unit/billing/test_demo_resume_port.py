"""A resumed demo answers webhook calls on the port the stopped run gave them."""

from __future__ import annotations

from pathlib import Path

from facturacion.billing.demo.run import Demo, DemoOptions


def test_resume_reuses_the_stopped_runs_webhook_port(tmp_path: Path) -> None:
    """Calls queued before the stop carry the old URL; --resume listens there again."""
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "webhook.port").write_text("45678")
    demo = Demo(DemoOptions(workdir=tmp_path, resume=True))
    demo.webhook.stop()
    assert demo.webhook.port == 45678
    assert demo.webhook.url.endswith(":45678/erp/comprobantes")


def test_a_new_run_or_a_missing_record_takes_a_free_port(tmp_path: Path) -> None:
    """Without --resume, or with nothing recorded, the port is a fresh free one."""
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "webhook.port").write_text("45678")
    fresh = DemoOptions(workdir=tmp_path)
    nothing_recorded = DemoOptions(workdir=tmp_path / "x", resume=True)
    for options in (fresh, nothing_recorded):
        demo = Demo(options)
        demo.webhook.stop()
        assert demo.webhook.port not in {45678, 0}
