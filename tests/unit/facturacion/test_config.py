"""Configuration from code and from the environment, with messages that say what to set."""

from __future__ import annotations

from pathlib import Path

import pytest

from facturacion import jobs
from facturacion.config import ENDPOINTS, Environment, SunatConfig
from facturacion.errors import CertificateError, ConfigurationError
from facturacion.signing import SignatureAlgorithm, SigningCredentials


def test_beta_and_production_endpoints() -> None:
    """Beta has billService only; production also billConsultService; URLs can be overridden."""
    beta = SunatConfig.beta()
    assert beta.bill_endpoint == "https://e-beta.sunat.gob.pe/ol-ti-itcpfegem-beta/billService"
    assert beta.consult_endpoint is None
    assert beta.username == "20000000001MODDATOS"
    production = SunatConfig("20600995805", "FACTURA1", "x", Environment.PRODUCTION)
    assert production.bill_endpoint == ENDPOINTS[Environment.PRODUCTION].bill
    assert production.consult_endpoint is not None
    assert "x" not in repr(production).split("sol_user")[1].replace("FACTURA1", "")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ruc": "123"}, "11-digit RUC"),
        ({"sol_user": ""}, "SOL secondary user"),
        ({"read_timeout": 0}, "positive seconds"),
    ],
)
def test_bad_config_is_refused(kwargs: dict[str, object], message: str) -> None:
    """A short RUC, missing credentials or a zero timeout are refused at construction."""
    settings: dict[str, object] = {"ruc": "20000000001", "sol_user": "U", "sol_password": "p"}
    settings.update(kwargs)
    with pytest.raises(ConfigurationError, match=message):
        SunatConfig(**settings)  # type: ignore[arg-type]


def test_from_environ_reads_every_setting() -> None:
    """FACTURACION_SUNAT_* variables give the same configuration as code."""
    config = SunatConfig.from_environ(
        {
            "FACTURACION_SUNAT_RUC": "20000000001",
            "FACTURACION_SUNAT_USER": "MODDATOS",
            "FACTURACION_SUNAT_PASSWORD": "moddatos",
            "FACTURACION_SUNAT_ENV": "production",
            "FACTURACION_SUNAT_BILL_URL": "http://127.0.0.1:8089/billService",
            "FACTURACION_SUNAT_READ_TIMEOUT": "30",
        }
    )
    assert config.environment is Environment.PRODUCTION
    assert config.bill_endpoint == "http://127.0.0.1:8089/billService"
    assert config.read_timeout == 30.0
    assert config.connect_timeout == 10.0


def test_from_environ_names_what_is_missing_or_wrong() -> None:
    """Missing variables are listed by name; a bad environment or timeout is explained."""
    with pytest.raises(
        ConfigurationError, match="FACTURACION_SUNAT_USER, FACTURACION_SUNAT_PASSWORD"
    ):
        SunatConfig.from_environ({"FACTURACION_SUNAT_RUC": "20000000001"})
    base = {
        "FACTURACION_SUNAT_RUC": "20000000001",
        "FACTURACION_SUNAT_USER": "U",
        "FACTURACION_SUNAT_PASSWORD": "p",
    }
    with pytest.raises(ConfigurationError, match="beta or production"):
        SunatConfig.from_environ({**base, "FACTURACION_SUNAT_ENV": "staging"})
    with pytest.raises(ConfigurationError, match="beta or production"):
        SunatConfig.from_environ({**base, "FACTURACION_SUNAT_CONNECT_TIMEOUT": "soon"})


