"""The ``terraform`` configuration section and the wiring that picks the driver."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.wiring import App
from bot.config import NlbDriver
from infra.aws.advertise import SsmAdvertisedAddresses
from infra.aws.audit import AwsAudit
from infra.aws.compute import EcsCompute
from infra.aws.dns import Route53Dns
from infra.aws.nlb import NlbIngress
from infra.aws.nlb_boto3 import Boto3NlbProvisioner
from infra.settings import ConfigError, load_settings
from infra.terraform.nlb import TerraformNlbProvisioner


def test_flat_environment_keys_fill_the_section(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "JITSI_NLB_DRIVER": "terraform",
            "JITSI_TERRAFORM_DIR": str(tmp_path),
            "JITSI_TERRAFORM_VARS": json.dumps({"project_name": "x", "recordings": False}),
            "JITSI_TERRAFORM_LOCK_TIMEOUT_SECONDS": "5",
        }
    )
    assert settings.nlb_driver is NlbDriver.TERRAFORM
    tf = settings.terraform
    assert tf is not None and tf.dir == str(tmp_path)
    assert tf.vars == {"project_name": "x", "recordings": False}
    assert tf.lock_timeout_seconds == 5 and tf.binary == "terraform"
    assert tf.nlb_target == "module.platform.module.jvb_nlb"


def test_file_section_and_its_errors_name_the_key(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"terraform": {"binary": "/opt/tf"}}))
    with pytest.raises(ConfigError) as info:
        load_settings({"JITSI_CONFIG": str(path)})
    assert "terraform.dir" in str(info.value)
    path.write_text(json.dumps({"terraform": {"dir": "/srv/tf", "vars": {"bad name": 1}}}))
    with pytest.raises(ConfigError) as info:
        load_settings({"JITSI_CONFIG": str(path)})
    assert "terraform.vars in" in str(info.value) and "'bad name'" in str(info.value)


def test_wiring_builds_the_provisioner_the_settings_ask_for(tmp_path: Path) -> None:
    boto3_app = App(load_settings({}))
    ingress = boto3_app.parts.ingress
    assert isinstance(ingress, NlbIngress) and boto3_app.nlb is ingress
    assert isinstance(ingress.provisioner, Boto3NlbProvisioner)

    tf_app = App(
        load_settings({"JITSI_NLB_DRIVER": "terraform", "JITSI_TERRAFORM_DIR": str(tmp_path)})
    )
    parts = tf_app.parts
    assert isinstance(parts.ingress, NlbIngress) and tf_app.nlb is parts.ingress
    provisioner = parts.ingress.provisioner
    assert isinstance(provisioner, TerraformNlbProvisioner) and provisioner.cli.workdir == tmp_path
    # Terraform makes only the NLB: every other part is the same as with boto3.
    assert isinstance(parts.compute, EcsCompute) and isinstance(parts.dns, Route53Dns)
    assert isinstance(parts.advertised, SsmAdvertisedAddresses)
    assert isinstance(parts.audit, AwsAudit)
    assert parts.meter.calls() == {}  # nothing ran yet, not even terraform init
    with pytest.raises(ConfigError, match="terraform_dir"):
        _ = App(load_settings({"JITSI_NLB_DRIVER": "terraform"})).parts
