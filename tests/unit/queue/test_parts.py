"""Small parts: payload checks, output lines, SQL blocks, flag parsing, the watchdog thread."""

from __future__ import annotations

import argparse
import io
import json
import os
import threading
import time
from datetime import datetime

import pytest

from capataz.queue.backends.sqlfile import parse_blocks, split_statements
from capataz.queue.clock import FakeClock, SystemClock
from capataz.queue.envargs import (
    UsageError,
    add,
    env_name,
    name_list,
    non_negative_float,
    non_negative_int,
    positive_float,
    seconds_list,
)
from capataz.queue.errors import PayloadError
from capataz.queue.output import Output, format_duration
from capataz.queue.payload import Payload, decode
from capataz.queue.registry import MAX_SHAPES, JobDefinition, JobOptions
from capataz.queue.watchdog import ThreadWatchdog
from capataz.queue.worker import ResidentMemory


def test_payload_round_trip():
    """encode then decode gives the same payload; unset limits are left out of the JSON."""
    payload = Payload(uuid="u", job="j", args=[1, "a"], kwargs={"k": [1]}, tries=3,
                      backoff=[1.0, 2.0], timeout=5.0, retry_until=60.0, max_exceptions=2,
                      fail_on_timeout=True, dispatched_at=12.5)
    assert decode(payload.encode()) == payload
    minimal = json.loads(Payload(uuid="u", job="j").encode())
    assert "tries" not in minimal
    assert decode(b'{"uuid": "u", "job": "j"}') == Payload(uuid="u", job="j")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not valid JSON"),
        ("null", "must be a JSON object"),
        ('{"uuid": "u", "job": ""}', "no job name"),
        ('{"uuid": "u", "job": "j", "max_exceptions": 1.5}', "must be an integer"),
        ('{"uuid": "u", "job": "j", "retry_until": "x"}', "must be a number"),
        ('{"uuid": "u", "job": "j", "backoff": [1, "x"]}', "must be a number"),
        ('{"uuid": "u", "job": "j", "timeout": Infinity}', "must be finite"),
    ],
)
def test_payload_rejections(text, message):
    """Every malformed field is a PayloadError naming the field."""
    with pytest.raises(PayloadError, match=message):
        decode(text)


def test_output_lines_in_text_and_json():
    """Text: time, name, id, dots, status (duration before DONE); JSON: one object a line."""
    clock = FakeClock()
    stream = io.StringIO()
    out = Output(clock, stream=stream)
    out.job("RUNNING", "billing.send", "id-1", attempt=1)
    out.job("FAIL", "billing.send", "id-1", attempt=1, duration=1.5, error="RuntimeError: x")
    out.info("worker stopping")
    lines = stream.getvalue().splitlines()
    assert lines[0].endswith(" RUNNING")
    assert " billing.send id-1 ..." in lines[0]
    assert lines[1].endswith("1.50s FAIL")
    assert lines[2] == "  RuntimeError: x"
    assert lines[3].endswith("worker stopping")
    assert len(lines[0]) == len(lines[1])
    stream = io.StringIO()
    out = Output(clock, json_lines=True, stream=stream)
    out.job("DONE", "j", "id", attempt=2, duration=0.01234)
    out.info("hello", worker="w")
    done, hello = (json.loads(line) for line in stream.getvalue().splitlines())
    assert done == {"time": clock.time(), "event": "job", "status": "DONE", "job": "j",
                    "id": "id", "attempt": 2, "duration_ms": 12.34}
    assert hello["message"] == "hello"
    assert hello["worker"] == "w"
    assert format_duration(0.5) == "500.00ms"
    assert Output(clock).stream is not None


def test_sql_blocks():
    """Blocks are named by '-- name:' lines; comments dropped; statements split at ';'."""
    blocks = parse_blocks("-- header\n-- name: one\n-- about\nSELECT 1;\n-- name: two\nA;\nB;\n")
    assert blocks == {"one": "SELECT 1;", "two": "A;\nB;"}
    assert split_statements(blocks["two"]) == ["A", "B"]


def test_flag_types_explain_bad_values():
    """Flag types reject bad values with a message saying what is expected."""
    assert non_negative_int("3") == 3
    assert non_negative_float("0.5") == 0.5
    assert positive_float("2") == 2.0
    assert seconds_list("10, 60") == (10.0, 60.0)
    assert name_list("high, default,") == ("high", "default")
    for func, text, message in [
        (non_negative_int, "x", "not a whole number"),
        (non_negative_int, "-1", "0 or more"),
        (non_negative_float, "inf", "finite"),
        (positive_float, "0", "more than 0"),
        (seconds_list, "1,,2", "comma-separated"),
        (name_list, ",", "names no queue"),
    ]:
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            func(text)


def test_environment_twins(monkeypatch):
    """A flag's CAPATAZ_* variable sets its default and shows in the help."""
    assert env_name("--max-jobs") == "CAPATAZ_MAX_JOBS"
    monkeypatch.setenv("CAPATAZ_SLEEP", "7")
    monkeypatch.setenv("CAPATAZ_FORCE", "yes")
    monkeypatch.setenv("CAPATAZ_QUIET", "off")
    parser = argparse.ArgumentParser()
    add(parser, "--sleep", type=non_negative_float, default=3.0, help="sleep")
    add(parser, "--force", switch=True, help="force")
    add(parser, "--quiet", switch=True, help="quiet")
    args = parser.parse_args([])
    assert (args.sleep, args.force, args.quiet) == (7.0, True, False)
    assert parser.parse_args(["--sleep", "1"]).sleep == 1.0
    assert "[env: CAPATAZ_SLEEP] (default: 7)" in " ".join(parser.format_help().split())
    monkeypatch.setenv("CAPATAZ_SLEEP", "later")
    with pytest.raises(UsageError, match="CAPATAZ_SLEEP='later' is not valid"):
        add(argparse.ArgumentParser(), "--sleep", type=non_negative_float, help="sleep")


