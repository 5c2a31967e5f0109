"""``--profile``: sample capataz's processes with py-spy while a scenario runs.

The harness names each measurement in BENCH_PROFILE_TAG; whoever starts a capataz
process (the daemon helper, a queue driver) attaches ``py-spy record`` to it and
stops it before the process ends. Only capataz is sampled: the point is to find
its hot path. Standard library only (queue drivers import it in both environments).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

DIR_ENV = "BENCH_PROFILE_DIR"
TAG_ENV = "BENCH_PROFILE_TAG"
PY_SPY = Path(__file__).resolve().parent / ".venv" / "bin" / "py-spy"
RATE = 200  # samples a second: enough for a hot path, little load on two cores
ATTACH_SECONDS = 0.3


def enabled() -> bool:
    return bool(os.environ.get(DIR_ENV))


@contextlib.contextmanager
def sampling(pid: int, what: str) -> Iterator[None]:
    """Record ``pid`` with py-spy for the duration of the block (no-op unless --profile)."""
    directory = os.environ.get(DIR_ENV)
    if not directory or not PY_SPY.exists():
        yield
        return
    tag = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{os.environ.get(TAG_ENV, 'run')}.{what}")
    output = Path(directory) / f"{tag}.txt"
    recorder = subprocess.Popen(
        [str(PY_SPY), "record", "--pid", str(pid), "--rate", str(RATE), "--format", "raw",
         "--nonblocking", "--output", str(output)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    time.sleep(ATTACH_SECONDS)  # py-spy needs a moment to attach; short phases would be missed
    try:
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            recorder.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        try:
            recorder.wait(15)
        except subprocess.TimeoutExpired:
            recorder.kill()
            recorder.wait()


def _frame_name(frame: str) -> str:
    """``handle (capataz/queue/worker.py:88)`` -> ``handle (capataz/queue/worker.py)``."""
    return re.sub(r":\d+\)$", ")", frame.strip())


def summarize(raw: str, top: int = 10) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]]]:
    """Total samples, the functions with most self samples, and with most inclusive samples."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_name(f) for f in stack.split(";") if f.strip()]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        # Inclusive time only for capataz's own functions: the loop, main() and
        # importlib frames hold nearly every sample and say nothing.
        for name in {f for f in frames if "capataz/" in f and "<module>" not in f}:
            inclusive[name] += count
    return total, own.most_common(top), inclusive.most_common(top)


def report(directory: Path) -> str:
    """A Markdown section with the hottest functions of every recorded profile."""
    parts = ["## Profiles (py-spy, capataz's processes only)", "",
             "A profiled run pays py-spy's sampling, so its timings are not comparable; "
             "the tables name where capataz spends its time. Raw stacks (collapsed format) "
             f"are in `{directory}`."]
    for path in sorted(directory.glob("*.txt")):
        total, own, inclusive = summarize(path.read_text(errors="replace"))
        if not total:
            continue
        parts += ["", f"### {path.stem} ({total:,} samples)", "",
                  "| self % | function | | incl. % | capataz function |", "|---|---|---|---|---|"]
        for index in range(max(len(own), len(inclusive))):
            left = own[index] if index < len(own) else ("", 0)
            right = inclusive[index] if index < len(inclusive) else ("", 0)
            parts.append(
                f"| {100 * left[1] / total:.1f} | `{left[0]}` | | "
                f"{100 * right[1] / total:.1f} | `{right[0]}` |"
            )
    return "\n".join(parts) + "\n"