def test_job_runtime_from_environ(tmp_path: Path, credentials: SigningCredentials) -> None:
    """The worker's runtime: certificate, algorithm, data directory and SUNAT settings."""
    pem = tmp_path / "cert.pem"
    pem.write_bytes(credentials.key_pem + credentials.certificate_pem)
    env = {
        "FACTURACION_SUNAT_RUC": "20000000001",
        "FACTURACION_SUNAT_USER": "MODDATOS",
        "FACTURACION_SUNAT_PASSWORD": "moddatos",
        "FACTURACION_CERT": str(pem),
        "FACTURACION_SIGNATURE": "rsa-sha256",
        "FACTURACION_DATA_DIR": str(tmp_path / "data"),
    }
    runtime = jobs.Runtime.from_environ(env)
    assert runtime.signer.algorithm is SignatureAlgorithm.RSA_SHA256
    assert (tmp_path / "data" / "documents.sqlite3").exists()
    runtime.store.close()
    with pytest.raises(ConfigurationError, match="FACTURACION_CERT"):
        jobs.Runtime.from_environ({**env, "FACTURACION_CERT": ""})
    with pytest.raises(ConfigurationError, match="rsa-sha1 or rsa-sha256"):
        jobs.Runtime.from_environ({**env, "FACTURACION_SIGNATURE": "md5"})
    with pytest.raises(CertificateError, match="cannot read"):
        jobs.Runtime.from_environ({**env, "FACTURACION_CERT": str(tmp_path / "missing.pfx")})


def test_get_runtime_builds_from_the_process_environment(
    tmp_path: Path, credentials: SigningCredentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without configure(), the first job builds the runtime from os.environ, once."""
    pem = tmp_path / "cert.pem"
    pem.write_bytes(credentials.key_pem + credentials.certificate_pem)
    for name, value in {
        "FACTURACION_SUNAT_RUC": "20000000001",
        "FACTURACION_SUNAT_USER": "MODDATOS",
        "FACTURACION_SUNAT_PASSWORD": "moddatos",
        "FACTURACION_CERT": str(pem),
        "FACTURACION_DATA_DIR": str(tmp_path),
    }.items():
        monkeypatch.setenv(name, value)
    jobs.configure(None)
    try:
        runtime = jobs.get_runtime()
        assert jobs.get_runtime() is runtime
        runtime.store.close()
    finally:
        jobs.configure(None)


def test_the_consulta_integrada_needs_its_own_api_credentials() -> None:
    """Production knows SUNAT's REST hosts; without API credentials the service is off."""
    production = SunatConfig("20600995805", "FACTURA1", "x", Environment.PRODUCTION)
    assert production.validity_endpoint is None
    with_api = SunatConfig("20600995805", "FACTURA1", "x", Environment.PRODUCTION,
                           api_client_id="id", api_client_secret="secret")  # fmt: skip  # noqa: S106
    assert with_api.validity_endpoint == "https://api.sunat.gob.pe"
    assert with_api.token_endpoint == "https://api-seguridad.sunat.gob.pe"  # noqa: S105
    assert "secret" not in repr(with_api)
    beta = SunatConfig.beta(api_client_id="id", api_client_secret="s")  # noqa: S106
    assert beta.validity_endpoint is None  # SUNAT has no beta for it
    local = SunatConfig.beta(validity_url="http://127.0.0.1:8089", api_client_id="id",
                             api_client_secret="s")  # fmt: skip  # noqa: S106
    assert local.validity_endpoint == local.token_endpoint == "http://127.0.0.1:8089"
    with pytest.raises(ConfigurationError, match="together"):
        SunatConfig.beta(api_client_id="id")


def test_from_environ_reads_the_consulta_integrada_settings() -> None:
    config = SunatConfig.from_environ(
        {
            "FACTURACION_SUNAT_RUC": "20000000001",
            "FACTURACION_SUNAT_USER": "MODDATOS",
            "FACTURACION_SUNAT_PASSWORD": "moddatos",
            "FACTURACION_SUNAT_VALIDITY_URL": "http://127.0.0.1:8089",
            "FACTURACION_SUNAT_TOKEN_URL": "http://127.0.0.1:8090",
            "FACTURACION_SUNAT_CLIENT_ID": " id ",
            "FACTURACION_SUNAT_CLIENT_SECRET": "secret",
        }
    )
    assert (config.validity_endpoint, config.token_endpoint) == (
        "http://127.0.0.1:8089", "http://127.0.0.1:8090",
    )  # fmt: skip
    assert (config.api_client_id, config.api_client_secret) == ("id", "secret")
