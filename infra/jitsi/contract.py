"""A task definition checked against contract.json (what docker-jitsi-meet needs).

Pure: it reads container definitions in the ECS API's shape and, optionally, asks
whether an SSM parameter exists. The contract test uses it on what both drivers
register; the emulator uses it to decide how a task it starts behaves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from infra.jitsi.spec import contract


class Effect(StrEnum):
    """What a broken rule does to the container on AWS, worst first."""

    SECRET = "secret"  # ECS cannot fetch a secret: the task never starts
    EXIT = "exit"  # the container exits at start (code 1)
    OOM = "oom"  # the JVM outgrows the container and is killed (code 137)
    UNHEALTHY = "unhealthy"  # it runs, its health check fails
    POLICY = "policy"  # it would run; this project forbids it

    @property
    def rank(self) -> int:
        return list(Effect).index(self)


@dataclass(frozen=True, slots=True)
class Violation:
    container: str
    effect: Effect
    message: str
    source: str = ""  # file:lines in docker-jitsi-meet at the contract's release
    subject: str = ""  # the variable, or for a missing secret the SSM parameter's name

    def __str__(self) -> str:
        where = f" [{self.source}]" if self.source else ""
        return f"{self.container}: {self.message}{where}"


_HEAP = re.compile(r"^(\d+)([kmgKMG]?)$")


def heap_mib(value: str) -> int | None:
    """``-Xmx`` style size in MiB (``768m``, ``3g``); None when unreadable."""
    match = _HEAP.match(value.strip())
    if not match:
        return None
    number, unit = int(match.group(1)), match.group(2).lower()
    return {"k": number // 1024, "m": number, "g": number * 1024, "": number // (1024 * 1024)}[unit]


def image_name(image: str) -> tuple[str, str]:
    """(name, tag) of ``registry/ns/name:tag``."""
    path, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "")
    return path.rsplit("/", 1)[-1], tag


def parameter_name(value_from: str) -> str:
    """The SSM parameter name a secret's ``valueFrom`` points at (ARN or plain name)."""
    if value_from.startswith("arn:"):
        name = value_from.split(":parameter", 1)[-1]
        return name if name.startswith("/") else f"/{name}"
    return value_from


def check(
    containers: Iterable[Mapping[str, Any]],
    *,
    parameter_exists: Callable[[str], bool] | None = None,
    task_memory: int | None = None,
    ingress: str = "nlb",
) -> list[Violation]:
    """Every rule of the contract that ``containers`` break, worst effect first. Rules
    marked with an ``ingress`` apply to that way in only (``nlb`` or ``direct``)."""
    data = contract()
    images: dict[str, Any] = data["images"]
    found: list[Violation] = []
    listed = list(containers)
    for c in listed:
        found.extend(_check_one(c, images, data["release"], parameter_exists, task_memory, ingress))
    found.extend(_disagreements(listed, data.get("agree", [])))
    return sorted(found, key=lambda v: v.effect.rank)


def _env(c: Mapping[str, Any]) -> dict[str, str]:
    return {e["name"]: str(e.get("value", "")) for e in c.get("environment", [])}


def _applies(rule: Mapping[str, Any], env: Mapping[str, str]) -> bool:
    """A rule with ``when`` binds only a container whose environment has those values."""
    return all(env.get(k) == v for k, v in rule.get("when", {}).items())


def _disagreements(
    containers: list[Mapping[str, Any]], rules: list[Mapping[str, Any]]
) -> list[Violation]:
    """Variables several images read (ENABLE_AUTH...) must have one value in the task:
    the first listed image's value is the reference; each container that differs breaks."""
    out: list[Violation] = []
    for rule in rules:
        key, default = rule["name"], str(rule["default"])
        seen = [
            (str(c.get("name", "?")), image_name(str(c.get("image", "")))[0], _env(c))
            for c in containers
        ]
        order = list(rule["images"])
        values = sorted(
            (
                (order.index(image), name, env.get(key, default))
                for name, image, env in seen
                if image in order
            ),
        )
        if not values:
            continue
        _, reference_name, reference = values[0]
        for _, name, value in values[1:]:
            if value != reference:
                out.append(
                    Violation(
                        name,
                        Effect(rule["effect"]),
                        f"{key}={value!r} but {reference_name} has {reference!r}: {rule['why']}",
                        rule["source"],
                        key,
                    )
                )
    return out


