"""The real cycle against moto: idle platform, NLB on, NLB off, destroy.

One module-scoped run (the AWS provider spends about a minute creating an NLB
even against moto); the tests below assert on what it observed at each step.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.terraform.conftest import Moto, Terraform, copy_tree, moto_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

PROJECT = "jitsi-cycle"
APPLY = ("-input=false", "-no-color", "-auto-approve", "-lock=false")


@dataclass
class Cycle:
    load_balancers: dict[str, list[str]] = field(default_factory=dict)
    target_groups: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def _observe(moto: Moto, cycle: Cycle, step: str) -> None:
    elbv2 = moto.client("elbv2")
    cycle.load_balancers[step] = [
        lb["LoadBalancerName"] for lb in elbv2.describe_load_balancers()["LoadBalancers"]
    ]
    groups: dict[str, dict[str, str]] = {}
    for tg in elbv2.describe_target_groups()["TargetGroups"]:
        attrs = elbv2.describe_target_group_attributes(TargetGroupArn=tg["TargetGroupArn"])[
            "Attributes"
        ]
        groups[tg["TargetGroupName"]] = {a["Key"]: a["Value"] for a in attrs}
    cycle.target_groups[step] = groups
    ecs = moto.client("ecs")
    found = ecs.describe_services(cluster=f"{PROJECT}-cluster", services=[f"{PROJECT}-service"])
    cycle.services[step] = {
        s["serviceName"]: s for s in found.get("services", []) if s["status"] == "ACTIVE"
    }


def _outputs(terraform: Terraform, workdir: Path) -> dict[str, Any]:
    import json

    shown = terraform.run(workdir, "output", "-json", "-no-color", timeout=60)
    return {k: v["value"] for k, v in json.loads(shown.stdout).items()}


@pytest.fixture(scope="module")
def cycle(tmp_path_factory: pytest.TempPathFactory, tf_env: dict[str, str]) -> Iterator[Cycle]:
    tree = copy_tree(tmp_path_factory.mktemp("cycle") / "terraform")
    terraform = Terraform(env=tf_env, tree=tree)
    workdir = terraform.dir("examples/emulator")
    result = Cycle()
    with moto_server() as moto:
        common = [f"-var=aws_endpoint_url={moto.url}", f"-var=project_name={PROJECT}"]
        try:
            terraform.run(workdir, "apply", *APPLY, *common, "-var=nlb_enabled=false", timeout=600)
            _observe(moto, result, "idle")
            result.outputs["idle"] = _outputs(terraform, workdir)

            # What an operator does to bring up only the NLB with Terraform.
            terraform.run(
                workdir,
                "apply",
                *APPLY,
                *common,
                "-var=nlb_enabled=true",
                "-target=module.platform.module.jvb_nlb",
                timeout=600,
            )
            _observe(moto, result, "nlb_on")
            result.outputs["nlb_on"] = _outputs(terraform, workdir)

            terraform.run(workdir, "apply", *APPLY, *common, "-var=nlb_enabled=false", timeout=600)
            _observe(moto, result, "nlb_off")
        except AssertionError as exc:
            result.errors.append(str(exc))
        finally:
            # Always destroy, so a failed step still proves teardown works.
            proc = terraform.run(
                workdir,
                "destroy",
                *APPLY,
                *common,
                "-var=nlb_enabled=false",
                timeout=600,
                check=False,
            )
            if proc.returncode != 0:
                result.errors.append(
                    f"destroy failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
                )
            else:
                _observe(moto, result, "destroyed")
        yield result


def test_cycle_ran(cycle: Cycle) -> None:
    assert not cycle.errors, "\n\n".join(cycle.errors)


def test_idle_has_no_load_balancer_and_no_task(cycle: Cycle) -> None:
    assert cycle.load_balancers["idle"] == []
    assert cycle.target_groups["idle"] == {}
    service = cycle.services["idle"][f"{PROJECT}-service"]
    assert service["desiredCount"] == 0
    # Null outputs are left out of `terraform output -json`.
    assert cycle.outputs["idle"].get("nlb_arn") is None


def test_nlb_on_creates_the_named_nlb(cycle: Cycle) -> None:
    assert cycle.load_balancers["nlb_on"] == [f"{PROJECT}-nlb"]
    groups = cycle.target_groups["nlb_on"]
    assert set(groups) == {f"{PROJECT}-udp10000", f"{PROJECT}-web443", f"{PROJECT}-web80"}
    for name, attrs in groups.items():
        assert attrs["deregistration_delay.timeout_seconds"] == "5", name
    outputs = cycle.outputs["nlb_on"]
    assert outputs["nlb_arn"] and outputs["nlb_dns_name"]
    assert set(outputs["target_group_arns"]) == {"udp10000", "web443", "web80"}


def test_nlb_off_removes_it(cycle: Cycle) -> None:
    assert cycle.load_balancers["nlb_off"] == []
    assert cycle.target_groups["nlb_off"] == {}
    # The service survives the NLB's removal and stays at zero.
    assert cycle.services["nlb_off"][f"{PROJECT}-service"]["desiredCount"] == 0


def test_destroy_leaves_nothing(cycle: Cycle) -> None:
    assert cycle.load_balancers["destroyed"] == []
    assert cycle.services["destroyed"] == {}
