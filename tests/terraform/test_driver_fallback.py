"""A stop must leave nothing billing even when Terraform cannot run: the driver
says so in the progress and the boto3 driver removes the NLB by name. The same
path removes an NLB the boto3 driver made before the operator switched drivers.
Runs against the moto server of the plan tests (no terraform apply needed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.config import NlbDriver, Settings
from bot.config_terraform import TerraformSettings
from infra.aws.bootstrap import bootstrap
from infra.aws.platform import Boto3Platform
from infra.aws.session import AwsClients
from infra.terraform.platform import terraform_platform
from tests.terraform.conftest import Moto


def test_stop_falls_back_to_boto3_when_terraform_is_missing(moto: Moto, tmp_path: Path) -> None:
    settings = Settings(
        project_name="jitsi-fallback",
        aws_endpoint_url=moto.url,
        nlb_driver=NlbDriver.TERRAFORM,
        terraform=TerraformSettings(dir=str(tmp_path), binary="no-terraform-here"),
    )
    clients = AwsClients(settings)
    bootstrap(settings, clients)
    made_by_boto3 = Boto3Platform(settings, clients)
    groups = made_by_boto3.ensure_target_groups("alice", "s1")
    lb = made_by_boto3.ensure_load_balancer("alice", "s1")
    made_by_boto3.ensure_listeners(lb, groups)

    driver = terraform_platform(settings, Boto3Platform(settings, AwsClients(settings)))
    notes: list[tuple[str, dict[str, Any]]] = []
    driver.observe_progress(lambda message, data: notes.append((message, data)))
    assert driver.delete_listeners(lb) == 2
    driver.delete_load_balancer(lb)
    assert driver.delete_target_groups() == 2
    assert driver.describe_load_balancer() is None

    # One attempt per teardown, reported once, with what to do about it.
    assert notes[0] == ("Terraform: init", {"terraform": "init"})
    [(message, data)] = [n for n in notes if n[1]["terraform"] == "fallback"]
    assert data == {"terraform": "fallback", "error": "TerraformNotFound"}
    assert "'no-terraform-here' was not found" in message and "with boto3 instead" in message
    assert driver.call_counts().get("terraform.apply") is None  # it never ran
