"""How pipe bytes reach a log file: raw or whole lines, splice, coalesced reads, pipe sizes."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from capataz.supervisor import logfiles, mainlog, output
from capataz.supervisor.logfiles import LogFile, LogFiles, Relay
from capataz.supervisor.output import OutputChannel, PipeBudget, PipeReader


def pump(channels: list[OutputChannel], writers: list[Callable[[int], None]]) -> None:
    """Read a pipe per channel until each writer (run in a thread with the write end) ends."""

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        ended = asyncio.Event()
        left = [len(channels)]

        def on_eof(reader: PipeReader) -> None:
            left[0] -= 1
            if not left[0]:
                ended.set()

        threads = []
        for channel, write in zip(channels, writers, strict=True):
            r, w = os.pipe()
            os.set_blocking(r, False)
            PipeReader(loop, r, channel, on_eof=on_eof)
            threads.append(threading.Thread(target=_run_and_close, args=(write, w)))
        for thread in threads:
            thread.start()
        await ended.wait()
        for thread in threads:
            thread.join()

    asyncio.run(scenario())


def _run_and_close(write: Callable[[int], None], fd: int) -> None:
    try:
        write(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def test_own_file_takes_partial_lines_and_ends_the_last_at_eof(tmp_path: Path) -> None:
    """A file of one process gets bytes as they come; a pipe closing mid-line ends the line."""
    path = tmp_path / "own.log"
    logfile = LogFile(str(path), 0, 0)
    channel = OutputChannel(logfile)
    writer = bytearray()
    channel.feed(b"prompt: ", writer)
    assert path.read_bytes() == b"prompt: "
    channel.flush(writer)
    channel.flush(writer)  # a second end changes nothing
    assert path.read_bytes() == b"prompt: \n"


def test_raw_bytes_rotate_exactly_at_maxbytes(tmp_path: Path) -> None:
    """Raw writes cut at maxbytes: every rotated file holds exactly maxbytes."""
    path = tmp_path / "r.log"
    logfile = LogFile(str(path), maxbytes=10, backups=3)
    logfile.write_raw(b"0123456789abcdefghijKLMNO", object())
    logfile.close()
    assert (tmp_path / "r.log.2").read_bytes() == b"0123456789"
    assert (tmp_path / "r.log.1").read_bytes() == b"abcdefghij"
    assert path.read_bytes() == b"KLMNO"


def test_splice_rotates_exactly_and_keeps_every_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spliced output: rotated files of exactly maxbytes, nothing lost, the tail read back;
    each byte goes pipe to relay, relay to file."""
    spliced: list[int] = []
    relayed: list[int] = []
    real_splice = os.splice

    def counting(*args: int, **kwargs: int) -> int:
        moved = real_splice(*args, **kwargs)
        (spliced if "offset_dst" in kwargs else relayed).append(moved)
        return moved

    monkeypatch.setattr(os, "splice", counting)
    path = tmp_path / "s.log"
    files = LogFiles()
    channel = OutputChannel(files.acquire(str(path), 100_000, 50), tail_bytes=1000)
    data = bytes(range(256)) * 4000  # 1,024,000 bytes, no line structure at all
    pump([channel], [lambda fd: write_all(fd, data)])
    assert sum(spliced) == len(data), "every byte went by splice"
    assert sum(relayed) == len(data), "through the relay"
    assert channel.tail == data[-1000:]
    channel.clear()
    assert channel.tail == b""
    files.close_all()
    backups = sorted(tmp_path.glob("s.log.*"), key=lambda p: -int(p.suffix[1:]))
    assert [p.stat().st_size for p in backups] == [100_000] * 10
    assert b"".join(p.read_bytes() for p in [*backups, path]) == data + b"\n"


def test_shared_file_gets_whole_lines_from_pipes_read_in_batches(tmp_path: Path) -> None:
    """Two children writing half lines into one file: every line whole, in order per child."""
    path = tmp_path / "shared.log"
    files = LogFiles()
    channels = [OutputChannel(files.acquire(str(path), 64_000, 100)) for _ in range(2)]

    def halves(name: bytes) -> Callable[[int], None]:
        def write(fd: int) -> None:
            for n in range(20_000):
                line = b"%s %05d " % (name, n) + b"z" * 40
                write_all(fd, line[:20])
                write_all(fd, line[20:] + b"\n")
        return write

    pump(channels, [halves(b"a"), halves(b"b")])
    files.close_all()
    seen: dict[bytes, list[int]] = {b"a": [], b"b": []}
    logs = [*sorted(tmp_path.glob("shared.log.*"), key=lambda p: -int(p.suffix[1:])), path]
    assert len(logs) > 10
    for log in logs:
        assert log.stat().st_size <= 64_000, "rotated at a line end before maxbytes"
        for line in log.read_bytes().splitlines():
            name, number, pad = line.split(b" ")
            assert pad == b"z" * 40, line
            seen[name].append(int(number))
    assert seen[b"a"] == seen[b"b"] == list(range(20_000))


