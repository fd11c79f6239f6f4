"""``TerraformNlbProvisioner`` under ``NlbIngress`` on a provider-less root: Terraform's
``terraform_data`` stands in for the NLB module and echoes, as its outputs, the ARNs of
an NLB made beforehand with boto3 in moto. So init and apply take milliseconds, and
what is tested is the provisioner's side: the variables and target it applies with,
the outputs it checks against the names the bot derives, the progress it relays,
the runs it counts, and the ingress's sweep of what Terraform does not manage.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.config import NlbDriver, Settings
from bot.config_terraform import TerraformSettings
from bot.errors import CloudError
from bot.model import SessionTags
from infra.aws.bootstrap import bootstrap
from infra.aws.elb import LoadBalancer, existing_groups
from infra.aws.nlb import NlbIngress
from infra.aws.nlb_boto3 import Boto3NlbProvisioner
from infra.aws.session import AwsClients
from infra.terraform.nlb import terraform_provisioner
from tests.support.aws import issued_certificate
from tests.terraform.conftest import Moto

TAGS = SessionTags("job-1", "alice")

# The root the operator would point terraform_dir at, minus the AWS provider.
FAKE_ROOT = """
variable "nlb_enabled" {
  type    = bool
  default = false
}
variable "nlb_arn" {
  type = string
}
variable "groups" {
  type = map(string)
}
resource "terraform_data" "nlb" {
  count = var.nlb_enabled ? 1 : 0
  input = { arn = var.nlb_arn, groups = var.groups }
}
output "nlb_arn" {
  value = try(terraform_data.nlb[0].output.arn, null)
}
output "nlb_dns_name" {
  value = try("${terraform_data.nlb[0].id}.elb.example", null)
}
output "target_group_arns" {
  value = try(terraform_data.nlb[0].output.groups, null)
}
"""


class Notes:
    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, message: str, data: dict[str, Any]) -> None:
        self.seen.append((message, data))

    def messages(self) -> list[str]:
        return [m for m, _ in self.seen]


def _made_by_boto3(settings: Settings, clients: AwsClients) -> tuple[LoadBalancer, dict[str, str]]:
    """The NLB as Terraform would have made it: (the NLB, group key -> ARN)."""
    lb = Boto3NlbProvisioner(settings, clients).create(TAGS, Notes())
    prefix = f"{settings.project_name}-"
    groups = {
        g["TargetGroupName"].removeprefix(prefix): g["TargetGroupArn"]
        for g in existing_groups(settings, clients)
    }
    return lb, groups


@pytest.fixture
def make(
    moto: Moto, tmp_path: Path, tf_env: dict[str, str], project: str
) -> Callable[..., tuple[Settings, AwsClients]]:
    """Settings for ``project`` with the fake root (bootstrapped once); ``tf_vars`` go
    to every apply."""
    (tmp_path / "main.tf").write_text(FAKE_ROOT)
    bootstrapped: list[bool] = []

    def settings_for(tf_vars: dict[str, Any], **overrides: Any) -> tuple[Settings, AwsClients]:
        settings = Settings(
            project_name=project,
            aws_endpoint_url=moto.url,
            nlb_driver=NlbDriver.TERRAFORM,
            terraform=TerraformSettings(
                dir=str(tmp_path),
                vars=tf_vars,
                nlb_target="terraform_data.nlb",
                cli_config_file=tf_env["TF_CLI_CONFIG_FILE"],
                lock_timeout_seconds=0,
            ),
            **overrides,
        )
        clients = AwsClients(settings)
        if not bootstrapped:
            issued_certificate(settings)
            bootstrap(settings, clients)
            bootstrapped.append(True)
        return settings, clients

    return settings_for


def test_on_and_off_through_the_ingress(make: Callable[..., tuple[Settings, AwsClients]]) -> None:
    settings, clients = make({"nlb_arn": "", "groups": {}})
    lb, groups = _made_by_boto3(settings, clients)
    settings, clients = make({"nlb_arn": lb.arn, "groups": groups})
    provisioner = terraform_provisioner(settings, clients)
    ingress = NlbIngress(settings, clients, provisioner)

    on = Notes()
    ingress.bring_up(TAGS, on)
    found = ingress.load_balancer()
    assert found is not None and (found.arn, found.name) == (lb.arn, lb.name)
    assert on.seen[0] == ("Terraform: init", {"terraform": "init"})
    created = [d for _, d in on.seen if d.get("action") == "create"]
    assert created and all(d["address"] == "terraform_data.nlb[0]" for d in created)
    assert any(d["terraform"] == "change_summary" and d["add"] == 1 for _, d in on.seen)
    assert provisioner.calls() == {"terraform.init": 1, "terraform.apply": 1, "terraform.output": 1}

    off = Notes()
    ingress.remove(off)
    assert any(d.get("action") == "delete" for _, d in off.seen)  # Terraform's own part
    assert not any(d["terraform"] in ("init", "fallback") for _, d in off.seen)
    # Terraform never managed the boto3 NLB: the ingress's sweep by name removed it.
    assert ingress.remaining() == [] and ingress.describe() is None
    assert provisioner.calls() == {"terraform.init": 1, "terraform.apply": 2, "terraform.output": 1}


def test_empty_outputs_say_what_the_root_must_export(
    make: Callable[..., tuple[Settings, AwsClients]],
) -> None:
    settings, clients = make({"nlb_arn": "", "groups": {}})
    provisioner = terraform_provisioner(settings, clients)
    with pytest.raises(CloudError) as err:
        provisioner.create(TAGS, Notes())
    assert "'nlb_arn' and 'target_group_arns' are empty" in str(err.value)
    assert "terraform_nlb_target must name the module (terraform_data.nlb)" in err.value.hint


def test_a_missing_listener_group_names_the_flag(
    make: Callable[..., tuple[Settings, AwsClients]],
) -> None:
    settings, clients = make({"nlb_arn": "", "groups": {}})
    lb, groups = _made_by_boto3(settings, clients)  # without 4443
    settings, clients = make({"nlb_arn": lb.arn, "groups": groups}, enable_tcp_4443=True)
    with pytest.raises(CloudError) as err:
        terraform_provisioner(settings, clients).create(TAGS, Notes())
    assert "no target group 'tcp4443'" in str(err.value)
    assert "udp10000, web443" in str(err.value)
    assert "enable_tcp_4443" in err.value.hint


def test_an_nlb_under_another_name_names_the_project_variable(
    make: Callable[..., tuple[Settings, AwsClients]],
) -> None:
    settings, clients = make({"nlb_arn": "", "groups": {}})
    lb, groups = _made_by_boto3(settings, clients)
    other = lb.arn.replace(f"/{lb.name}/", "/someone-elses-nlb/")
    settings, clients = make({"nlb_arn": other, "groups": groups})
    with pytest.raises(CloudError) as err:
        terraform_provisioner(settings, clients).create(TAGS, Notes())
    assert f"is not the one named '{settings.project_name}-nlb'" in str(err.value)
    assert "project_name" in err.value.hint
