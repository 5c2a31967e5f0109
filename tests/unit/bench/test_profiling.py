"""Summaries of py-spy's collapsed stacks: self time per function, inclusive for capataz's."""

import os
from pathlib import Path

import pytest
from bench import profiling

RAW = "\n".join([
    "<module> (capatazd:8);run (capataz/supervisor/daemon.py:40);"
    "spawn (capataz/supervisor/spawn.py:157) 30",
    "<module> (capatazd:8);run (capataz/supervisor/daemon.py:41);select (selectors.py:468) 10",
    "not a stack line",
])


def test_summary_counts_self_and_capataz_inclusive_time() -> None:
    """Self time goes to the leaf; inclusive time only to capataz's functions, lines merged."""
    total, own, inclusive = profiling.summarize(RAW)
    assert total == 40
    assert own == [("spawn (capataz/supervisor/spawn.py)", 30), ("select (selectors.py)", 10)]
    assert inclusive == [("run (capataz/supervisor/daemon.py)", 40),
                         ("spawn (capataz/supervisor/spawn.py)", 30)]


def test_report_has_a_table_per_profile(tmp_path: Path) -> None:
    """The results get one table per recorded profile, with percentages of its samples."""
    (tmp_path / "sup.start.200.capatazd.run1.capatazd.txt").write_text(RAW)
    (tmp_path / "empty.txt").write_text("")
    text = profiling.report(tmp_path)
    assert "### sup.start.200.capatazd.run1.capatazd (40 samples)" in text
    assert "| 75.0 | `spawn (capataz/supervisor/spawn.py)` | | 100.0 |" in text
    assert "empty" not in text


def test_sampling_is_a_no_op_without_profile_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --profile nothing is started and the block simply runs."""
    monkeypatch.delenv(profiling.DIR_ENV, raising=False)
    assert not profiling.enabled()
    with profiling.sampling(os.getpid(), "nothing"):
        pass
