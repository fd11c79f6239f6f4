"""The IAM actions the worker calls, and whether the bot's identity may call them
(``iam:SimulatePrincipalPolicy``), for ``jitsi-bot doctor``.

The list is the boto3 path's (``nlb_driver=boto3``) calls during a start, a stop, the
reconciler, the preflight and the CloudWatch idle source; ``tests/aws`` checks it
against the calls a real start and stop make. ``infra bootstrap`` needs more (it
creates the VPC, roles and the cluster): run it as an administrator once.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from bot.model import Finding
from infra.aws.errors import access_denied, error_code
from infra.aws.session import AwsClients

WORKER_ACTIONS: tuple[str, ...] = (
    # compute: the ECS service and its tasks
    "ecs:DescribeServices",
    "ecs:UpdateService",
    "ecs:ListTasks",
    "ecs:DescribeTasks",
    "ecs:DescribeClusters",
    "ecs:DescribeTaskDefinition",
    # ingress: the on-demand NLB, its target groups and listeners
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:CreateLoadBalancer",
    "elasticloadbalancing:DeleteLoadBalancer",
    "elasticloadbalancing:ModifyLoadBalancerAttributes",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:CreateTargetGroup",
    "elasticloadbalancing:DeleteTargetGroup",
    "elasticloadbalancing:ModifyTargetGroupAttributes",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:CreateListener",
    "elasticloadbalancing:DeleteListener",
    "elasticloadbalancing:ModifyListener",
    "elasticloadbalancing:RegisterTargets",
    "elasticloadbalancing:DeregisterTargets",
    "elasticloadbalancing:DescribeTargetHealth",
    "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:AddTags",  # tags given to the Create* calls
    # the NLB's addresses, the service's network, the audit
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeAddresses",
    # JVB_ADVERTISE_IPS
    "ssm:GetParameter",
    "ssm:PutParameter",
    # DNS
    "route53:GetHostedZone",
    "route53:ListHostedZones",
    "route53:ListResourceRecordSets",
    "route53:ChangeResourceRecordSets",
    "route53:GetChange",
    # the certificate (preflight) and the CloudWatch idle source
    "acm:DescribeCertificate",
    "acm:ListCertificates",
    "cloudwatch:GetMetricStatistics",
    "cloudwatch:GetMetricData",
    # the session's traffic, read after a stop (the NLB is gone: its metrics are listed)
    "cloudwatch:ListMetrics",
    # the idle cost from what exists: the bucket, the log group, the parameters
    "s3:ListBucket",
    "logs:DescribeLogGroups",
    "ssm:GetParametersByPath",
    # `cost actual` and doctor's cost-allocation tag check
    "ce:GetCostAndUsage",
    "ce:ListCostAllocationTags",
)

# SimulatePrincipalPolicy takes at most this many action names per call.
_BATCH = 100


def principal_arn(caller_arn: str) -> str | None:
    """The IAM principal to simulate for ``sts get-caller-identity``'s ARN; None for the
    account's root user and for identities IAM cannot simulate (federated users)."""
    head, _, resource = caller_arn.partition(":sts::")
    if not resource:  # already an IAM ARN: arn:aws:iam::123:user/name
        return None if caller_arn.endswith(":root") else caller_arn
    account, _, rest = resource.partition(":")
    partition = head.split(":")[1] if head.count(":") >= 1 else "aws"
    kind, _, name = rest.partition("/")
    if kind == "assumed-role":  # assumed-role/RoleName/session
        return f"arn:{partition}:iam::{account}:role/{name.split('/')[0]}"
    if kind == "user":
        return f"arn:{partition}:iam::{account}:user/{name}"
    return None


def check_permissions(clients: AwsClients, caller_arn: str) -> Finding:
    """Simulate every worker action for the caller's principal."""
    principal = principal_arn(caller_arn)
    if principal is None:
        return Finding(
            "permissions",
            ok=True,
            detail=f"{caller_arn} cannot be simulated (the root user may call anything).",
            fix="Run the bot as an IAM user or role with only the actions it needs "
            "(terraform/ has the policy).",
            blocking=False,
        )
    iam = clients.client("iam")
    decisions: dict[str, str] = {}
    try:
        for start in range(0, len(WORKER_ACTIONS), _BATCH):
            names = list(WORKER_ACTIONS[start : start + _BATCH])
            kwargs: dict[str, Any] = {"PolicySourceArn": principal, "ActionNames": names}
            while True:
                page = iam.simulate_principal_policy(**kwargs)
                for result in page.get("EvaluationResults", []):
                    decisions[result["EvalActionName"]] = result["EvalDecision"]
                if not page.get("IsTruncated"):
                    break
                kwargs["Marker"] = page["Marker"]
    except ClientError as exc:
        if access_denied(exc):
            return Finding(
                "permissions",
                ok=False,
                detail=f"not checked: {caller_arn} may not call iam:SimulatePrincipalPolicy.",
                fix="Allow iam:SimulatePrincipalPolicy on the bot's own identity to have "
                "its permissions checked; a start reports a missing one when it is needed.",
                blocking=False,
            )
        if error_code(exc) in ("NoSuchEntity", "InvalidInput"):
            return Finding(
                "permissions",
                ok=False,
                detail=f"{principal} cannot be simulated ({error_code(exc)}).",
                fix="Check the identity the bot runs as (aws_profile or the environment).",
                blocking=False,
            )
        raise
    denied = [a for a in WORKER_ACTIONS if decisions.get(a, "implicitDeny") != "allowed"]
    if denied:
        return Finding(
            "permissions",
            ok=False,
            detail=f"{principal} may not call {len(denied)} of the worker's "
            f"{len(WORKER_ACTIONS)} actions: {', '.join(denied)}.",
            fix=f"Allow {', '.join(denied)} in the bot's IAM policy (terraform/ has the "
            "full policy), or remove the explicit Deny that blocks them.",
        )
    return Finding(
        "permissions",
        ok=True,
        detail=f"{principal} may call all {len(WORKER_ACTIONS)} actions the worker uses.",
    )
