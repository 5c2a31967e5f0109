"""Model-based check: random sequences of operations give the same answers on the SQLite
store as on the in-memory one (the reference), under the same fake clock."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from capataz.queue.backends.base import NewJob
from capataz.queue.backends.memory import MemoryBackend
from capataz.queue.backends.sqlite import SqliteBackend
from capataz.queue.clock import FakeClock

QUEUES = st.sampled_from(["high", "default"])


class SameAnswers(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp())
        self.clock = FakeClock()
        self.memory = MemoryBackend(self.clock)
        self.sqlite = SqliteBackend(self.tmp / "model.db", self.clock)
        self.held: dict[str, tuple[str, str]] = {}
        self.count = 0

    def teardown(self) -> None:
        self.sqlite.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def both(self, method: str, *args: object, **kwargs: object) -> object:
        expected = getattr(self.memory, method)(*args, **kwargs)
        actual = getattr(self.sqlite, method)(*args, **kwargs)
        assert actual == expected, (method, args, actual, expected)
        return expected

    @rule(queue=QUEUES, delay=st.sampled_from([0, 0, 5]), unique=st.sampled_from([None, "k"]))
    def push(self, queue: str, delay: float, unique: str | None) -> None:
        self.count += 1
        uuid = f"j{self.count}"
        job = NewJob(uuid, queue, "{}", self.clock.time() + delay, unique)
        self.both("push", [job])

    @rule(queues=st.sampled_from([["high", "default"], ["default"], ["default", "high"]]),
          lease=st.sampled_from([3, 30]))
    def claim(self, queues: list[str], lease: float) -> None:
        mem = self.memory.claim(queues, "w", lease)
        sql = self.sqlite.claim(queues, "w", lease)
        assert (mem is None) == (sql is None)
        if mem is None or sql is None:
            return
        assert (sql.uuid, sql.queue, sql.attempts, sql.exceptions) == (
            mem.uuid, mem.queue, mem.attempts, mem.exceptions)
        self.held[mem.uuid] = (mem.lease_token, sql.lease_token)

    @precondition(lambda self: self.held)
    @rule(data=st.data(), action=st.sampled_from(["complete", "release", "fail", "renew"]))
    def settle(self, data: st.DataObject, action: str) -> None:
        uuid = data.draw(st.sampled_from(sorted(self.held)))
        mem_token, sql_token = self.held[uuid]
        if action == "complete":
            results = (self.memory.complete(mem_token), self.sqlite.complete(sql_token))
        elif action == "release":
            results = (self.memory.release(mem_token, 2, after_exception=True),
                       self.sqlite.release(sql_token, 2, after_exception=True))
        elif action == "fail":
            results = (self.memory.fail(mem_token, "x"), self.sqlite.fail(sql_token, "x"))
        else:
            results = (self.memory.renew(mem_token, 30), self.sqlite.renew(sql_token, 30))
        assert results[0] == results[1], (action, uuid)
        if action != "renew":
            del self.held[uuid]

    @rule(seconds=st.sampled_from([1, 4, 40]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule()
    def retry_all_failed(self) -> None:
        ids_mem = [f.id for f in self.memory.failed_jobs()]
        ids_sql = [f.id for f in self.sqlite.failed_jobs()]
        retried = self.memory.retry_failed(ids_mem)
        assert sorted(retried) == sorted(self.sqlite.retry_failed(ids_sql))

    @rule(queue=QUEUES)
    def pause_or_resume(self, queue: str) -> None:
        name = f"pause:{queue}"
        if name in self.memory.markers():
            self.both("delete_marker", name)
        else:
            self.both("set_marker", name, 1.0)

    @invariant()
    def same_counts(self) -> None:
        mem = [(s.queue, s.waiting, s.delayed, s.running, s.failed) for s in self.memory.stats()]
        sql = [(s.queue, s.waiting, s.delayed, s.running, s.failed) for s in self.sqlite.stats()]
        assert mem == sql
        assert [f.uuid for f in self.memory.failed_jobs()] == [
            f.uuid for f in self.sqlite.failed_jobs()]


SameAnswers.TestCase.settings = settings(
    max_examples=100, stateful_step_count=25, deadline=None
)
TestSameAnswers = SameAnswers.TestCase
