"""The demo from start to summary: set up, start, dispatch, watch, report, stop.

It talks to the running system only as a user's application would: it stores receipts
in the billing store, dispatches jobs to the queue, and reads the billing store back.
The workers, under capatazd, do everything else.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from capataz.queue import CONNECTIONS
from facturacion.billing import jobs
from facturacion.billing.demo.batch import Batch, make_receipts, script
from facturacion.billing.demo.setup import DemoPaths, prepare
from facturacion.billing.demo.stack import Stack, free_port, port_open, start_stack
from facturacion.billing.demo.webhook import WebhookReceiver
from facturacion.billing.errors import BillingError
from facturacion.billing.files import lima_today
from facturacion.billing.store import BillingStore, Receipt, ReceiptState
from facturacion.store import DocumentStore, State

#: How often stuck receipts are checked with SUNAT while the batch runs.
SYNC_EVERY = 15.0


@dataclass(frozen=True)
class DemoOptions:
    receipts: int = 500
    workdir: Path = Path("var/demo")
    keep_running: bool = False
    kill_workers: int = 0
    seed: int = 7
    timeout: float = 900.0
    resume: bool = False


def _post(url: str, data: Any) -> None:
    request = urllib.request.Request(  # noqa: S310 - a loopback http:// URL we built
        url, data=json.dumps(data).encode(), headers={"Content-Type": "application/json"},
        method="POST",
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - see above
        answer.read()


class Demo:
    def __init__(self, options: DemoOptions, out: TextIO = sys.stdout) -> None:
        self.options = options
        self.out = out
        self.paths = DemoPaths(options.workdir.resolve())
        self.simulator_port = free_port()
        self.mail_port = free_port()
        self.webhook = WebhookReceiver(self.paths.webhook_log, self._webhook_port())
        self.stack: Stack | None = None
        self.started = 0.0
        self.kills = 0
        self.caught_mid_send = False  # one kill is aimed at a worker sending a boleta

    def _webhook_port(self) -> int:
        """The port of the ERP webhook, kept across --resume.

        Webhook calls queued before a stop carry the receiver's URL; a resumed run
        must answer on the same port or those calls could never be delivered.
        """
        if self.options.resume:
            with contextlib.suppress(OSError, ValueError):
                return int(self.paths.webhook_port.read_text())
        return free_port()

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def ready(self) -> bool:
        return port_open(self.simulator_port) and port_open(self.mail_port)

    # ------------------------------------------------------------------ the steps
    def run(self) -> int:
        """0 when every receipt got through, 1 when time ran out, 130 when interrupted.

        Ctrl-C (or SIGTERM: a container stop, ``timeout``) at any point stops what was
        started; after the summary (``--keep-running``) it is the normal way to end.
        """
        options = self.options
        previous = signal.signal(signal.SIGTERM, _interrupt)
        complete: bool | None = None  # None until the summary is printed
        try:
            self.say(f"==> setting up {self.paths.home} (certificate, supervisor.conf, stores)")
            programs = prepare(self.paths, self.simulator_port, self.mail_port,
                               self.webhook.port, clean=not options.resume)  # fmt: skip
            self.paths.webhook_port.write_text(str(self.webhook.port))
            self.webhook.start()
            self.say(f"==> capatazd -c {self.paths.config} -n")
            self.stack = start_stack(programs, self.ready, self.say)
            batch = self.resume() if options.resume else self.dispatch(options.receipts)
            finished = self.watch(batch)
            self.summary(batch, finished, self.report())
            complete = finished
            if options.keep_running:
                self.say("\nStill running (--keep-running); press Ctrl-C to stop.")
                while self.stack.alive():
                    time.sleep(1)
        except KeyboardInterrupt:
            if complete is None:
                self.say("\n==> interrupted: stopping (each worker finishes its current job)")
                return 130
        finally:
            if self.stack is not None:
                self.say("==> stopping capatazd" if self.stack.mode == "capatazd"
                         else "==> stopping the subprocesses")  # fmt: skip
                self.stack.stop()
            self.webhook.stop()
            CONNECTIONS.reset()
            signal.signal(signal.SIGTERM, previous)
        return 0 if complete else 1

    def dispatch(self, count: int) -> Batch:
        batch = self._batch(count)
        base = f"http://127.0.0.1:{self.simulator_port}/admin"
        _post(f"{base}/config", {"reject_with_fault": False})
        _post(f"{base}/rules", batch.rules)
        self.paths.expected.write_text(json.dumps(
            {key: asdict(e) for key, e in batch.expectations.items()}, indent=1))  # fmt: skip
        store = BillingStore(self.paths.data / "billing.sqlite3")
        try:
            store.add_many(batch.receipts)
        finally:
            store.close()
        CONNECTIONS.use(self.paths.queue_url)
        jobs.emitir_comprobante.dispatch_many([[receipt.key] for receipt, _ in batch.receipts])
        kinds = {"01": 0, "03": 0, "07": 0, "08": 0}
        for receipt, _ in batch.receipts:
            kinds[receipt.document_type.value] += 1
        self.say(
            f"==> dispatched {count} receipts ({kinds['01']} facturas, {kinds['03']} boletas, "
            f"{kinds['07']} notas de crédito, {kinds['08']} notas de débito); the simulator "
            f"will reject {batch.scripted('rejected')}, observe {batch.scripted('observed')}, "
            f"fail {batch.scripted('transient')} transiently first and answer "
            f"{batch.scripted('unknown-outcome')} too late"
        )
        self.started = time.monotonic()
        return batch

    def _batch(self, count: int) -> Batch:
        read_timeout = float(programs_env(self.paths, "FACTURACION_SUNAT_READ_TIMEOUT") or 5)
        return script(make_receipts(count, seed=self.options.seed), seed=self.options.seed,
                      read_timeout=read_timeout)  # fmt: skip

    def resume(self) -> Batch:
        """Pick up a stopped run: the stores on disk say what is left; ``reanudar`` does it.

        The simulator starts empty, so the script is told again for the receipts SUNAT
        has not answered yet.
        """
        expected = json.loads(self.paths.expected.read_text())
        batch = self._batch(len(expected))
        if set(batch.expectations) != set(expected):
            raise BillingError(
                "the stopped batch was made on another day or with another --seed; "
                "run ./dev demo to start a new one"
            )
        store = BillingStore(self.paths.data / "billing.sqlite3")
        try:
            open_keys = {r.key for r in store.all() if not r.state.is_final}
            todo = store.unfinished()
        finally:
            store.close()
        base = f"http://127.0.0.1:{self.simulator_port}/admin"
        _post(f"{base}/config", {"reject_with_fault": False})
        _post(f"{base}/rules", [rule for rule in batch.rules if rule["match"] in open_keys])
        CONNECTIONS.use(self.paths.queue_url)
        jobs.reanudar.dispatch()
        self.say(f"==> resuming: {len(todo['send'])} receipts to send, {len(todo['pdf'])} to "
                 f"print, {len(todo['email'])} to mail")  # fmt: skip
        self.started = time.monotonic()
        return batch

    def watch(self, batch: Batch) -> bool:
        """Show progress until every receipt is final, printed and mailed (or time runs out)."""
        store = BillingStore(self.paths.data / "billing.sqlite3")
        documents = DocumentStore(self.paths.data / "documents.sqlite3")
        deadline = self.started + self.options.timeout
        next_sync = self.started + SYNC_EVERY
        tty = self.out.isatty()
        last = ""
        try:
            while True:
                done, line = self._progress(store)
                if line != last or tty:
                    self.out.write(("\r" + line) if tty else line + "\n")
                    self.out.flush()
                    last = line
                if done:
                    break
                now = time.monotonic()
                if now > deadline:
                    self.say(f"\n!!! gave up waiting after {self.options.timeout:g}s")
                    return False
                if now >= next_sync:
                    jobs.sincronizar_estados.dispatch(older_than=SYNC_EVERY)
                    next_sync = now + SYNC_EVERY
                self._chaos(store, documents, len(batch.receipts))
                if self.stack is not None:
                    self.stack.tend()
                time.sleep(0.5 if tty or self._aiming() else 2.0)
        finally:
            store.close()
            documents.close()
        if tty:
            self.out.write("\n")
        return True

    def _progress(self, store: BillingStore) -> tuple[bool, str]:
        progress = store.progress()
        counts = store.counts()
        settled = progress["final"] + counts[ReceiptState.ERROR]
        notified = len(self.webhook.notified())
        done = (settled == progress["total"] and progress["pdfs"] >= progress["valid"]
                and progress["emails"] >= progress["valid"]
                and notified >= progress["final"])  # fmt: skip
        elapsed = time.monotonic() - self.started
        states = " ".join(f"{state.value} {n}" for state, n in counts.items() if n)
        line = (f"[{elapsed:6.1f}s] answered {settled}/{progress['total']}  PDFs {progress['pdfs']}"
                f"  e-mails {progress['emails']}  ERP {notified}  |  {states}")  # fmt: skip
        return done, line

    def _aiming(self) -> bool:
        """Still waiting to catch a worker in the middle of sending a boleta."""
        return not self.caught_mid_send and self.kills < self.options.kill_workers

    def _chaos(self, store: BillingStore, documents: DocumentStore, total: int) -> None:
        """``--kill-workers N``: SIGKILL a worker each time another 1/(N+1) of the batch
        settles; the first one, if it can, while the worker waits for SUNAT's answer to a
        boleta SUNAT has registered (the answer dies with it; the retry must ask SUNAT)."""
        if self.kills >= self.options.kill_workers or self.stack is None:
            return
        pids = self.stack.worker_pids()
        if not self.caught_mid_send:
            sending = _boleta_in_flight(documents, pids)
            if sending is not None:
                self.caught_mid_send = True
                self._kill(sending[0], f" while it sends {sending[1]}")
                return
        settled = store.progress()["final"]
        if settled < total * (self.kills + 1) / (self.options.kill_workers + 1):
            return
        if pids:
            self._kill(random.choice(pids), "")  # noqa: S311 - a victim, not a secret

    def _kill(self, victim: int, doing: str) -> None:
        os.kill(victim, signal.SIGKILL)
        self.kills += 1
        self.say(f"\n==> SIGKILL worker pid {victim} ({self.kills}/{self.options.kill_workers})"
                 f"{doing}")  # fmt: skip

    def report(self) -> Path:
        day = lima_today()
        jobs.reporte_diario.dispatch(day.isoformat())
        target = self.paths.data / "reports" / f"ventas-{day.isoformat()}.pdf"
        deadline = time.monotonic() + 60
        while not target.exists():
            if time.monotonic() > deadline:
                raise BillingError(f"the daily report did not appear at {target}")
            time.sleep(0.3)
        return target

    def summary(self, batch: Batch, complete: bool, report: Path) -> None:
        elapsed = time.monotonic() - self.started
        store = BillingStore(self.paths.data / "billing.sqlite3")
        try:
            receipts = {r.key: r for r in store.all()}
        finally:
            store.close()
        matched = sum(1 for key, e in batch.expectations.items()
                      if receipts[key].state is e.final_state)  # fmt: skip
        log = self.paths.logs / "supervisor.log"
        done_jobs = sum(1 for line in log.read_text(errors="replace").splitlines()
                        if line.rstrip().endswith("DONE")) if log.exists() else 0  # fmt: skip
        counts: dict[str, int] = {}
        for receipt in receipts.values():
            counts[receipt.state.value] = counts.get(receipt.state.value, 0) + 1
        inbox = self.paths.mail / "new"
        mails = len(list(inbox.glob("*"))) if inbox.exists() else 0
        conf = self._shown(self.paths.config)
        url = self.paths.queue_url
        ctl = self._shown(Path(sys.executable).parent / "capatazctl")
        capataz = self._shown(Path(sys.executable).parent / "capataz")
        self.say(f"""
