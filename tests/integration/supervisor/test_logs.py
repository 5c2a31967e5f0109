"""Child output in log files: shared files, rotation, redirect, AUTO, failures, reopen."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import defaultdict
from pathlib import Path

import pytest
from tests.integration.supervisor.helpers import child, config, program, running, wait_for

from capataz.config.model import AUTO, ChannelLog
from capataz.supervisor import BadArgumentsError, NoFileError, ProcessState

S = ProcessState
LINE = re.compile(rb"^(flood_\d\d) (\d+) x+$")


def test_eight_processes_share_one_log_through_rotation(tmp_path: Path) -> None:
    """8 processes write one file, rotated many times: every line whole, none lost or doubled."""
    lines_each, width = 4000, 100
    shared = tmp_path / "supervisor.log"
    log = ChannelLog(logfile=str(shared), maxbytes=128 * 1024, backups=200)
    cfg = config(tmp_path, program("flood", child("flood.py", lines_each, width), numprocs=8,
                                   startsecs=0, redirect_stderr=True, stdout=log))

    async def scenario() -> None:
        async with running(cfg) as sup:
            names = [p.name for p in sup.processes()]
            await wait_for(lambda: all(f"{n} done".encode() in sup.output_tail(f"flood:{n}")
                                       for n in names), within=60)
            assert len(sup.logfiles) == 1, "one writer for the shared path"

    asyncio.run(scenario())
    files = sorted(tmp_path.glob("supervisor.log*"))
    assert len(files) > 10, "the file was rotated many times"
    seen: dict[bytes, list[int]] = defaultdict(list)
    for path in files:
        assert path.stat().st_size <= 128 * 1024 + 128 * 1024, "rotated near maxbytes"
        for raw in path.read_bytes().splitlines():
            if raw.endswith(b" done"):
                continue
            match = LINE.match(raw)
            assert match, f"broken line in {path.name}: {raw[:80]!r}"
            assert len(raw) == width - 1
            seen[match.group(1)].append(int(match.group(2)))
    assert len(seen) == 8
    for name, numbers in seen.items():
        assert sorted(numbers) == list(range(1, lines_each + 1)), name


def test_rotation_keeps_only_the_configured_backups(tmp_path: Path) -> None:
    """maxbytes with backups=2 leaves the live file plus .1 and .2."""
    path = tmp_path / "one.log"
    log = ChannelLog(logfile=str(path), maxbytes=10_000, backups=2)
    cfg = config(tmp_path, program("flood", child("flood.py", 2000, 50), startsecs=0, stdout=log))

    async def scenario() -> None:
        async with running(cfg) as sup:
            await wait_for(lambda: b"done" in sup.output_tail("flood"))

    asyncio.run(scenario())
    assert sorted(p.name for p in tmp_path.glob("one.log*")) == ["one.log", "one.log.1",
                                                                 "one.log.2"]


def test_stderr_apart_or_redirected_and_auto_files(tmp_path: Path) -> None:
    """AUTO logs are made in childlogdir with Supervisor's names; redirect_stderr merges."""
    script = "import sys; print('to out', flush=True); print('to err', file=sys.stderr, flush=True)"
    import sys

    command = f"{sys.executable} -c \"{script}\""
    auto = ChannelLog(logfile=AUTO)
    cfg = config(
        tmp_path,
        program("apart", command, startsecs=0, stdout=auto, stderr=auto),
        program("merged", command, startsecs=0, redirect_stderr=True, stdout=auto),
        identifier="capataz-test",
    )

    async def scenario() -> None:
        async with running(cfg) as sup:
            await wait_for(lambda: all(p.state is S.EXITED for p in sup.processes()))
            apart = sup.process("apart")
            assert apart.stdout_logfile is not None
            assert apart.stderr_logfile is not None
            assert Path(apart.stdout_logfile).name.startswith("apart-stdout---capataz-test-")
            assert Path(apart.stdout_logfile).parent == tmp_path
            assert sup.read_process_log("apart", "stdout", 0, 0) == b"to out\n"
            assert sup.read_process_log("apart", "stderr", 0, 0) == b"to err\n"
            merged = sup.read_process_log("merged", "stdout", 0, 0)
            assert sorted(merged.splitlines()) == [b"to err", b"to out"]
            assert sup.process("merged").stderr_logfile is None
            with pytest.raises(NoFileError):
                sup.read_process_log("merged", "stderr", 0, 0)

    asyncio.run(scenario())


