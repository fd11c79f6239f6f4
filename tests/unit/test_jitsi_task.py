"""The Jitsi task definition against docker-jitsi-meet's contract (infra/jitsi/contract.json).

The contract holds what each image needs at the pinned release, with the source file
of every rule; here the task both drivers render is checked against it, and the
checker is shown to catch each kind of breakage the emulator acts on.
"""

from __future__ import annotations

import re
from copy import deepcopy
from dataclasses import replace
from typing import Any

import pytest

from infra.aws import naming
from infra.jitsi.contract import Effect, check, heap_mib, image_name, parameter_name
from infra.jitsi.spec import (
    TaskInputs,
    container_definitions,
    contract,
    pinned_release,
    raw_spec,
    render,
    web_ports,
)

ARN = "arn:aws:ssm:us-east-1:123456789012:parameter/p"
INPUTS = TaskInputs(
    project="p",
    region="us-east-1",
    public_url="https://meet.example.com",
    log_group="/ecs/p",
    task_memory=8192,
    advertise_ips_arn=f"{ARN}/jvb/advertise-ips",
    jicofo_password_arn=f"{ARN}/xmpp/jicofo-auth-password",
    jvb_password_arn=f"{ARN}/xmpp/jvb-auth-password",
)


def containers(**changes: Any) -> list[dict[str, Any]]:
    return container_definitions(replace(INPUTS, **changes))


