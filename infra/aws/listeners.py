"""The NLB's listeners: one per target group, found or created, and removed on stop.

443 is TLS with the ACM certificate (to nginx's HTTPS port), 80 is TCP (to nginx's
HTTP port, which redirects to https://), 10000 UDP to JVB.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from bot.config import Settings
from infra.aws import naming
from infra.aws.elb import LoadBalancer, TargetGroup
from infra.aws.errors import error_code

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


def ensure(
    settings: Settings,
    elbv2: Any,
    lb: LoadBalancer,
    groups: list[TargetGroup],
    certificate_arn: str,
) -> int:
    """Make one listener per target group, the TLS one with ``certificate_arn``;
    returns how many it created or changed."""
    ports = {spec.name: spec.front_port for spec in naming.group_specs(settings, all_groups=True)}
    existing: dict[int, dict[str, Any]] = {}
    for page in elbv2.get_paginator("describe_listeners").paginate(LoadBalancerArn=lb.arn):
        for listener in page.get("Listeners", []):
            existing[int(listener["Port"])] = listener
    changed = 0
    for group in groups:
        port = ports.get(group.name, group.port)
        wanted = _arguments(group, certificate_arn)
        current = existing.get(port)
        if current is None:
            elbv2.create_listener(LoadBalancerArn=lb.arn, Port=port, **wanted)
            changed += 1
        elif not _matches(current, wanted):
            elbv2.modify_listener(ListenerArn=current["ListenerArn"], **wanted)
            changed += 1
    return changed


def _arguments(group: TargetGroup, certificate_arn: str) -> dict[str, Any]:
    args: dict[str, Any] = {
        "Protocol": group.protocol,
        "DefaultActions": [{"Type": "forward", "TargetGroupArn": group.arn}],
    }
    if group.protocol == "TLS":
        # TLS ends at the NLB with the (free) ACM certificate: browsers trust it.
        args.update(Certificates=[{"CertificateArn": certificate_arn}], SslPolicy=TLS_POLICY)
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
