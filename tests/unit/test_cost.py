"""The cost model against the corrected figures of ARCHITECTURE.md section 5."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.cost import CostModel, PriceTable, money
from bot.model import BillableResource, ResourceKind
from infra.pricing import available_regions, find_prices, load_prices, unknown_reason


@pytest.fixture
def model() -> CostModel:
    return CostModel(Settings(), load_prices("us-east-1"))


def test_running_hour_includes_public_ipv4(model: CostModel) -> None:
    assert model.task_hour == pytest.approx(0.1975, abs=1e-4)  # 4 vCPU / 8 GB x86
    assert model.running_hour == pytest.approx(0.235, abs=1e-3)  # the seed's 0.2205 leaves out IPv4


def test_arm_is_cheaper() -> None:
    arm = CostModel(Settings(cpu_architecture="arm64"), load_prices("us-east-1"))
    assert arm.task_hour == pytest.approx(0.158, abs=1e-3)


def test_idle_month(model: CostModel) -> None:
    assert model.idle_month == pytest.approx(0.23, abs=1e-3)  # 10 GB of S3, no zone
    zoned = CostModel(Settings(hosted_zone_id="Z123"), load_prices("us-east-1"))
    assert zoned.idle_month == pytest.approx(0.73, abs=1e-3)


def test_partial_hours_bill_as_full_hours_for_the_nlb(model: CostModel) -> None:
    one_minute = model.session_cost(60)
    one_hour = model.session_cost(3600)
    assert one_minute == pytest.approx(model.task_hour / 60 + model.nlb_hour + 0.005, abs=1e-6)
    assert model.session_cost(3601) - one_hour == pytest.approx(model.nlb_hour + 0.005, abs=1e-3)
    assert model.session_cost(10) == model.session_cost(60)  # Fargate's one-minute minimum


def test_break_even_is_near_the_whole_month(model: CostModel) -> None:
    # Not the seed's 73 h: against an always-on platform of the same size the
    # on-demand one is cheaper almost all month (partial hours cost a little).
    hours = model.break_even_hours()
    assert 650 < hours < 730
    whole_hours = CostModel(Settings(average_session_hours=2), load_prices("us-east-1"))
    assert whole_hours.break_even_hours() == pytest.approx(730, abs=1)


def test_scenarios_table(model: CostModel) -> None:
    rows = model.scenarios(25)
    labels = [r[0] for r in rows]
    assert labels == ["Idle", "Light", "Yours", "Medium", "Heavy", "Every hour"]
    assert rows[0][2] == pytest.approx(model.idle_month)
    assert all(r[3] == pytest.approx(model.always_on_month) for r in rows)


def test_resource_hour(model: CostModel) -> None:
    lb = BillableResource(ResourceKind.LOAD_BALANCER, "lb", public_ipv4=2)
    assert model.resource_hour(lb) == pytest.approx(0.0325)
    assert model.resource_hour(BillableResource(ResourceKind.TARGET_GROUP, "tg")) == 0


def test_price_files_and_bad_tables() -> None:
    assert "us-east-1" in available_regions()
    with pytest.raises(Exception, match="No price table for region 'xx-nowhere-1'"):
        load_prices("xx-nowhere-1")
    good = {f: 1.0 for f in PriceTable.__dataclass_fields__} | {"region": "r"}
    with pytest.raises(ValueError, match="missing key 'nlb_hour'"):
        PriceTable.from_mapping({k: v for k, v in good.items() if k != "nlb_hour"})
    with pytest.raises(ValueError, match="non-negative"):
        PriceTable.from_mapping(good | {"nlb_hour": -1})


def test_money() -> None:
    assert money(0) == "$0.00"
    assert money(0.235) == "$0.235"
    assert money(0.005) == "$0.005"
    assert money(171.55) == "$171.55"


def test_a_region_with_no_price_table_has_unknown_costs_not_an_error() -> None:
    settings = Settings(aws_region="sa-east-1", hosted_zone_id="Z1")
    model = CostModel(settings, find_prices("sa-east-1"), unknown_reason("sa-east-1"))
    assert not model.known
    assert "sa-east-1" in model.unknown_reason and "us-east-1" in model.unknown_reason
    assert model.running_hour is None and model.idle_month is None
    assert model.session_cost(3600.0) is None and model.break_even_hours() is None
    assert all(od is None and ao is None for _, _, od, ao in model.scenarios(5.0))
    assert model.total_hour([]) == 0.0
    assert money(None) == "unknown"
    assert model.region == "sa-east-1"


def test_unknown_prices_never_refuse_a_start_on_the_budget() -> None:
    from bot.budget import check_start

    settings = Settings(aws_region="us-west-2", budget={"monthly": 1.0})
    model = CostModel(settings, None, "no price table for region us-west-2")
    assert check_start(settings, model, 1000.0, "console:alice", False).allowed
