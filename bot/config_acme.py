"""Configuration of the direct ingress's certificate (ACME DNS-01), nested in ``Settings``.

Written as an object (``{"acme": {"email": ...}}``) or as flat keys (``acme_email`` in
the file, ``JITSI_ACME_EMAIL`` in the environment). Unused unless a certificate is
asked for (``jitsi-bot infra certificate``, the worker's renewal check).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AcmeSettings(BaseModel):
    """Where to get the certificate and how to see the DNS-01 record propagate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    directory_url: str = LETS_ENCRYPT
    email: str | None = None  # the CA's expiry and policy mails; optional for the CA
    # A CA bundle to trust for the ACME server's own TLS (Pebble's), instead of the system's.
    ca_file: str | None = None
    # host:port of a resolver to ask for the TXT record before answering the
    # challenge; None: Route 53's INSYNC is the proof (all its name servers have it).
    dns_resolver: str | None = None
    propagation_timeout_seconds: float = Field(default=300.0, gt=0, le=3600)
    # How long an order may take from the challenge's answer to the certificate.
    order_timeout_seconds: float = Field(default=180.0, gt=0, le=3600)

    @field_validator("directory_url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.netloc:
            raise ValueError(f"{value!r} is not an https:// ACME directory URL")
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not _EMAIL.match(value):
            raise ValueError(f"{value!r} is not an email address")
        return value

    @field_validator("dns_resolver")
    @classmethod
    def _resolver(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{value!r} is not host:port such as 127.0.0.1:53")
        return value
