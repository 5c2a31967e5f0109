"""Where and as whom to talk to SUNAT: environment, endpoints, SOL credentials, timeouts."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from facturacion.errors import ConfigurationError


class Environment(StrEnum):
    BETA = "beta"
    PRODUCTION = "production"


@dataclass(frozen=True)
class Endpoints:
    bill: str
    consult: str | None  # billConsultService (getStatusCdr); SUNAT has no beta for it
    validity: str | None  # Consulta Integrada (validarcomprobante) REST API; no beta either
    oauth: str | None  # its OAuth server ("API SUNAT" credentials)


ENDPOINTS: Final = {
    Environment.BETA: Endpoints(
        bill="https://e-beta.sunat.gob.pe/ol-ti-itcpfegem-beta/billService",
        consult=None,
        validity=None,
        oauth=None,
    ),
    Environment.PRODUCTION: Endpoints(
        bill="https://e-factura.sunat.gob.pe/ol-ti-itcpfegem/billService",
        consult="https://e-factura.sunat.gob.pe/ol-it-wsconscpegem/billConsultService",
        validity="https://api.sunat.gob.pe",
        oauth="https://api-seguridad.sunat.gob.pe",
    ),
}

# SUNAT beta's public test credentials.
BETA_USER: Final = "MODDATOS"
BETA_PASSWORD: Final = "moddatos"  # noqa: S105 - SUNAT's published beta password


@dataclass(frozen=True)
class SunatConfig:
    """Everything the client needs; the ``*_url`` fields override the environment's.

    ``validity_url`` and ``token_url`` are the *bases* of SUNAT's REST hosts (paths are
    SUNAT's); ``api_client_id``/``api_client_secret`` are the "Credenciales de API SUNAT"
    generated in SOL, separate from the SOL user. Without them the Consulta Integrada
    is not used and a boleta whose answer was lost waits for a person.
    """

    ruc: str
    sol_user: str
    sol_password: str = field(repr=False)
    environment: Environment = Environment.BETA
    bill_url: str | None = None
    consult_url: str | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    validity_url: str | None = None
    token_url: str | None = None
    api_client_id: str = ""
    api_client_secret: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if not (len(self.ruc) == 11 and self.ruc.isdigit()):
            raise ConfigurationError(f"ruc must be the issuer's 11-digit RUC, got {self.ruc!r}")
        if not self.sol_user or not self.sol_password:
            raise ConfigurationError("set the SOL secondary user and its password")
        if self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise ConfigurationError("connect_timeout and read_timeout must be positive seconds")
        if bool(self.api_client_id) != bool(self.api_client_secret):
            raise ConfigurationError(
                "set the API SUNAT client id and its secret together (Consulta Integrada)"
            )

    @property
    def username(self) -> str:
        """WS-Security username: RUC followed by the SOL user."""
        return f"{self.ruc}{self.sol_user}"

    @property
    def bill_endpoint(self) -> str:
        return self.bill_url or ENDPOINTS[self.environment].bill

    @property
    def consult_endpoint(self) -> str | None:
        return self.consult_url or ENDPOINTS[self.environment].consult

    @property
    def validity_endpoint(self) -> str | None:
        """Base URL of the Consulta Integrada API, or None when it cannot be used."""
        if not self.api_client_id:
            return None
        return self.validity_url or ENDPOINTS[self.environment].validity

    @property
    def token_endpoint(self) -> str | None:
        """Base URL of the OAuth server; a validity override without one serves both."""
        return self.token_url or self.validity_url or ENDPOINTS[self.environment].oauth

    @classmethod
    def beta(cls, ruc: str = "20000000001", **overrides: Any) -> SunatConfig:
        """SUNAT beta with its published credentials; any field may be overridden."""
        settings: dict[str, Any] = {
            "sol_user": BETA_USER,
            "sol_password": BETA_PASSWORD,
            "environment": Environment.BETA,
        }
        settings.update(overrides)
        return cls(ruc, **settings)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> SunatConfig:
        """Read ``FACTURACION_SUNAT_*`` variables (RUC, USER, PASSWORD, ENV, URLs, timeouts,
        CLIENT_ID and CLIENT_SECRET of the Consulta Integrada API)."""
        env = os.environ if environ is None else environ
        prefix = "FACTURACION_SUNAT_"
        missing = [name for name in ("RUC", "USER", "PASSWORD") if not env.get(prefix + name)]
        if missing:
            raise ConfigurationError(
                "set " + ", ".join(prefix + name for name in missing) + " to talk to SUNAT"
            )
        try:
            environment = Environment(env.get(prefix + "ENV", "beta"))
            connect = float(env.get(prefix + "CONNECT_TIMEOUT", "10"))
            read = float(env.get(prefix + "READ_TIMEOUT", "60"))
        except ValueError as error:
            raise ConfigurationError(
                f"{prefix}ENV must be beta or production and timeouts numbers of seconds: {error}"
            ) from error
        return cls(
            ruc=env[prefix + "RUC"],
            sol_user=env[prefix + "USER"],
            sol_password=env[prefix + "PASSWORD"],
            environment=environment,
            bill_url=env.get(prefix + "BILL_URL") or None,
            consult_url=env.get(prefix + "CONSULT_URL") or None,
            connect_timeout=connect,
            read_timeout=read,
            validity_url=env.get(prefix + "VALIDITY_URL") or None,
            token_url=env.get(prefix + "TOKEN_URL") or None,
            api_client_id=env.get(prefix + "CLIENT_ID", "").strip(),
            api_client_secret=env.get(prefix + "CLIENT_SECRET", ""),
        )
