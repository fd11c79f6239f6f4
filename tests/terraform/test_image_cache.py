"""``image_cache`` in Terraform: the ECR pull-through cache rule for Docker Hub only when
asked, and the same task definition as ``infra bootstrap`` with the cache on.

The plans run against the shared moto server (plans create nothing); the apply runs the
real root module against the project's emulator, which has the rule calls moto lacks.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from infra.aws.bootstrap import bootstrap
from infra.aws.session import AwsClients
from tests.support.aws import Endpoint, settings_for
from tests.terraform.conftest import Moto, Terraform, copy_tree
from tests.terraform.test_idle_cost import EXAMPLE, planned
from tests.terraform.test_task_identity import APPLY, _normalised

SUFFIX = uuid.uuid4().hex[:6]
DOMAIN = "meet.cache.example"


def _by_type(plan: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for rc in planned(plan):
        out.setdefault(rc["type"], []).append(rc["change"]["after"])
    return out


def _registry(plan: dict[str, Any]) -> Any:
    """The example's ``image_cache_registry`` output (known at plan: the task definition
    itself is not, its parameter ARNs come from the apply)."""
    return plan["planned_values"]["outputs"]["image_cache_registry"].get("value")


def test_no_rule_unless_asked(terraform: Terraform, moto: Moto) -> None:
    project = f"ncache{SUFFIX}"
    plan = terraform.plan_json(
        terraform.dir(EXAMPLE), {"aws_endpoint_url": moto.url, "project_name": project}
    )
    by_type = _by_type(plan)
    assert "aws_ecr_pull_through_cache_rule" not in by_type
    assert _registry(plan) is None


def test_rule_and_registry_when_asked(terraform: Terraform, moto: Moto) -> None:
    project = f"ycache{SUFFIX}"
    secret = moto.client("secretsmanager").create_secret(
        Name=f"ecr-pullthroughcache/{project}-hub",
        SecretString=json.dumps({"username": "someone", "accessToken": "dckr_pat_x"}),
    )["ARN"]
    plan = terraform.plan_json(
        terraform.dir(EXAMPLE),
        {"aws_endpoint_url": moto.url, "project_name": project, "image_cache": "ecr"},
    )
    by_type = _by_type(plan)
    [rule] = by_type["aws_ecr_pull_through_cache_rule"]
    assert rule["ecr_repository_prefix"] == f"{project}-hub"
    assert rule["upstream_registry_url"] == "registry-1.docker.io"
    assert rule["credential_arn"] == secret
    assert str(_registry(plan)).endswith(f".dkr.ecr.us-east-1.amazonaws.com/{project}-hub/jitsi")


@pytest.fixture(scope="module")
def cached(
    tmp_path_factory: pytest.TempPathFactory, tf_env: dict[str, str], aws_endpoint: Endpoint
) -> Iterator[dict[str, Any]]:
    if not aws_endpoint.emulated:
        pytest.skip("needs the project's emulator (moto has no pull-through cache rules)")
    tf_project, py_project = f"ctf{SUFFIX}", f"cpy{SUFFIX}"
    terraform = Terraform(env=tf_env, tree=copy_tree(tmp_path_factory.mktemp("tc") / "terraform"))
    workdir = terraform.dir("examples/emulator")
    settings = settings_for(aws_endpoint, py_project, domain=DOMAIN, image_cache="ecr")
    clients = AwsClients(settings)
    for project in (tf_project, py_project):
        clients.client("secretsmanager").create_secret(
            Name=f"ecr-pullthroughcache/{project}-hub",
            SecretString=json.dumps({"username": "someone", "accessToken": "dckr_pat_x"}),
        )
    tf_vars = [
        f"-var=aws_endpoint_url={aws_endpoint.url}",
        f"-var=project_name={tf_project}",
        f"-var=domain={DOMAIN}",
        "-var=recordings_bucket_enabled=false",
        "-var=image_cache=ecr",
    ]
    terraform.run(workdir, "apply", *APPLY, *tf_vars, timeout=600)
    bootstrap(settings, clients)
    ecs = clients.ecs
    try:
        yield {
            "ecr": clients.client("ecr"),
            "projects": (tf_project, py_project),
            **{
                p: ecs.describe_task_definition(taskDefinition=f"{p}-jitsi")["taskDefinition"]
                for p in (tf_project, py_project)
            },
        }
    finally:
        terraform.run(workdir, "destroy", *APPLY, *tf_vars, timeout=600, check=False)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_terraform_and_bootstrap_make_the_rule_and_the_same_task(cached: dict[str, Any]) -> None:
    tf_project, py_project = cached["projects"]
    rules = cached["ecr"].describe_pull_through_cache_rules(
        ecrRepositoryPrefixes=[f"{tf_project}-hub", f"{py_project}-hub"]
    )["pullThroughCacheRules"]
    assert {r["upstreamRegistryUrl"] for r in rules} == {"registry-1.docker.io"}
    tf = _normalised(cached[tf_project], tf_project)
    py = _normalised(cached[py_project], py_project)
    assert tf == py
    jitsi = [c["image"] for c in tf["containers"] if "/jitsi/" in c["image"]]
    assert jitsi and all("/<project>-hub/jitsi/" in i for i in jitsi)
