"""The meeting domain's A record in Route 53 as the platform's ``Dns``."""

from __future__ import annotations

from typing import Any

from bot.config import Settings
from bot.model import AddressTarget, AliasTarget, DnsTarget
from infra.aws.errors import translated
from infra.aws.session import AwsClients


def _record(settings: Settings, target: DnsTarget) -> dict[str, Any]:
    record: dict[str, Any] = {"Name": settings.domain, "Type": "A"}
    match target:
        case AliasTarget(zone_id, dns_name):
            record["AliasTarget"] = {
                "HostedZoneId": zone_id,
                "DNSName": dns_name,
                "EvaluateTargetHealth": False,
            }
        case AddressTarget(addresses, ttl):
            record["TTL"] = ttl
            record["ResourceRecords"] = [{"Value": ip} for ip in addresses]
    return record


class Route53Dns:
    def __init__(self, settings: Settings, clients: AwsClients) -> None:
        self.settings = settings
        self.clients = clients

    @property
    def enabled(self) -> bool:
        return bool(self.settings.hosted_zone_id)

    @translated("updating DNS")
    def upsert(self, target: DnsTarget) -> None:
        if self.enabled:
            self._change("UPSERT", _record(self.settings, target))

    @translated("removing the DNS record")
    def delete(self) -> None:
        """Delete the domain's A record exactly as it stands (Route 53 wants it whole)."""
        current = self.current() if self.enabled else None
        if current is not None:
            self._change("DELETE", current)

    def current(self) -> dict[str, Any] | None:
        """The domain's A record in the hosted zone, or None."""
        resp = self.clients.route53.list_resource_record_sets(
            HostedZoneId=self.settings.hosted_zone_id,
            StartRecordName=self.settings.domain + ".",
            StartRecordType="A",
            MaxItems="1",
        )
        for record in resp.get("ResourceRecordSets", []):
            if record["Name"].rstrip(".") == self.settings.domain and record["Type"] == "A":
                return dict(record)
        return None

    def _change(self, action: str, record: dict[str, Any]) -> None:
        self.clients.route53.change_resource_record_sets(
            HostedZoneId=self.settings.hosted_zone_id,
            ChangeBatch={
                "Comment": "jitsi-chatops: the meeting domain",
                "Changes": [{"Action": action, "ResourceRecordSet": record}],
            },
        )
