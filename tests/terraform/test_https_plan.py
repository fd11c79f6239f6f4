"""The default HTTPS path in Terraform: a certificate requested once and validated
through the hosted zone, TLS 443 and the HTTP redirect path on the NLB."""

from __future__ import annotations

from typing import Any

from tests.terraform.conftest import Moto, Terraform
from tests.terraform.test_idle_cost import EXAMPLE, PROJECT, planned


def test_default_path_requests_and_validates_the_certificate(
    terraform: Terraform, moto: Moto
) -> None:
    zone = str(
        moto.client("route53").create_hosted_zone(
            Name="example.test", CallerReference="tf-https-default"
        )["HostedZone"]["Id"]
    ).rsplit("/", 1)[-1]
    plan = terraform.plan_json(
        terraform.dir(EXAMPLE),
        {
            "aws_endpoint_url": moto.url,
            "project_name": PROJECT,
            "nlb_enabled": "true",
            "hosted_zone_id": zone,
        },
    )
    resources = planned(plan)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for rc in resources:
        by_type.setdefault(rc["type"], []).append(rc["change"]["after"])

    [cert] = by_type["aws_acm_certificate"]
    assert (cert["domain_name"], cert["validation_method"]) == ("meet.example.test", "DNS")
    assert len(by_type["aws_acm_certificate_validation"]) == 1
    # The alias, the validation record (its name and type come from ACM at apply) and
    # the zone's SOA (docs/dns.md).
    records = sorted((r.get("type") or "", r["zone_id"]) for r in by_type["aws_route53_record"])
    assert records == [("", zone), ("A", zone), ("SOA", zone)]

    listeners = {x["port"]: x for x in by_type["aws_lb_listener"]}
    assert set(listeners) == {80, 443, 10000}
    assert listeners[443]["protocol"] == "TLS"
    assert listeners[443]["ssl_policy"].startswith("ELBSecurityPolicy-TLS13")
    assert listeners[80]["protocol"] == "TCP" and listeners[80].get("certificate_arn") is None
    groups = {g["name"]: g for g in by_type["aws_lb_target_group"]}
    assert (groups[f"{PROJECT}-web443"]["protocol"], groups[f"{PROJECT}-web443"]["port"]) == (
        "TLS",
        443,
    )
    assert (groups[f"{PROJECT}-web80"]["protocol"], groups[f"{PROJECT}-web80"]["port"]) == (
        "TCP",
        80,
    )
