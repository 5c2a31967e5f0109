"""The SUNAT SOAP client on aiohttp: sendBill, sendSummary, getStatus, getStatusCdr.

Every way a call can fail ends in one of two exceptions, mapped in ``_call``:
``SunatFaultError`` (SUNAT answered with a code) or ``TransportError`` (it did not,
and ``symptom`` says whether the document may have been registered anyway).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from types import TracebackType

import aiohttp
from lxml import etree

from facturacion import soap, xmlsafe
from facturacion.config import SunatConfig
from facturacion.errors import (
    ConfigurationError,
    SunatFaultError,
    TransportError,
    UnreadableResponseError,
)
from facturacion.outcome import Symptom

_SEND_OPERATIONS = frozenset({"sendBill", "sendSummary"})


@dataclass(frozen=True)
class TicketStatus:
    """billService getStatus: 0 done, 98 in process, 99 done with errors; CDR zip if any."""

    code: int
    content: bytes | None


@dataclass(frozen=True)
class ConsultStatus:
    """billConsultService getStatus/getStatusCdr: 0001 accepted, 0002 rejected, 0011 not found..."""

    code: str
    message: str
    content: bytes | None


class SunatClient:
    def __init__(self, config: SunatConfig, session: aiohttp.ClientSession | None = None) -> None:
        self.config = config
        self._session = session
        self._owns_session = session is None

    async def __aenter__(self) -> SunatClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None

    def _session_for_calls(self) -> aiohttp.ClientSession:
        if self._session is None:
            timeout = aiohttp.ClientTimeout(
                total=None,
                connect=self.config.connect_timeout,
                sock_connect=self.config.connect_timeout,
                sock_read=self.config.read_timeout,
            )
            self._session = aiohttp.ClientSession(timeout=timeout)
            self._owns_session = True
        return self._session

    # ------------------------------------------------------------------ operations
    async def send_bill(self, file_name: str, zip_bytes: bytes) -> bytes:
        """Send a factura/boleta/note; returns the CDR zip exactly as received."""
        answer = await self._call(
            self.config.bill_endpoint,
            "sendBill",
            {"fileName": file_name, "contentFile": base64.b64encode(zip_bytes).decode()},
        )
        return _decode(xmlsafe.text_of(answer, "applicationResponse"), "applicationResponse")

    async def send_summary(self, file_name: str, zip_bytes: bytes) -> str:
        """Send an RC or RA; returns the ticket to poll with ``get_status``."""
        answer = await self._call(
            self.config.bill_endpoint,
            "sendSummary",
            {"fileName": file_name, "contentFile": base64.b64encode(zip_bytes).decode()},
        )
        ticket = xmlsafe.text_of(answer, "ticket")
        if not ticket:
            raise TransportError(Symptom.UNREADABLE_ANSWER, "sendSummary answered without a ticket")
        return ticket

    async def get_status(self, ticket: str) -> TicketStatus:
        answer = await self._call(self.config.bill_endpoint, "getStatus", {"ticket": ticket})
        code = xmlsafe.text_of(answer, "status", "statusCode")
        if code is None or not code.isdigit():
            raise TransportError(Symptom.UNREADABLE_ANSWER, f"getStatus statusCode {code!r}")
        content = xmlsafe.text_of(answer, "status", "content")
        return TicketStatus(int(code), _decode(content, "content") if content else None)

    async def get_status_cdr(
        self, ruc: str, document_type: str, series: str, number: int
    ) -> ConsultStatus:
        endpoint = self.config.consult_endpoint
        if endpoint is None:
            raise ConfigurationError(
                "billConsultService has no beta endpoint; set consult_url or use production"
            )
        answer = await self._call(
            endpoint,
            "getStatusCdr",
            {
                "rucComprobante": ruc,
                "tipoComprobante": document_type,
                "serieComprobante": series,
                "numeroComprobante": str(number),
            },
        )
        content = xmlsafe.text_of(answer, "statusCdr", "content")
        return ConsultStatus(
            code=xmlsafe.text_of(answer, "statusCdr", "statusCode") or "",
            message=xmlsafe.text_of(answer, "statusCdr", "statusMessage") or "",
            content=_decode(content, "content") if content else None,
        )

    # ------------------------------------------------------------------ the one HTTP call
    async def _call(self, url: str, operation: str, fields: dict[str, str]) -> etree._Element:
        body = soap.envelope(operation, self.config.username, self.config.sol_password, fields)
        headers = {"Content-Type": soap.CONTENT_TYPE, "SOAPAction": soap.soap_action(operation)}
        sending = operation in _SEND_OPERATIONS
        try:
            async with self._session_for_calls().post(url, data=body, headers=headers) as response:
                status = response.status
                payload = await response.read()
        except aiohttp.InvalidURL as error:
            raise ConfigurationError(f"the SUNAT endpoint {url!r} is not a valid URL") from error
        except (aiohttp.ConnectionTimeoutError, aiohttp.ClientConnectorError) as error:
            raise TransportError(Symptom.CONNECT_FAILED, f"{operation}: {error}") from error
        except TimeoutError as error:
            symptom = Symptom.SEND_TIMEOUT if sending else Symptom.QUERY_TIMEOUT
            raise TransportError(symptom, f"{operation}: no answer in time") from error
        except aiohttp.ClientError as error:
            symptom = Symptom.SEND_CONNECTION_LOST if sending else Symptom.CONNECT_FAILED
            raise TransportError(symptom, f"{operation}: {error!r}") from error
        return _read(payload, operation, status)


def _read(payload: bytes, operation: str, status: int) -> etree._Element:
    if status in {502, 503, 504}:
        raise TransportError(Symptom.GATEWAY_ERROR, f"{operation}: HTTP {status}")
    if 400 <= status < 500:
        raise TransportError(
            Symptom.HTTP_CLIENT_ERROR, f"{operation}: HTTP {status}; check the URL"
        )
    if status == 200 and not payload.strip():
        raise TransportError(Symptom.EMPTY_ANSWER, f"{operation}: HTTP 200 with an empty body")
    try:
        return soap.read_answer(payload, operation, status)
    except SunatFaultError:
        raise
    except UnreadableResponseError as error:
        symptom = Symptom.SERVER_ERROR if status >= 500 else Symptom.UNREADABLE_ANSWER
        raise TransportError(symptom, f"HTTP {status}: {error}") from error


def _decode(text: str | None, what: str) -> bytes:
    if not text:
        raise TransportError(Symptom.UNREADABLE_ANSWER, f"SUNAT's answer has no {what}")
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except binascii.Error as error:
        raise TransportError(Symptom.UNREADABLE_ANSWER, f"{what} is not base64: {error}") from error