def by_name(defs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(c for c in defs if c["name"] == name)


def env(c: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in c["environment"]}


def test_the_task_keeps_the_whole_contract() -> None:
    assert check(containers()) == []
    assert (
        check(containers(tcp_4443=True, jwt=True, jwt_app_id="app", jwt_secret_arn=f"{ARN}/jwt"))
        == []
    )


def test_direct_mode_turns_stun_on_and_tells_jvb_no_nlb_addresses() -> None:
    direct = containers(direct=True)
    assert check(direct, ingress="direct") == []
    jvb = by_name(direct, "jvb")
    assert env(jvb)["JVB_DISABLE_STUN"] == "0"  # jvb.conf's default STUN server then applies
    assert "JVB_ADVERTISE_IPS" not in {s["name"] for s in jvb["secrets"]}
    # The same containers under an NLB would let media bypass it: the contract says so.
    assert {(v.container, v.effect) for v in check(direct)} == {("jvb", Effect.POLICY)}
    # Nothing else differs from the NLB mode's task.
    nlb = containers()
    for a, b in zip(nlb, direct, strict=True):
        if a["name"] != "jvb":
            assert a == b


def test_task_and_contract_pin_the_same_release_and_every_rule_names_its_source() -> None:
    assert pinned_release() == contract()["release"] == raw_spec()["release"]
    for image, rules in contract()["images"].items():
        for rule in [*rules["required"], *rules["values"]]:
            assert re.match(r"^[\w./-]+:\d", rule["source"]), (image, rule)
        if rules["heap"]:
            assert rules["heap"]["source"]


def test_passwords_are_secrets_never_plain_environment() -> None:
    for c in containers():
        secret_names = {s["name"] for s in c["secrets"]}
        assert not secret_names & set(env(c)), c["name"]
        assert not any("PASSWORD" in k or "SECRET" in k for k in env(c)), c["name"]
    assert {s["name"] for s in by_name(containers(), "prosody")["secrets"]} == {
        "JICOFO_AUTH_PASSWORD",
        "JVB_AUTH_PASSWORD",
    }


def test_heaps_fit_their_containers_for_every_fargate_size() -> None:
    for memory in (4096, 8192, 16384, 30720):
        defs = containers(task_memory=memory)
        assert sum(c["memory"] for c in defs) == memory
        jvb, jicofo = by_name(defs, "jvb"), by_name(defs, "jicofo")
        assert heap_mib(env(jvb)["VIDEOBRIDGE_MAX_MEMORY"]) < jvb["memory"]
        assert heap_mib(env(jicofo)["JICOFO_MAX_MEMORY"]) < jicofo["memory"]


def test_xmpp_on_localhost_and_jvb_behind_the_nlb_only() -> None:
    defs = containers()
    for name in ("jicofo", "jvb"):
        assert env(by_name(defs, name))["XMPP_SERVER"] == "127.0.0.1"
    assert env(by_name(defs, "web"))["XMPP_BOSH_URL_BASE"] == "http://127.0.0.1:5280"
    jvb = env(by_name(defs, "jvb"))
    assert jvb["JVB_DISABLE_STUN"] == "1"  # advertise only the NLB's addresses
    assert "JVB_STUN_SERVERS" not in jvb
    # Jicofo's REST API (unauthenticated) is not mapped: only the sidecar reads it.
    assert by_name(defs, "jicofo")["portMappings"] == []


def test_every_essential_container_has_the_images_health_check() -> None:
    for c in containers():
        if c["essential"]:
            assert c["healthCheck"]["command"][0] == "CMD-SHELL", c["name"]
            assert c["healthCheck"]["startPeriod"] > 0


def test_web_ports_go_with_the_release_and_the_nlb() -> None:
    http, https = web_ports()
    mapped = {p["containerPort"] for p in by_name(containers(), "web")["portMappings"]}
    assert mapped == {http, https}
    # The NLB's web target group forwards to the port the release's nginx listens on.
    assert https == naming.WEB_PORT


@pytest.mark.parametrize(
    ("name", "break_it", "effect", "words"),
    [
        (
            "prosody",
            lambda c: c.update(secrets=[]),
            Effect.EXIT,
            "JICOFO_AUTH_PASSWORD is missing",
        ),
        (
            "jvb",
            lambda c: c.update(memory=2048),
            Effect.OOM,
            "does not fit the container's 2048 MiB",
        ),
        (
            "jicofo",
            lambda c: c["environment"].append({"name": "JICOFO_MAX_MEMORY", "value": "3g"}),
            Effect.OOM,
            "JICOFO_MAX_MEMORY",
        ),
        (
            "web",
            lambda c: c.update(environment=[]),
            Effect.UNHEALTHY,
            "XMPP_BOSH_URL_BASE",
        ),
        (
            "web",
            lambda c: c.update(portMappings=[{"containerPort": 8443, "protocol": "tcp"}]),
            Effect.UNHEALTHY,
            "port mappings",
        ),
        (
            "jvb",
            lambda c: c["environment"].append(
                {"name": "JVB_AUTH_PASSWORD", "value": "in-the-clear"}
            ),
            Effect.POLICY,
            "plain environment",
        ),
        (
            "jvb",
            lambda c: c.pop("healthCheck"),
            Effect.POLICY,
            "health check",
        ),
    ],
)
def test_the_checker_catches_each_breakage(
    name: str, break_it: Any, effect: Effect, words: str
) -> None:
    defs = deepcopy(containers())
    # Environment order does not matter to ECS; a later duplicate wins in the checker.
    break_it(by_name(defs, name))
    found = [v for v in check(defs) if v.container == name]
    assert any(v.effect is effect and words in str(v) for v in found), found


def test_a_missing_ssm_parameter_is_a_secret_failure() -> None:
    found = check(containers(), parameter_exists=lambda n: not n.endswith("jvb-auth-password"))
    assert {v.effect for v in found} == {Effect.SECRET}
    assert {v.subject for v in found} == {"/p/xmpp/jvb-auth-password"}


def test_helpers() -> None:
    assert heap_mib("3072m") == 3072 and heap_mib("3g") == 3072 and heap_mib("x") is None
    assert image_name("ghcr.io/jitsi/web:stable-11146") == ("web", "stable-11146")
    assert image_name("localhost:5000/jitsi/jvb") == ("jvb", "")
    assert parameter_name(f"{ARN}/a") == "/p/a" and parameter_name("/x") == "/x"
    with pytest.raises(KeyError, match="nope"):
        render("${nope}", {})
    assert render('"${a}"', {"a": 'x"y'}) == '"x\\"y"'


JWT_ON = {"jwt": True, "jwt_app_id": "jitsi-chatops", "jwt_secret_arn": f"{ARN}/jwt/app-secret"}


def test_jwt_settings_are_in_the_contract_with_their_sources() -> None:
    rules = contract()["images"]["prosody"]
    conditional = {r["name"]: r for r in [*rules["required"], *rules["values"]] if "when" in r}
    assert set(conditional) == {
        "JWT_APP_ID",
        "JWT_APP_SECRET",
        "JWT_ACCEPTED_ISSUERS",
        "JWT_ACCEPTED_AUDIENCES",
        "JWT_ALLOW_EMPTY",
    }
    assert conditional["JWT_APP_SECRET"]["secret"] is True
    for rule in conditional.values():
        assert rule["when"] == {"ENABLE_AUTH": "1", "AUTH_TYPE": "jwt"}
        assert "jitsi-meet.cfg.lua:" in rule["source"]
    agree = {a["name"]: a["images"] for a in contract()["agree"]}
    assert agree == {
        "ENABLE_AUTH": ["prosody", "jicofo", "web"],
        "AUTH_TYPE": ["prosody", "jicofo"],
        "ENABLE_GUESTS": ["prosody", "web"],
    }


def test_the_jwt_task_turns_auth_on_everywhere_with_the_secret_as_a_secret() -> None:
    defs = containers(**JWT_ON)
    assert check(defs) == []
    prosody, jicofo, web = (by_name(defs, n) for n in ("prosody", "jicofo", "web"))
    assert {k: env(prosody)[k] for k in ("ENABLE_AUTH", "AUTH_TYPE", "ENABLE_GUESTS")} == {
        "ENABLE_AUTH": "1",
        "AUTH_TYPE": "jwt",
        "ENABLE_GUESTS": "0",
    }
    assert env(prosody)["JWT_ACCEPTED_AUDIENCES"] == "jitsi"
    assert env(prosody)["JWT_ACCEPTED_ISSUERS"] == env(prosody)["JWT_APP_ID"] == "jitsi-chatops"
    assert {"name": "JWT_APP_SECRET", "valueFrom": f"{ARN}/jwt/app-secret"} in prosody["secrets"]
    assert "JWT_APP_SECRET" not in env(prosody)
    assert (env(jicofo)["ENABLE_AUTH"], env(jicofo)["AUTH_TYPE"]) == ("1", "jwt")
    assert (env(web)["ENABLE_AUTH"], env(web)["ENABLE_GUESTS"]) == ("1", "0")
    lobby = containers(**JWT_ON, jwt_guests=True)
    assert check(lobby) == []
    assert env(by_name(lobby, "prosody"))["ENABLE_GUESTS"] == "1"
    assert env(by_name(lobby, "web"))["ENABLE_GUESTS"] == "1"
    # Guests are a part of JWT: alone they change nothing.
    assert containers(jwt_guests=True) == containers()


@pytest.mark.parametrize(
    ("change", "container", "effect", "words"),
    [
        (
            lambda d: _drop_secret(d, "prosody", "JWT_APP_SECRET"),
            "prosody",
            Effect.UNHEALTHY,
            "JWT_APP_SECRET is missing",
        ),
        (
            lambda d: _set(d, "prosody", "JWT_APP_SECRET", "plain"),
            "prosody",
            Effect.POLICY,
            "JWT_APP_SECRET is in plain environment",
        ),
        (
            lambda d: _set(d, "prosody", "JWT_APP_ID", ""),
            "prosody",
            Effect.UNHEALTHY,
            "JWT_APP_ID is missing",
        ),
        (
            lambda d: _set(d, "prosody", "JWT_ALLOW_EMPTY", "1"),
            "prosody",
            Effect.POLICY,
            "JWT_ALLOW_EMPTY='1'",
        ),
        (
            lambda d: _set(d, "prosody", "JWT_ACCEPTED_AUDIENCES", "*"),
            "prosody",
            Effect.POLICY,
            "JWT_ACCEPTED_AUDIENCES",
        ),
        (
            lambda d: _set(d, "jicofo", "ENABLE_AUTH", "0"),
            "jicofo",
            Effect.UNHEALTHY,
            "ENABLE_AUTH='0' but prosody has '1'",
        ),
        (
            lambda d: _set(d, "jicofo", "AUTH_TYPE", "internal"),
            "jicofo",
            Effect.UNHEALTHY,
            "AUTH_TYPE='internal' but prosody has 'jwt'",
        ),
        (
            lambda d: _set(d, "web", "ENABLE_GUESTS", "1"),
            "web",
            Effect.UNHEALTHY,
            "ENABLE_GUESTS='1' but prosody has '0'",
        ),
    ],
)
def test_the_contract_catches_each_broken_jwt_setting(
    change: Any, container: str, effect: Effect, words: str
) -> None:
    defs = deepcopy(containers(**JWT_ON))
    change(defs)
    found = [v for v in check(defs) if v.container == container]
    assert any(v.effect is effect and words in v.message for v in found), found


def _set(defs: list[dict[str, Any]], name: str, key: str, value: str) -> None:
    c = by_name(defs, name)
    c["environment"] = [e for e in c["environment"] if e["name"] != key]
    c["environment"].append({"name": key, "value": value})


def _drop_secret(defs: list[dict[str, Any]], name: str, key: str) -> None:
    c = by_name(defs, name)
    c["secrets"] = [s for s in c["secrets"] if s["name"] != key]
