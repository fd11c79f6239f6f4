"""The root module with ``ingress = "direct"``, applied for real against moto: no load
balancer even with nlb_enabled, the task gets a public IP, its security group admits
443, 80 and UDP 10000 from anywhere, and JVB's container is what infra/jitsi/spec.py
renders for the direct feature (STUN on, no JVB_ADVERTISE_IPS)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from infra.jitsi.spec import TaskInputs, container_definitions
from tests.terraform.conftest import Terraform, copy_tree, moto_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

PROJECT = "jitsi-direct"
APPLY = ("-input=false", "-no-color", "-auto-approve", "-lock=false")


@dataclass
class Applied:
    load_balancers: list[str] = field(default_factory=list)
    service: dict[str, Any] = field(default_factory=dict)
    containers: list[dict[str, Any]] = field(default_factory=list)
    ingress_rules: set[tuple[str, int, str]] = field(default_factory=set)
    records: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory, tf_env: dict[str, str]) -> Iterator[Applied]:
    tree = copy_tree(tmp_path_factory.mktemp("direct") / "terraform")
    terraform = Terraform(env=tf_env, tree=tree)
    workdir = terraform.dir("examples/emulator")
    out = Applied()
    with moto_server() as moto:
        tf_vars = [
            f"-var=aws_endpoint_url={moto.url}",
            f"-var=project_name={PROJECT}",
            "-var=ingress=direct",
            # The switch wins: asking Terraform for the NLB too makes none in direct mode.
            "-var=nlb_enabled=true",
            "-var=recordings_bucket_enabled=false",
        ]
        try:
            terraform.run(workdir, "apply", *APPLY, *tf_vars, timeout=600)
            elbv2, ecs, ec2 = moto.client("elbv2"), moto.client("ecs"), moto.client("ec2")
            out.load_balancers = [
                lb["LoadBalancerName"] for lb in elbv2.describe_load_balancers()["LoadBalancers"]
            ]
            out.service = ecs.describe_services(
                cluster=f"{PROJECT}-cluster", services=[f"{PROJECT}-service"]
            )["services"][0]
            td = ecs.describe_task_definition(taskDefinition=out.service["taskDefinition"])
            out.containers = td["taskDefinition"]["containerDefinitions"]
            groups = out.service["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"]
            for group in ec2.describe_security_groups(GroupIds=groups)["SecurityGroups"]:
                for perm in group["IpPermissions"]:
                    for rng in perm.get("IpRanges", []):
                        out.ingress_rules.add(
                            (perm["IpProtocol"], int(perm.get("FromPort", -1)), rng["CidrIp"])
                        )
        except AssertionError as exc:
            out.errors.append(str(exc))
        finally:
            proc = terraform.run(workdir, "destroy", *APPLY, *tf_vars, timeout=600, check=False)
            if proc.returncode != 0:
                out.errors.append(f"destroy failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        yield out


def test_applied(applied: Applied) -> None:
    assert not applied.errors, "\n\n".join(applied.errors)


def test_no_load_balancer_in_direct_mode(applied: Applied) -> None:
    assert applied.load_balancers == []


def test_the_task_gets_a_public_ip_and_the_world_reaches_web_and_media(applied: Applied) -> None:
    awsvpc = applied.service["networkConfiguration"]["awsvpcConfiguration"]
    assert awsvpc["assignPublicIp"] == "ENABLED"
    for rule in [("tcp", 443, "0.0.0.0/0"), ("tcp", 80, "0.0.0.0/0"), ("udp", 10000, "0.0.0.0/0")]:
        assert rule in applied.ingress_rules


def test_jvb_finds_its_address_by_stun_as_spec_py_renders_it(applied: Applied) -> None:
    jvb = next(c for c in applied.containers if c["name"] == "jvb")
    env = {e["name"]: e["value"] for e in jvb["environment"]}
    assert env["JVB_DISABLE_STUN"] == "0"
    assert "JVB_ADVERTISE_IPS" not in {s["name"] for s in jvb["secrets"]}
    arn = "arn:x"
    rendered = container_definitions(
        TaskInputs("p", "us-east-1", "https://x", "/l", 8192, arn, arn, arn, direct=True)
    )
    ours = next(c for c in rendered if c["name"] == "jvb")
    assert [e["name"] for e in jvb["environment"]] == [e["name"] for e in ours["environment"]]
    assert [s["name"] for s in jvb["secrets"]] == [s["name"] for s in ours["secrets"]]
