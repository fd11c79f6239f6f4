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
