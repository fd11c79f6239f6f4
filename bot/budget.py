"""The monthly budget's say on a new session: pure arithmetic over the ledger's totals."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Settings
from bot.cost import CostModel, money


@dataclass(frozen=True, slots=True)
class BudgetCheck:
    allowed: bool
    text: str = ""


def check_start(
    settings: Settings, costs: CostModel, month_cost: float, user: str, force: bool
) -> BudgetCheck:
    """Refuse a start when this month's cost plus one hour would pass the budget,
    unless an admin forces it. The refusal carries the numbers."""
    budget = settings.budget.monthly
    if budget is None:
        return BudgetCheck(True)
    hour = costs.session_cost(3600.0)
    # With unknown prices the budget cannot judge a start: never block on it.
    if hour is None or month_cost + hour <= budget:
        return BudgetCheck(True)
    numbers = (
        f"This month's cost is {money(month_cost)}; one more hour ({money(hour)}) would pass "
        f"the monthly budget of {money(budget)}."
    )
    if force and user in settings.budget.admins:
        return BudgetCheck(True, f"{numbers} Started anyway: forced by an admin.")
    if force:
        return BudgetCheck(False, f"{numbers} Only a budget admin may force a start.")
    how = (
        "A budget admin can override with `start --force`."
        if settings.budget.admins
        else "Raise budget_monthly to start (no budget_admins are configured)."
    )
    return BudgetCheck(False, f"Start refused. {numbers} {how}")
