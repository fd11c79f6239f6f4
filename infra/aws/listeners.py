"""The NLB's listeners: one per target group, found or created, and removed on stop."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from bot.config import Settings
from infra.aws import naming
from infra.aws.elb import LoadBalancer, TargetGroup
from infra.aws.errors import error_code

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


def ensure(settings: Settings, elbv2: Any, lb: LoadBalancer, groups: list[TargetGroup]) -> int:
    """Make one listener per target group; returns how many it created or changed."""
    existing: dict[int, dict[str, Any]] = {}
    for page in elbv2.get_paginator("describe_listeners").paginate(LoadBalancerArn=lb.arn):
        for listener in page.get("Listeners", []):
            existing[int(listener["Port"])] = listener
    changed = 0
    for group in groups:
        wanted = _arguments(settings, group)
        current = existing.get(group.port)
        if current is None:
            elbv2.create_listener(LoadBalancerArn=lb.arn, Port=group.port, **wanted)
            changed += 1
        elif not _matches(current, wanted):
            elbv2.modify_listener(ListenerArn=current["ListenerArn"], **wanted)
            changed += 1
    return changed


def _arguments(settings: Settings, group: TargetGroup) -> dict[str, Any]:
    args: dict[str, Any] = {
        "Protocol": group.protocol,
        "DefaultActions": [{"Type": "forward", "TargetGroupArn": group.arn}],
    }
    cert = settings.acm_certificate_arn
    if group.port == naming.WEB_PORT and cert:
        # TLS ends at the NLB with the (free) ACM certificate.
        args.update(Protocol="TLS", Certificates=[{"CertificateArn": cert}], SslPolicy=TLS_POLICY)
    return args


def _matches(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    target = [a.get("TargetGroupArn") for a in current.get("DefaultActions", [])]
    certs = [c.get("CertificateArn") for c in current.get("Certificates", [])]
    wanted_certs = [c["CertificateArn"] for c in wanted.get("Certificates", [])]
    return (
        current.get("Protocol") == wanted["Protocol"]
        and target == [wanted["DefaultActions"][0]["TargetGroupArn"]]
        and certs == wanted_certs
    )


def delete_all(elbv2: Any, lb: LoadBalancer) -> int:
    """Delete every listener of ``lb`` (gone already counts as done); returns how many."""
    arns: list[str] = []
    try:
        for page in elbv2.get_paginator("describe_listeners").paginate(LoadBalancerArn=lb.arn):
            arns.extend(listener["ListenerArn"] for listener in page.get("Listeners", []))
    except ClientError as exc:
        if error_code(exc) == "LoadBalancerNotFound":
            return 0
        raise
    deleted = 0
    for arn in arns:
        try:
            elbv2.delete_listener(ListenerArn=arn)
            deleted += 1
        except ClientError as exc:
            if error_code(exc) != "ListenerNotFound":
                raise
    return deleted