def test_a_line_left_open_is_ended_before_another_writers_line(tmp_path: Path) -> None:
    """When a file becomes shared, nobody's line is glued to a raw writer's open one."""
    path = tmp_path / "open.log"
    logfile = LogFile(str(path), 0, 0)
    first, second = object(), object()
    logfile.write_raw(b"half", first)
    logfile.users = 2
    logfile.write(b"rest of it\n", first)  # the same writer continues its own line
    logfile.write_raw(b"again", first)
    logfile.write(b"other\n", second)
    assert path.read_bytes() == b"halfrest of it\nagain\nother\n"


def test_a_spliced_open_line_is_checked_in_the_file(tmp_path: Path) -> None:
    """After splice the last byte is unknown: it is read back before deciding."""
    path = tmp_path / "check.log"
    logfile = LogFile(str(path), 0, 0)
    mine = object()
    for data, expected in [(b"whole\n", b"whole\nnext\n"), (b"open", b"open\nnext\n")]:
        logfile.clear()
        r, w = os.pipe()
        os.write(w, data)
        os.close(w)
        assert logfile.splice_from(r, mine) == len(data)
        os.close(r)
        logfile.users = 2
        logfile.write(b"next\n", object())
        logfile.users = 1
        assert path.read_bytes() == expected


def test_splice_refused_falls_back_to_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file system without splice: the bytes are read instead, all of them, for good."""
    calls = []

    def refuse(*args: object, **kwargs: object) -> int:
        calls.append(args)
        raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(os, "splice", refuse)
    path = tmp_path / "f.log"
    channel = OutputChannel(LogFile(str(path), 0, 0))
    pump([channel], [lambda fd: write_all(fd, b"line\n" * 50_000)])
    assert path.read_bytes() == b"line\n" * 50_000
    assert len(calls) == 1


def test_a_failing_splice_lets_the_read_path_report_and_drop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk under splice: reported once, the bytes dropped, the pipe still drained."""
    monkeypatch.setattr(os, "splice", _raise(errno.ENOSPC))
    errors: list[str] = []
    path = tmp_path / "full.log"
    logfile = LogFile(str(path), 0, 0, on_error=lambda p, exc: errors.append(p))
    monkeypatch.setattr(os, "write", _raise(errno.ENOSPC))
    channel = OutputChannel(logfile)
    pump([channel], [lambda fd: _real_write_all(fd, b"x" * 300_000)])
    assert errors == [str(path)]
    assert logfile.dropped_bytes == 300_000
    assert channel.received == 300_000


_REAL_WRITE = os.write


def _real_write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[_REAL_WRITE(fd, view):]


def _raise(code: int) -> Callable[..., int]:
    def fail(*args: object, **kwargs: object) -> int:
        raise OSError(code, os.strerror(code))
    return fail


