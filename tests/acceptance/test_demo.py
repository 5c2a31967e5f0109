"""The main job (``./dev demo``) end to end, under capatazd, at a small size.

One run of ``python -m capataz.demo`` with workers SIGKILLed along the way; then
everything it left behind is checked against what the SUNAT simulator was scripted
to answer. The script is fixed in advance (``expected.json``), so the kills must
change none of the results: a receipt whose answer died with its worker is settled
by asking SUNAT (getStatusCdr for facturas, the Consulta Integrada for boletas).
"""

from __future__ import annotations

import csv
import email
import email.policy
import io
import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path

import pypdf
import pytest

from facturacion.billing.mail import message_id
from facturacion.billing.printed import qr_payload
from facturacion.billing.store import BillingStore, Receipt, ReceiptState
from facturacion.cdr import read_cdr_zip

RECEIPTS = 40
#: About 50 s here; a loaded CI machine under coverage can take several times that.
pytestmark = pytest.mark.timeout(300)


def _leftovers(marker: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if marker in cmdline:
                found.append(f"{entry.name}: {cmdline}")
    return found


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    workdir = tmp_path_factory.mktemp("demo")
    process = subprocess.run(
        [sys.executable, "-m", "capataz.demo", "--receipts", str(RECEIPTS),
         "--workdir", str(workdir), "--kill-workers", "3", "--timeout", "200"],
        capture_output=True, text=True, timeout=240, check=False,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    output = process.stdout + process.stderr
    assert process.returncode == 0, output
    assert not _leftovers(str(workdir)), "the demo left processes behind"
    return workdir, output


@pytest.fixture(scope="module")
def receipts(demo_run: tuple[Path, str]) -> dict[str, Receipt]:
    store = BillingStore(demo_run[0] / "data" / "billing.sqlite3")
    try:
        return {receipt.key: receipt for receipt in store.all()}
    finally:
        store.close()


@pytest.fixture(scope="module")
def expected(demo_run: tuple[Path, str]) -> dict[str, dict[str, object]]:
    data: dict[str, dict[str, object]] = json.loads((demo_run[0] / "expected.json").read_text())
    return data


def test_the_demo_ran_under_capatazd_and_killed_workers(demo_run: tuple[Path, str]) -> None:
    """The summary says capatazd ran it, three workers were SIGKILLed (one while it waited
    for SUNAT's answer to a boleta SUNAT had registered), all went as scripted."""
    output = demo_run[1]
    assert "run by:          capatazd" in output
    assert output.count("==> SIGKILL worker pid") == 3
    aimed = re.findall(r"==> SIGKILL worker pid \d+ \(\d/3\) while it sends (\S+)", output)
    assert len(aimed) == 1, output
    assert aimed[0].split("-")[2].startswith("B")
    assert f"{RECEIPTS}/{RECEIPTS} reached the state the simulator was told to give" in output
    assert "needs a person" not in output


def test_every_receipt_reached_the_scripted_final_state(
    receipts: dict[str, Receipt], expected: dict[str, dict[str, object]]
) -> None:
    """Each receipt ends exactly where the simulator was scripted to take it, code included,
    whether or not a SIGKILL took its answer."""
    assert set(receipts) == set(expected)
    scripts = {str(e["script"]) for e in expected.values()}
    assert {"accepted", "rejected", "observed", "transient", "unknown-outcome"} <= scripts
    for key, wanted in expected.items():
        assert receipts[key].state.value == wanted["final_state"], (key, receipts[key].message)
        assert receipts[key].sunat_code == wanted["code"], (key, receipts[key].message)
    late = {key.split("-")[2][0] for key, e in expected.items() if e["script"] == "unknown-outcome"}
    assert late == {"F", "B"}, "both ways of asking SUNAT ran"


def test_each_answer_has_its_proof_on_disk(
    demo_run: tuple[Path, str], receipts: dict[str, Receipt],
    expected: dict[str, dict[str, object]],
) -> None:  # fmt: skip
    """Every receipt has its CDR zip on disk, reading back with the scripted ResponseCode;
    but a boleta settled by the Consulta Integrada (SUNAT gives no CDR for it), which has
    the service's answer instead: estadoCp 1, accepted."""
    for key, receipt in receipts.items():
        evidence = demo_run[0] / "data" / "cdr" / f"{key}.consulta.json"
        if expected[key]["proof"] == "consulta" or receipt.cdr_path is None:
            # The late boletas always; any boleta whose answer a SIGKILL took, too.
            assert key.split("-")[2].startswith("B"), (key, receipt.message)
            assert receipt.cdr_path is None, key
            assert json.loads(evidence.read_bytes())["data"]["estadoCp"] == "1", key
            assert expected[key]["final_state"] == "accepted", key
            continue
        cdr = read_cdr_zip(Path(receipt.cdr_path).read_bytes())
        assert cdr.response_code == expected[key]["code"]
        assert cdr.reference_id == receipt.document_id
        if expected[key]["script"] == "observed":
            assert cdr.observations == (4252,)


def _messages(workdir: Path) -> dict[str, EmailMessage]:
    found: dict[str, EmailMessage] = {}
    for path in (workdir / "mail" / "new").iterdir():
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        found[str(message["Message-ID"])] = message  # a resend after a kill is the same message
    return found


def test_the_emails_arrived_with_the_pdf_and_the_xml(
    demo_run: tuple[Path, str], receipts: dict[str, Receipt]
) -> None:
    """Each valid receipt's customer got one message carrying its PDF and its signed XML."""
    messages = _messages(demo_run[0])
    valid = [r for r in receipts.values() if r.state.is_valid_receipt]
    assert {message_id(r.key) for r in valid} == set(messages)
    for receipt in valid:
        message = messages[message_id(receipt.key)]
        assert message["To"] == receipt.customer_email
        attachments = {part.get_filename(): part for part in message.iter_attachments()}
        assert set(attachments) == {f"{receipt.key}.pdf", f"{receipt.key}.xml"}
        assert receipt.xml_path is not None
        assert receipt.pdf_path is not None
        xml = attachments[f"{receipt.key}.xml"].get_content()
        assert xml == Path(receipt.xml_path).read_bytes()
        assert attachments[f"{receipt.key}.pdf"].get_content()[:5] == b"%PDF-"


def test_each_pdf_opens_and_shows_its_number_and_qr_payload(
    receipts: dict[str, Receipt],
) -> None:
    """The printed copies open with pypdf and show the number, the QR payload and the hash."""
    valid = [r for r in receipts.values() if r.state.is_valid_receipt]
    assert valid
    for receipt in valid:
        assert receipt.pdf_path is not None
        reader = pypdf.PdfReader(receipt.pdf_path)
        text = "".join(page.extract_text() for page in reader.pages)
        assert receipt.document_id in text
        assert qr_payload(receipt.comprobante()) in text
        assert f"{receipt.digest_value}" in text
    for receipt in receipts.values():
        if not receipt.state.is_valid_receipt:
            assert receipt.pdf_path is None, "a rejected receipt must not be printed"


def test_the_erp_webhook_heard_every_final_answer(
    demo_run: tuple[Path, str], receipts: dict[str, Receipt]
) -> None:
    """Through the rate-limited HTTP job, each receipt's final state reached the third party."""
    calls = [json.loads(line) for line in
             (demo_run[0] / "logs" / "webhook.jsonl").read_text().splitlines()]  # fmt: skip
    last = {call["key"]: call for call in calls}
    assert set(last) == set(receipts)
    for key, call in last.items():
        assert call["state"] == receipts[key].state.value
        assert call["total"] == f"{receipts[key].total:.2f}"


def test_the_report_totals_equal_the_sum_of_the_receipts(
    demo_run: tuple[Path, str], receipts: dict[str, Receipt]
) -> None:
    """The CSV lists every receipt with its amounts; the PDF summary's totals add up to them."""
    reports = demo_run[0] / "data" / "reports"
    (csv_path,) = reports.glob("ventas-*.csv")
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text())))
    assert {row["key"] for row in rows} == set(receipts)
    for row in rows:
        assert Decimal(row["total"]) == receipts[row["key"]].total
        assert row["state"] == receipts[row["key"]].state.value
    text = "".join(p.extract_text() for p in pypdf.PdfReader(csv_path.with_suffix(".pdf")).pages)
    for currency in {r.currency for r in receipts.values()}:
        mine = [r for r in receipts.values() if r.currency == currency]
        total = sum((r.total for r in mine), Decimal("0.00"))
        assert f"Total {currency}: {len(mine)} comprobantes, {total:.2f}" in text
    rejected = [r for r in receipts.values() if r.state is ReceiptState.REJECTED]
    assert rejected
    assert "rejected" in text
