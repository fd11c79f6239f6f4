"""The lower bounds of a start's time to URL under the emulator's field profile, per
ingress (``Delays.nlb_bound``, ``Delays.direct_bound``). The times themselves are
measured side by side by bench/lifecycle.py, not asserted here (docs/benchmarks.md).

Direct mode: the domain's record is written the moment the task's public IP exists
(its interface is made with the task, before PROVISIONING ends) and must be INSYNC;
the containers must be healthy:

    bound = max(dns_insync, task_running + container_healthy) = max(60, 40 + 20) = 60 s
"""

from __future__ import annotations

from infra.emulator.profiles import Profile


def test_the_field_profiles_direct_bound_is_60_s_nominal() -> None:
    assert Profile("field").delays.direct_bound() == 60.0


def test_the_field_profiles_nlb_bound_is_the_nlb_and_its_health_checks() -> None:
    # max(NLB active 120, zones' interfaces 10 + task 40) + target health 30; DNS
    # (10 + 10 + 60) and the containers (10 + 40 + 20) finish inside it.
    assert Profile("field").delays.nlb_bound() == 150.0


def test_bounds_scale_with_the_profile() -> None:
    fast = Profile("field", 0.25).delays
    assert fast.direct_bound() == 15.0 and fast.nlb_bound() == 37.5
