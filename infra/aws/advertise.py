"""The SSM parameter JVB reads at start as ``JVB_ADVERTISE_IPS``."""

from __future__ import annotations

from collections.abc import Sequence

from botocore.exceptions import ClientError

from bot.config import Settings
from infra.aws.errors import error_code, translated
from infra.aws.session import AwsClients


class SsmAdvertisedAddresses:
    def __init__(self, settings: Settings, clients: AwsClients) -> None:
        self.settings = settings
        self.clients = clients

    @translated("writing the advertised IPs to SSM")
    def publish(self, addresses: Sequence[str]) -> None:
        """Writes only a change: the write's time tells which tasks started with older
        addresses (``published_at``), so rewriting the same ones must not move it."""
        if list(addresses) == self.current():
            return
        self.clients.ssm.put_parameter(
            Name=self.settings.advertise_ips_parameter,
            Value=",".join(addresses),
            Type="String",
            Overwrite=True,
        )

    @translated("reading the advertised IPs from SSM")
    def current(self) -> list[str]:
        try:
            resp = self.clients.ssm.get_parameter(Name=self.settings.advertise_ips_parameter)
        except ClientError as exc:
            if error_code(exc) == "ParameterNotFound":
                return []
            raise
        return [ip for ip in resp["Parameter"]["Value"].split(",") if ip]

    @translated("reading when the advertised IPs changed")
    def published_at(self) -> float | None:
        try:
            resp = self.clients.ssm.get_parameter(Name=self.settings.advertise_ips_parameter)
        except ClientError as exc:
            if error_code(exc) == "ParameterNotFound":
                return None
            raise
        modified = resp["Parameter"].get("LastModifiedDate")
        return modified.timestamp() if modified is not None else None
