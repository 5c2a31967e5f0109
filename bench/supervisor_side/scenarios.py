"""The supervisor scenarios; each runner starts a daemon on a fresh config and measures it."""

from __future__ import annotations

import os
import random
import signal
import statistics
import sys
import tempfile
import time
import xmlrpc.client
from collections.abc import Callable
from pathlib import Path

from bench import proc
from bench.scenario import Better, Metric, Runner, Sample, Scenario, Settings, Side
from bench.supervisor_side import conf, daemon
from bench.supervisor_side.daemon import DaemonKind

SLEEPER = "/bin/sleep 1000000"
WRITER = Path(__file__).with_name("writer.py")
MEGABYTE = 1_000_000
GROUP = "Supervisor: capatazd vs supervisord 4.3"

SECONDS = Metric("seconds", "time", "s")
KindFactory = Callable[[], DaemonKind]


def _tempdir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="capataz-bench-")


def start_to_running(kind: KindFactory, count: int) -> Sample:
    with _tempdir() as tmp:
        config = conf.write(Path(tmp), [conf.Program("sleeper", SLEEPER, numprocs=count)])
        started = time.perf_counter()
        with daemon.running(kind(), config, ready=False, sample_start=True) as running:
            # No RPC until the children exist: a poll would wake supervisord's loop
            # and start its processes sooner than it does on its own.
            daemon.wait_children(running, count)
            daemon.wait_ready(running)
            daemon.wait_all_running(running, count)
            return {"seconds": time.perf_counter() - started}


def sigkill_to_running(kind: KindFactory, kills: int) -> Sample:
    count = 8
    with _tempdir() as tmp:
        config = conf.write(Path(tmp), [conf.Program("sleeper", SLEEPER, numprocs=count)])
        with daemon.running(kind(), config) as running:
            info = daemon.wait_all_running(running, count)
            took = []
            with running.sampled():
                for i in range(kills):
                    # A random pause puts each kill at a random point of the daemon's
                    # loop: supervisord reacts in 0 or 1 s depending on where its 1 s
                    # poll stands, so only the mean over random phases is fair.
                    time.sleep(random.uniform(0.0, 1.0))
                    took.append(_kill_one(running, info[i % count]))
            return {"seconds": statistics.fmean(took)}


def _kill_one(running: daemon.Daemon, victim: dict[str, object]) -> float:
    name = f"{victim['group']}:{victim['name']}"
    old_pid = int(str(running.rpc.supervisor.getProcessInfo(name)["pid"]))
    before = proc.children(running.pid) - {old_pid}
    started = time.perf_counter()
    os.kill(old_pid, signal.SIGKILL)
    deadline = started + 30
    # Watch /proc for the replacement first: polling the RPC would wake the
    # daemon's loop and measure our polling instead of its own reaction time.
    while not proc.children(running.pid) - before - {old_pid}:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{running.kind.label} did not respawn {name}")
        time.sleep(0.001)
    while True:
        now = running.rpc.supervisor.getProcessInfo(name)
        if now["state"] == daemon.RUNNING and now["pid"] not in (0, old_pid):
            running.remember_children({int(now["pid"])})
            return time.perf_counter() - started
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{running.kind.label}: {name} not RUNNING again")
        time.sleep(0.005)


def info_latency(kind: KindFactory, count: int, calls: int) -> Sample:
    with _tempdir() as tmp:
        config = conf.write(Path(tmp), [conf.Program("sleeper", SLEEPER, numprocs=count)])
        with daemon.running(kind(), config) as running:
            daemon.wait_all_running(running, count)
            took, raw = [], []
            request = xmlrpc.client.dumps((), "supervisor.getAllProcessInfo").encode()
            connection = daemon.UnixConnection(str(running.directory / "rpc.sock"), 60)
            with running.sampled():
                for _ in range(calls):
                    started = time.perf_counter()
                    running.all_info()
                    took.append(time.perf_counter() - started)
                    # The same call, the answer read but not parsed: the daemon's own share.
                    started = time.perf_counter()
                    connection.request("POST", "/RPC2", request, {"Content-Type": "text/xml"})
                    connection.getresponse().read()
                    raw.append(time.perf_counter() - started)
            connection.close()
            return {"ms": statistics.median(took) * 1000,
                    "response_ms": statistics.median(raw) * 1000}


def stop_all(kind: KindFactory, count: int) -> Sample:
    with _tempdir() as tmp:
        config = conf.write(Path(tmp), [conf.Program("sleeper", SLEEPER, numprocs=count)])
        with daemon.running(kind(), config) as running:
            daemon.wait_all_running(running, count)
            with running.sampled():
                started = time.perf_counter()
                running.rpc.supervisor.stopAllProcesses()
                return {"seconds": time.perf_counter() - started}


def idle(kind: KindFactory, count: int, window: float) -> Sample:
    with _tempdir() as tmp:
        config = conf.write(Path(tmp), [conf.Program("sleeper", SLEEPER, numprocs=count)])
        with daemon.running(kind(), config) as running:
            daemon.wait_all_running(running, count)
            time.sleep(1.0)  # let start-up work settle before the quiet window
            with running.sampled():
                cpu_before = proc.cpu_seconds(running.pid)
                time.sleep(window)
                cpu = proc.cpu_seconds(running.pid) - cpu_before
            return {"rss_mb": proc.rss_megabytes(running.pid),
                    "idle_cpu_pct": 100 * cpu / window}