def test_busy_pipe_is_enlarged_within_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pipe that fills is enlarged; with no budget left, or not a pipe, it stays as it is."""

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        r, w = os.pipe()
        os.set_blocking(r, False)
        reader = PipeReader(loop, r, OutputChannel(None))
        monkeypatch.setattr(output, "_budget", PipeBudget(0))
        assert not reader._grow()
        monkeypatch.setattr(output, "_budget", PipeBudget(None))
        assert reader._grow()
        assert reader.capacity == output.LARGE_PIPE
        assert not reader._grow()  # once is enough
        reader.close()
        assert output.pipe_budget().used == 0, "the capacity is given back"
        os.close(w)
        left, right = socket.socketpair()
        right.setblocking(False)
        odd = PipeReader(loop, right.fileno(), OutputChannel(None))
        assert odd.capacity == output.DEFAULT_PIPE
        assert not odd._grow()
        assert output.pipe_budget().used == 0
        odd.closed = True
        loop.remove_reader(right.fileno())
        left.close()
        right.close()

    asyncio.run(scenario())


def test_budget_from_the_system_limit(tmp_path: Path) -> None:
    """A quarter of the user's soft pipe limit; no limit set means none here either."""
    budget = PipeBudget.from_system()
    soft = int(Path("/proc/sys/fs/pipe-user-pages-soft").read_text())
    assert budget.limit == (None if soft == 0 else soft * 4096 // 4)
    small = PipeBudget(100)
    assert small.take(60)
    assert not small.take(60)
    small.give_back(1000)
    assert small.used == 0


def test_reads_of_a_busy_writer_are_put_off_but_never_past_the_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Small reads close together wait; a full pipe or a writer at rest is read at once."""

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        r, w = os.pipe()
        os.set_blocking(r, False)
        reader = PipeReader(loop, r, OutputChannel(None))
        now = loop.time()
        reader._last_read = now - 0.001
        delay = reader._delay_after(100, now)
        assert output.MIN_DELAY <= delay <= output.COALESCE_DELAY
        assert reader._delay_after(reader.capacity, now) == 0.0
        reader._last_read = now - 1.0
        assert reader._delay_after(100, now) == 0.0
        monkeypatch.setattr(output, "_budget", PipeBudget(0))  # no room to grow the pipe
        listener = PipeReader(loop, os.dup(r), _Listener())
        listener._last_read = now - 0.001
        assert listener._delay_after(100, now) == 0.0, "a listener's answer is read at once"
        listener.close()
        r2, w2 = os.pipe()
        os.set_blocking(r2, False)
        small = PipeReader(loop, r2, OutputChannel(None))
        small._last_read = now - 0.001
        assert small._delay_after(30_000, now) == 0.0, "a fast writer: no time to wait"
        small.close()
        os.close(w2)
        reader.close()
        os.close(w)

    asyncio.run(scenario())


class _Listener:
    """An event listener's side of a pipe: request and answer, never batched."""

    def feed(self, data: bytes, partial: bytearray | None = None) -> None:
        del data, partial

    def flush(self, partial: bytearray | None = None) -> None:
        del partial


def test_close_and_catch_up_keep_what_the_pipe_holds(tmp_path: Path) -> None:
    """A resting reader closed, or caught up when its child is reaped, loses nothing."""
    path = tmp_path / "c.log"

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        channel = OutputChannel(LogFile(str(path), 0, 0))
        r, w = os.pipe()
        os.set_blocking(r, False)
        reader = PipeReader(loop, r, channel)
        loop.remove_reader(r)
        reader._resume = loop.call_later(60, reader._wake)  # as if resting
        os.write(w, b"first\n")
        output.catch_up([reader])
        assert path.read_bytes() == b"first\n"
        assert not reader.closed
        os.write(w, b"second\n")
        reader.close()
        os.close(w)
        assert path.read_bytes() == b"first\nsecond\n"
        r2, w2 = os.pipe()
        os.set_blocking(r2, False)
        ended = PipeReader(loop, r2, channel)
        os.write(w2, b"last words")
        os.close(w2)
        output.catch_up([ended])
        assert ended.closed
        assert path.read_bytes() == b"first\nsecond\nlast words\n"

    asyncio.run(scenario())


def test_resting_reader_wakes_and_reads_what_came(tmp_path: Path) -> None:
    """The timer's read finds nothing: the reader listens again and gets what comes."""
    path = tmp_path / "w.log"

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        ended = asyncio.Event()
        r, w = os.pipe()
        os.set_blocking(r, False)
        reader = PipeReader(loop, r, OutputChannel(LogFile(str(path), 0, 0)),
                            on_eof=lambda _: ended.set())
        loop.remove_reader(r)
        reader._wake()  # nothing there: back to listening
        os.write(w, b"one\n")
        os.close(w)
        await ended.wait()

    asyncio.run(scenario())
    assert path.read_bytes() == b"one\n"


def test_mode_changes_keep_the_byte_order(tmp_path: Path) -> None:
    """A half line kept while the file was shared goes first when the file is alone again."""
    path = tmp_path / "m.log"
    logfile = LogFile(str(path), 0, 0)
    channel = OutputChannel(logfile)
    pipe = bytearray()
    logfile.users = 2
    channel.feed(memoryview(b"whole\nhal"), pipe)
    assert path.read_bytes() == b"whole\n"
    logfile.users = 1
    channel.feed(b"f and more", pipe)
    assert path.read_bytes() == b"whole\nhalf and more"
    logfile.users = 2
    channel.feed(b"\nnext ha", pipe)
    logfile.users = 1
    r, w = os.pipe()
    os.write(w, b"lf\n")
    os.close(w)
    assert channel.splice_from(r, pipe) == 3
    os.close(r)
    assert path.read_bytes() == b"whole\nhalf and more\nnext half\n"
    assert channel.tail == b"whole\nhalf and more\nnext half\n"


def test_events_and_the_debug_copy_get_whole_lines(tmp_path: Path) -> None:
    """With a listener the own file still gets whole lines, and both see the same batch."""
    path = tmp_path / "e.log"
    echoed: list[bytes] = []
    events: list[bytes] = []
    channel = OutputChannel(LogFile(str(path), 0, 0), echo=echoed.append)
    channel.on_lines = events.append
    r, w = os.pipe()
    assert channel.splice_from(r, bytearray()) is None, "lines are wanted: no splice"
    os.close(r)
    os.close(w)
    channel.feed(b"one\ntw")
    assert path.read_bytes() == b"one\n"
    assert events == [b"one\n"]
    assert echoed == [], "the daemon does not log at debug level"
    daemon_log = logging.getLogger("capataz.supervisor")
    level = daemon_log.level
    daemon_log.setLevel(logging.DEBUG)
    try:
        channel.on_lines = None
        channel.feed(b"o\n")
    finally:
        daemon_log.setLevel(level)
    assert echoed == [b"two\n"]
    assert path.read_bytes() == b"one\ntwo\n"


def test_write_only_file_still_logs_and_shows_no_tail_from_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file the daemon may only write: logging works, read-backs give nothing."""
    real_open = os.open

    def no_read(path: str, flags: int, mode: int = 0o777) -> int:
        if flags & os.O_RDWR:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", no_read)
    path = tmp_path / "wo.log"
    logfile = LogFile(str(path), 0, 0)
    logfile.write(b"kept\n")
    assert path.read_bytes() == b"kept\n"
    assert logfile.read_end(3) == b""


def test_writes_after_the_directory_vanished_are_counted_as_dropped(tmp_path: Path) -> None:
    """Whole lines across a failed rotation, and raw bytes, are dropped and reported once."""
    errors: list[str] = []
    folder = tmp_path / "d"
    folder.mkdir()
    lines = LogFile(str(folder / "l.log"), 10, 1, on_error=lambda p, exc: errors.append(p))
    lines.users = 2
    raw = LogFile(str(folder / "r.log"), 10, 1, on_error=lambda p, exc: errors.append(p))
    (folder / "l.log").unlink()
    (folder / "r.log").unlink()
    folder.rmdir()
    lines.write(b"aaaa\nbbbb\ncccc\n")
    assert lines.dropped_bytes == 5
    raw.write_raw(b"0123456789abcde", object())
    assert raw.dropped_bytes == 5
    assert errors == [str(folder / "l.log"), str(folder / "r.log")]
    assert lines.read_end(4) == b""
    r, w = os.pipe()
    os.write(w, b"x")
    assert raw.splice_from(r, object()) is None, "nothing to splice into"
    os.close(r)
    os.close(w)


def test_short_writes_are_completed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that takes only part of the bytes is followed by the rest."""
    real_writev = os.writev
    monkeypatch.setattr(os, "writev", lambda fd, parts: real_writev(fd, [parts[0][:2]]))
    path = tmp_path / "short.log"
    logfile = LogFile(str(path), 0, 0)
    logfile.write_parts((b"abc", b"def\n"))
    assert path.read_bytes() == b"abcdef\n"


def test_splice_into_a_file_found_full_rotates_first(tmp_path: Path) -> None:
    """A file already past maxbytes when opened is rotated before the first splice."""
    path = tmp_path / "big.log"
    path.write_bytes(b"old" * 10)
    logfile = LogFile(str(path), 20, 1)
    r, w = os.pipe()
    os.write(w, b"new\n")
    os.close(w)
    assert logfile.splice_from(r, object()) == 4
    os.close(r)
    assert path.read_bytes() == b"new\n"
    assert (tmp_path / "big.log.1").read_bytes() == b"old" * 10


def test_catch_up_of_a_closed_reader_and_reads_failing(tmp_path: Path) -> None:
    """Catching up a closed reader does nothing; a read error ends the pipe like EOF."""

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        r, w = os.pipe()
        os.set_blocking(r, False)
        ended: list[PipeReader] = []
        reader = PipeReader(loop, r, OutputChannel(None), on_eof=ended.append)
        reader.close()
        reader.catch_up()
        os.close(w)
        assert ended == [reader]
        r2, w2 = os.pipe()
        os.set_blocking(r2, False)
        broken = PipeReader(loop, r2, OutputChannel(None), on_eof=ended.append)
        loop.remove_reader(r2)
        os.close(r2)  # the read fails with EBADF: treated as the end
        broken.fd = os.open(os.devnull, os.O_RDONLY)
        os.close(broken.fd)
        broken.catch_up()
        assert ended == [reader, broken]
        os.close(w2)

    asyncio.run(scenario())


def _fill_an_enlarged_pipe_and_wake(path: Path, chunk: bytes) -> tuple[PipeReader, int, int]:
    """A reader of an enlarged pipe that a writer filled to the brim, woken once by hand
    (not by the loop): the reader, the write end, and how much was written."""
    loop = asyncio.get_running_loop()
    r, w = os.pipe()
    os.set_blocking(r, False)
    reader = PipeReader(loop, r, OutputChannel(LogFile(str(path), 0, 0)))
    assert reader._grow()
    os.set_blocking(w, False)
    written = 0
    with contextlib.suppress(BlockingIOError):
        while True:
            written += os.write(w, chunk)
    loop.remove_reader(r)
    reader._wake()
    return reader, w, written


def test_one_wake_empties_a_full_pipe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pipe holding more than one splice is emptied in one turn, not a chunk per rest:
    a writer kept blocked would otherwise be paced by the reader's chunk size."""
    monkeypatch.setattr(output, "_budget", PipeBudget(None))
    monkeypatch.setattr(logfiles, "SPLICE_CHUNK", 256 * 1024)  # a quarter of the pipe
    monkeypatch.setattr(output, "SPLICE_STREAK", 256 * 1024)
    path = tmp_path / "full.log"

    async def scenario() -> None:
        reader, w, written = _fill_an_enlarged_pipe_and_wake(path, b"z" * 65536)
        assert written > output.SPLICE_STREAK
        assert path.stat().st_size == written
        reader.close()
        os.close(w)

    asyncio.run(scenario())


def test_a_child_log_that_is_the_daemons_own_log_gets_whole_lines(tmp_path: Path) -> None:
    """The daemon writes its own lines there too: the child's half lines must wait."""
    path = tmp_path / "daemon.log"
    logger = mainlog.setup(str(path), maxbytes=0, backups=0, level="info", to_stdout=False)
    try:
        channel = OutputChannel(LogFile(str(path), 0, 0))
        assert mainlog.writes_to(str(path))
        channel.feed(b"half")
        logger.info("from the daemon")
        channel.feed(b" done\n")
    finally:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
    lines = path.read_bytes().splitlines()
    assert lines[0].endswith(b"INFO from the daemon")
    assert lines[1:] == [b"half done"]
    assert not mainlog.writes_to(str(path))


@pytest.fixture
def fresh_relay() -> Iterator[None]:
    """Each test opens its own relay and leaves none behind."""
    logfiles.close_relay()
    yield
    logfiles.close_relay()


def _relay_is_empty() -> bool:
    relay = logfiles.relay()
    assert relay is not None
    with contextlib.suppress(BlockingIOError):
        return not os.read(relay.read_fd, 1)
    return True


def test_a_file_refusing_splice_from_the_relay_gets_the_bytes_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_relay: None
) -> None:
    """Bytes already moved to the relay when the file refuses splice are written plainly,
    the relay is emptied, and the file is read into from then on."""
    real_splice = os.splice
    into_file: list[int] = []

    def no_file_splice(*args: int, **kwargs: int) -> int:
        if "offset_dst" in kwargs:
            into_file.append(args[2])
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_splice(*args, **kwargs)

    monkeypatch.setattr(os, "splice", no_file_splice)
    path = tmp_path / "norelay.log"
    logfile = LogFile(str(path), 0, 0)
    channel = OutputChannel(logfile)
    data = b"".join(b"line %d\n" % i for i in range(60_000))
    pump([channel], [lambda fd: write_all(fd, data)])
    assert path.read_bytes() == data
    assert len(into_file) == 1, "refused once, for good"
    assert not logfile.can_splice
    assert _relay_is_empty()


