"""The emulator's faults (throttling, permanent errors) and its control API: bad
requests refused, and ``python -m infra.emulator`` run as a process: its address
printed, a reset, a clean exit on SIGTERM."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.error
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulator.network import Network, boto, create_nlb
from tests.support.services import ROOT, control, stop_process

pytestmark = pytest.mark.usefixtures("instant")


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
        create_nlb(elbv2, net, name)
    assert err.value.response["Error"]["Code"] == "AccessDenied"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    elbv2.delete_load_balancer(LoadBalancerArn=create_nlb(elbv2, net, name))


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
        ecs = boto(endpoint, "ecs")
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
