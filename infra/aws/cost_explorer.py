"""AWS's own figures for a month: Cost Explorer's ``GetCostAndUsage`` filtered by the
project's tag and grouped by service, cached in Redis for a day (each request is
billed $0.01, and Cost Explorer refreshes about daily anyway).

The tag must be activated as a cost-allocation tag (Billing console, or
``aws ce update-cost-allocation-tags-status``) before Cost Explorer can filter by it;
``doctor`` says so (``cost_tag_finding``).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import redis
from botocore.exceptions import BotoCoreError, ClientError

from bot.actual import ActualSpend
from bot.config import Settings
from bot.errors import BotError
from bot.model import Finding
from bot.ports import Clock
from infra.aws.errors import failure_code
from infra.aws.session import AwsClients
from infra.aws.tags import PROJECT
from infra.keys import Keys

CACHE_SECONDS = 86_400
METRIC = "UnblendedCost"
ACTIVATE = (
    f"Activate the tag {PROJECT} as a cost-allocation tag: Billing console > Cost allocation "
    f"tags, or `aws ce update-cost-allocation-tags-status --cost-allocation-tags-status "
    f"TagKey={PROJECT},Status=Active`. Cost Explorer counts it from then on, never before."
)


def period(month: str, today: date) -> tuple[str, str]:
    """Cost Explorer's [start, end) for ``month``; this month ends tomorrow (End is
    exclusive and may not be in the future beyond it)."""
    year, mon = (int(x) for x in month.split("-"))
    start = date(year, mon, 1)
    end = date(year + mon // 12, mon % 12 + 1, 1)
    if start <= today < end:
        end = date.fromordinal(today.toordinal() + 1)
    return start.isoformat(), end.isoformat()


class CostExplorerSpend:
    def __init__(
        self,
        settings: Settings,
        clients: AwsClients,
        client: redis.Redis,
        keys: Keys,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.clients = clients
        self.r = client
        self.keys = keys
        self.clock = clock

    @property
    def tag(self) -> str:
        return f"{PROJECT}={self.settings.project_name}"

    def actual(self, month: str) -> ActualSpend:
        key = self.keys.cost_actual(month)
        cached = self.r.get(key)
        if cached:
            return _from_json(json.loads(cached))
        now = self.clock.now()
        answer = self._ask(month, datetime.fromtimestamp(now, UTC).date())
        spend = _spend(month, answer, now, self.tag)
        self.r.set(key, json.dumps(_to_json(spend)), ex=CACHE_SECONDS)
        return spend

    def _ask(self, month: str, today: date) -> dict[str, Any]:
        start, end = period(month, today)
        if start > today.isoformat():
            raise BotError(f"{month} has not begun: AWS has no figures for it yet.")
        try:
            return dict(
                self.clients.client("ce").get_cost_and_usage(
                    TimePeriod={"Start": start, "End": end},
                    Granularity="MONTHLY",
                    Metrics=[METRIC],
                    Filter={
                        "Tags": {
                            "Key": PROJECT,
                            "Values": [self.settings.project_name],
                            "MatchOptions": ["EQUALS"],
                        }
                    },
                    GroupBy=[{"Type": "DIMENSION", "Key": "SERVICE"}],
                )
            )
        except (ClientError, BotoCoreError) as exc:
            code = failure_code(exc)
            raise BotError(
                f"Cost Explorer did not answer ({code}).",
                "Enable Cost Explorer in the Billing console (it takes up to a day), and "
                f"allow ce:GetCostAndUsage to the bot. {ACTIVATE}",
            ) from exc


def _spend(month: str, answer: dict[str, Any], now: float, tag: str) -> ActualSpend:
    totals: dict[str, float] = {}
    estimated = False
    for result in answer.get("ResultsByTime", []):
        estimated = estimated or bool(result.get("Estimated"))
        for group in result.get("Groups", []):
            service = str((group.get("Keys") or ["?"])[0])
            amount = float(group.get("Metrics", {}).get(METRIC, {}).get("Amount", 0.0))
            totals[service] = totals.get(service, 0.0) + amount
    rows = tuple(sorted(((s, a) for s, a in totals.items() if a), key=lambda r: -r[1]))
    return ActualSpend(month, rows, estimated, now, tag)


def _to_json(spend: ActualSpend) -> dict[str, Any]:
    return {
        "month": spend.month,
        "by_service": [list(row) for row in spend.by_service],
        "estimated": spend.estimated,
        "fetched_at": spend.fetched_at,
        "tag": spend.tag,
    }


def _from_json(raw: dict[str, Any]) -> ActualSpend:
    return ActualSpend(
        str(raw["month"]),
        tuple((str(s), float(a)) for s, a in raw["by_service"]),
        bool(raw["estimated"]),
        float(raw["fetched_at"]),
        str(raw["tag"]),
    )


def cost_tag_finding(settings: Settings, clients: AwsClients) -> Finding:
    """Non-blocking: `cost actual` needs the project's tag active for cost allocation.
    Asked of Cost Explorer's tag list; when it cannot answer (not enabled, denied, the
    emulator), the finding says how to activate it anyway."""
    check = "cost-allocation tag"
    try:
        answer = clients.client("ce").list_cost_allocation_tags(TagKeys=[PROJECT])
    except (ClientError, BotoCoreError) as exc:
        code = failure_code(exc)
        return Finding(
            check, False, f"could not read the cost-allocation tags ({code}).", ACTIVATE, False
        )
    status = {
        str(t.get("TagKey")): str(t.get("Status")) for t in answer.get("CostAllocationTags", [])
    }
    if status.get(PROJECT) == "Active":
        return Finding(check, True, f"{PROJECT} is active: `cost actual` can filter by it.")
    found = status.get(PROJECT, "not seen by Cost Explorer yet")
    return Finding(check, False, f"{PROJECT} is {found}.", ACTIVATE, False)