==> {"done" if complete else "stopped"}: {len(receipts)} receipts in {elapsed:.1f}s
    by outcome:      {", ".join(f"{k} {v}" for k, v in sorted(counts.items()))}
    as scripted:     {matched}/{len(batch.expectations)} reached the state the simulator was told to give
    jobs:            {done_jobs} done, {done_jobs / max(elapsed, 0.001):.1f} jobs/s with 8 workers{f", {self.kills} killed with SIGKILL" if self.kills else ""}
    run by:          {self.stack.mode if self.stack else "?"}{self._needs_a_person(receipts)}
    ERP webhook:     {len(self.webhook.notified())} final answers posted in {self.webhook.calls} calls, rate-limited across the workers

    signed XML:      {self._shown(self.paths.data / "xml")}/
    CDRs:            {self._shown(self.paths.data / "cdr")}/
    PDFs:            {self._shown(self.paths.data / "pdf")}/
    e-mails:         {self._shown(self.paths.mail / "new")}/ ({mails} messages, Maildir)
    report:          {self._shown(report)} and .csv
    logs:            {self._shown(self.paths.logs)}/ (supervisor.log: the 8 workers; webhook.jsonl)
    expected:        {self._shown(self.paths.expected)}

    look around:
      {ctl} -c {conf} status
      {ctl} -c {conf} tail -f laravel-worker:laravel-worker_00
      {capataz} queue:stats --url {url}
      {capataz} queue:failed --url {url}
      ./dev demo --keep-running        (keep it all up to explore)""")  # noqa: E501

    @staticmethod
    def _needs_a_person(receipts: dict[str, Receipt]) -> str:
        """Receipts in error: e.g. a boleta whose answer was lost with a killed worker
        when no Consulta Integrada credentials are set (its resend meets 1033)."""
        stuck = [r for r in receipts.values() if r.state is ReceiptState.ERROR]
        lines = "".join(f"\n      {r.key}: {r.message}" for r in stuck[:5])
        more = f"\n      ... and {len(stuck) - 5} more" if len(stuck) > 5 else ""
        return f"\n    needs a person:  {len(stuck)}{lines}{more}" if stuck else ""

    @staticmethod
    def _shown(path: Path) -> str:
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            return str(path)


def _boleta_in_flight(documents: DocumentStore, pids: list[int]) -> tuple[int, str] | None:
    """A worker of ours holding a boleta's send (its pid and the key), if there is one."""
    host = socket.gethostname()
    for document in documents.documents(State.SENDING):
        claimer, _, pid = (document.claimed_by or "").rpartition(":")
        boleta = document.key.split("-")[2].startswith("B")
        if boleta and claimer == host and pid.isdigit() and int(pid) in pids:
            return int(pid), document.key
    return None


def _interrupt(signum: int, frame: object) -> None:
    del signum, frame
    raise KeyboardInterrupt


def programs_env(paths: DemoPaths, name: str) -> str | None:
    from facturacion.billing.demo.setup import environment_of

    return environment_of(paths.config.read_text()).get(name)


def run_demo(options: DemoOptions, out: TextIO = sys.stdout,
             on_error: Callable[[str], None] | None = None) -> int:  # fmt: skip
    try:
        return Demo(options, out).run()
    except BillingError as error:
        (on_error or (lambda text: print(text, file=sys.stderr)))(f"demo: {error}")
        return 1
