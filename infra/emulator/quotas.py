"""Service quotas the bot depends on, for the emulator (moto 5.2 knows only VPC's).

Values are AWS's defaults; ``POST /_emulator/quotas`` changes one (a new account's
Fargate vCPU quota is often far below the default). Sources: the Service Quotas
console's codes as listed in gruntwork-io/terraform-aws-utilities docs/quotas.md and
the ELB user guide (awsdocs/elb-network-load-balancers-user-guide,
doc_source/load-balancer-limits.md: "Network Load Balancers per Region: 50"),
checked 2026-11.
"""

from __future__ import annotations

from typing import Any

from moto.servicequotas.models import ServiceQuotasBackend

from .state import EmulatorState

DEFAULTS: dict[tuple[str, str], tuple[str, str, float]] = {
    # (service code, quota code): (service name, quota name, default value)
    ("elasticloadbalancing", "L-69A177A2"): (
        "Elastic Load Balancing (ELB)",
        "Network Load Balancers per Region",
        50.0,
    ),
    ("fargate", "L-3032A538"): ("AWS Fargate", "Fargate On-Demand vCPU resource count", 4000.0),
}

_installed = False


def install(current: Any) -> None:
    """Answer ``GetServiceQuota`` for the table above (once per process); ``current``
    returns the emulator state holding the overrides."""
    global _installed
    if _installed:
        return
    _installed = True
    original = ServiceQuotasBackend.get_service_quota

    def get_service_quota(
        self: ServiceQuotasBackend, service_code: str, quota_code: str
    ) -> dict[str, Any]:
        known = DEFAULTS.get((service_code, quota_code))
        if known is None:
            return original(self, service_code, quota_code)
        state: EmulatorState = current()
        with state.lock:
            value = state.quota_values.get((service_code, quota_code), known[2])
        return {
            "ServiceCode": service_code,
            "ServiceName": known[0],
            "QuotaArn": f"arn:aws:servicequotas:{self.region_name}:{self.account_id}:"
            f"{service_code}/{quota_code}",
            "QuotaCode": quota_code,
            "QuotaName": known[1],
            "Value": value,
            "Unit": "None",
            "Adjustable": True,
            "GlobalQuota": False,
        }

    ServiceQuotasBackend.get_service_quota = get_service_quota  # type: ignore[method-assign]


def set_quota(state: EmulatorState, body: dict[str, Any]) -> None:
    """``POST /_emulator/quotas``: ``{"service": "fargate", "code": "L-3032A538",
    "value": 2}`` sets one quota; ``{"clear": true}`` restores the defaults."""
    if body.get("clear"):
        state.quota_values.clear()
    if "code" not in body:
        return
    key = (str(body.get("service")), str(body["code"]))
    if key not in DEFAULTS:
        raise ValueError(f"unknown quota {key}; known: {sorted(DEFAULTS)}")
    value = body.get("value")
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise ValueError("value must be a non-negative number")
    state.quota_values[key] = float(value)
