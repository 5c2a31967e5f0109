"""Shared fixtures for the facturacion unit tests: one throwaway certificate per session."""

from __future__ import annotations

import pytest

from facturacion import samples
from facturacion.signing import SigningCredentials


@pytest.fixture(scope="session")
def credentials() -> SigningCredentials:
    return samples.self_signed_credentials()
