"""Log files, output channels, log reading and the daemon's own log, without processes."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import pytest

from capataz.supervisor import logread, mainlog
from capataz.supervisor.errors import BadArgumentsError, DaemonSetupError, NoFileError
from capataz.supervisor.logfiles import LogFile, LogFiles
from capataz.supervisor.output import MAX_PARTIAL_LINE, OutputChannel, PipeReader


def test_logfile_rotates_by_size_and_keeps_backups(tmp_path: Path) -> None:
    """After a write reaching maxbytes: base -> .1 -> .2; the oldest beyond backups is gone."""
    path = tmp_path / "a.log"
    logfile = LogFile(str(path), maxbytes=10, backups=2)
    for n in range(4):
        logfile.write(f"line {n:04d}\n".encode())
    logfile.close()
    assert path.read_bytes() == b""
    assert (tmp_path / "a.log.1").read_bytes() == b"line 0003\n"
    assert (tmp_path / "a.log.2").read_bytes() == b"line 0002\n"
    assert not (tmp_path / "a.log.3").exists()


def test_logfile_without_backups_truncates(tmp_path: Path) -> None:
    """backups=0: rotation empties the file in place."""
    path = tmp_path / "a.log"
    logfile = LogFile(str(path), maxbytes=5, backups=0)
    logfile.write(b"123456\n")
    logfile.write(b"")
    logfile.write(b"ab\n")
    logfile.close()
    assert path.read_bytes() == b"ab\n"
    assert list(tmp_path.iterdir()) == [path]


def test_logfile_clear_empties_and_restarts_the_size_count(tmp_path: Path) -> None:
    """After a clear the file is empty and rotation counts from zero again."""
    path = tmp_path / "a.log"
    logfile = LogFile(str(path), maxbytes=10, backups=1)
    logfile.write(b"1234567\n")
    logfile.clear()
    logfile.write(b"abcdefg\n")
    logfile.close()
    assert path.read_bytes() == b"abcdefg\n"
    assert not (tmp_path / "a.log.1").exists()
    (tmp_path / "gone").mkdir()
    doomed = LogFile(str(tmp_path / "gone" / "b.log"), 0, 0)
    (tmp_path / "gone" / "b.log").unlink()
    (tmp_path / "gone").rmdir()
    with pytest.raises(OSError, match="No such file"):
        doomed.clear()


def test_logfile_reports_errors_once_and_recovers(tmp_path: Path) -> None:
    """A missing directory is reported once; writes resume when it exists again."""
    errors: list[str] = []
    path = tmp_path / "later" / "a.log"
    logfile = LogFile(str(path), 0, 0, on_error=lambda p, exc: errors.append(p))
    logfile.write(b"lost\n")
    logfile.write(b"lost too\n")
    assert errors == [str(path)]
    assert logfile.dropped_bytes == 14
    path.parent.mkdir()
    logfile.write(b"kept\n")
    logfile.close()
    assert path.read_bytes() == b"kept\n"


def test_logfile_rotation_failure_is_reported(tmp_path: Path) -> None:
    """If the directory vanishes, rotation reports it and later writes are dropped."""
    errors: list[OSError] = []
    folder = tmp_path / "d"
    folder.mkdir()
    logfile = LogFile(str(folder / "a.log"), 4, 1, on_error=lambda p, exc: errors.append(exc))
    (folder / "a.log").unlink()
    folder.rmdir()
    logfile.write(b"12345\n")
    assert len(errors) == 1
    logfile.close()


def test_registry_shares_one_writer_per_path(tmp_path: Path) -> None:
    """Two processes naming one path (even spelled differently) get one writer."""
    files = LogFiles()
    a = files.acquire(str(tmp_path / "x.log"), 0, 0)
    b = files.acquire(str(tmp_path / "." / "x.log"), 0, 0)
    assert a is b
    assert len(files) == 1
    files.release(a)
    assert len(files) == 1
    files.release(b)
    assert len(files) == 0
    files.release(b)  # releasing twice is harmless
    c = files.acquire(str(tmp_path / "y.log"), 0, 0)
    files.reopen_all()
    c.write(b"after reopen\n")
    files.close_all()
    assert (tmp_path / "y.log").read_bytes() == b"after reopen\n"


def test_channel_writes_whole_lines_only_to_a_shared_file(tmp_path: Path) -> None:
    """Partial lines wait for their end; flush ends the last one; the tail keeps raw bytes."""
    path = tmp_path / "c.log"
    logfile = LogFile(str(path), 0, 0)
    logfile.users = 2
    channel = OutputChannel(logfile, tail_bytes=8)
    channel.feed(b"hel")
    assert path.read_bytes() == b""
    channel.feed(b"lo\nwor")
    assert path.read_bytes() == b"hello\n"
    channel.flush()
    assert path.read_bytes() == b"hello\nwor\n"
    assert bytes(channel.tail) == b"ello\nwor"
    assert channel.received == 9
    channel.clear()
    assert (bytes(channel.tail), channel.received) == (b"", 0)


def test_two_pipes_into_one_channel_keep_their_own_half_lines() -> None:
    """An old child's leftover pipe and the new child's never splice half lines."""
    written: list[bytes] = []
    channel = OutputChannel(None)
    channel.on_lines = written.append
    old, new = bytearray(), bytearray()
    channel.feed(b"old-ha", old)
    channel.feed(b"new-ha", new)
    channel.feed(b"lf\n", new)
    channel.feed(b"lf\n", old)
    assert written == [b"new-half\n", b"old-half\n"]


def test_channel_cuts_endless_lines_and_strips_ansi() -> None:
    """A line longer than the limit is written out; ANSI colours are removed when asked."""
    written: list[bytes] = []
    channel = OutputChannel(None, strip_ansi=True)
    channel.on_lines = written.append
    channel.feed(b"\x1b[31mred\x1b[0m\n")
    assert written == [b"red\n"]
    channel.feed(b"x" * (MAX_PARTIAL_LINE + 1))
    assert written[-1] == b"x" * (MAX_PARTIAL_LINE + 1) + b"\n"


def test_pipe_reader_feeds_until_eof_then_closes() -> None:
    """Everything written to the pipe reaches the channel, then the fd is closed once."""
    written: list[bytes] = []
    ended: list[PipeReader] = []

    async def scenario() -> None:
        done = asyncio.Event()

        def on_eof(reader: PipeReader) -> None:
            ended.append(reader)
            done.set()

        r, w = os.pipe()
        os.set_blocking(r, False)
        channel = OutputChannel(None)
        channel.on_lines = written.append
        reader = PipeReader(asyncio.get_running_loop(), r, channel,
                            on_eof=on_eof)
        os.write(w, b"one\ntw")
        os.close(w)
        await done.wait()
        reader.close()
        assert ended == [reader]

    asyncio.run(scenario())
    assert b"".join(written) == b"one\ntw\n"


def test_read_file_rules(tmp_path: Path) -> None:
    """Supervisor's readLog: offsets, negative tails, bad arguments, missing files."""
    path = tmp_path / "r.log"
    path.write_bytes(b"0123456789")
    assert logread.read_file(str(path), 0, 0) == b"0123456789"
    assert logread.read_file(str(path), 3, 2) == b"34"
    assert logread.read_file(str(path), -3, 0) == b"789"
    assert logread.read_file(str(path), -30, 0) == b"0123456789"
    with pytest.raises(BadArgumentsError):
        logread.read_file(str(path), 0, -1)
    with pytest.raises(NoFileError):
        logread.read_file(str(tmp_path / "none"), 0, 0)
    with pytest.raises(NoFileError, match="NONE"):
        logread.read_file(None, 0, 0)


