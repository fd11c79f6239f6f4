"""The pure judgement of a start's prerequisites: blocking findings, the refusal, coverage."""

from __future__ import annotations

import pytest

from bot.errors import PrerequisiteMissing
from bot.model import Finding
from bot.preflight import blocking, covers, refusal, require, zone_serves


@pytest.mark.parametrize(
    ("name", "domain", "expected"),
    [
        ("meet.example.com", "meet.example.com", True),
        ("MEET.example.com.", "meet.example.com", True),
        ("*.example.com", "meet.example.com", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "a.meet.example.com", False),
        ("*.meet.example.com", "meet.example.com", False),
        ("other.example.com", "meet.example.com", False),
        ("example.com", "meet.example.com", False),
    ],
)
def test_certificate_name_coverage_follows_the_wildcard_rule(
    name: str, domain: str, expected: bool
) -> None:
    assert covers(name, domain) is expected


@pytest.mark.parametrize(
    ("zone", "domain", "expected"),
    [
        ("example.com.", "meet.example.com", True),
        ("meet.example.com", "meet.example.com", True),
        ("ample.com", "meet.example.com", False),
        ("other.com", "meet.example.com", False),
    ],
)
def test_a_zone_serves_its_own_names_only(zone: str, domain: str, expected: bool) -> None:
    assert zone_serves(zone, domain) is expected


def test_only_blocking_misses_refuse_a_start() -> None:
    ok = Finding("certificate", True, "arn covers meet.example.com")
    advisory = Finding("quota", False, "not checked", "allow it", blocking=False)
    assert blocking([ok, advisory]) == []
    assert refusal([ok, advisory]) is None
    require([ok, advisory])


def test_the_refusal_names_each_missing_prerequisite_and_its_fix() -> None:
    zone = Finding("hosted zone", False, "no zone holds meet.example.com.", "Create one.")
    cert = Finding("certificate", False, "none issued.", "Request one.")
    error = refusal([zone, cert])
    assert isinstance(error, PrerequisiteMissing)
    text = error.user_message()
    assert "missing hosted zone, certificate" in text
    assert "Fix: Create one." in text and "Fix: Request one." in text
    assert "jitsi-bot doctor" in text
    with pytest.raises(PrerequisiteMissing):
        require([cert])
