"""``image_cache``: the bootstrap's ECR pull-through cache rule for Docker Hub, and the
task definition pulling through it (only when asked)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bot.config import Settings
from infra.aws import naming
from infra.aws.bootstrap import bootstrap, expected_containers
from infra.aws.session import AwsClients
from infra.settings import ConfigError
from tests.support.aws import Endpoint
from tests.support.services import wait_for


def _rules(clients: AwsClients, prefix: str) -> list[dict[str, Any]]:
    try:
        found = clients.client("ecr").describe_pull_through_cache_rules(
            ecrRepositoryPrefixes=[prefix]
        )
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "PullThroughCacheRuleNotFoundException"
        return []
    return list(found["pullThroughCacheRules"])


def _images(clients: AwsClients, settings: Settings) -> dict[str, str]:
    td = clients.ecs.describe_task_definition(taskDefinition=naming.family(settings))
    return {c["name"]: c["image"] for c in td["taskDefinition"]["containerDefinitions"]}


@pytest.fixture(autouse=True)
def _emulated(aws_endpoint: Endpoint) -> None:
    if not aws_endpoint.emulated:
        pytest.skip("moto alone has no pull-through cache rules: needs the project's emulator")


def test_no_rule_and_docker_hub_images_by_default(settings: Settings, clients: AwsClients) -> None:
    bootstrap(settings, clients)
    assert _rules(clients, naming.image_cache_prefix(settings)) == []
    assert _images(clients, settings)["jvb"].startswith("docker.io/jitsi/jvb:")


def test_ecr_cache_without_credentials_says_how_to_store_them(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(image_cache="ecr")
    with pytest.raises(ConfigError) as err:
        bootstrap(settings, AwsClients(settings))
    assert f"ecr-pullthroughcache/{settings.project_name}-hub" in err.value.user_message()
    assert "create-secret" in err.value.user_message()


def test_ecr_cache_rule_registry_and_execution_role(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(image_cache="ecr")
    clients = AwsClients(settings)
    clients.client("secretsmanager").create_secret(
        Name=naming.image_cache_secret(settings),
        SecretString=json.dumps({"username": "someone", "accessToken": "dckr_pat_x"}),
    )
    first = bootstrap(settings, clients)
    prefix = naming.image_cache_prefix(settings)
    [rule] = _rules(clients, prefix)
    assert rule["upstreamRegistryUrl"] == "registry-1.docker.io"
    assert "ECR pull-through cache rule" in first["created"].split(",")

    account = first["account_id"]
    registry = f"{account}.dkr.ecr.us-east-1.amazonaws.com/{prefix}/jitsi"
    images = _images(clients, settings)
    for name in ("web", "prosody", "jicofo", "jvb"):
        assert images[name].startswith(f"{registry}/{name}:"), images[name]
    assert images["participants"].startswith("public.ecr.aws/")
    assert expected_containers(settings, clients) == images  # what doctor compares

    iam = clients.client("iam")
    role = f"{settings.project_name}-task-execution"
    doc = iam.get_role_policy(RoleName=role, PolicyName="read-task-parameters")["PolicyDocument"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    [ecr] = [s for s in doc["Statement"] if "ecr:BatchImportUpstreamImage" in s["Action"]]
    assert ecr["Resource"].endswith(f":repository/{prefix}/*")

    again = bootstrap(settings, clients)
    assert again["created"] == ""
    assert len(_rules(clients, prefix)) == 1


def _tasks(clients: AwsClients, settings: Settings, status: str) -> list[dict[str, Any]]:
    ecs = clients.ecs
    arns = ecs.list_tasks(
        cluster=settings.cluster_name, serviceName=settings.service_name, desiredStatus=status
    )["taskArns"]
    return ecs.describe_tasks(cluster=settings.cluster_name, tasks=arns)["tasks"] if arns else []


def test_the_task_pulls_through_the_rule_and_cannot_without_it(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(image_cache="ecr")
    clients = AwsClients(settings)
    clients.client("secretsmanager").create_secret(
        Name=naming.image_cache_secret(settings), SecretString="{}"
    )
    bootstrap(settings, clients)
    ecs = clients.ecs

    def scale(count: int) -> None:
        ecs.update_service(
            cluster=settings.cluster_name, service=settings.service_name, desiredCount=count
        )

    scale(1)
    wait_for(
        lambda: any(
            t.get("healthStatus") == "HEALTHY" for t in _tasks(clients, settings, "RUNNING")
        ),
        30,
        "a HEALTHY task pulling through the cache",
    )
    scale(0)
    wait_for(lambda: not _tasks(clients, settings, "RUNNING"), 30, "no running task")

    # The rule deleted out of band: ECS cannot resolve the images any more.
    clients.client("ecr").delete_pull_through_cache_rule(
        ecrRepositoryPrefix=naming.image_cache_prefix(settings)
    )
    scale(1)

    def refused() -> dict[str, Any] | None:
        return next(
            (
                t
                for t in _tasks(clients, settings, "STOPPED")
                if "CannotPullContainerError" in t.get("stoppedReason", "")
            ),
            None,
        )

    task = wait_for(refused, 30, "a task stopped with CannotPullContainerError")
    assert isinstance(task, dict) and naming.image_cache_prefix(settings) in task["stoppedReason"]
    scale(0)
