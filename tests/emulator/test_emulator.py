"""The AWS emulator as a subprocess, driven with plain boto3 clients and its control API.

One emulator serves the whole module; each test sets the profile it needs and
names its own load balancers, so the tests do not depend on each other's order.
"""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support.services import ROOT, emulator, stop_process, wait_for

REGION = "us-east-1"
CPU, MEMORY = "4096", "8192"


def control(url: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """GET (no body) or POST JSON to the emulator's control API."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{url}/_emulator/{path}", data=data)
    with urllib.request.urlopen(req, timeout=5) as resp:
        return dict(json.loads(resp.read()))


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("emulator") / "emulator.log"
    with emulator("instant", 1.0, log=log) as endpoint:
        yield endpoint
    assert "Traceback" not in log.read_text(), f"the emulator logged an exception: see {log}"


@pytest.fixture(scope="module")
def client(url: str) -> Callable[..., Any]:
    def make(service: str, **config: Any) -> Any:
        return boto3.client(
            service,
            endpoint_url=url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(**config) if config else None,
        )

    return make


@pytest.fixture(autouse=True)
def instant(url: str) -> Iterator[None]:
    """Each test starts on the instant profile, automatic target health and no faults."""
    control(url, "profile", {"profile": "instant", "time_scale": 1.0})
    control(url, "targets", {"mode": "auto"})
    control(url, "faults", {"clear": True})
    yield


@dataclass(frozen=True)
class Network:
    vpc_id: str
    subnets: list[str]
    cidrs: list[str]
    security_group: str
    cluster: str
    service: str
    task_definition: str


@pytest.fixture(scope="module")
def net(client: Callable[..., Any]) -> Network:
    ec2, ecs = client("ec2"), client("ecs")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    cidrs = ["10.20.1.0/24", "10.20.2.0/24"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=f"{REGION}{az}")["Subnet"][
            "SubnetId"
        ]
        for cidr, az in zip(cidrs, "ab", strict=True)
    ]
    sg = ec2.create_security_group(GroupName="jvb", Description="jvb", VpcId=vpc)["GroupId"]
    ecs.create_cluster(clusterName="jitsi")
    td = ecs.register_task_definition(
        family="jitsi",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu=CPU,
        memory=MEMORY,
        # Not a docker-jitsi-meet image: the emulator's contract leaves it alone
        # (tests/emulator/test_task_contract.py covers the Jitsi containers).
        containerDefinitions=[
            {"name": "app", "image": "public.ecr.aws/docker/library/busybox:1.37.0", "memory": 4096}
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster="jitsi",
        serviceName="jitsi",
        taskDefinition=td,
        desiredCount=0,
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": subnets,
                "securityGroups": [sg],
                "assignPublicIp": "ENABLED",
            }
        },
    )
    return Network(vpc, subnets, cidrs, sg, "jitsi", "jitsi", td)


def _in_subnets(ip: str, net: Network) -> bool:
    return any(ipaddress.ip_address(ip) in ipaddress.ip_network(c) for c in net.cidrs)


def _private_ip(task: dict[str, Any]) -> str | None:
    for attachment in task.get("attachments", []):
        for detail in attachment.get("details", []):
            if detail["name"] == "privateIPv4Address":
                return str(detail["value"])
    return None


def _service(ecs: Any, net: Network) -> dict[str, Any]:
    return dict(ecs.describe_services(cluster=net.cluster, services=[net.service])["services"][0])


def _scale(ecs: Any, net: Network, count: int) -> None:
    ecs.update_service(cluster=net.cluster, service=net.service, desiredCount=count)


def _service_tasks(ecs: Any, net: Network) -> list[dict[str, Any]]:
    arns = ecs.list_tasks(cluster=net.cluster, serviceName=net.service)["taskArns"]
    return list(ecs.describe_tasks(cluster=net.cluster, tasks=arns)["tasks"]) if arns else []


def _lb_enis(ec2: Any, lb_arn: str, name: str) -> list[dict[str, Any]]:
    description = f"ELB net/{name}/{lb_arn.rsplit('/', 1)[-1]}"
    filters = [{"Name": "description", "Values": [description]}]
    return list(ec2.describe_network_interfaces(Filters=filters)["NetworkInterfaces"])


def _create_nlb(elbv2: Any, net: Network, name: str) -> str:
    lb = elbv2.create_load_balancer(Name=name, Subnets=net.subnets, Type="network")
    return str(lb["LoadBalancers"][0]["LoadBalancerArn"])


def _lb_state(elbv2: Any, arn: str) -> str:
    return str(
        elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]["State"]["Code"]
    )


# ------------------------------------------------------------------ ECS


def test_service_scales_to_one_running_task_and_back_to_zero(client: Any, net: Network) -> None:
    ecs, ec2 = client("ecs"), client("ec2")
    _scale(ecs, net, 1)
    wait_for(lambda: _service(ecs, net)["runningCount"] == 1, 5, "runningCount 1")
    tasks = _service_tasks(ecs, net)
    assert len(tasks) == 1
    task = tasks[0]
    assert task["lastStatus"] == "RUNNING"
    assert task["startedBy"] == f"ecs-svc/{net.service}"
    assert task["group"] == f"service:{net.service}"
    ip = _private_ip(task)
    assert ip is not None and _in_subnets(ip, net)
    eni = [
        d["value"] for d in task["attachments"][0]["details"] if d["name"] == "networkInterfaceId"
    ]
    assert ec2.describe_network_interfaces(NetworkInterfaceIds=eni)["NetworkInterfaces"]
    assert _service(ecs, net)["pendingCount"] == 0

    _scale(ecs, net, 0)
    wait_for(lambda: not _service_tasks(ecs, net), 5, "no running service task")
    stopped = ecs.describe_tasks(cluster=net.cluster, tasks=[task["taskArn"]])["tasks"][0]
    assert stopped["lastStatus"] == "STOPPED"
    assert stopped["desiredStatus"] == "STOPPED"
    assert _service(ecs, net)["runningCount"] == 0
    listed = ecs.list_tasks(cluster=net.cluster, serviceName=net.service, desiredStatus="STOPPED")
    assert task["taskArn"] in listed["taskArns"]
    assert not ec2.describe_network_interfaces(
        Filters=[{"Name": "network-interface-id", "Values": eni}]
    )["NetworkInterfaces"], "a stopped task's ENI is deleted"


def test_task_start_and_stop_pass_through_every_state_under_field(
    url: str, client: Any, net: Network
) -> None:
    ecs = client("ecs")
    # One 2 MB image: PENDING after 1.0 s, RUNNING after 1.5 s (launch + pulls, images.json).
    control(url, "profile", {"profile": "field", "time_scale": 0.1})
    _scale(ecs, net, 1)
    seen: dict[str, dict[str, Any]] = {}

    def running() -> bool:
        tasks = _service_tasks(ecs, net)
        for task in tasks:
            seen.setdefault(task["lastStatus"], {"task": task, "service": _service(ecs, net)})
        return bool(tasks) and tasks[0]["lastStatus"] == "RUNNING"

    wait_for(running, 10, "a RUNNING task")
    assert "PENDING" in seen, seen.keys()
    assert _private_ip(seen["PENDING"]["task"]) is not None, "the private IP shows while PENDING"
    assert seen["PENDING"]["service"]["pendingCount"] == 1
    if "PROVISIONING" in seen:
        assert _private_ip(seen["PROVISIONING"]["task"]) is None
    assert _service(ecs, net)["runningCount"] == 1

    arn = _service_tasks(ecs, net)[0]["taskArn"]
    _scale(ecs, net, 0)
    states: set[str] = set()

    def stopped() -> bool:
        status = ecs.describe_tasks(cluster=net.cluster, tasks=[arn])["tasks"][0]["lastStatus"]
        states.add(status)
        return bool(status == "STOPPED")

    wait_for(stopped, 10, "the task STOPPED")
    assert "STOPPING" in states
    assert not _service_tasks(ecs, net)


def test_state_reports_services(url: str, client: Any, net: Network) -> None:
    state = control(url, "state")
    assert state["profile"] == "instant"
    assert state["target_health_mode"] == "auto"
    service = next(s for s in state["services"] if s["service"] == net.service)
    assert service["cluster"] == net.cluster
    assert {"desired", "running", "pending"} <= service.keys()


def test_run_task_without_container_memory_or_security_groups(client: Any, net: Network) -> None:
    ecs, ec2 = client("ecs"), client("ec2")
    td = ecs.register_task_definition(
        family="bare",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "c", "image": "busybox"}],
    )["taskDefinition"]["taskDefinitionArn"]
    task = ecs.run_task(
        cluster=net.cluster,
        taskDefinition=td,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": net.subnets[:1]}},
    )["tasks"][0]
    ip = _private_ip(task)
    assert ip is not None and _in_subnets(ip, net)

    enis = len(ec2.describe_network_interfaces()["NetworkInterfaces"])
    with pytest.raises(ClientError):
        ecs.run_task(
            cluster=net.cluster,
            taskDefinition=td,
            launchType="FARGATE",
            networkConfiguration={"awsvpcConfiguration": {"subnets": []}},
        )
    assert len(ec2.describe_network_interfaces()["NetworkInterfaces"]) == enis
    ecs.stop_task(cluster=net.cluster, task=task["taskArn"])


def test_a_service_that_cannot_start_is_reported_without_leaking(
    url: str, client: Any, net: Network
) -> None:
    ecs, ec2 = client("ecs"), client("ec2")
    enis = len(ec2.describe_network_interfaces()["NetworkInterfaces"])
    # awsvpc without a network configuration: ECS cannot place the task.
    ecs.create_service(
        cluster=net.cluster,
        serviceName="broken",
        taskDefinition=net.task_definition,
        desiredCount=1,
        launchType="FARGATE",
    )

    def error() -> str | None:
        services = control(url, "state")["services"]
        return next(s["error"] for s in services if s["service"] == "broken")

    message = wait_for(error, 5, "the service's start error in /_emulator/state")
    assert "Network Configuration" in str(message)
    assert len(ec2.describe_network_interfaces()["NetworkInterfaces"]) == enis
    assert _service(ecs, replace(net, service="broken"))["runningCount"] == 0
    ecs.update_service(cluster=net.cluster, service="broken", desiredCount=0)


# ------------------------------------------------------------------ load balancers


def test_nlb_provisions_then_activates_with_public_interfaces(
    url: str, client: Any, net: Network
) -> None:
    elbv2, ec2 = client("elbv2"), client("ec2")
    control(url, "profile", {"profile": "field", "time_scale": 0.02})  # active after 2.4 s
    name = f"nlb-{uuid.uuid4().hex[:8]}"
    arn = _create_nlb(elbv2, net, name)
    assert ":loadbalancer/net/" in arn
    assert _lb_state(elbv2, arn) == "provisioning"
    assert _lb_state(elbv2, arn) == "provisioning", "describing does not activate it"
    assert _create_nlb(elbv2, net, name) == arn, "same name returns the existing NLB"

    # One zone's interface after the other (tests/aws/test_drift.py times them).
    enis = wait_for(
        lambda: (found := _lb_enis(ec2, arn, name)) and len(found) == 2 and found,
        5,
        "the NLB's interface in every zone",
    )
    assert isinstance(enis, list) and len(enis) == 2
    assert {e["SubnetId"] for e in enis} == set(net.subnets)
    public = {e["Association"]["PublicIp"] for e in enis}
    assert len(public) == 2
    for eni in enis:
        assert eni["InterfaceType"] == "network_load_balancer"
        assert _in_subnets(eni["PrivateIpAddress"], net)
    if _lb_state(elbv2, arn) == "provisioning":  # interfaces come long before activation
        wait_for(lambda: _lb_state(elbv2, arn) == "active", 10, "NLB active")
    lbs = control(url, "state")["load_balancers"]
    assert {"name": name, "state": "active"}.items() <= next(
        lb for lb in lbs if lb["name"] == name
    ).items()

    elbv2.delete_load_balancer(LoadBalancerArn=arn)
    wait_for(lambda: not _lb_enis(ec2, arn, name), 5, "the NLB's interfaces deleted")


def test_identical_target_group_returns_the_existing_one(client: Any, net: Network) -> None:
    elbv2 = client("elbv2")
    spec = dict(
        Name=f"tg-{uuid.uuid4().hex[:8]}",
        Protocol="UDP",
        Port=10000,
        VpcId=net.vpc_id,
        TargetType="ip",
    )
    first = elbv2.create_target_group(**spec)["TargetGroups"][0]["TargetGroupArn"]
    assert elbv2.create_target_group(**spec)["TargetGroups"][0]["TargetGroupArn"] == first
    with pytest.raises(ClientError) as err:
        elbv2.create_target_group(**{**spec, "Port": 10001})
    assert err.value.response["Error"]["Code"] == "DuplicateTargetGroupName"


def _health(elbv2: Any, tg: str) -> list[dict[str, Any]]:
    return list(elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"])


def test_target_health_follows_nlb_and_switches(url: str, client: Any, net: Network) -> None:
    elbv2 = client("elbv2")
    control(url, "profile", {"profile": "field", "time_scale": 0.02})  # active 2.4 s, +0.6 s
    name = f"nlb-{uuid.uuid4().hex[:8]}"
    arn = _create_nlb(elbv2, net, name)
    tg = elbv2.create_target_group(
        Name=name,
        Protocol="UDP",
        Port=10000,
        VpcId=net.vpc_id,
        TargetType="ip",
        HealthCheckProtocol="HTTP",
        HealthCheckPort="8080",
        HealthCheckPath="/about/health",
    )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.create_listener(
        LoadBalancerArn=arn,
        Protocol="UDP",
        Port=10000,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}],
    )
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "10.20.1.10", "Port": 10000}])
    first = _health(elbv2, tg)[0]["TargetHealth"]
    assert first["State"] == "initial"

    wait_for(lambda: _health(elbv2, tg)[0]["TargetHealth"]["State"] == "healthy", 10, "healthy")
    assert _lb_state(elbv2, arn) == "active"

    control(url, "targets", {"mode": "unhealthy"})
    health = _health(elbv2, tg)[0]["TargetHealth"]
    assert (health["State"], health["Reason"]) == ("unhealthy", "Target.FailedHealthChecks")
    assert control(url, "state")["target_health_mode"] == "unhealthy"
    control(url, "targets", {"mode": "initial"})
    assert _health(elbv2, tg)[0]["TargetHealth"]["State"] == "initial"

    elbv2.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": "10.20.1.10", "Port": 10000}])
    assert _health(elbv2, tg) == []


# ------------------------------------------------------------------ faults and control


def test_throttling_is_retried_by_standard_mode(url: str, client: Any) -> None:
    control(url, "faults", {"throttle": {"operation": "DescribeLoadBalancers", "count": 3}})
    patient = client("elbv2", retries={"mode": "standard", "max_attempts": 8})
    response = patient.describe_load_balancers()
    assert response["ResponseMetadata"]["RetryAttempts"] == 3
    assert control(url, "state")["faults"] == {}


@pytest.mark.parametrize(
    ("service", "operation", "call", "code"),
    [
        ("elbv2", "DescribeTargetGroups", "describe_target_groups", "Throttling"),
        ("ec2", "DescribeNetworkInterfaces", "describe_network_interfaces", "Throttling"),
        ("ecs", "ListClusters", "list_clusters", "ThrottlingException"),
    ],
)
def test_throttling_reaches_a_client_with_few_retries(
    url: str, client: Any, service: str, operation: str, call: str, code: str
) -> None:
    # botocore's max_attempts counts retries: 1 means two calls, both throttled here.
    impatient = client(service, retries={"mode": "standard", "max_attempts": 1})
    control(url, "faults", {"throttle": {"operation": operation, "count": 3}})
    with pytest.raises(ClientError) as err:
        getattr(impatient, call)()
    assert err.value.response["Error"]["Code"] == code
    assert control(url, "state")["faults"][operation]["remaining"] == 1


def test_permanent_fault_gives_access_denied_once(url: str, client: Any, net: Network) -> None:
    elbv2 = client("elbv2")
    spec = {"operation": "CreateLoadBalancer", "code": "AccessDenied", "count": 1}
    control(url, "faults", {"permanent": spec})
    name = f"nlb-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ClientError) as err:
        _create_nlb(elbv2, net, name)
    assert err.value.response["Error"]["Code"] == "AccessDenied"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    elbv2.delete_load_balancer(LoadBalancerArn=_create_nlb(elbv2, net, name))


def test_control_api_rejects_bad_requests(url: str) -> None:
    for path, body in [
        ("targets", {"mode": "sideways"}),
        ("profile", {"profile": "warp"}),
        ("faults", {"throttle": {}}),
        ("nope", {}),
    ]:
        with pytest.raises(urllib.error.HTTPError) as err:
            control(url, path, body)
        assert err.value.code in (400, 404)


def test_main_prints_its_address_resets_and_exits_cleanly_on_sigterm() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infra.emulator",
            "--port",
            "0",
            "--profile",
            "field",
            "--time-scale",
            "0.05",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        match = re.fullmatch(
            r"emulator listening on (http://127\.0\.0\.1:\d+) "
            r"\(profile field, time scale 0\.05\)\n",
            line,
        )
        assert match, line
        endpoint = match.group(1)
        assert control(endpoint, "state")["time_scale"] == 0.05
        ecs = boto3.client(
            "ecs",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        ecs.create_cluster(clusterName="doomed")
        control(endpoint, "faults", {"throttle": {"operation": "ListClusters", "count": 5}})
        control(endpoint, "targets", {"mode": "unhealthy"})
        state = control(endpoint, "reset", {})
        assert state["faults"] == {} and state["target_health_mode"] == "auto"
        assert state["profile"] == "field", "a reset keeps the profile"
        assert ecs.list_clusters()["clusterArns"] == []
    finally:
        stop_process(proc)
    assert proc.returncode == 0
