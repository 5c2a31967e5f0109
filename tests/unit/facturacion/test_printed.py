"""The printed copy's QR text, hash and legend come from the signed receipt."""

from __future__ import annotations

from facturacion import samples, ubl
from facturacion.printed import PrintedFacts, qr_text
from facturacion.signing import Signer, SigningCredentials


def test_qr_text_follows_sunat_order() -> None:
    """RUC|TIPO|SERIE|NUMERO|IGV|TOTAL|FECHA|TIPO_DOC|NUM_DOC| with a trailing bar."""
    assert qr_text(samples.factura()) == (
        "20000000001|01|F001|1|572.03|3829.98|2026-12-03|6|20600995805|"
    )


def test_printed_facts_carry_the_signature_digest(credentials: SigningCredentials) -> None:
    """The hash printed is the DigestValue of the bytes sent to SUNAT."""
    document = samples.boleta()
    signed = Signer(credentials).sign(ubl.render(document))
    facts = PrintedFacts.of(document, signed.digest_value)
    assert facts.digest_value == signed.digest_value
    assert facts.amount_in_words == "SON: SESENTA Y CINCO CON 58/100 SOLES"
    assert facts.qr_text.startswith("20000000001|03|B001|1|10.01|65.58|")
