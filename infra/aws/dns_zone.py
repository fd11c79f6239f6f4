"""The hosted zone's SOA record, lowered so that "no such name" is not cached for long.

The meeting domain's record exists only while the platform runs. A resolver that
asked while it was off caches the negative answer for the lower of the SOA record's
TTL and its MINIMUM field (RFC 2308 section 5); Route 53's defaults are 900 s and
86400 s (Route 53 Developer Guide, "NS and SOA records that Amazon Route 53 creates
for a public hosted zone"), so for 15 minutes after a start such a resolver still
answers NXDOMAIN. Lowering both to ``NEGATIVE_CACHE_SECONDS`` bounds that to one
minute. Written by ``infra bootstrap`` (operator credentials) and by Terraform
(``aws_route53_record.soa``); the worker only reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from bot.config import Settings
from infra.aws.session import AwsClients

NEGATIVE_CACHE_SECONDS = 60


@dataclass(frozen=True, slots=True)
class Soa:
    """One SOA record: its TTL and its seven fields (RFC 1035 section 3.3.13)."""

    ttl: int
    mname: str
    rname: str
    serial: int
    refresh: int
    retry: int
    expire: int
    minimum: int

    @classmethod
    def parse(cls, ttl: int, value: str) -> Soa:
        mname, rname, *numbers = value.split()
        serial, refresh, retry, expire, minimum = (int(n) for n in numbers)
        return cls(ttl, mname, rname, serial, refresh, retry, expire, minimum)

    @property
    def value(self) -> str:
        return (
            f"{self.mname} {self.rname} {self.serial} {self.refresh} {self.retry} "
            f"{self.expire} {self.minimum}"
        )

    @property
    def negative_cache_seconds(self) -> int:
        """How long a resolver caches NXDOMAIN for a name of this zone (RFC 2308 s. 5)."""
        return min(self.ttl, self.minimum)


def _apex(settings: Settings, clients: AwsClients) -> str:
    zone = clients.route53.get_hosted_zone(Id=settings.hosted_zone_id)["HostedZone"]
    return str(zone["Name"])


def _soa_record(settings: Settings, clients: AwsClients, apex: str) -> dict[str, Any]:
    resp = clients.route53.list_resource_record_sets(
        HostedZoneId=settings.hosted_zone_id,
        StartRecordName=apex,
        StartRecordType="SOA",
        MaxItems="1",
    )
    for record in resp.get("ResourceRecordSets", []):
        if record["Type"] == "SOA":
            return dict(record)
    raise LookupError(f"hosted zone {settings.hosted_zone_id} has no SOA record")


def read_soa(settings: Settings, clients: AwsClients) -> Soa:
    """The zone's SOA as Route 53 serves it (the doctor can report its negative TTL)."""
    record = _soa_record(settings, clients, _apex(settings, clients))
    return Soa.parse(int(record["TTL"]), record["ResourceRecords"][0]["Value"])


def lower_negative_caching(
    settings: Settings, clients: AwsClients, seconds: int = NEGATIVE_CACHE_SECONDS
) -> Soa | None:
    """Lower the SOA's TTL and MINIMUM to ``seconds`` where they are higher (never
    raise them); returns the new SOA, or None when nothing needed changing."""
    apex = _apex(settings, clients)
    record = _soa_record(settings, clients, apex)
    soa = Soa.parse(int(record["TTL"]), record["ResourceRecords"][0]["Value"])
    lowered = replace(soa, ttl=min(soa.ttl, seconds), minimum=min(soa.minimum, seconds))
    if lowered == soa:
        return None
    clients.route53.change_resource_record_sets(
        HostedZoneId=settings.hosted_zone_id,
        ChangeBatch={
            "Comment": "jitsi-chatops: cache 'no such name' briefly (RFC 2308)",
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": apex,
                        "Type": "SOA",
                        "TTL": lowered.ttl,
                        "ResourceRecords": [{"Value": lowered.value}],
                    },
                }
            ],
        },
    )
    return lowered
