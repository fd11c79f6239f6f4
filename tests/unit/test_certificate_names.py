"""Which names a certificate covers, as browsers check it (RFC 6125 6.4.3)."""

from __future__ import annotations

import pytest

from infra.aws.certificate import Certificate, name_covers
from infra.jitsi_web import index_html, is_jitsi_page


@pytest.mark.parametrize(
    ("name", "host", "covered"),
    [
        ("meet.example.org", "meet.example.org", True),
        ("Meet.Example.org.", "meet.example.org", True),
        ("meet.example.org", "other.example.org", False),
        ("*.example.org", "meet.example.org", True),
        ("*.example.org", "example.org", False),  # a wildcard needs a label
        ("*.example.org", "a.meet.example.org", False),  # ...and only one
        ("example.org", "meet.example.org", False),
    ],
)
def test_name_covers(name: str, host: str, covered: bool) -> None:
    assert name_covers(name, host) is covered


def test_a_certificate_covers_any_of_its_names() -> None:
    cert = Certificate("arn", "example.org", ("example.org", "*.example.org"), "ISSUED")
    assert cert.covers("meet.example.org") and cert.covers("example.org")
    assert not cert.covers("meet.example.com")


def test_the_jitsi_page_is_recognised_and_nginx_pages_are_not() -> None:
    assert is_jitsi_page(index_html("meet.example.org"))
    nginx_502 = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    assert not is_jitsi_page(nginx_502)
    assert not is_jitsi_page("<html><title>Welcome to nginx!</title></html>")