def test_tail_file_rules(tmp_path: Path) -> None:
    """Supervisor's tailFile: the last bytes, the new offset, overflow; missing = empty."""
    path = tmp_path / "t.log"
    path.write_bytes(b"")
    assert logread.tail_file(str(path), 0, 10) == (b"", 0, False)
    path.write_bytes(b"0123456789")
    assert logread.tail_file(str(path), 0, 4) == (b"6789", 10, True)
    assert logread.tail_file(str(path), 8, 4) == (b"6789", 10, False)
    assert logread.tail_file(str(tmp_path / "none"), 5, 4) == (b"", 0, False)
    with pytest.raises(BadArgumentsError):
        logread.tail_file(str(path), -1, 4)
    assert logread.tail_file(None, 5, 4) == (b"", 0, False)
    with pytest.raises(NoFileError):
        logread.clear_file(str(tmp_path / "none" / "x"))


def test_main_log_format_levels_and_reopen(tmp_path: Path) -> None:
    """Supervisor's line format and level names; reopen follows a rename; bad level refused."""
    path = tmp_path / "d.log"
    logger = mainlog.setup(str(path), maxbytes=0, backups=0, level="trace", to_stdout=False)
    try:
        logger.info("hello")
        logger.log(5, "fine detail")
        path.rename(tmp_path / "d.log.1")
        mainlog.reopen(logger)
        logger.warning("after")
        first = (tmp_path / "d.log.1").read_text().splitlines()
        assert first[0].split(" ", 2)[2] == "INFO hello"
        assert first[1].endswith(" TRAC fine detail")
        assert path.read_text().split(" ", 2)[2] == "WARN after\n"
        with pytest.raises(DaemonSetupError, match="unknown loglevel 'loud'"):
            mainlog.setup(None, maxbytes=0, backups=0, level="loud", to_stdout=False)
        with pytest.raises(DaemonSetupError, match="can't open the log file"):
            mainlog.setup(str(tmp_path / "no" / "d.log"), maxbytes=0, backups=0, level="info",
                          to_stdout=True)
        logger = mainlog.setup("syslog", maxbytes=0, backups=0, level="info", to_stdout=False)
        assert isinstance(logger.handlers[0], logging.handlers.SysLogHandler)
    finally:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