def test_read_tail_and_clear_process_logs(tmp_path: Path) -> None:
    """readLog/tailLog offsets as Supervisor's, and clearing empties file and tail."""
    path = tmp_path / "w.log"
    cfg = config(tmp_path, program("w", child("exit_with.py", 0), startsecs=0,
                                   stdout=ChannelLog(logfile=str(path))))

    async def scenario() -> None:
        async with running(cfg) as sup:
            await wait_for(lambda: sup.process("w").state is S.EXITED)
            text = b"exiting with 0\n"
            assert sup.read_process_log("w", "stdout", 0, 0) == text
            assert sup.read_process_log("w", "stdout", -5, 0) == text[-5:]
            assert sup.read_process_log("w", "stdout", 2, 3) == text[2:5]
            with pytest.raises(BadArgumentsError):
                sup.read_process_log("w", "stdout", -5, 2)
            assert sup.tail_process_log("w", "stdout", 0, 4) == (text[-4:], len(text), True)
            assert sup.tail_process_log("w", "stdout", len(text), 100) == (b"", len(text), False)
            assert sup.tail_process_log("w", "stdout", 0, 100) == (text, len(text), False)
            sup.clear_process_logs("w")
            assert path.read_bytes() == b""
            assert sup.output_tail("w") == b""
            assert all(r.error is None for r in sup.clear_all_process_logs())

    asyncio.run(scenario())


def test_unwritable_log_is_reported_and_the_child_runs_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A log in a missing directory: one error in the daemon log; the process still runs."""
    bad = ChannelLog(logfile=str(tmp_path / "missing" / "w.log"))
    cfg = config(tmp_path, program("w", child("flood.py", 3000, 80), startsecs=0, stdout=bad))

    async def scenario() -> None:
        async with running(cfg) as sup:
            await wait_for(lambda: b"done" in sup.output_tail("w"))
            assert sup.process("w").state is S.RUNNING

    with caplog.at_level(logging.ERROR, logger="capataz.supervisor"):
        asyncio.run(scenario())
    errors = [r for r in caplog.records if "cannot write log" in r.getMessage()]
    assert len(errors) == 1
    assert "missing/w.log" in errors[0].getMessage()


def test_full_disk_never_blocks_the_child(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Writing to /dev/full fails with ENOSPC: reported once, output dropped, child unblocked."""
    full = ChannelLog(logfile="/dev/full", maxbytes=1024)
    cfg = config(tmp_path, program("w", child("flood.py", 20000, 100), startsecs=0, stdout=full))

    async def scenario() -> None:
        async with running(cfg) as sup:
            await wait_for(lambda: b"done" in sup.output_tail("w"), within=60)
            logfile = sup.logfiles.acquire("/dev/full", 0, 0)
            assert logfile.dropped_bytes > 1_000_000
            sup.logfiles.release(logfile)

    with caplog.at_level(logging.ERROR, logger="capataz.supervisor"):
        asyncio.run(scenario())
    errors = [r.getMessage() for r in caplog.records if "cannot write log" in r.getMessage()]
    assert len(errors) == 1
    assert "/dev/full" in errors[0]


def test_reopen_logs_after_an_outside_rotation(tmp_path: Path) -> None:
    """After logrotate renames the file, reopen_logs (SIGUSR2) writes to a new file."""
    path = tmp_path / "w.log"
    cfg = config(tmp_path, program("w", "cat", startsecs=0, stdout=ChannelLog(logfile=str(path))))

    async def scenario() -> None:
        async with running(cfg) as sup:
            await wait_for(lambda: sup.process("w").state is S.RUNNING)
            sup.send_stdin("w", b"before\n")
            await wait_for(lambda: path.read_bytes() == b"before\n")
            path.rename(tmp_path / "w.log.old")
            sup.reopen_logs()
            sup.send_stdin("w", b"after\n")
            await wait_for(lambda: path.exists() and path.read_bytes() == b"after\n")

    asyncio.run(scenario())


def test_a_partial_line_reaches_its_own_file_while_the_child_waits(tmp_path: Path) -> None:
    """A prompt without a newline is in the file while the child sleeps; a shared file
    keeps it back until the line ends, so lines of two processes never mix."""
    import sys

    script = ("import sys, time; sys.stdout.write('prompt: '); sys.stdout.flush(); "
              "time.sleep(1000)")
    command = f"{sys.executable} -c \"{script}\""
    own, shared = tmp_path / "own.log", tmp_path / "shared.log"
    cfg = config(
        tmp_path,
        program("alone", command, startsecs=0, stdout=ChannelLog(logfile=str(own))),
        program("pair", command, numprocs=2, startsecs=0,
                stdout=ChannelLog(logfile=str(shared))),
    )

    async def scenario() -> None:
        async with running(cfg) as sup:
            await wait_for(lambda: own.read_bytes() == b"prompt: ")
            await wait_for(lambda: all(sup.output_tail(f"pair:{name}") == b"prompt: "
                                       for name in ("pair_00", "pair_01")))
            assert shared.read_bytes() == b""
            await sup.stop_process("alone")
            for name in ("pair:pair_00", "pair:pair_01"):
                await sup.stop_process(name)

    asyncio.run(scenario())
    assert own.read_bytes() == b"prompt: \n"
    assert shared.read_bytes() == b"prompt: \nprompt: \n"
