"""The one exception tree of ``facturacion``; every message tells the user what to do."""

from __future__ import annotations


class FacturacionError(Exception):
    """Root of every error this package raises on purpose."""


class InvalidDocumentError(FacturacionError):
    """A receipt was refused before any XML existed; ``field`` names the culprit."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class CertificateError(FacturacionError):
    """The signing certificate or its key could not be loaded or used."""


class SignatureError(FacturacionError):
    """Signing failed, or a signature did not verify."""


class UnreadableResponseError(FacturacionError):
    """SUNAT (or something in between) answered with bytes we cannot read."""


class ConfigurationError(FacturacionError):
    """The SUNAT configuration (endpoint, credentials, environment) is unusable."""


class DocumentConflictError(FacturacionError):
    """A different document was already signed under the same number.

    SUNAT keeps the first document it sees under a number; sending another one under it
    would be refused (1033) or, worse, disagree with the printed copy the customer holds.
    """


class UnknownDocumentError(FacturacionError):
    """No prepared document is stored under the given key."""


class TransportError(FacturacionError):
    """The call to SUNAT did not produce an answer; ``symptom`` says how it failed."""

    def __init__(self, symptom: str, detail: str) -> None:
        super().__init__(f"{symptom}: {detail}")
        self.symptom = symptom
        self.detail = detail


class SunatFaultError(FacturacionError):
    """SUNAT answered with a SOAP fault carrying a numeric code."""

    def __init__(self, code: int | None, message: str, http_status: int) -> None:
        shown = f"{code:04d}" if code is not None else "no code"
        super().__init__(f"SUNAT fault {shown}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status
