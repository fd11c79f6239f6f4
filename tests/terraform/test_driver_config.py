"""The ``terraform`` configuration section and the wiring that picks the driver."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.wiring import App
from bot.config import NlbDriver
from infra.aws.platform import Boto3Platform
from infra.settings import ConfigError, load_settings
from infra.terraform.platform import TerraformPlatform


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


def test_wiring_builds_the_driver_the_settings_ask_for(tmp_path: Path) -> None:
    boto3_app = App(load_settings({}))
    assert isinstance(boto3_app.cloud, Boto3Platform)
    tf_app = App(
        load_settings({"JITSI_NLB_DRIVER": "terraform", "JITSI_TERRAFORM_DIR": str(tmp_path)})
    )
    cloud = tf_app.cloud
    assert isinstance(cloud, TerraformPlatform) and cloud.cli.workdir == tmp_path
    assert isinstance(cloud.inner, Boto3Platform)
    with pytest.raises(ConfigError, match="terraform_dir"):
        _ = App(load_settings({"JITSI_NLB_DRIVER": "terraform"})).cloud