def log_capture(kind: KindFactory, mode: str, writers: int, megabytes: int) -> Sample:
    total = megabytes * MEGABYTE
    each = total // writers
    with _tempdir() as tmp:
        logfile = Path(tmp) / "writers.log"
        command = f"{sys.executable} {WRITER} {mode} {each}"
        program = conf.Program("writer", command, numprocs=writers, autostart=False,
                               autorestart=False, logfile=str(logfile))
        config = conf.write(Path(tmp), [program])
        with daemon.running(kind(), config) as running:
            with running.sampled():
                cpu_before = proc.cpu_seconds(running.pid)
                started = time.perf_counter()
                running.rpc.supervisor.startProcessGroup("writer", False)
                _wait_size(logfile, each * writers, running)
                elapsed = time.perf_counter() - started
                cpu = proc.cpu_seconds(running.pid) - cpu_before
            written = logfile.stat().st_size / MEGABYTE
            return {"mb_per_s": written / elapsed, "cpu_s_per_mb": cpu / written}


def _wait_size(path: Path, size: int, running: daemon.Daemon, timeout: float = 300) -> None:
    deadline = time.perf_counter() + timeout
    while True:
        try:
            if path.stat().st_size >= size:
                return
        except FileNotFoundError:
            pass
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{running.kind.label} did not write {size} bytes to {path}")
        time.sleep(0.005)


def _sides(run: Callable[[KindFactory, Settings], Sample]) -> tuple[Side, ...]:
    def bind(kind: KindFactory) -> Runner:
        return lambda settings: run(kind, settings)

    return (Side("capatazd", bind(daemon.capatazd), is_capataz=True),
            Side("supervisord", bind(daemon.supervisord)))


def _start(name: str, size: Callable[[Settings], int]) -> Scenario:
    return Scenario(
        name, lambda s: f"daemon start to {size(s):,} processes RUNNING (startsecs=0)",
        (SECONDS,), _sides(lambda kind, s: start_to_running(kind, size(s))), GROUP)


def _info(name: str, size: Callable[[Settings], int]) -> Scenario:
    return Scenario(
        name, lambda s: f"getAllProcessInfo latency with {size(s):,} processes",
        (Metric("ms", "latency with xmlrpc.client", "ms"),
         Metric("response_ms", "response, unparsed", "ms")),
        _sides(lambda kind, s: info_latency(kind, size(s), 10 if s.quick else 30)), GROUP,
        notes="Latency is the whole call as a Python client sees it, parsing included "
        "(the same client cost for both daemons, which sets a floor under the ratio); the "
        "unparsed response is the same request with the answer read as bytes.")


WRITER_BOUND = (" The writer is a Python loop issuing one write() per 100-byte line: on 2 cores it "
                "manages about 140 MB/s into /dev/null and about 100 MB/s into a pipe however "
                "fast the reader, so throughput here is the writer's limit for both daemons; "
                "the daemon CPU per MB is then the figure that tells them apart.")


def _log(name: str, mode: str, writers: int, what: str, scale: int = 1) -> Scenario:
    # CPU time in /proc ticks every 10 ms: fast scenarios write more so a run lasts
    # long enough for the CPU figure to mean something.
    metrics = (Metric("mb_per_s", "throughput", "MB/s", Better.HIGHER),
               Metric("cpu_s_per_mb", "daemon CPU", "CPU s/MB"))
    return Scenario(
        name, lambda s: f"log capture, {what}, {s.log_megabytes * scale:,} MB", metrics,
        _sides(lambda kind, s: log_capture(kind, mode, writers, s.log_megabytes * scale)),
        GROUP,
        notes="Daemon CPU is utime+stime of the daemon process from /proc/<pid>/stat "
        "(10 ms ticks); throughput runs from the startProcessGroup call to the last byte "
        "in the file." + (WRITER_BOUND if mode == "lines" else ""))


def _kills(settings: Settings) -> int:
    return 6 if settings.quick else 12


def scenarios() -> list[Scenario]:
    return [
        _start("sup.start.8", lambda s: 8),
        _start("sup.start.200", lambda s: 200),
        _start("sup.start.1000", lambda s: s.many_processes),
        Scenario("sup.sigkill", lambda s: f"SIGKILL of one of 8 children to RUNNING again "
                 f"(mean of {_kills(s)} kills a run, each after a random 0-1 s pause)",
                 (SECONDS,), _sides(lambda kind, s: sigkill_to_running(kind, _kills(s))), GROUP),
        _info("sup.info.200", lambda s: 200),
        _info("sup.info.1000", lambda s: s.many_processes),
        Scenario("sup.stopall.200", lambda s: "stopAllProcesses with 200 processes",
                 (SECONDS,), _sides(lambda kind, s: stop_all(kind, 200)), GROUP),
        _log("sup.log.blocks", "blocks", 1, "one child writing 64 KiB blocks", scale=5),
        _log("sup.log.lines", "lines", 1, "one child writing 100-byte lines, one write each"),
        _log("sup.log.shared", "lines", 8, "8 children writing 100-byte lines to one file"),
        Scenario("sup.idle.200", lambda s: f"daemon RSS and idle CPU with 200 processes "
                 f"({s.idle_seconds:g} s window)",
                 (Metric("rss_mb", "RSS", "MB"), Metric("idle_cpu_pct", "idle CPU", "% of a core")),
                 _sides(lambda kind, s: idle(kind, 200, s.idle_seconds)), GROUP),
    ]
