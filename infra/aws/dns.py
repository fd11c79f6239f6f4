"""The meeting domain's Route53 alias to the on-demand NLB."""

from __future__ import annotations

from typing import Any

from bot.config import Settings
from infra.aws.session import AwsClients


def change_alias(
    settings: Settings, clients: AwsClients, action: str, zone_id: str, dns_name: str
) -> None:
    """UPSERT or DELETE the A alias of ``settings.domain`` to ``dns_name`` (zone ``zone_id``)."""
    assert settings.hosted_zone_id
    clients.route53.change_resource_record_sets(
        HostedZoneId=settings.hosted_zone_id,
        ChangeBatch={
            "Comment": "jitsi-chatops on-demand NLB",
            "Changes": [
                {
                    "Action": action,
                    "ResourceRecordSet": {
                        "Name": settings.domain,
                        "Type": "A",
                        "AliasTarget": {
                            "HostedZoneId": zone_id,
                            "DNSName": dns_name,
                            "EvaluateTargetHealth": False,
                        },
                    },
                }
            ],
        },
    )


def current_alias(settings: Settings, clients: AwsClients) -> dict[str, Any] | None:
    """The domain's A alias target in the hosted zone, or None."""
    assert settings.hosted_zone_id
    resp = clients.route53.list_resource_record_sets(
        HostedZoneId=settings.hosted_zone_id,
        StartRecordName=settings.domain + ".",
        StartRecordType="A",
        MaxItems="1",
    )
    for record in resp.get("ResourceRecordSets", []):
        if record["Name"].rstrip(".") == settings.domain and record["Type"] == "A":
            alias = record.get("AliasTarget")
            return dict(alias) if alias else None
    return None
