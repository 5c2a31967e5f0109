"""A realistic day of receipts, and a script of what the SUNAT simulator will answer.

Facturas, boletas and their credit and debit notes, with random lines, customers,
currencies and payment terms, from a seeded generator so a run can be repeated. Some
receipts are scripted to be rejected or observed, some to meet a transient fault or a
send that times out after SUNAT registered it; for each the final state it must reach
is known in advance, which is what the end-to-end test checks.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from facturacion.billing.files import lima_today
from facturacion.billing.store import ReceiptState
from facturacion.catalogs import DocumentType, IdentityType, PaymentForm
from facturacion.model import (
    Comprobante,
    Customer,
    Installment,
    Issuer,
    Line,
    NoteReference,
    PaymentTerms,
)
from facturacion.validation import ruc_check_digit

ISSUER: Final = Issuer("20000000001", "DISTRIBUIDORA ANDINA S.A.C.", "ANDINA")

PRODUCTS: Final = (
    ("Laptop 14 pulgadas", "1525.42", "10"), ("Monitor 24 pulgadas", "610.17", "10"),
    ("Mouse inalámbrico", "42.37", "10"), ("Teclado mecánico", "186.44", "10"),
    ("Impresora multifuncional", "847.46", "10"), ("Cable HDMI 2 m", "16.95", "10"),
    ("Servicio de soporte técnico (hora)", "80.00", "10"), ("Disco SSD 1 TB", "338.98", "10"),
    ("Libro de contabilidad", "80.00", "20"), ("Manual de tributación", "65.00", "20"),
    ("Papa amarilla (kg)", "3.50", "20"), ("Cuaderno A4", "4.2373", "10"),
    ("Curso de capacitación", "450.00", "30"), ("Lapicero azul", "1.10", "10"),
)  # fmt: skip
COMPANIES: Final = (
    "ABLIMATEX EXPORT SAC", "INVERSIONES QORI S.A.", "CONSTRUCTORA EL SOL EIRL",
    "AGROINDUSTRIAS DEL NORTE SAC", "TEXTIL SAN MIGUEL S.A.C.", "FARMACIA LA SALUD SRL",
    "TRANSPORTES ANDES CARGO SAC", "COLEGIO SANTA ROSA", "MINERA PUNO S.A.",
)  # fmt: skip
PEOPLE: Final = (
    "ROSA QUISPE MAMANI", "JUAN PÉREZ HUAMÁN", "MARÍA FLORES CCAHUANA", "LUIS TORRES RAMOS",
    "ANA LUCÍA CHÁVEZ", "PEDRO CONDORI APAZA", "CARMEN ROJAS VILCA", "JOSÉ ÑAUPARI SOTO",
)  # fmt: skip


@dataclass(frozen=True)
class Expectation:
    """What the simulator is scripted to do with one receipt, and where it must end."""

    key: str
    final_state: ReceiptState
    code: int  # the CDR ResponseCode it must carry
    script: str  # accepted | rejected | observed | transient | unknown-outcome
    #: What proves the final answer: SUNAT's CDR, or (a boleta settled by the Consulta
    #: Integrada, which returns none) the status answer kept as evidence.
    proof: str = "cdr"


@dataclass(frozen=True)
class Batch:
    receipts: list[tuple[Comprobante, str]]
    expectations: dict[str, Expectation]
    rules: list[dict[str, Any]]  # for the simulator's POST /admin/rules

    def scripted(self, script: str) -> int:
        return sum(1 for e in self.expectations.values() if e.script == script)


def _ruc(rng: random.Random) -> str:
    first_ten = "20" + "".join(str(rng.randint(0, 9)) for _ in range(8))
    return first_ten + str(ruc_check_digit(first_ten))


def _slug(name: str) -> str:
    kept = "".join(ch for ch in name.lower() if ch.isascii() and (ch.isalnum() or ch == " "))
    return ".".join(kept.split()[:2]) or "cliente"


def _lines(rng: random.Random) -> tuple[Line, ...]:
    chosen = rng.sample(PRODUCTS, rng.randint(1, 5))
    return tuple(
        Line(name, Decimal(rng.choice((1, 1, 2, 3, 5, 10, 12))), Decimal(value),
             affectation=affectation, product_code=f"P{index:03d}")
        for index, (name, value, affectation) in enumerate(chosen, start=1)
    )  # fmt: skip


def _customer(rng: random.Random, company: bool) -> tuple[Customer, str]:
    if company:
        name = rng.choice(COMPANIES)
        return Customer(IdentityType.RUC, _ruc(rng), name), f"compras@{_slug(name)}.example"
    name = rng.choice(PEOPLE)
    dni = f"{rng.randint(10_000_000, 79_999_999)}"
    return Customer(IdentityType.DNI, dni, name), f"{_slug(name)}@correo.example"


def _terms(rng: random.Random, lines: tuple[Line, ...], day: dt.date, company: bool,
           currency: str) -> PaymentTerms:  # fmt: skip
    if not company or rng.random() > 0.2:
        return PaymentTerms()
    buyer = Customer(IdentityType.RUC, "20600995805", "X")
    probe = Comprobante(DocumentType.FACTURA, "F001", 1, day, ISSUER, buyer, lines, currency)
    due = day + dt.timedelta(days=rng.choice((15, 30, 60)))
    return PaymentTerms(PaymentForm.CREDITO, (Installment(probe.payable, due),))


class _Numbers:
    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def take(self, series: str) -> int:
        self._next[series] = self._next.get(series, 0) + 1
        return self._next[series]


def make_receipts(count: int, *, seed: int = 7, day: dt.date | None = None
                  ) -> list[tuple[Comprobante, str]]:  # fmt: skip
    """``count`` receipts: about 40% facturas, 35% boletas, 15% credit and 10% debit notes."""
    rng = random.Random(seed)  # noqa: S311 - sample data, not secrets
    day = day or lima_today()
    numbers = _Numbers()
    made: list[tuple[Comprobante, str]] = []
    emails: dict[str, str] = {}
    for _ in range(count):
        roll = rng.random()
        bills = [c for c, _ in made if not c.is_note]
        if roll < 0.25 and bills:
            target = rng.choice(bills)
            credit = roll < 0.15
            made.append(_note(rng, numbers, target, credit=credit, day=day,
                              email=emails[target.key]))  # fmt: skip
            continue
        company = roll < 0.65
        customer, email = _customer(rng, company)
        currency = "USD" if rng.random() < 0.15 else "PEN"
        lines = _lines(rng)
        document_type = DocumentType.FACTURA if company else DocumentType.BOLETA
        series = "F001" if company else "B001"
        receipt = Comprobante(
            document_type, series, numbers.take(series), day, ISSUER, customer, lines, currency,
            issue_time=dt.time(rng.randint(8, 19), rng.randint(0, 59), rng.randint(0, 59)),
            payment=_terms(rng, lines, day, company, currency),
        )  # fmt: skip
        made.append((receipt, email))
        emails[receipt.key] = email
    return made


def _note(rng: random.Random, numbers: _Numbers, target: Comprobante, *, credit: bool,
          day: dt.date, email: str) -> tuple[Comprobante, str]:  # fmt: skip
    letter = target.series[0]
    if credit:
        document_type, series = DocumentType.NOTA_CREDITO, f"{letter}C01"
        reason_code, reason = "07", "Devolución de mercadería"
        lines = (rng.choice(target.lines),)
    else:
        document_type, series = DocumentType.NOTA_DEBITO, f"{letter}D01"
        reason_code, reason = "01", "Intereses por pago fuera de plazo"
        lines = (Line("Intereses moratorios", Decimal(1), Decimal(rng.randint(5, 80))),)
    reference = NoteReference(target.document_type, target.series, target.number,
                              reason_code, reason)  # fmt: skip
    note = Comprobante(document_type, series, numbers.take(series), day, ISSUER,
                       target.customer, lines, target.currency, reference=reference)  # fmt: skip
    return note, email


REJECT_CODES: Final = (2800, 3103, 2017, 3244)
OBSERVATION: Final = "4252 - El dato ingresado como atributo @listName es incorrecto"


#: Share of the batch per scripted answer; each present at least once, so a small batch
#: still walks every path.
SHARES: Final = {"rejected": 0.06, "observed": 0.05, "transient": 0.10, "unknown-outcome": 0.03}


def script(receipts: list[tuple[Comprobante, str]], *, seed: int = 7,
           read_timeout: float = 5.0) -> Batch:  # fmt: skip
    """Decide SUNAT's answer for each receipt: some rejected, some observed, some meeting
    transient faults first, and some registered but answered too late (the unknown
    outcome): facturas, which billConsultService settles with their CDR, and boletas,
    which only the Consulta Integrada can settle, without a CDR."""
    rng = random.Random(seed * 31 + 1)  # noqa: S311 - sample data, not secrets
    keys = [receipt.key for receipt, _ in receipts]
    chosen: dict[str, str] = {}
    for name, share in SHARES.items():
        quota = max(1, round(share * len(keys)))
        if name == "unknown-outcome":
            # Half and half, at least one of each: both reconciliations run every time.
            by_letter = [[key for key in keys if key.split("-")[2].startswith(letter)
                          and key not in chosen] for letter in "FB"]  # fmt: skip
            for pool in by_letter:
                picked = rng.sample(pool, min(len(pool), max(1, round(quota / 2))))
                chosen |= dict.fromkeys(picked, name)
            continue
        # Rejections and observations go to facturas (and their notes) only: when a
        # SIGKILL takes the answer to a boleta, SUNAT still says whether it holds the
        # number (Consulta Integrada), but its observations and rejection code live
        # only in the CDR, which SUNAT never returns for a boleta. Scripted there, the
        # demo could not promise the scripted final state under --kill-workers.
        letters = "F" if name in {"rejected", "observed"} else "FB"
        pool = [key for key in keys if key not in chosen and key.split("-")[2][0] in letters]
        chosen |= dict.fromkeys(rng.sample(pool, min(len(pool), quota)), name)
    expectations: dict[str, Expectation] = {}
    rules: list[dict[str, Any]] = []
    for receipt, _ in receipts:
        key = receipt.key
        match = key  # the whole file name without .zip: this document and no other
        name = chosen.get(key, "accepted")
        if name == "rejected":
            code = rng.choice(REJECT_CODES)
            rules.append({"kind": "reject", "match": match, "operation": "sendBill", "code": code})
            expectations[key] = Expectation(key, ReceiptState.REJECTED, code, name)
            continue
        if name == "observed":
            rules.append({"kind": "observe", "match": match, "operation": "sendBill",
                          "notes": [OBSERVATION]})  # fmt: skip
        elif name == "transient":
            rules.append(_transient(rng, match))
        elif name == "unknown-outcome":
            # Registered, then answered after the client gave up: the retry must find it
            # with getStatusCdr (F) or the Consulta Integrada (B), never send it again.
            rules.append({"kind": "slow", "match": match, "operation": "sendBill",
                          "delay": read_timeout + 2})  # fmt: skip
        state = ReceiptState.OBSERVED if name == "observed" else ReceiptState.ACCEPTED
        proof = "consulta" if name == "unknown-outcome" and receipt.series[0] == "B" else "cdr"
        expectations[key] = Expectation(key, state, 0, name, proof)
    return Batch(receipts, expectations, rules)


def _transient(rng: random.Random, match: str) -> dict[str, Any]:
    times = rng.choice((1, 1, 2))
    kind = rng.choice(("fault", "fault", "http", "empty"))
    rule: dict[str, Any] = {"kind": kind, "match": match, "operation": "sendBill", "times": times}
    if kind == "fault":
        rule |= {"code": rng.choice((130, 133, 200, 109)),
                 "style": rng.choice(("server", "client", "string"))}  # fmt: skip
    elif kind == "http":
        rule["status"] = rng.choice((502, 503, 504))
    return rule
