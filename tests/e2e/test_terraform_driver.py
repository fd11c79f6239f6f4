"""The chat lifecycle with ``nlb_driver = terraform``, end to end, once.

The base infrastructure comes from Terraform (``terraform/examples/emulator``
applied with ``nlb_enabled=false``), not from ``infra bootstrap``; then
`jitsi-bot say start` -> a real worker subprocess that runs ``terraform apply``
for the NLB -> URL -> `say stop` -> Terraform removes it -> audit clean.
The AWS provider waits about a minute on an NLB even against the emulator,
so this is one module-scoped run whose steps the tests below look at.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from tests.e2e.conftest import Platform, Result, platform_env
from tests.support.aws import account_env, ready_account
from tests.terraform.conftest import copy_tree, find_plugin_mirror

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]

PROJECT = "jitsi-tfdrv"
DOMAIN = "meet.e2e.example"
NLB = "module.platform.module.jvb_nlb[0]"


@dataclass
class Run:
    platform: Platform
    workdir: Path
    base_outputs: dict[str, Any]
    start: Result | None = None
    stop: Result | None = None
    after_start: dict[str, Any] = field(default_factory=dict)
    after_stop: dict[str, Any] = field(default_factory=dict)


def _terraform(workdir: Path, env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(
        ["terraform", f"-chdir={workdir}", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, f"terraform {args[0]}:\n{proc.stdout[-4000:]}\n{proc.stderr}"
    return proc.stdout


def _outputs(workdir: Path, env: dict[str, str]) -> dict[str, Any]:
    raw = json.loads(_terraform(workdir, env, "output", "-json"))
    return {k: v["value"] for k, v in raw.items()}


def _state(workdir: Path, env: dict[str, str]) -> list[str]:
    return _terraform(workdir, env, "state", "list").split()


def _aws(p: Platform) -> dict[str, Any]:
    elbv2, ecs = p.clients.elbv2, p.clients.ecs
    lbs = [
        lb
        for lb in elbv2.describe_load_balancers()["LoadBalancers"]
        if lb["LoadBalancerName"] == f"{PROJECT}-nlb"
    ]
    groups = [
        g["TargetGroupName"]
        for g in elbv2.describe_target_groups()["TargetGroups"]
        if g["TargetGroupName"].startswith(f"{PROJECT}-")
    ]
    svc = ecs.describe_services(cluster=f"{PROJECT}-cluster", services=[f"{PROJECT}-service"])
    return {"lbs": lbs, "groups": sorted(groups), "service": svc["services"][0]}


@pytest.fixture(scope="module")
def run(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, emulator_url: str
) -> Iterator[Run]:
    mirror = find_plugin_mirror()
    if shutil.which("terraform") is None or mirror is None:
        pytest.skip("terraform or its provider mirror (a folder named tf-plugins) is missing")
    tmp = tmp_path_factory.mktemp("tf-driver")
    workdir = copy_tree(tmp / "terraform") / "examples" / "emulator"
    settings = Settings(
        project_name=PROJECT, redis_url=redis_url, aws_endpoint_url=emulator_url, domain=DOMAIN
    )
    # A certificate validated long ago and the domain's hosted zone, made once by the
    # operator: Terraform puts the certificate on the TLS listener, the bot checks both.
    settings = ready_account(settings)
    cert = settings.acm_certificate_arn
    tf_vars = {
        "acm_certificate_arn": cert,
        "aws_endpoint_url": emulator_url,
        "project_name": PROJECT,
        "domain": DOMAIN,
        # The provider waits ~45 s for the bucket's lifecycle rules against moto;
        # the bucket plays no part in a start or stop.
        "recordings_bucket_enabled": False,
    }
    env = platform_env(PROJECT, redis_url, emulator_url)
    env.update(account_env(settings))
    env.update(
        JITSI_NLB_DRIVER="terraform",
        JITSI_TERRAFORM_DIR=str(workdir),
        JITSI_TERRAFORM_VARS=json.dumps(tf_vars),
        JITSI_TERRAFORM_PLUGIN_MIRROR=str(mirror),
        JITSI_START_TIMEOUT_SECONDS="120",
    )
    # The operator's part: the base infrastructure, from Terraform.
    tf_env = {k: v for k, v in env.items() if not k.startswith("TF_")}
    tf_env["TF_CLI_CONFIG_FILE"] = str(tmp / "tfrc")
    (tmp / "tfrc").write_text(
        f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n'
        '  direct {\n    exclude = ["*/*/*"]\n  }\n}\n'
    )
    var_args = [
        f"-var={k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in tf_vars.items()
    ]
    _terraform(workdir, tf_env, "init", "-input=false", "-no-color")
    _terraform(workdir, tf_env, "apply", "-auto-approve", "-input=false", "-no-color", *var_args)
    platform = Platform(env, settings, emulator_url, tmp)
    result = Run(platform, workdir, _outputs(workdir, tf_env))
    platform.start_worker()
    try:
        result.start = platform.say("start standup", timeout=400)
        result.after_start = {"aws": _aws(platform), "outputs": _outputs(workdir, tf_env)}
        result.after_start["state"] = _state(workdir, tf_env)
        result.stop = platform.say("stop", timeout=400)
        result.after_stop = {"aws": _aws(platform), "outputs": _outputs(workdir, tf_env)}
        result.after_stop["state"] = _state(workdir, tf_env)
        result.after_stop["audit"] = platform.cli("infra", "audit", "--json")
        yield result
    finally:
        for proc in platform.workers:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)


def _log(run: Run) -> str:
    return run.platform.worker_log()[-6000:]


def test_base_infrastructure_came_from_terraform_without_an_nlb(run: Run) -> None:
    assert run.base_outputs["cluster_name"] == f"{PROJECT}-cluster"
    assert run.base_outputs["service_name"] == f"{PROJECT}-service"
    assert "nlb_arn" not in run.base_outputs


def test_start_through_terraform_posts_the_url(run: Run) -> None:
    start = run.start
    assert start is not None and start.code == 0, start.stdout + start.stderr + _log(run)
    [ready] = start.events("url_ready")
    assert ready["data"]["url"] == f"https://{DOMAIN}/standup"
    # Terraform made the NLB the bot's names expect, and the task is registered in it.
    [lb] = run.after_start["aws"]["lbs"]
    assert lb["State"]["Code"] == "active"
    assert run.after_start["outputs"]["nlb_arn"] == lb["LoadBalancerArn"]
    assert ready["data"]["ingress_address"] == lb["DNSName"]
    assert run.after_start["aws"]["groups"] == [
        f"{PROJECT}-udp10000",
        f"{PROJECT}-web443",
        f"{PROJECT}-web80",
    ]
    assert f"{NLB}.aws_lb.this" in run.after_start["state"]
    assert run.after_start["aws"]["service"]["desiredCount"] == 1


def test_chat_users_see_terraform_resource_by_resource(run: Run) -> None:
    assert run.start is not None
    notes = [e for e in run.start.events("waiting") if e["data"].get("terraform")]
    texts = [e["message"] for e in notes]
    done = [e for e in notes if e["data"]["terraform"] == "apply_complete"]
    lb_done = [e for e in done if e["data"]["address"] == f"{NLB}.aws_lb.this"]
    assert lb_done, texts
    assert lb_done[0]["data"]["seconds"] >= 0 and lb_done[0]["data"]["action"] == "create"
    assert lb_done[0]["step"] == "ingress"  # the step the apply runs in
    assert {e["data"]["resource_type"] for e in done} == {
        "aws_lb",
        "aws_lb_target_group",
        "aws_lb_listener",
    }
    message = json.dumps(lb_done[0])
    assert f"Terraform: {NLB}.aws_lb.this: Creation complete after" in message
    assert "[id=" not in message


def test_stop_through_terraform_leaves_nothing(run: Run) -> None:
    stop = run.stop
    assert stop is not None and stop.code == 0, stop.stdout + stop.stderr + _log(run)
    assert stop.events("audit")[0]["data"]["clean"] is True
    deletes = [
        e
        for e in stop.events("waiting")
        if e["data"].get("terraform") == "apply_complete" and e["data"]["action"] == "delete"
    ]
    assert {e["data"]["resource_type"] for e in deletes} >= {"aws_lb", "aws_lb_listener"}
    assert run.after_stop["aws"]["lbs"] == [] and run.after_stop["aws"]["groups"] == []
    assert "nlb_arn" not in run.after_stop["outputs"]
    assert not [a for a in run.after_stop["state"] if "jvb_nlb" in a]
    # The base infrastructure stays, at zero.
    assert run.after_stop["aws"]["service"]["desiredCount"] == 0
    assert "module.platform.aws_ecs_service.this" in run.after_stop["state"]
    audit = run.after_stop["audit"]
    assert audit.code == 0 and json.loads(audit.stdout)["clean"] is True