def test_a_full_disk_behind_the_relay_is_reported_and_the_relay_emptied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_relay: None
) -> None:
    """The file takes part of a move, then the disk is full: reported once, the rest
    dropped and counted, the relay empty for the next file."""
    real_splice = os.splice
    taken = [0]

    def fill_up(*args: int, **kwargs: int) -> int:
        if "offset_dst" not in kwargs:
            return real_splice(*args, **kwargs)
        if taken[0] >= 1000:
            raise OSError(errno.ENOSPC, "No space left on device")
        moved = real_splice(args[0], args[1], min(args[2], 400), **kwargs)
        taken[0] += moved
        return moved

    monkeypatch.setattr(os, "splice", fill_up)
    errors: list[str] = []
    path = tmp_path / "full.log"
    logfile = LogFile(str(path), 0, 0, on_error=lambda p, exc: errors.append(p))
    r, w = os.pipe()
    os.write(w, b"x" * 5000)
    monkeypatch.setattr(os, "write", _raise(errno.ENOSPC))
    assert logfile.splice_from(r, object()) == 5000
    assert path.stat().st_size == 1200, "what the file took before it was full"
    assert errors == [str(path)]
    assert logfile.dropped_bytes == 3800
    assert _relay_is_empty()
    monkeypatch.undo()
    other = LogFile(str(tmp_path / "other.log"), 0, 0)
    os.write(w, b"next\n")
    assert other.splice_from(r, object()) == 5
    assert (tmp_path / "other.log").read_bytes() == b"next\n"
    for fd in (r, w):
        os.close(fd)


