"""A real AWS API for the driver and contract tests: the project's emulator when it
exists (instant profile), else plain moto with the emulator's part played by hand.

The emulator (``python -m infra.emulator``) adds what moto lacks: a scheduler that
starts the service's tasks, NLB interfaces with public IPs, target health and
faults. On plain moto (``JITSI_TEST_PLAIN_MOTO=1``) the helpers below start tasks
and make or remove NLB interfaces themselves; tests that need the emulator's
controls skip there.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.config import Settings
from tests.support.certificates import import_certificate
from tests.support.services import ROOT, control, emulator, free_port, wait_for

if TYPE_CHECKING:
    from bot.model import Task
    from infra.aws.compute import EcsCompute
    from infra.aws.elb import LoadBalancer
    from infra.aws.session import AwsClients

MUTATING = ("Create", "Register", "Put", "Attach", "Associate", "Authorize", "Modify", "Update")


@dataclass(frozen=True)
class Endpoint:
    url: str
    emulated: bool  # True: the project's emulator (scheduler, NLB interfaces, faults)

    def control(self, path: str, body: dict[str, Any]) -> None:
        """POST to the emulator's control API (``/_emulator/<path>``)."""
        control(self.url, path, body)


def _pin_task_states(url: str) -> None:
    # moto moves a task one state on every describe_tasks unless told otherwise.
    body = json.dumps(
        {"model_name": "ecs::task", "transition": {"progression": "manual", "times": 1_000_000}}
    ).encode()
    req = urllib.request.Request(f"{url}/moto-api/state-manager/set-transition", data=body)
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status in (200, 201)


@contextmanager
def aws_api() -> Iterator[Endpoint]:
    """The emulator with its instant profile; plain moto if asked or if it does not answer."""
    if (ROOT / "infra" / "emulator" / "__main__.py").exists() and not os.environ.get(
        "JITSI_TEST_PLAIN_MOTO"
    ):
        try:
            with emulator() as url:
                yield Endpoint(url, emulated=True)
            return
        except TimeoutError:
            pass  # emulator present but not answering: fall back to moto
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    # Imported only on this path: moto's server pulls in every backend.
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: urllib.request.urlopen(f"{url}/moto-api/", timeout=1), 20, "moto")
        _pin_task_states(url)
        yield Endpoint(url, emulated=False)
    finally:
        server.stop()


def settings_for(endpoint: Endpoint, project: str, **overrides: Any) -> Settings:
    """Settings of a fresh project on ``endpoint``."""
    values: dict[str, Any] = {
        "project_name": project,
        "aws_endpoint_url": endpoint.url,
        "aws_region": "us-east-1",
        "domain": f"{project}.meet.example.com",
    }
    values.update(overrides)
    return Settings(**values)


def mutations(counts: dict[str, int]) -> dict[str, int]:
    """The calls in ``counts`` that change something (``service.CreateX`` and the like)."""
    return {k: v for k, v in counts.items() if k.split(".", 1)[1].startswith(MUTATING)}


def running_task(endpoint: Endpoint, compute: EcsCompute) -> Task:
    """Scale the service to 1 and return its task once it has a private IP."""
    compute.scale(1)
    if not endpoint.emulated:
        _run_service_task(compute.settings, compute.clients)

    def ready() -> Task | None:
        tasks = [t for t in compute.tasks() if t.private_ip]
        return tasks[0] if tasks else None

    return wait_for(ready, 30, "a task with a private IP")  # type: ignore[return-value]


def _run_service_task(settings: Settings, clients: AwsClients) -> None:
    service = clients.ecs.describe_services(
        cluster=settings.cluster_name, services=[settings.service_name]
    )["services"][0]
    clients.ecs.run_task(
        cluster=settings.cluster_name,
        taskDefinition=service["taskDefinition"],
        launchType="FARGATE",
        group=f"service:{settings.service_name}",
        startedBy=f"ecs-svc/{settings.service_name}",
        networkConfiguration=service["networkConfiguration"],
        count=1,
    )


def stop_tasks(endpoint: Endpoint, compute: EcsCompute) -> None:
    """Scale to 0 and wait until the service has no task left that bills."""
    compute.scale(0)
    if not endpoint.emulated:
        for task in compute.tasks():
            compute.clients.ecs.stop_task(cluster=compute.settings.cluster_name, task=task.arn)

    def stopped() -> bool:
        return all(t.last_status == "STOPPED" for t in compute.tasks(include_stopped=True))

    wait_for(stopped, 30, "the tasks to stop")


