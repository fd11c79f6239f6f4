"""The whole path from a chat command to AWS and back, with real processes:
`jitsi-bot say` -> Redis/RQ -> `jitsi-bot worker` -> the AWS emulator over HTTP."""

from __future__ import annotations

import json

import pytest
import redis

from infra.keys import Keys
from tests.e2e.conftest import Platform
from tests.support.services import control, wait_for

pytestmark = pytest.mark.e2e


def nlbs(p: Platform) -> list[dict]:  # type: ignore[type-arg]
    lbs = p.clients.elbv2.describe_load_balancers()["LoadBalancers"]
    return [lb for lb in lbs if lb["LoadBalancerName"] == f"{p.settings.project_name}-nlb"]


def service_tasks(p: Platform) -> list[str]:
    ecs = p.clients.ecs
    return ecs.list_tasks(
        cluster=p.settings.cluster_name,
        serviceName=p.settings.service_name,
        desiredStatus="RUNNING",
    )["taskArns"]


def test_start_then_stop_through_say(platform: Platform) -> None:
    platform.start_worker()
    start = platform.say("start standup")
    assert start.code == 0, start.stdout + start.stderr
    url = start.events("url_ready")[0]["data"]["url"]
    assert url == "https://meet.e2e.example/standup"
    assert start.events("cost")[0]["data"]["running_hour"] > 0.2
    final = start.events("finished")[0]["data"]
    assert final["ok"] and final["aws_calls"] > 0

    # AWS really has it: one NLB with listeners and groups, the task registered and healthy.
    elbv2, ssm = platform.clients.elbv2, platform.clients.ssm
    [lb] = nlbs(platform)
    assert "/net/" in lb["LoadBalancerArn"] and lb["State"]["Code"] == "active"
    listeners = elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    assert sorted((x["Protocol"], x["Port"]) for x in listeners) == [
        ("TCP", 80),
        ("TLS", 443),
        ("UDP", 10000),
    ]
    groups = elbv2.describe_target_groups(LoadBalancerArn=lb["LoadBalancerArn"])["TargetGroups"]
    udp = next(g for g in groups if g["Protocol"] == "UDP")
    assert (udp["HealthCheckProtocol"], udp["HealthCheckPort"], udp["HealthCheckPath"]) == (
        "HTTP",
        "8080",
        "/about/health",
    )
    assert len(service_tasks(platform)) == 1
    health = elbv2.describe_target_health(TargetGroupArn=udp["TargetGroupArn"])
    states = [t["TargetHealth"]["State"] for t in health["TargetHealthDescriptions"]]
    assert states == ["healthy"]
    ips = ssm.get_parameter(Name=platform.settings.advertise_ips_parameter)["Parameter"]["Value"]
    assert ips and ips != "0.0.0.0"

    status = platform.cli("status", "--json")
    data = json.loads(status.stdout)
    assert (data["desired"], data["state"], data["actual"]) == ("running", "running", "running")
    assert data["nlb_dns_name"] == lb["DNSName"] and data["running_cost_per_hour"] > 0

    stop = platform.say("stop")
    assert stop.code == 0, stop.stdout + stop.stderr
    assert stop.events("audit")[0]["data"]["clean"] is True
    session = [e for e in stop.events("cost") if "session_cost" in e["data"]]
    assert session and session[0]["data"]["session_cost"] > 0
    assert not nlbs(platform) and not service_tasks(platform)
    svc = platform.clients.ecs.describe_services(
        cluster=platform.settings.cluster_name, services=[platform.settings.service_name]
    )
    assert svc["services"][0]["desiredCount"] == 0
    audit = platform.cli("infra", "audit", "--json")
    assert audit.code == 0 and json.loads(audit.stdout)["clean"] is True


def test_many_simultaneous_starts_make_one_platform(platform: Platform) -> None:
    platform.start_worker()
    platform.start_worker()  # two workers: the lock, not luck, keeps it to one lifecycle
    users = [f"user{i}" for i in range(8)]
    procs = [platform.say_async("start", user=u) for u in users]
    outs = [p.communicate(timeout=120) for p in procs]
    urls = set()
    for proc, (out, err) in zip(procs, outs, strict=True):
        assert proc.returncode == 0, out + err
        lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
        reply = lines[0]
        if reply["kind"] == "info":  # arrived after it was up: answered at once
            assert "https://meet.e2e.example" in reply["text"]
            urls.add(reply["text"].split()[2])
        else:
            urls.update(x["data"]["url"] for x in lines if x.get("kind") == "url_ready")
    assert urls == {"https://meet.e2e.example"}
    assert len(nlbs(platform)) == 1 and len(service_tasks(platform)) == 1
    assert platform.say("stop").code == 0


def test_worker_killed_mid_start_converges_and_stop_leaves_nothing(
    platform: Platform, redis_url: str
) -> None:
    worker = platform.start_worker()
    follower = platform.say_async("start retro")
    r = redis.Redis.from_url(redis_url)
    keys = Keys(platform.settings.project_name)

    def scaled_up() -> bool:
        job = r.hget(keys.platform, "job_id")
        if not job:
            return False
        entries = r.xrange(keys.job_events(job.decode()))
        return any(
            b'"step":"scale-up"' in f[b"event"] and b"step_finished" in f[b"event"]
            for _, f in entries
        )

    wait_for(scaled_up, 60, "the start to scale the service up")
    platform.kill_worker(worker)  # SIGKILL the whole worker, work horse included
    platform.start_worker()  # its reconciler resumes the same job after the lease runs out
    out, err = follower.communicate(timeout=120)
    assert follower.returncode == 0, out + err + platform.worker_log()
    lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    assert any(x.get("data", {}).get("resumed") for x in lines)
    assert any(x.get("kind") == "url_ready" for x in lines)
    assert len(nlbs(platform)) == 1 and len(service_tasks(platform)) == 1
    stop = platform.say("stop")
    assert stop.code == 0 and stop.events("audit")[0]["data"]["clean"]
    assert platform.cli("infra", "audit").code == 0


def test_unhealthy_targets_fail_clearly_and_roll_back(platform: Platform) -> None:
    platform.start_worker()
    control(platform.emulator, "targets", {"mode": "unhealthy"})
    try:
        result = platform.say("start")
    finally:
        control(platform.emulator, "targets", {"mode": "auto"})
    assert result.code == 1
    error = result.events("error")[0]["message"]
    assert "unhealthy" in error and "/about/health" in error
    assert result.events("audit")[0]["data"]["clean"] is True
    assert not nlbs(platform)
    assert platform.cli("infra", "audit").code == 0


def test_throttling_is_retried_and_a_denial_is_explained(platform: Platform) -> None:
    platform.start_worker()
    control(
        platform.emulator, "faults", {"throttle": {"operation": "DescribeTargetHealth", "count": 3}}
    )
    ok = platform.say("start")
    assert ok.code == 0, ok.stdout + ok.stderr
    assert platform.say("stop").code == 0
    control(
        platform.emulator,
        "faults",
        {"permanent": {"operation": "CreateLoadBalancer", "code": "AccessDenied", "count": 1}},
    )
    try:
        denied = platform.say("start")
    finally:
        control(platform.emulator, "faults", {"clear": True})
    assert denied.code == 1
    message = denied.events("error")[0]["message"]
    assert "AccessDenied" in message or "denied" in message.lower()
    assert "Traceback" not in denied.stdout + denied.stderr
    assert denied.events("audit")[0]["data"]["clean"] is True