def test_without_a_relay_the_pipe_is_spliced_straight_into_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_relay: None
) -> None:
    """No pipe to spare, or none of the relay's size: splice directly, every byte kept."""
    monkeypatch.setattr(os, "pipe", _raise(errno.EMFILE))
    assert Relay.open() is None
    monkeypatch.undo()
    real_fcntl = fcntl.fcntl

    def no_large_pipes(fd: int, cmd: int, arg: int = 0) -> int:
        if cmd == fcntl.F_SETPIPE_SZ:
            raise OSError(errno.EPERM, "Operation not permitted")
        return real_fcntl(fd, cmd, arg)

    monkeypatch.setattr(fcntl, "fcntl", no_large_pipes)
    path = tmp_path / "direct.log"
    channel = OutputChannel(LogFile(str(path), 0, 0))
    data = b"y" * 99 + b"\n"
    pump([channel], [lambda fd: write_all(fd, data * 20_000)])
    assert logfiles.relay() is None
    assert path.read_bytes() == data * 20_000


def test_closing_the_logs_closes_the_relay(tmp_path: Path, fresh_relay: None) -> None:
    """The daemon's last log closed, no relay descriptor stays open."""
    before = len(os.listdir("/proc/self/fd"))
    files = LogFiles()
    logfile = files.acquire(str(tmp_path / "own.log"), 0, 0)
    r, w = os.pipe()
    os.write(w, b"one\n")
    assert logfile.splice_from(r, object()) == 4
    assert logfiles.relay() is not None
    files.close_all()
    for fd in (r, w):
        os.close(fd)
    assert len(os.listdir("/proc/self/fd")) == before


def test_a_full_enlarged_pipe_goes_to_the_file_in_one_move(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_relay: None
) -> None:
    """Through the relay a whole enlarged pipe is one move and one splice into the file."""
    monkeypatch.setattr(output, "_budget", PipeBudget(None))
    real_splice = os.splice
    into_file: list[int] = []

    def counting(*args: int, **kwargs: int) -> int:
        moved = real_splice(*args, **kwargs)
        if "offset_dst" in kwargs:
            into_file.append(moved)
        return moved

    monkeypatch.setattr(os, "splice", counting)
    path = tmp_path / "whole.log"

    async def scenario() -> None:
        reader, w, written = _fill_an_enlarged_pipe_and_wake(path, b"y" * 99 + b"\n")
        assert written > output.LARGE_PIPE * 0.9  # 40 lines a page
        assert into_file == [written]
        reader.close()
        os.close(w)

    asyncio.run(scenario())