def _check_one(
    c: Mapping[str, Any],
    images: dict[str, Any],
    release: str,
    parameter_exists: Callable[[str], bool] | None,
    task_memory: int | None,
    ingress: str = "nlb",
) -> list[Violation]:
    name = str(c.get("name", "?"))
    image, tag = image_name(str(c.get("image", "")))
    rules = images.get(image)
    if rules is None:
        return [Violation(name, Effect.POLICY, f"image {c.get('image')!r} is not in the contract")]
    out: list[Violation] = []

    def add(effect: str | Effect, message: str, source: str = "", subject: str = "") -> None:
        out.append(Violation(name, Effect(effect), message, source, subject))

    if image != "busybox" and tag != release:
        add(Effect.POLICY, f"image tag {tag!r} is not the contract's release {release}")
    env = _env(c)
    secrets = {s["name"]: str(s.get("valueFrom", "")) for s in c.get("secrets", [])}
    if parameter_exists is not None:
        for key, value_from in secrets.items():
            if not parameter_exists(parameter_name(value_from)):
                add(
                    Effect.SECRET,
                    f"secret {key}: SSM parameter {value_from} does not exist",
                    subject=parameter_name(value_from),
                )
    applies = [
        r for r in [*rules["required"], *rules["values"]] if r.get("ingress", ingress) == ingress
    ]
    for rule in [r for r in rules["required"] if r in applies]:
        key = rule["name"]
        if not _applies(rule, env):
            continue
        if rule.get("secret") and key in env:
            add(Effect.POLICY, f"{key} is in plain environment, not a secret", rule["source"])
        if key not in secrets and not env.get(key):
            log = f" ({rule['log']})" if rule.get("log") else ""
            add(rule["effect"], f"{key} is missing or empty{log}", rule["source"])
    for rule in [r for r in rules["values"] if r in applies]:
        key = rule["name"]
        if not _applies(rule, env):
            continue
        if env.get(key, rule.get("default")) != rule["value"]:
            add(
                rule["effect"],
                f"{key}={env.get(key, rule.get('default'))!r}, needs {rule['value']!r}: "
                f"{rule['why']}",
                rule["source"],
            )
    memory = c.get("memory") or c.get("memoryReservation") or task_memory
    heap = rules.get("heap")
    if heap and memory:
        value = env.get(heap["name"]) or heap["default"]
        mib = heap_mib(value)
        if mib is None or mib >= int(memory):
            add(
                Effect.OOM,
                f"{heap['name']}={value} does not fit the container's {memory} MiB",
                heap["source"],
            )
    mapped = sorted(
        (int(p["containerPort"]), str(p.get("protocol", "tcp"))) for p in c.get("portMappings", [])
    )
    wanted = sorted((int(p["port"]), str(p["protocol"])) for p in rules["ports"])
    extra_ok = {(4443, "tcp")} if image == "jvb" else set()  # enable_tcp_4443 (legacy)
    if [p for p in mapped if p not in extra_ok] != wanted:
        add(
            Effect.UNHEALTHY,
            f"port mappings {mapped} are not the ports the image listens on {wanted}",
            rules["ports_source"],
        )
    if rules.get("metrics"):
        printed = emitted_metrics(c)
        for metric in rules["metrics"]:
            if metric["name"] not in printed:
                add(
                    Effect.POLICY,
                    f"the command does not print {metric['name']} ({metric['unit']}) from "
                    f"{' or '.join(metric['reads'])} as Embedded Metric Format: {metric['why']}",
                    metric["source"],
                    metric["name"],
                )
    tls = rules.get("tls")
    if tls and any(name in secrets for name in tls["secrets"]):
        out.extend(_tls_entry(name, c, tls))
    health = rules.get("health")
    if health:
        command = c.get("healthCheck", {}).get("command", [])
        if command[1:] != [health["command"]]:
            add(
                Effect.POLICY,
                f"health check {command!r} is not the contract's ({health['command']}, "
                f"{health['url']})",
                health["source"],
            )
    return out


def _tls_entry(name: str, c: Mapping[str, Any], tls: Mapping[str, Any]) -> list[Violation]:
    """The direct ingress's certificate reaches nginx only through an entryPoint that
    writes every secret to its file and then runs the image's own init."""
    script = " ".join(str(part) for part in c.get("entryPoint") or [])
    wanted = [*tls["secrets"], *tls["files"]]
    missing = [w for w in wanted if w not in script]
    if not missing and script.rstrip().endswith(tls["init"]):
        return []
    what = f"misses {', '.join(missing)}" if missing else f"does not end with {tls['init']!r}"
    return [
        Violation(
            name,
            Effect(tls["effect"]),
            f"the certificate secrets are set but the entryPoint {what}: {tls['why']}",
            tls["source"],
        )
    ]


def emitted_metrics(c: Mapping[str, Any]) -> frozenset[str]:
    """The metrics a sidecar's command prints as CloudWatch Embedded Metric Format, by
    the contract's markers: the EMF frame (namespace, dimensions, timestamp) and, per
    metric, its name and unit, the endpoint it reads and the fields it picks. Empty for
    an image whose contract names no metrics. Static: the test that runs the command
    (tests/unit/test_stats_sidecar.py) proves what the markers stand for."""
    rules = contract()["images"].get(image_name(str(c.get("image", "")))[0], {})
    emf = rules.get("emf")
    script = " ".join(str(part) for part in c.get("command") or [])
    if not emf or not script:
        return frozenset()
    frame = [
        '"Timestamp":',
        f'"Namespace":"{emf["namespace"]}"',
        f'"Dimensions":{json.dumps(emf["dimensions"], separators=(",", ":"))}',
    ]
    if not all(marker in script for marker in frame):
        return frozenset()
    return frozenset(
        m["name"]
        for m in rules.get("metrics", [])
        if any(endpoint in script for endpoint in m["reads"])
        and all(
            marker in script
            for marker in (
                f'{{"Name":"{m["name"]}","Unit":"{m["unit"]}"}}',
                f'"{m["name"]}":',
                *m["fields"],
            )
        )
    )
