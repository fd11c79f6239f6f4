"""The ``Dns`` contract (``bot.ports``), run on the fake and on ``Route53Dns`` over the
emulator: the meeting domain follows upserts and deletes; no zone, no calls."""

from __future__ import annotations

from collections.abc import Callable

from bot.model import AddressTarget, AliasTarget
from tests.contract.conftest import World

# Any NLB's name and its zone will do: Route 53 does not check that the alias resolves.
FIRST = AliasTarget("Z26RNL4JYFTOTI", "first-nlb-0123456789.elb.us-east-1.amazonaws.com")
SECOND = AliasTarget("Z26RNL4JYFTOTI", "second-nlb-9876543210.elb.us-east-1.amazonaws.com")


def test_upsert_points_the_domain_at_the_target(make_world: Callable[..., World]) -> None:
    world = make_world(dns_zone=True, base=False)
    dns = world.parts.dns
    assert dns.enabled
    assert world.dns_record() is None
    dns.upsert(FIRST)
    assert world.dns_record() == FIRST
    dns.upsert(FIRST)  # again: no error, no change
    assert world.dns_record() == FIRST
    dns.upsert(SECOND)  # a new NLB replaces the old one
    assert world.dns_record() == SECOND


def test_a_change_is_eventually_in_sync(make_world: Callable[..., World]) -> None:
    world = make_world(dns_zone=True, base=False)
    dns = world.parts.dns
    dns.upsert(FIRST)
    world.eventually(dns.in_sync, "the change in sync on every name server")
    assert dns.in_sync()  # and it stays so


def test_delete_removes_the_record_and_is_idempotent(make_world: Callable[..., World]) -> None:
    world = make_world(dns_zone=True, base=False)
    dns = world.parts.dns
    dns.delete()  # nothing there: no error
    dns.upsert(FIRST)
    dns.delete()
    assert world.dns_record() is None
    dns.delete()
    assert world.dns_record() is None


def test_without_a_zone_nothing_is_called(make_world: Callable[..., World]) -> None:
    world = make_world(dns_zone=False, base=False)
    dns = world.parts.dns
    assert not dns.enabled
    before = world.parts.meter.calls()
    dns.upsert(FIRST)
    dns.delete()
    assert dns.in_sync()  # nothing to wait for
    after = world.parts.meter.calls()
    assert {k: n for k, n in after.items() if n != before.get(k, 0)} == {}


def test_current_target_reads_back_aliases_and_addresses(make_world: Callable[..., World]) -> None:
    world = make_world(dns_zone=True, base=False)
    dns = world.parts.dns
    assert dns.current_target() is None
    dns.upsert(FIRST)
    assert dns.current_target() == FIRST
    # Direct mode: plain A records with a low TTL replace the alias (and back).
    direct = AddressTarget(("198.51.100.7",), 30)
    dns.upsert(direct)
    assert dns.current_target() == direct
    dns.upsert(FIRST)
    assert dns.current_target() == FIRST
    dns.delete()
    assert dns.current_target() is None
