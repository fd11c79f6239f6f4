"""JWT meeting links end to end: `jitsi-bot say` -> Redis/RQ -> worker -> the strict
emulator (which applies docker-jitsi-meet's contract, JWT settings included).

With JWT on (the default) the task starts healthy with auth on everywhere, every link
is decoded with the secret from SSM, and neither the links nor the secret appear in a
Redis key or stream, the worker's log, or the events shown. With JWT off the start
works too and says once that the platform is open. A rotation reaches the next start.
"""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest

from bot.config import Settings
from bot.config_jwt import JwtSettings
from bot.links import AUDIENCE, OPEN_NOTE
from infra.aws.bootstrap import bootstrap
from infra.aws.session import AwsClients
from tests.e2e.conftest import Platform, Result
from tests.support.leaks import assert_absent, redis_dump

pytestmark = pytest.mark.e2e
DOMAIN = "meet.e2e.example"


def reply_of(result: Result) -> dict[str, Any]:
    return next(x for x in result.lines if x.get("type") == "reply")


def token_of(result: Result) -> str:
    link = reply_of(result)["link"]
    assert link and f"https://{DOMAIN}/" in link, result.stdout + result.stderr
    return str(link.split("?jwt=", 1)[1].split()[0])


def secret_of(p: Platform) -> str:
    name = p.settings.jwt.secret_parameter
    reply = p.clients.ssm.get_parameter(Name=name, WithDecryption=True)
    return str(reply["Parameter"]["Value"])


def decode(token: str, secret: str) -> dict[str, Any]:
    return dict(
        jwt.decode(token, secret, algorithms=["HS256"], audience=AUDIENCE, issuer="jitsi-chatops")
    )


def running_task_env(p: Platform) -> dict[str, dict[str, str]]:
    """Container name -> environment of the service's running task's definition."""
    ecs = p.clients.ecs
    arns = ecs.list_tasks(cluster=p.settings.cluster_name, serviceName=p.settings.service_name)
    [task] = ecs.describe_tasks(cluster=p.settings.cluster_name, tasks=arns["taskArns"])["tasks"]
    assert task["healthStatus"] == "HEALTHY"
    td = ecs.describe_task_definition(taskDefinition=task["taskDefinitionArn"])["taskDefinition"]
    out = {}
    for c in td["containerDefinitions"]:
        out[c["name"]] = {e["name"]: e["value"] for e in c["environment"]}
        out[c["name"]]["secrets"] = ",".join(s["name"] for s in c.get("secrets", []))
    return out


def shown_events(*results: Result) -> str:
    """What the terminal showed besides the asker's own reply (the job's events)."""
    return "\n".join(
        json.dumps(x) for r in results for x in r.lines if x.get("type") != "reply"
    ) + "\n".join(r.stderr for r in results)


def zoned(p: Platform, *, jwt_on: bool = True) -> Settings:
    """A hosted zone for the domain (a start needs one), bootstrapped with ``jwt_on``."""
    zone = p.clients.route53.create_hosted_zone(
        Name="e2e.example", CallerReference=p.settings.project_name
    )
    zone_id = str(zone["HostedZone"]["Id"]).rsplit("/", 1)[-1]
    update: dict[str, Any] = {"hosted_zone_id": zone_id}
    if not jwt_on:
        update["jwt"] = JwtSettings(enabled=False)
        p.env["JITSI_JWT"] = "off"
    settings = p.settings.model_copy(update=update)
    bootstrap(settings, AwsClients(settings))
    p.env["JITSI_HOSTED_ZONE_ID"] = zone_id
    return settings


def test_jwt_links_on_by_default_end_to_end(platform: Platform) -> None:
    zoned(platform)
    platform.start_worker()
    secret = secret_of(platform)
    start = platform.say("start standup", user="alice")
    assert start.code == 0, start.stdout + start.stderr
    assert start.events("url_ready")[0]["data"]["url"] == f"https://{DOMAIN}/standup"
    alice = decode(token_of(start), secret)
    assert (alice["sub"], alice["room"], alice["moderator"]) == (DOMAIN, "standup", True)
    assert alice["context"]["user"]["id"] == "console:alice"
    assert alice["context"]["user"]["name"] == "alice"
    assert OPEN_NOTE not in reply_of(start)["text"]

    env = running_task_env(platform)
    assert (env["prosody"]["ENABLE_AUTH"], env["prosody"]["AUTH_TYPE"]) == ("1", "jwt")
    assert "JWT_APP_SECRET" in env["prosody"]["secrets"]
    assert secret not in json.dumps(env)
    assert (env["jicofo"]["ENABLE_AUTH"], env["web"]["ENABLE_GUESTS"]) == ("1", "0")

    bob = platform.say("link standup", user="bob")
    assert bob.code == 0 and reply_of(bob)["text"] == "Your link is in a private message."
    guest = decode(token_of(bob), secret)
    assert (guest["room"], guest["moderator"]) == ("standup", False)
    # Both end with the session (capped at jwt.max_hours from when each was made).
    assert alice["exp"] <= guest["exp"] <= alice["exp"] + 120
    other = platform.say("link retro", user="bob")
    retro = decode(token_of(other), secret)
    assert retro["room"] == "retro" and "standup" not in json.dumps(retro)
    bad = platform.say("link ../etc", user="bob")
    assert bad.code == 2 and reply_of(bad)["link"] is None

    stop = platform.say("stop", user="alice")
    assert stop.code == 0, stop.stdout + stop.stderr
    tokens = [token_of(start), token_of(bob), token_of(other)]
    assert_absent(
        [*tokens, secret],
        redis=redis_dump(platform.settings.redis_dsn),
        worker_log=platform.worker_log(),
        events=shown_events(start, bob, other, stop),
    )

    # Rotation: a new secret in SSM; the next start's links are signed with it.
    rotated = platform.cli("infra", "rotate-secrets")
    assert rotated.code == 0, rotated.stdout + rotated.stderr
    new_secret = secret_of(platform)
    assert new_secret != secret and secret not in rotated.stdout + rotated.stderr
    again = platform.say("start standup", user="alice")
    assert again.code == 0, again.stdout + again.stderr
    assert decode(token_of(again), new_secret)["room"] == "standup"
    with pytest.raises(jwt.InvalidSignatureError):
        decode(token_of(again), secret)
    refused = platform.cli("infra", "rotate-secrets")  # while running: refused
    assert refused.code == 1 and "Stop it first" in refused.stdout + refused.stderr
    assert platform.say("stop", user="alice").code == 0


def test_jwt_off_end_to_end_says_once_that_the_platform_is_open(platform: Platform) -> None:
    zoned(platform, jwt_on=False)  # the task definition without auth
    platform.start_worker()
    start = platform.say("start standup", user="alice")
    assert start.code == 0, start.stdout + start.stderr
    reply = reply_of(start)
    assert reply["link"] is None and reply["text"].count(OPEN_NOTE) == 1
    env = running_task_env(platform)
    assert env["prosody"].get("ENABLE_AUTH") == "0"
    assert "JWT_APP_SECRET" not in env["prosody"]["secrets"]
    again = platform.say("start standup", user="bob")
    assert OPEN_NOTE not in reply_of(again)["text"]
    link = platform.say("link", user="bob")
    assert reply_of(link)["link"] is None and "anyone with the URL" in reply_of(link)["text"]
    assert platform.say("stop", user="alice").code == 0
