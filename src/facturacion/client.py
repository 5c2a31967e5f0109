"""The SUNAT client on aiohttp: sendBill, sendSummary, getStatus, getStatusCdr (SOAP)
and the Consulta Integrada's validarcomprobante (REST, with an OAuth token).

Every way a call can fail ends in one of two exceptions, mapped in ``_call`` and
``_rest``: ``SunatFaultError`` (SUNAT answered with a code) or ``TransportError`` (it
did not, and ``symptom`` says whether the document may have been registered anyway).
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

import aiohttp
from lxml import etree

from facturacion import soap, validity, xmlsafe
from facturacion.config import SunatConfig
from facturacion.errors import (
    ConfigurationError,
    SunatFaultError,
    TransportError,
    UnreadableResponseError,
)
from facturacion.outcome import Symptom
from facturacion.validity import ValidityQuery, ValidityStatus

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
    def __init__(
        self,
        config: SunatConfig,
        session: aiohttp.ClientSession | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._session = session
        self._owns_session = session is None
        self._clock = clock
        self._token: validity.Token | None = None

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

    async def validate(self, query: ValidityQuery) -> ValidityStatus:
        """Consulta Integrada: what SUNAT holds under any receipt's number (boletas too).

        A token the service refuses (expired early, revoked) is renewed once.
        """
        base = self.config.validity_endpoint
        if base is None:
            raise ConfigurationError(
                "the Consulta Integrada needs FACTURACION_SUNAT_CLIENT_ID and "
                "FACTURACION_SUNAT_CLIENT_SECRET (Credenciales de API SUNAT, in SOL)"
            )
        url = base.rstrip("/") + validity.validity_path(self.config.ruc)
        for attempt in range(2):
            headers = {"Authorization": f"Bearer {await self._bearer()}"}
            status, payload = await self._rest(url, "validarcomprobante", json=query.body(),
                                               headers=headers)  # fmt: skip
            if status != 401 or attempt:
                break
            self._token = None
        _check_rest_status(status, payload, "validarcomprobante")
        return validity.read_status(payload)

    async def _bearer(self) -> str:
        """The OAuth token of the API SUNAT credentials, fetched once and reused."""
        now = self._clock()
        if self._token is not None and self._token.usable(now):
            return self._token.value
        base = self.config.token_endpoint or ""
        client_id = self.config.api_client_id
        url = base.rstrip("/") + validity.token_path(client_id)
        form = validity.token_form(client_id, self.config.api_client_secret)
        status, payload = await self._rest(url, "token", data=form)
        if status in {400, 401, 403}:
            raise TransportError(
                Symptom.HTTP_CLIENT_ERROR,
                f"token: HTTP {status}, the API SUNAT credentials were refused: "
                f"{validity.refusal_of(payload)}",
            )
        _check_rest_status(status, payload, "token")
        self._token = validity.read_token(payload, now)
        return self._token.value

    async def _rest(
        self,
        url: str,
        operation: str,
        *,
        json: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """One REST call; a query changes nothing at SUNAT, so no failure is an unknown outcome."""
        session = self._session_for_calls()
        try:
            async with session.post(url, json=json, data=data, headers=headers) as response:
                return response.status, await response.read()
        except aiohttp.InvalidURL as error:
            raise ConfigurationError(f"the SUNAT endpoint {url!r} is not a valid URL") from error
        except TimeoutError as error:
            symptom = Symptom.QUERY_TIMEOUT
            raise TransportError(symptom, f"{operation}: no answer in time") from error
        except aiohttp.ClientError as error:
            raise TransportError(Symptom.CONNECT_FAILED, f"{operation}: {error!r}") from error

    # ------------------------------------------------------------------ the one SOAP call
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


def _check_rest_status(status: int, payload: bytes, operation: str) -> None:
    if status in {502, 503, 504}:
        raise TransportError(Symptom.GATEWAY_ERROR, f"{operation}: HTTP {status}")
    if status >= 500:
        raise TransportError(
            Symptom.SERVER_ERROR, f"{operation}: HTTP {status}: {validity.refusal_of(payload)}"
        )
    if status >= 400:
        raise TransportError(
            Symptom.HTTP_CLIENT_ERROR,
            f"{operation}: HTTP {status}: {validity.refusal_of(payload)}; check the URL "
            "and the API SUNAT credentials",
        )


def _decode(text: str | None, what: str) -> bytes:
    if not text:
        raise TransportError(Symptom.UNREADABLE_ANSWER, f"SUNAT's answer has no {what}")
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except binascii.Error as error:
        raise TransportError(Symptom.UNREADABLE_ANSWER, f"{what} is not base64: {error}") from error
