"""The meeting domain's A record in Route 53 as the platform's ``Dns``."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from bot.config import Settings
from bot.model import AddressTarget, AliasTarget, DnsTarget
from infra.aws.errors import error_code, translated
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
        # The last change this process submitted and whether Route 53 called it INSYNC.
        self._change: tuple[str, bool] | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.settings.hosted_zone_id)

    @translated("updating DNS")
    def upsert(self, target: DnsTarget) -> None:
        if self.enabled:
            self._submit("UPSERT", _record(self.settings, target))

    @translated("removing the DNS record")
    def delete(self) -> None:
        """Delete the domain's A record exactly as it stands (Route 53 wants it whole)."""
        current = self.current() if self.enabled else None
        if current is not None:
            self._submit("DELETE", current)

    @translated("reading the DNS record")
    def current_target(self) -> DnsTarget | None:
        record = self.current() if self.enabled else None
        if record is None:
            return None
        alias = record.get("AliasTarget")
        if alias:
            return AliasTarget(alias["HostedZoneId"], str(alias["DNSName"]).rstrip("."))
        values = tuple(sorted(r["Value"] for r in record.get("ResourceRecords", [])))
        return AddressTarget(values, int(record.get("TTL", 60)))

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

    @translated("checking that DNS is in sync")
    def in_sync(self) -> bool:
        """Polls GetChange for the last change. With none known (a worker restarted
        after the upsert), the record as it stands is submitted again, unchanged:
        Route 53 applies a zone's changes in order, so once that one is INSYNC every
        earlier one is too."""
        if not self.enabled:
            return True
        if self._change is None:
            current = self.current()
            if current is None:
                return True  # nothing to serve, nothing to wait for
            self._submit("UPSERT", current)
        assert self._change is not None
        change_id, insync = self._change
        if insync:
            return True
        try:
            info = self.clients.route53.get_change(Id=change_id)["ChangeInfo"]
        except ClientError as exc:
            if error_code(exc) != "NoSuchChange":
                raise
            self._change = None  # forgotten by Route 53: ask again about the record
            return False
        insync = bool(info["Status"] == "INSYNC")
        self._change = (change_id, insync)
        return insync

    def _submit(self, action: str, record: dict[str, Any]) -> None:
        resp = self.clients.route53.change_resource_record_sets(
            HostedZoneId=self.settings.hosted_zone_id,
            ChangeBatch={
                "Comment": "jitsi-chatops: the meeting domain",
                "Changes": [{"Action": action, "ResourceRecordSet": record}],
            },
        )
        info = resp["ChangeInfo"]
        self._change = (str(info["Id"]).rsplit("/", 1)[-1], info["Status"] == "INSYNC")
