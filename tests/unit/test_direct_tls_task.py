"""The direct ingress's certificate in the Jitsi task: the ``direct_tls`` feature adds the
SSM parameters as web's secrets, and web's entryPoint writes them where nginx reads its
certificate at the pinned release, then runs the image's own init."""

from __future__ import annotations

import subprocess
from copy import deepcopy
from dataclasses import replace
from pathlib import Path

from infra.jitsi.contract import Effect, check
from infra.jitsi.spec import TaskInputs, container_definitions, contract

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
    tls_fullchain_arn=f"{ARN}/tls/fullchain",
    tls_privkey_arn=f"{ARN}/tls/privkey",
)


def web(inputs: TaskInputs) -> dict[str, object]:
    return next(c for c in container_definitions(inputs) if c["name"] == "web")


def test_direct_tls_adds_the_certificate_secrets_to_web_only() -> None:
    off = container_definitions(INPUTS)
    on = container_definitions(replace(INPUTS, direct_tls=True))
    assert [c for c in off if c["name"] != "web"] == [c for c in on if c["name"] != "web"]
    secrets = {s["name"]: s["valueFrom"] for s in web(replace(INPUTS, direct_tls=True))["secrets"]}  # type: ignore[attr-defined]
    assert secrets == {"TLS_FULLCHAIN": f"{ARN}/tls/fullchain", "TLS_PRIVKEY": f"{ARN}/tls/privkey"}
    assert not web(INPUTS)["secrets"]
    assert check(on) == []


def test_the_contract_names_where_nginx_reads_the_certificate() -> None:
    tls = contract()["images"]["web"]["tls"]
    assert tls["files"] == ["/config/keys/cert.crt", "/config/keys/cert.key"]
    assert "10-config:63-70" in tls["source"] and "ssl.conf" in tls["source"]


def test_secrets_without_the_writing_entrypoint_break_the_contract() -> None:
    containers = deepcopy(container_definitions(replace(INPUTS, direct_tls=True)))
    for c in containers:
        if c["name"] == "web":
            del c["entryPoint"]
    found = check(containers)
    assert [v.effect for v in found] == [Effect.UNHEALTHY]
    assert "entryPoint misses" in found[0].message


def _run_entrypoint(tmp_path: Path, env: dict[str, str]) -> tuple[Path, str]:
    """web's entryPoint in a real shell, with /config/keys and /init moved into tmp_path:
    the files it writes, and the environment the image's init would get."""
    script = web(replace(INPUTS, direct_tls=True))["entryPoint"][2]  # type: ignore[index]
    keys = tmp_path / "keys"
    init = tmp_path / "init"
    init.write_text("#!/bin/sh\nenv\n")
    init.chmod(0o755)
    script = script.replace("/config/keys", str(keys)).replace("exec /init", f"exec {init}")
    done = subprocess.run(
        ["/bin/sh", "-c", script],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return keys, done.stdout


def test_the_entrypoint_writes_the_certificate_then_hides_it_from_init(tmp_path: Path) -> None:
    chain = "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n"
    key = "-----BEGIN PRIVATE KEY-----\nBBB\n-----END PRIVATE KEY-----"
    keys, init_env = _run_entrypoint(tmp_path, {"TLS_FULLCHAIN": chain, "TLS_PRIVKEY": key})
    assert (keys / "cert.crt").read_text().strip() == chain.strip()
    assert (keys / "cert.key").read_text().strip() == key.strip()
    assert (keys / "cert.key").stat().st_mode & 0o077 == 0  # the key is the owner's only
    assert "TLS_" not in init_env  # nginx and the other services never see the key


def test_without_the_secrets_the_entrypoint_leaves_the_image_alone(tmp_path: Path) -> None:
    keys, _ = _run_entrypoint(tmp_path, {})
    assert not keys.exists()  # the init script makes its self-signed pair as before


def test_a_task_before_the_first_certificate_cannot_start() -> None:
    # ECS refuses a task whose secret is missing: issue before the first direct start.
    on = container_definitions(replace(INPUTS, direct_tls=True))
    found = check(on, parameter_exists=lambda name: not name.startswith("/p/tls/"))
    assert {(v.container, v.effect, v.subject) for v in found} == {
        ("web", Effect.SECRET, "/p/tls/fullchain"),
        ("web", Effect.SECRET, "/p/tls/privkey"),
    }