def test_system_clock_reads_real_time():
    """The system clock's wall time is the epoch; sleep(0) returns at once."""
    clock = SystemClock()
    assert abs(clock.time() - time.time()) < 1
    before = clock.monotonic()
    clock.sleep(0)
    clock.sleep(0.001)
    assert clock.monotonic() >= before


def test_watchdog_renews_leases_and_fires_the_timeout():
    """The watchdog thread renews every third of the lease and calls on_timeout once."""
    renewals: list[str] = []
    lost: list[str] = []
    fired = threading.Event()

    def renew(lease: str) -> bool:
        renewals.append(lease)
        if lease == "broken":
            raise OSError("store hiccup")
        return lease != "stolen"

    dog = ThreadWatchdog(renew, lease_seconds=0.15, on_lease_lost=lost.append)
    try:
        dog.arm("t1", 0, fired.set)
        time.sleep(0.3)
        dog.disarm()
        assert renewals.count("t1") >= 2
        dog.arm("stolen", 0, fired.set)
        time.sleep(0.15)
        dog.disarm()
        assert "stolen" in lost
        dog.arm("broken", 0, fired.set)
        time.sleep(0.15)
        dog.disarm()
        assert "broken" not in lost
        dog.arm("t2", 0.1, fired.set)
        assert fired.wait(2)
        time.sleep(0.1)
    finally:
        dog.close()
    assert not dog._thread.is_alive()


def test_resident_memory_reads_statm_through_one_descriptor(tmp_path):
    """The probe keeps the file open and reads it afresh each time; a forked child
    opens it again (its /proc/self is another process); without the file it falls
    back to the peak resident size."""
    page_mb = os.sysconf("SC_PAGE_SIZE") / 1024 / 1024
    statm = tmp_path / "statm"
    statm.write_text("900 256 10 1 0 100 0\n")
    probe = ResidentMemory(str(statm))
    assert probe() == 256 * page_mb
    with statm.open("r+") as same_file:
        same_file.write("900 512 10 1 0 100 0\n")
    assert probe() == 512 * page_mb
    replaced = tmp_path / "replaced"
    replaced.write_text("900 1024 10 1 0 100 0\n")
    replaced.replace(statm)
    assert probe() == 512 * page_mb  # the descriptor still reads the file it opened
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        try:
            os.write(writer, repr(probe()).encode())
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader, "rb") as answer:
        assert float(answer.read()) == 1024 * page_mb
    os.waitpid(child, 0)
    assert probe() == 512 * page_mb  # the parent keeps its own descriptor
    assert ResidentMemory(str(tmp_path / "missing"))() > 0
    assert 1 < ResidentMemory()() < 10_000


def test_output_stamps_follow_the_clock_second_by_second():
    """Lines within one second share its timestamp; the next second shows on the next line."""
    clock = FakeClock(start=1_800_000_000.25)
    stream = io.StringIO()
    out = Output(clock, stream=stream)
    out.info("one")
    clock.advance(0.5)
    out.info("two")
    clock.advance(0.5)
    out.info("three")
    one, two, three = (line.rsplit(" ", 1)[0] for line in stream.getvalue().splitlines())
    assert one == two == datetime.fromtimestamp(1_800_000_000).strftime("%Y-%m-%d %H:%M:%S")
    assert three == datetime.fromtimestamp(1_800_000_001).strftime("%Y-%m-%d %H:%M:%S")


def test_argument_shapes_that_fit_are_remembered_and_others_still_refused(monkeypatch):
    """check_arguments binds each shape (positional count, keyword names) once; a shape
    that does not fit is refused every time, and the remembered shapes are bounded."""
    def two(a: int, b: int = 0, **extra: int) -> None: ...

    definition = JobDefinition(two, JobOptions(name="t.two"))
    binds = []
    real_bind = definition.signature.bind
    monkeypatch.setattr(definition, "signature", type("S", (), {
        "bind": lambda self, *a, **k: binds.append((a, k)) or real_bind(*a, **k),
        "parameters": definition.signature.parameters,
        "replace": definition.signature.replace,
    })())
    definition.check_arguments([1], {})
    definition.check_arguments([2], {})
    definition.check_arguments([1], {"b": 2})
    definition.check_arguments([3], {"b": 4})
    assert binds == [((1,), {}), ((1,), {"b": 2})]
    for _ in range(2):
        with pytest.raises(PayloadError, match=r"do not fit t.two\(a, b=0, \*\*extra\)"):
            definition.check_arguments([1, 2, 3], {})
        with pytest.raises(PayloadError, match="multiple values"):
            definition.check_arguments([1], {"a": 1})
    for index in range(2 * MAX_SHAPES):
        definition.check_arguments([1], {f"k{index}": 1})
    assert len(definition._fitting_shapes) == MAX_SHAPES
