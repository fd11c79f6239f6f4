"""Terraform and ``jitsi-bot infra bootstrap`` register the same Jitsi task.

Both render infra/jitsi/task.json; this applies the real root module (examples/emulator)
and runs the bootstrap against one emulator, under two project names, and compares what
ECS holds: container definitions (images, environment, secrets, ports, health checks,
memory, logs) and the task's size. Then both services start a task in the strict
emulator, which applies docker-jitsi-meet's contract: both must turn HEALTHY.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from infra.aws.bootstrap import bootstrap
from infra.aws.session import AwsClients
from infra.jitsi.spec import pinned_release
from tests.support.aws import Endpoint, settings_for
from tests.support.services import wait_for
from tests.terraform.conftest import Terraform, copy_tree

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

SUFFIX = uuid.uuid4().hex[:6]
TF_PROJECT, PY_PROJECT = f"tdtf{SUFFIX}", f"tdpy{SUFFIX}"
DOMAIN = "meet.identity.example"
APPLY = ("-input=false", "-no-color", "-auto-approve", "-lock=false")
# Task-level fields both must agree on (roles and ARNs differ by name only).
TASK_FIELDS = ("cpu", "memory", "networkMode", "requiresCompatibilities", "runtimePlatform")


def _normalised(td: dict[str, Any], project: str) -> dict[str, Any]:
    """The task definition with the project's name replaced, so two projects compare."""
    text = json.dumps(
        {
            "containers": td["containerDefinitions"],
            **{k: td.get(k) for k in TASK_FIELDS},
        },
        sort_keys=True,
    )
    return dict(json.loads(text.replace(project, "<project>")))


@pytest.fixture(scope="module")
def registered(
    tmp_path_factory: pytest.TempPathFactory, tf_env: dict[str, str], aws_endpoint: Endpoint
) -> Iterator[dict[str, Any]]:
    if not aws_endpoint.emulated:
        pytest.skip("needs the project's emulator (its strict task contract)")
    terraform = Terraform(env=tf_env, tree=copy_tree(tmp_path_factory.mktemp("td") / "terraform"))
    workdir = terraform.dir("examples/emulator")
    tf_vars = [
        f"-var=aws_endpoint_url={aws_endpoint.url}",
        f"-var=project_name={TF_PROJECT}",
        f"-var=domain={DOMAIN}",
        "-var=recordings_bucket_enabled=false",
    ]
    terraform.run(workdir, "apply", *APPLY, *tf_vars, timeout=600)
    settings = settings_for(aws_endpoint, PY_PROJECT, domain=DOMAIN)
    clients = AwsClients(settings)
    bootstrap(settings, clients)
    ecs = clients.ecs
    try:
        yield {
            p: ecs.describe_task_definition(taskDefinition=f"{p}-jitsi")["taskDefinition"]
            for p in (TF_PROJECT, PY_PROJECT)
        } | {"ecs": ecs}
    finally:
        for p in (TF_PROJECT, PY_PROJECT):
            ecs.update_service(cluster=f"{p}-cluster", service=f"{p}-service", desiredCount=0)
        terraform.run(workdir, "destroy", *APPLY, *tf_vars, timeout=600, check=False)


def test_bootstrap_and_terraform_register_identical_containers(
    registered: dict[str, Any],
) -> None:
    tf = _normalised(registered[TF_PROJECT], TF_PROJECT)
    py = _normalised(registered[PY_PROJECT], PY_PROJECT)
    names = [c["name"] for c in tf["containers"]]
    assert names == ["prosody", "jicofo", "jvb", "web", "participants"]
    assert names == [c["name"] for c in py["containers"]]
    for ours, theirs in zip(tf["containers"], py["containers"], strict=True):
        assert ours == theirs, f"container {ours['name']} differs between Terraform and bootstrap"
    assert tf == py
    images = {c["image"].rsplit(":", 1)[-1] for c in tf["containers"] if "jitsi" in c["image"]}
    assert images == {pinned_release()}


def test_both_tasks_start_healthy_in_the_strict_emulator(registered: dict[str, Any]) -> None:
    ecs = registered["ecs"]
    for p in (TF_PROJECT, PY_PROJECT):
        ecs.update_service(cluster=f"{p}-cluster", service=f"{p}-service", desiredCount=1)

    def healthy(project: str) -> dict[str, Any] | None:
        cluster = f"{project}-cluster"
        arns = ecs.list_tasks(cluster=cluster, serviceName=f"{project}-service")["taskArns"]
        tasks = ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []
        return next((t for t in tasks if t.get("healthStatus") == "HEALTHY"), None)

    for p in (TF_PROJECT, PY_PROJECT):
        task = wait_for(lambda p=p: healthy(p), 30, f"a HEALTHY task of {p}")
        assert isinstance(task, dict)
        health = {c["name"]: c.get("healthStatus") for c in task["containers"]}
        assert health == {
            "prosody": "HEALTHY",
            "jicofo": "HEALTHY",
            "jvb": "HEALTHY",
            "web": "HEALTHY",
            "participants": "UNKNOWN",  # no health check: not essential
        }
