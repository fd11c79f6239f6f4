"""The service quotas a start needs, for ``jitsi-bot doctor``: one more Network Load
Balancer in the region and the task's vCPUs on Fargate On-Demand.

Codes checked in the Service Quotas listing (gruntwork-io/terraform-aws-utilities
docs/quotas.md, 2026-11): ``elasticloadbalancing`` L-69A177A2 "Network Load Balancers
per Region" (default 50), ``fargate`` L-3032A538 "Fargate On-Demand vCPU resource
count" (default 4000; new accounts often get far less).
"""

from __future__ import annotations

from collections.abc import Callable

from botocore.exceptions import ClientError

from bot.config import Settings
from bot.model import Finding
from infra.aws.errors import access_denied, error_code, iam_action
from infra.aws.naming import nlb_name
from infra.aws.session import AwsClients

NLB_QUOTA = ("elasticloadbalancing", "L-69A177A2")
FARGATE_VCPU_QUOTA = ("fargate", "L-3032A538")


def _quota(clients: AwsClients, service: str, code: str) -> float | None:
    """The applied value, else AWS's default; None when neither is known."""
    sq = clients.client("service-quotas")
    try:
        return float(sq.get_service_quota(ServiceCode=service, QuotaCode=code)["Quota"]["Value"])
    except ClientError as exc:
        if error_code(exc) != "NoSuchResourceException":
            raise
    try:
        quota = sq.get_aws_default_service_quota(ServiceCode=service, QuotaCode=code)
        return float(quota["Quota"]["Value"])
    except ClientError as exc:
        if error_code(exc) not in ("NoSuchResourceException", "UnknownOperationException"):
            raise
        return None


def _raise_fix(settings: Settings, service: str, code: str, value: float) -> str:
    return (
        f"Request an increase in the Service Quotas console ({service} {code}) or "
        f"`aws service-quotas request-service-quota-increase --service-code {service} "
        f"--quota-code {code} --desired-value {value:g} --region {settings.aws_region}`."
    )


def check_quotas(settings: Settings, clients: AwsClients) -> list[Finding]:
    return [
        _guard("NLB quota", lambda: _nlbs(settings, clients)),
        _guard("Fargate vCPU quota", lambda: _fargate(settings, clients)),
    ]


def _guard(check: str, run: Callable[[], Finding]) -> Finding:
    try:
        return run()
    except ClientError as exc:
        if not access_denied(exc):
            raise
        action = iam_action(exc.operation_name)
        return Finding(
            check,
            ok=False,
            detail=f"not checked: the identity may not call {action}.",
            fix=f"Allow {action} to have it checked.",
            blocking=False,
        )


def _nlbs(settings: Settings, clients: AwsClients) -> Finding:
    service, code = NLB_QUOTA
    limit = _quota(clients, service, code)
    pages = clients.elbv2.get_paginator("describe_load_balancers").paginate()
    lbs = [lb for page in pages for lb in page.get("LoadBalancers", [])]
    network = [lb for lb in lbs if lb.get("Type") == "network"]
    ours = any(lb["LoadBalancerName"] == nlb_name(settings) for lb in network)
    if limit is None:
        return Finding("NLB quota", True, f"{len(network)} NLBs in use; quota unknown.")
    if ours or len(network) < limit:
        return Finding("NLB quota", True, f"{len(network)} of {limit:g} NLBs in use.")
    return Finding(
        "NLB quota",
        ok=False,
        detail=f"all {limit:g} Network Load Balancers of {settings.aws_region} are in use: "
        "a start could not create its own.",
        fix=_raise_fix(settings, service, code, limit + 1),
    )


def _fargate(settings: Settings, clients: AwsClients) -> Finding:
    service, code = FARGATE_VCPU_QUOTA
    limit = _quota(clients, service, code)
    need = settings.task_vcpu
    if limit is None:
        return Finding("Fargate vCPU quota", True, f"the task needs {need:g} vCPU; quota unknown.")
    if need <= limit:
        return Finding(
            "Fargate vCPU quota", True, f"the task needs {need:g} of {limit:g} vCPU allowed."
        )
    return Finding(
        "Fargate vCPU quota",
        ok=False,
        detail=f"the task needs {need:g} vCPU; Fargate On-Demand allows {limit:g} "
        f"in {settings.aws_region}.",
        fix=_raise_fix(settings, service, code, need) + " Or lower task_vcpu.",
    )
