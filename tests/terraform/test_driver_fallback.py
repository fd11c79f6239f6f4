"""A stop must leave nothing billing even when Terraform cannot run: the Terraform
provisioner says so in the progress and ``NlbIngress``'s boto3 sweep removes the NLB
by name. The same path removes an NLB the boto3 provisioner made before the operator
switched provisioners. Runs against the moto server of the plan tests (no terraform
apply needed).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bot.config import NlbDriver, Settings
from bot.config_terraform import TerraformSettings
from bot.model import ResourceKind, SessionTags
from infra.aws.bootstrap import bootstrap
from infra.aws.nlb import NlbIngress
from infra.aws.nlb_boto3 import Boto3NlbProvisioner
from infra.aws.parts import aws_parts
from infra.aws.session import AwsClients
from infra.terraform.nlb import terraform_provisioner
from tests.support.aws import issued_certificate
from tests.terraform.conftest import Moto


def test_stop_falls_back_to_boto3_when_terraform_is_missing(
    moto: Moto, tmp_path: Path, project: str
) -> None:
    settings = Settings(
        project_name=project,
        aws_endpoint_url=moto.url,
        nlb_driver=NlbDriver.TERRAFORM,
        terraform=TerraformSettings(dir=str(tmp_path), binary="no-terraform-here"),
    )
    clients = AwsClients(settings)
    issued_certificate(settings)
    bootstrap(settings, clients)
    made_by_boto3 = NlbIngress(settings, clients, Boto3NlbProvisioner(settings, clients))
    made_by_boto3.bring_up(SessionTags("s1", "alice"), lambda _m, _d: None)
    lb = made_by_boto3.load_balancer()
    assert lb is not None

    tf_clients = AwsClients(settings)
    parts, ingress = aws_parts(settings, tf_clients, terraform_provisioner(settings, tf_clients))
    kinds = Counter(r.kind for r in parts.audit.billable())
    assert kinds == {ResourceKind.LOAD_BALANCER: 1, ResourceKind.TARGET_GROUP: 3}
    notes: list[tuple[str, dict[str, Any]]] = []
    ingress.remove(lambda message, data: notes.append((message, data)))

    # Listeners, NLB and groups went by boto3, in one removal (plain moto makes no
    # NLB interfaces, so nothing is left to wait for).
    calls = parts.meter.calls()
    assert calls["elbv2.DeleteListener"] == 3  # 10000, 443, 80
    assert calls["elbv2.DeleteLoadBalancer"] == 1
    assert calls["elbv2.DeleteTargetGroup"] == 3
    assert ingress.remaining() == []
    assert ingress.describe() is None
    assert parts.audit.billable() == []
    with pytest.raises(ClientError, match="LoadBalancerNotFound"):
        tf_clients.elbv2.describe_listeners(LoadBalancerArn=lb.arn)

    # One attempt per removal, reported once, with what to do about it.
    assert notes[0] == ("Terraform: init", {"terraform": "init"})
    [(message, data)] = [n for n in notes if n[1]["terraform"] == "fallback"]
    assert data == {"terraform": "fallback", "error": "TerraformNotFound"}
    assert "'no-terraform-here' was not found" in message and "with boto3 instead" in message
    assert calls.get("terraform.apply") is None  # it never ran
