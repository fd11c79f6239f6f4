"""The emulator's IAM policy simulation and service quotas (what ``jitsi-bot doctor``
asks), and their control endpoints, with plain boto3 clients."""

from __future__ import annotations

import json
import urllib.error
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulator.network import boto
from tests.support.services import control

ACCOUNT = "123456789012"
MOTO = f"arn:aws:iam::{ACCOUNT}:user/moto"


@pytest.fixture(autouse=True)
def clean(url: str) -> Iterator[None]:
    yield
    control(url, "iam", {"clear": True})
    control(url, "quotas", {"clear": True})


@pytest.fixture(scope="module")
def client(url: str) -> Callable[[str], Any]:
    def make(service: str) -> Any:
        return boto(url, service, region="us-west-2")

    return make


def decisions(iam: Any, arn: str, actions: list[str]) -> dict[str, str]:
    results = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=actions)
    return {r["EvalActionName"]: r["EvalDecision"] for r in results["EvaluationResults"]}


def test_the_default_identity_is_an_administrator_until_an_action_is_denied(
    url: str, client: Callable[[str], Any]
) -> None:
    iam = client("iam")
    actions = ["ecs:UpdateService", "route53:GetChange", "ssm:GetParameter"]
    assert set(decisions(iam, MOTO, actions).values()) == {"allowed"}
    control(url, "iam", {"deny": ["ecs:UpdateService", "route53:*"]})
    assert decisions(iam, MOTO, actions) == {
        "ecs:UpdateService": "explicitDeny",
        "route53:GetChange": "explicitDeny",
        "ssm:GetParameter": "allowed",
    }
    control(url, "iam", {"clear": True})
    assert set(decisions(iam, MOTO, actions).values()) == {"allowed"}


def test_users_and_roles_are_judged_by_their_policies(client: Callable[[str], Any]) -> None:
    iam = client("iam")

    def doc(effect: str, *actions: str) -> str:
        return json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": effect, "Action": list(actions), "Resource": "*"}],
            }
        )

    iam.create_user(UserName="bot-user")
    iam.put_user_policy(
        UserName="bot-user", PolicyName="ssm", PolicyDocument=doc("Allow", "ssm:Get*")
    )
    managed = iam.create_policy(PolicyName="ecs-read", PolicyDocument=doc("Allow", "ecs:Describe*"))
    iam.attach_user_policy(UserName="bot-user", PolicyArn=managed["Policy"]["Arn"])
    user = f"arn:aws:iam::{ACCOUNT}:user/bot-user"
    assert decisions(
        iam, user, ["ssm:GetParameter", "ecs:DescribeServices", "ecs:UpdateService"]
    ) == {
        "ssm:GetParameter": "allowed",
        "ecs:DescribeServices": "allowed",
        "ecs:UpdateService": "implicitDeny",
    }
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "ecs.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    iam.create_role(RoleName="bot-role", AssumeRolePolicyDocument=trust)
    iam.put_role_policy(RoleName="bot-role", PolicyName="all", PolicyDocument=doc("Allow", "*"))
    iam.put_role_policy(
        RoleName="bot-role", PolicyName="no-dns", PolicyDocument=doc("Deny", "route53:*")
    )
    role = f"arn:aws:iam::{ACCOUNT}:role/bot-role"
    assert decisions(iam, role, ["ecs:UpdateService", "route53:GetChange"]) == {
        "ecs:UpdateService": "allowed",
        "route53:GetChange": "explicitDeny",
    }
    with pytest.raises(ClientError) as err:
        decisions(iam, f"arn:aws:iam::{ACCOUNT}:role/nobody", ["ecs:UpdateService"])
    assert err.value.response["Error"]["Code"] == "NoSuchEntity"


def test_quotas_have_aws_defaults_and_can_be_lowered(
    url: str, client: Callable[[str], Any]
) -> None:
    sq = client("service-quotas")

    def value(service: str, code: str) -> float:
        return float(sq.get_service_quota(ServiceCode=service, QuotaCode=code)["Quota"]["Value"])

    assert value("elasticloadbalancing", "L-69A177A2") == 50
    assert value("fargate", "L-3032A538") == 4000
    control(url, "quotas", {"service": "fargate", "code": "L-3032A538", "value": 2})
    assert value("fargate", "L-3032A538") == 2
    control(url, "quotas", {"clear": True})
    assert value("fargate", "L-3032A538") == 4000
    with pytest.raises(ClientError) as err:
        value("ec2", "L-1216C47A")
    assert err.value.response["Error"]["Code"] == "NoSuchResourceException"


def test_a_reset_forgets_denials_and_quotas(url: str, client: Callable[[str], Any]) -> None:
    control(url, "iam", {"deny": ["ecs:UpdateService"]})
    control(url, "quotas", {"service": "fargate", "code": "L-3032A538", "value": 1})
    control(url, "reset", {})
    assert decisions(client("iam"), MOTO, ["ecs:UpdateService"]) == {"ecs:UpdateService": "allowed"}
    quota = client("service-quotas").get_service_quota(
        ServiceCode="fargate", QuotaCode="L-3032A538"
    )
    assert quota["Quota"]["Value"] == 4000


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("iam", {"deny": "ecs:UpdateService"}),
        ("iam", {"deny": ["UpdateService"]}),
        ("iam", {"deny": [1]}),
        ("quotas", {"service": "fargate", "code": "L-NOPE", "value": 1}),
        ("quotas", {"service": "fargate", "code": "L-3032A538", "value": -1}),
        ("quotas", {"service": "fargate", "code": "L-3032A538", "value": True}),
        ("quotas", {"service": "fargate", "code": "L-3032A538"}),
    ],
)
def test_bad_control_bodies_are_400(url: str, path: str, body: dict[str, Any]) -> None:
    with pytest.raises(urllib.error.HTTPError) as err:
        control(url, path, body)
    assert err.value.code == 400
