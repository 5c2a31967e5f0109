"""``python -m facturacion``: look at stored documents and send one again, for operators.

A job that failed for a person (configuration error, duplicate, a ticket that never
ends) leaves its document in the store; these commands show what SUNAT said, export the
signed XML, the CDR (or, for a boleta settled by the Consulta Integrada, its answer)
exactly as sent and received, and re-dispatch the send job.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from capataz import exitcodes
from facturacion.errors import FacturacionError
from facturacion.packaging import SUMMARY_NAME
from facturacion.store import DocumentStore, State, StoredDocument


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m facturacion", description=__doc__)
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("FACTURACION_DATA_DIR", "var/facturacion"),
        help="where the document store lives [env FACTURACION_DATA_DIR]",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("documents", help="list documents and their state")
    listing.add_argument("--state", choices=[state.value for state in State])
    show = commands.add_parser("show", help="one document: state, code, message, notes, hash")
    show.add_argument("key", help="RUC-TT-SERIE-NUMERO or RUC-RC-YYYYMMDD-n")
    export = commands.add_parser(
        "export", help="write the signed XML, the zip, the CDR, or the status answer (evidence)"
    )
    export.add_argument("key")
    export.add_argument("what", choices=["xml", "zip", "cdr", "evidence"])
    export.add_argument("-o", "--output", type=Path, required=True)
    resend = commands.add_parser("resend", help="dispatch the send job again (same bytes)")
    resend.add_argument("key")
    return parser


def _show(document: StoredDocument) -> str:
    lines = [
        f"key:      {document.key}",
        f"state:    {document.state.value}" + (" (uncertain)" if document.uncertain else ""),
        f"code:     {'-' if document.response_code is None else document.response_code}",
        f"message:  {document.message or '-'}",
        f"hash:     {document.digest_value}",
        f"sends:    {document.sends}",
    ]
    if document.ticket:
        lines.append(f"ticket:   {document.ticket} ({document.polls} polls)")
    if document.state is State.SENDING and document.claimed_by:
        lines.append(f"sender:   {document.claimed_by}")
    if document.evidence is not None:
        lines.append("evidence: the status answer that settled it, no CDR (export ... evidence)")
    lines.extend(f"note:     {note}" for note in document.notes)
    return "\n".join(lines)


def _resend(key: str) -> str:
    from facturacion import jobs

    kind = SUMMARY_NAME.fullmatch(key)
    if kind is None:
        definition = jobs.enviar_comprobante
    else:
        definition = jobs.enviar_resumen if kind["type"] == "RC" else jobs.enviar_baja
    return definition.dispatch(key)


def run(options: argparse.Namespace) -> int:
    store = DocumentStore(Path(options.data_dir) / "documents.sqlite3")
    try:
        if options.command == "documents":
            state = None if options.state is None else State(options.state)
            for document in store.documents(state):
                code = "-" if document.response_code is None else str(document.response_code)
                state_text = document.state.value
                print(f"{document.key:32} {state_text:13} {code:>5}  {document.message[:60]}")
            return exitcodes.OK
        document = store.get(options.key)
        if options.command == "show":
            print(_show(document))
        elif options.command == "export":
            data = {
                "xml": document.signed_xml, "zip": document.zip, "cdr": document.cdr_zip,
                "evidence": document.evidence,
            }[options.what]  # fmt: skip
            if data is None:
                what = "CDR" if options.what == "cdr" else "status answer"
                print(f"{document.key} has no {what} (state {document.state.value})",
                      file=sys.stderr)  # fmt: skip
                return exitcodes.FAILURE
            options.output.write_bytes(data)
        elif document.state.is_final:
            print(
                f"{document.key} is {document.state.value}; SUNAT's answer is final",
                file=sys.stderr,
            )
            return exitcodes.FAILURE
        else:
            print(f"dispatched {_resend(document.key)} for {document.key}")
        return exitcodes.OK
    finally:
        store.close()


def main(argv: Sequence[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    try:
        return run(options)
    except (FacturacionError, OSError) as error:
        print(f"facturacion: {error}", file=sys.stderr)
        return exitcodes.FAILURE
