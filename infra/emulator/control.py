"""The emulator's control API under ``/_emulator/``: JSON in, JSON out.

GET  /_emulator/state    what the emulator sees (profile, services, load balancers, faults)
POST /_emulator/profile  {"profile": "instant"|"field", "time_scale": F}  (either key optional)
POST /_emulator/targets  {"mode": "auto"|"unhealthy"|"initial"}
POST /_emulator/faults   {"throttle": {"operation": OP, "count": N}}
                         {"permanent": {"operation": OP, "code": C, "count": N}}
                         {"clear": true}
POST /_emulator/participants {"count": N|null, "project": P}  what the task's stats
                         sidecar publishes each simulated minute (project optional: all;
                         null: the sidecar is silent)
POST /_emulator/traffic {"sent": BYTES, "received": BYTES, "project": P}  the task's
                         network bytes per simulated minute the sidecar publishes
                         (NetworkTxBytes/NetworkRxBytes); {"project": P} alone: none
POST /_emulator/iam      {"deny": [ACTION, ...]} | {"clear": true}  (simulated denials)
POST /_emulator/quotas   {"service": S, "code": Q, "value": N} | {"clear": true}
POST /_emulator/web      {"status": 200|502|...}  what jitsi-web answers behind the HTTPS front
POST /_emulator/reset    moto reset plus emulator state (profile kept)
POST /_emulator/tls      {"names": [NAME, ...]}  answers {"fullchain": PEM, "privkey": PEM},
                         a certificate signed by the HTTPS front's CA (direct-mode tests
                         store it in SSM as an ACME issuance would)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from . import iam_sim, patches, quotas, scheduler
from .profiles import Profile
from .state import ANY_PROJECT, TARGET_MODES, EmulatorState


class ControlError(ValueError):
    """A control request the emulator cannot apply (answered with HTTP 400)."""


def snapshot(state: EmulatorState) -> dict[str, Any]:
    """The JSON body of ``GET /_emulator/state``."""
    with state.lock:
        services = []
        for ecs in scheduler.backends("ecs"):
            for svc in ecs.services.values():
                key = (ecs.account_id, ecs.region_name, svc.cluster_name, svc.name)
                error = state.service_errors.get(key)
                services.append(
                    {
                        "account": ecs.account_id,
                        "region": ecs.region_name,
                        "cluster": svc.cluster_name,
                        "service": svc.name,
                        "status": svc.status,
                        "desired": svc.desired_count,
                        "running": svc.running_count,
                        "pending": svc.pending_count,
                        "error": error[1] if error else None,
                    }
                )
        load_balancers = [
            {"name": lb.name, "arn": lb.arn, "type": lb.type, "state": lb.state}
            for elbv2 in scheduler.backends("elbv2")
            for lb in elbv2.load_balancers.values()
        ]
        return {
            "profile": state.profile.name,
            "time_scale": state.profile.time_scale,
            "target_health_mode": state.target_mode,
            "services": services,
            "load_balancers": load_balancers,
            "faults": state.faults.snapshot(),
            "participants": dict(state.participants),
            "https_front": dict(state.https_front, web_status=str(state.web_status)),
        }


def _set_profile(state: EmulatorState, body: dict[str, Any]) -> None:
    try:
        profile = Profile(
            name=body.get("profile", state.profile.name),
            time_scale=float(body.get("time_scale", state.profile.time_scale)),
        )
    except (TypeError, ValueError) as exc:
        raise ControlError(str(exc)) from exc
    state.profile = profile


def _set_targets(state: EmulatorState, body: dict[str, Any]) -> None:
    mode = body.get("mode")
    if mode not in TARGET_MODES:
        raise ControlError(f"mode must be one of {TARGET_MODES}, got {mode!r}")
    state.target_mode = mode


def _set_faults(state: EmulatorState, body: dict[str, Any]) -> None:
    if not {"throttle", "permanent", "clear"} & body.keys():
        raise ControlError("expected 'throttle', 'permanent' or 'clear'")
    try:
        state.faults.arm(body)
    except (KeyError, TypeError, ValueError) as exc:
        raise ControlError(f"bad fault spec: {exc!r}") from exc


def _set_participants(state: EmulatorState, body: dict[str, Any]) -> None:
    if "count" not in body:
        raise ControlError("expected 'count' (a number of people, or null: no datapoints)")
    count = body["count"]
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 0):
        raise ControlError(f"count must be a whole number >= 0 or null, got {count!r}")
    project = body.get("project", ANY_PROJECT)
    if not isinstance(project, str) or not project:
        raise ControlError(f"project must be a project name, got {project!r}")
    if project == ANY_PROJECT:
        state.participants.clear()  # one count for everyone from now on
    state.participants[project] = count


def _set_traffic(state: EmulatorState, body: dict[str, Any]) -> None:
    project = body.get("project")
    if not isinstance(project, str) or not project:
        raise ControlError(f"project must be a project name, got {project!r}")
    if "sent" not in body and "received" not in body:
        state.traffic.pop(project, None)
        return
    amounts = (body.get("sent", 0), body.get("received", 0))
    if not all(isinstance(a, int | float) and not isinstance(a, bool) and a >= 0 for a in amounts):
        raise ControlError(f"sent and received must be byte counts >= 0, got {amounts!r}")
    state.traffic[project] = (float(amounts[0]), float(amounts[1]))


def _set_web(state: EmulatorState, body: dict[str, Any]) -> None:
    status = body.get("status")
    if not isinstance(status, int) or not 200 <= status <= 599:
        raise ControlError(f"status must be an HTTP status code, got {status!r}")
    state.web_status = status


def _issue_tls(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    names = body.get("names")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ControlError("names must be a non-empty list of DNS names")
    if state.tls_issuer is None:
        raise ControlError("the HTTPS front is not running")
    chain, key = state.tls_issuer(tuple(names))
    return {"fullchain": chain, "privkey": key}


def _reset(state: EmulatorState, body: dict[str, Any]) -> None:
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()
    patches.pin_task_states()
    state.reset()


_ROUTES: dict[str, Callable[[EmulatorState, dict[str, Any]], dict[str, Any] | None]] = {
    "/_emulator/profile": _set_profile,
    "/_emulator/targets": _set_targets,
    "/_emulator/faults": _set_faults,
    "/_emulator/participants": _set_participants,
    "/_emulator/traffic": _set_traffic,
    "/_emulator/web": _set_web,
    "/_emulator/reset": _reset,
    "/_emulator/tls": _issue_tls,
    "/_emulator/iam": iam_sim.set_denied,
    "/_emulator/quotas": quotas.set_quota,
}


def handle(state: EmulatorState, method: str, path: str, raw: bytes) -> tuple[int, dict[str, Any]]:
    """Answer one control request: (HTTP status, JSON body)."""
    path = path.rstrip("/")
    if path == "/_emulator/state" and method == "GET":
        return 200, snapshot(state)
    action = _ROUTES.get(path)
    if action is None or method != "POST":
        return 404, {"error": f"no such control endpoint: {method} {path}"}
    try:
        body = json.loads(raw or b"{}")
        if not isinstance(body, dict):
            raise ControlError("the body must be a JSON object")
        with state.lock:
            answer = action(state, body)
    except (ControlError, ValueError) as exc:  # JSONDecodeError is a ValueError
        return 400, {"error": str(exc)}
    return 200, answer if isinstance(answer, dict) else snapshot(state)
