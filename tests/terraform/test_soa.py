"""Terraform lowers the hosted zone's SOA TTL and minimum (negative caching, RFC 2308),
applied for real against moto: only that record and what it reads are targeted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.terraform.conftest import Terraform, copy_tree, moto_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

APPLY = ("-input=false", "-no-color", "-auto-approve", "-lock=false")


def _soa(route53: object, zone_id: str) -> tuple[int, list[str]]:
    records = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]  # type: ignore[attr-defined]
    (soa,) = [r for r in records if r["Type"] == "SOA"]
    return int(soa["TTL"]), soa["ResourceRecords"][0]["Value"].split()


def test_apply_lowers_the_soa_ttl_and_minimum(tmp_path: Path, tf_env: dict[str, str]) -> None:
    terraform = Terraform(env=tf_env, tree=copy_tree(tmp_path / "terraform"))
    workdir = terraform.dir("examples/emulator")
    with moto_server() as moto:
        route53 = moto.client("route53")
        zone = route53.create_hosted_zone(Name="soa.example.com", CallerReference="soa-test")
        zone_id = zone["HostedZone"]["Id"].rsplit("/", 1)[-1]
        terraform.run(
            workdir,
            "apply",
            *APPLY,
            f"-var=aws_endpoint_url={moto.url}",
            "-var=project_name=jitsi-soa",
            "-var=domain=meet.soa.example.com",
            f"-var=hosted_zone_id={zone_id}",
            "-target=module.platform.aws_route53_record.soa",
            timeout=300,
        )
        ttl, fields = _soa(route53, zone_id)
        assert ttl == 60
        mname, rname, serial, refresh, retry, expire, minimum = fields
        assert int(minimum) == 60  # negative answers cached min(60, 60) s
        assert mname.startswith("ns-") and mname.endswith(".")
        assert (rname, serial, refresh, retry, expire) == (
            "awsdns-hostmaster.amazon.com.",
            "1",
            "7200",
            "900",
            "1209600",
        )
