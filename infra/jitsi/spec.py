"""The Jitsi task's one definition (``task.json``), rendered to ECS container definitions.

Terraform renders the same file with ``templatefile`` + ``jsondecode`` (terraform/main.tf);
this module does exactly what that HCL does, so both register identical containers
(tests/terraform/test_task_identity.py proves it against the emulator).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

TASK_FILE = Path(__file__).with_name("task.json")
CONTRACT_FILE = Path(__file__).with_name("contract.json")
# Only ``${name}``: the one interpolation Terraform's templatefile shares with us.
_PLACEHOLDER = re.compile(r"\$\{([a-z_][a-z0-9_]*)\}")
JVB = "jvb"
# The JVM's own memory (metaspace, threads, native buffers) lives outside -Xmx.
JVB_HEAP_PERCENT = 75
FEATURES = (
    "direct",
    "direct_tls",
    "jwt",
    "jwt_guests",
    "tcp_4443",
)  # lexical: as Terraform walks maps


@dataclass(frozen=True, slots=True)
class TaskInputs:
    """Everything the template needs; each driver fills it from its own names and ARNs."""

    project: str
    region: str
    public_url: str
    log_group: str
    task_memory: int  # MiB, the whole task's
    advertise_ips_arn: str
    jicofo_password_arn: str
    jvb_password_arn: str
    release: str | None = None  # None: the pinned one in task.json
    registry: str | None = None
    jwt_app_id: str = ""
    jwt_secret_arn: str = ""
    jwt: bool = False
    jwt_guests: bool = False  # guests without a token wait for a host (ENABLE_GUESTS=1)
    tcp_4443: bool = False
    # The direct ingress: web gets the ACME certificate (infra/tls_store.py) as secrets.
    direct_tls: bool = False
    tls_fullchain_arn: str = ""
    tls_privkey_arn: str = ""
    direct: bool = False  # ingress=direct: JVB finds its address by STUN, no NLB addresses


@cache
def raw_spec() -> dict[str, Any]:
    """task.json as written (placeholders unfilled)."""
    return dict(json.loads(TASK_FILE.read_text()))


@cache
def contract() -> dict[str, Any]:
    """contract.json: what docker-jitsi-meet needs, with sources."""
    return dict(json.loads(CONTRACT_FILE.read_text()))


def pinned_release() -> str:
    return str(raw_spec()["release"])


def web_ports() -> tuple[int, int]:
    """(http, https) container ports of jitsi-web at the pinned release."""
    ports = raw_spec()["web_ports"]
    return int(ports["http"]), int(ports["https"])


def jvb_memory(task_memory: int) -> int:
    """What the task has left for JVB once the fixed-size containers have theirs."""
    fixed = sum(int(c["memory"]) for c in raw_spec()["containers"] if c["name"] != JVB)
    return task_memory - fixed


def template_vars(inputs: TaskInputs) -> dict[str, str]:
    spec = raw_spec()
    jvb = jvb_memory(inputs.task_memory)
    return {
        "project": inputs.project,
        "region": inputs.region,
        "public_url": inputs.public_url,
        "log_group": inputs.log_group,
        "release": inputs.release or spec["release"],
        "registry": inputs.registry or spec["registry"],
        "sidecar_image": spec["sidecar_image"],
        "jvb_memory": str(jvb),
        "jvb_heap": f"{jvb * JVB_HEAP_PERCENT // 100}m",
        "advertise_ips_arn": inputs.advertise_ips_arn,
        "jicofo_password_arn": inputs.jicofo_password_arn,
        "jvb_password_arn": inputs.jvb_password_arn,
        "jwt_app_id": inputs.jwt_app_id,
        "jwt_secret_arn": inputs.jwt_secret_arn,
        "tls_fullchain_arn": inputs.tls_fullchain_arn,
        "tls_privkey_arn": inputs.tls_privkey_arn,
    }


def render(text: str, variables: dict[str, str]) -> str:
    """Fill ``${name}`` like Terraform's templatefile; an unknown name is an error there too."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in variables:
            raise KeyError(f"task.json uses ${{{name}}}, which the renderer does not provide")
        # JSON-escape the value: it lands inside a JSON string.
        return json.dumps(variables[name])[1:-1]

    return _PLACEHOLDER.sub(fill, text)


def container_definitions(inputs: TaskInputs) -> list[dict[str, Any]]:
    """The ECS ``containerDefinitions`` for ``inputs``, in task.json's order."""
    spec = json.loads(render(TASK_FILE.read_text(), template_vars(inputs)))
    on = [
        spec["features"][name]
        for name in FEATURES
        if getattr(inputs, name) and (name != "jwt_guests" or inputs.jwt)
    ]
    out = []
    for c in spec["containers"]:
        extras = [f[c["name"]] for f in on if c["name"] in f]
        env: dict[str, str] = dict(c["environment"])
        for extra in extras:
            env.update(extra.get("environment", {}))
        merged = {
            **c,
            "memory": int(c["memory"]),
            # Terraform's `for k, v in map` walks keys in lexical order; so do we.
            "environment": [{"name": k, "value": env[k]} for k in sorted(env)],
            "secrets": [
                s
                for s in [*c["secrets"], *(s for e in extras for s in e.get("secrets", []))]
                if s["name"] not in {d for e in extras for d in e.get("drop_secrets", [])}
            ],
            "portMappings": [
                *c["portMappings"],
                *(p for e in extras for p in e.get("portMappings", [])),
            ],
        }
        out.append(merged)
    return out