def nlb_interfaces(endpoint: Endpoint, clients: AwsClients, lb: LoadBalancer) -> list[str]:
    """Make sure the NLB's ``ELB net/...`` interfaces exist; returns their ENI ids."""
    if not endpoint.emulated:
        detail = clients.elbv2.describe_load_balancers(LoadBalancerArns=[lb.arn])
        for zone in detail["LoadBalancers"][0]["AvailabilityZones"]:
            make_interface(clients, zone["SubnetId"], lb.interface_description)

    def enis() -> list[str]:
        found = _interfaces(clients, lb.interface_description)
        return [e["NetworkInterfaceId"] for e in found if e.get("Association", {}).get("PublicIp")]

    return wait_for(enis, 30, "the NLB's network interfaces")  # type: ignore[return-value]


def forget_nlb_interfaces(endpoint: Endpoint, clients: AwsClients, settings: Settings) -> None:
    """After the NLB is deleted AWS removes its interfaces; do it by hand on plain moto."""
    pattern = f"ELB net/{settings.project_name}-nlb/*"
    if not endpoint.emulated:
        for eni in _interfaces(clients, pattern):
            remove_interface(clients, eni)
    wait_for(lambda: _interfaces(clients, pattern) == [], 30, "the NLB's interfaces to go")


def _interfaces(clients: AwsClients, description: str) -> list[dict[str, Any]]:
    return list(
        clients.ec2.describe_network_interfaces(
            Filters=[{"Name": "description", "Values": [description]}]
        )["NetworkInterfaces"]
    )


def make_interface(clients: AwsClients, subnet_id: str, description: str) -> dict[str, Any]:
    """An interface with a public IP (an untagged EIP, like the ones AWS gives an NLB)."""
    eni = clients.ec2.create_network_interface(SubnetId=subnet_id, Description=description)
    eni_id = eni["NetworkInterface"]["NetworkInterfaceId"]
    alloc = clients.ec2.allocate_address(Domain="vpc")
    clients.ec2.associate_address(AllocationId=alloc["AllocationId"], NetworkInterfaceId=eni_id)
    return {"eni": eni_id, "allocation": alloc["AllocationId"], "ip": alloc["PublicIp"]}


def remove_interface(clients: AwsClients, eni: dict[str, Any]) -> None:
    assoc = eni.get("Association", {})
    if assoc.get("AssociationId"):
        clients.ec2.disassociate_address(AssociationId=assoc["AssociationId"])
    if assoc.get("AllocationId"):
        clients.ec2.release_address(AllocationId=assoc["AllocationId"])
    clients.ec2.delete_network_interface(NetworkInterfaceId=eni["NetworkInterfaceId"])


def issued_certificate(settings: Settings) -> str:
    """An ISSUED ACM certificate covering ``settings.domain``, as one validated long ago
    would be (imported, so it needs no hosted zone and works on plain moto too).
    The NLB's TLS listener refuses to come up without one."""
    from infra.aws.session import AwsClients

    acm = AwsClients(settings).client("acm")
    return import_certificate(acm, [settings.domain], days=395)


def ready_account(settings: Settings) -> Settings:
    """What an operator sets up once before the first start, here in the emulator: an
    ISSUED certificate for the domain and a public hosted zone holding it (each unless
    the settings name one already). Returns the settings naming both (a start's
    preflight refuses without them)."""
    from infra.aws.session import AwsClients

    arn = settings.acm_certificate_arn or issued_certificate(settings)
    zone_id = settings.hosted_zone_id
    if zone_id is None:
        parent = settings.domain.partition(".")[2]
        zone = AwsClients(settings).route53.create_hosted_zone(
            Name=parent, CallerReference=f"{settings.project_name}-{arn.rsplit('/', 1)[-1]}"
        )
        zone_id = str(zone["HostedZone"]["Id"]).rsplit("/", 1)[-1]
    return settings.model_copy(update={"acm_certificate_arn": arn, "hosted_zone_id": zone_id})


def account_env(settings: Settings) -> dict[str, str]:
    """``ready_account``'s answer as the ``JITSI_*`` variables of a worker or ``say``."""
    return {
        "JITSI_ACM_CERTIFICATE_ARN": settings.acm_certificate_arn or "",
        "JITSI_HOSTED_ZONE_ID": settings.hosted_zone_id or "",
    }
