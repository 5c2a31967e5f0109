"""The one exception tree of ``facturacion.billing``; messages say what to do next."""

from __future__ import annotations


class BillingError(Exception):
    """Root of every error the billing jobs raise on purpose."""


class SettingsError(BillingError):
    """A ``FACTURACION_*`` setting is missing or malformed."""


class UnknownReceiptError(BillingError):
    """No receipt is stored under the given key."""


class MailError(BillingError):
    """The SMTP server refused the message or could not be reached."""


class SunatNotAnsweredError(BillingError):
    """SUNAT gave no final answer this time; raised in a job so the queue retries it."""


class HttpCallError(BillingError):
    """A third-party HTTP call failed for good (a 4xx other than 408/429, or a bad URL)."""
