"""``jitsi-bot doctor`` against the emulator: each missing prerequisite is reported with
its fix and exit 1; with everything there (after ``infra bootstrap``, a certificate and
a zone) it exits 0. Bad flags exit 2."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from bot.config import Settings
from infra.aws.bootstrap import bootstrap
from infra.aws.session import AwsClients
from infra.keys import Keys
from infra.pricing import PRICES_DIR
from tests.e2e.conftest import Platform, platform_env
from tests.support.certificates import import_certificate
from tests.support.services import control

pytestmark = pytest.mark.e2e


@dataclass
class Account:
    """One project's view of the emulated account, its domain unique to the test."""

    platform: Platform
    domain: str
    env: dict[str, str]

    @property
    def clients(self) -> AwsClients:
        return self.platform.clients

    def doctor(self, *flags: str, **extra: str) -> tuple[int, dict[str, Any]]:
        result = self.platform.cli("doctor", "--json", *flags, extra_env={**self.env, **extra})
        assert result.code in (0, 1), result.stdout + result.stderr
        assert "Traceback" not in result.stderr, result.stderr
        return result.code, json.loads(result.stdout)

    def bootstrap(self) -> None:
        bootstrap(self.platform.settings, self.clients)

    def certificate(self, names: list[str] | None = None, days: int = 90) -> str:
        return import_certificate(self.clients.client("acm"), names or [self.domain], days=days)

    def zone(self) -> str:
        parent = self.domain.partition(".")[2]
        made = self.clients.route53.create_hosted_zone(Name=parent, CallerReference=self.domain)
        return str(made["HostedZone"]["Id"]).rsplit("/", 1)[-1]

    def everything(self) -> None:
        """Every prerequisite there, and configured."""
        self.bootstrap()
        self.env["JITSI_ACM_CERTIFICATE_ARN"] = self.certificate()
        self.env["JITSI_HOSTED_ZONE_ID"] = self.zone()


def by_check(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["check"]: f for f in report["findings"]}


@pytest.fixture
def account(project: str, redis_url: str, emulator_url: str, tmp_path: Path) -> Iterator[Account]:
    domain = f"meet.{project}.example"
    env = {**platform_env(project, redis_url, emulator_url), "JITSI_DOMAIN": domain}
    settings = Settings(
        project_name=project, redis_url=redis_url, aws_endpoint_url=emulator_url, domain=domain
    )
    yield Account(Platform(env, settings, emulator_url, tmp_path), domain, {})
    # The emulator is shared by the session: leave no denial or quota behind.
    control(emulator_url, "iam", {"clear": True})
    control(emulator_url, "quotas", {"clear": True})
    control(emulator_url, "faults", {"clear": True})


def test_everything_there_exits_0(account: Account) -> None:
    account.everything()
    code, report = account.doctor()
    assert code == 0 and report["ok"] is True, report
    checks = by_check(report)
    # moto has no cost-allocation tag API: that one stays a non-blocking warning.
    tag = checks.pop("cost-allocation tag")
    assert not tag["blocking"] and "update-cost-allocation-tags-status" in tag["fix"]
    # Where the prices come from never blocks; a snapshot over 90 days old warns.
    prices = checks.pop("prices")
    assert not prices["blocking"] and "bundled snapshot us-east-1.json of" in prices["detail"]
    assert all(f["ok"] for f in checks.values()), report
    assert set(checks) >= {
        "credentials",
        "certificate",
        "hosted zone",
        "base infrastructure",
        "task definition",
        "permissions",
        "NLB quota",
        "Fargate vCPU quota",
    }
    assert "123456789012" in checks["credentials"]["detail"]
    text = account.platform.cli("doctor", extra_env=account.env)
    assert text.code == 0 and "A start can succeed." in text.stdout


def test_an_empty_account_lists_each_missing_prerequisite_with_its_fix(account: Account) -> None:
    code, report = account.doctor()
    assert code == 1 and report["ok"] is False
    checks = by_check(report)
    assert checks["credentials"]["ok"] and not checks["prices"]["blocking"]
    cert, zone, base = checks["certificate"], checks["hosted zone"], checks["base infrastructure"]
    for finding in (cert, zone, base):
        assert not finding["ok"] and finding["blocking"] and finding["fix"], finding
    assert account.domain in cert["detail"] and "aws acm request-certificate" in cert["fix"]
    assert "create-hosted-zone" in zone["fix"]
    assert "ECS cluster" in base["detail"] and "jitsi-bot infra bootstrap" in base["fix"]
    text = account.platform.cli("doctor", extra_env=account.env)
    assert text.code == 1 and "A start would fail" in text.stdout and "fix:" in text.stdout


def test_no_certificate_is_a_blocking_miss(account: Account) -> None:
    account.everything()
    other = account.certificate([f"other.{account.domain.partition('.')[2]}"])
    # Requested and not validated yet (moto's import refuses an expired certificate:
    # expiry is tested on the preflight with a clock in tests/aws).
    pending = account.clients.client("acm").request_certificate(
        DomainName=account.domain, ValidationMethod="DNS"
    )["CertificateArn"]
    for arn, why in ((other, "not " + account.domain), (pending, "PENDING_VALIDATION")):
        code, report = account.doctor(JITSI_ACM_CERTIFICATE_ARN=arn)
        cert = by_check(report)["certificate"]
        assert code == 1 and not cert["ok"] and why in cert["detail"], cert
        assert "acm_certificate_arn" in cert["fix"]
    missing = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
    code, report = account.doctor(JITSI_ACM_CERTIFICATE_ARN=missing)
    assert code == 1 and "does not exist" in by_check(report)["certificate"]["detail"]


def test_a_wildcard_certificate_found_by_domain_is_enough(account: Account) -> None:
    account.everything()
    del account.env["JITSI_ACM_CERTIFICATE_ARN"]
    arn = account.certificate(["*." + account.domain.partition(".")[2]], days=400)
    code, report = account.doctor()
    cert = by_check(report)["certificate"]
    assert code == 0 and cert["ok"] and arn in cert["detail"], cert


def test_no_hosted_zone_is_a_blocking_miss(account: Account) -> None:
    account.everything()
    code, report = account.doctor(JITSI_HOSTED_ZONE_ID="Z0000000000000NOPE")
    zone = by_check(report)["hosted zone"]
    assert code == 1 and not zone["ok"] and "does not exist" in zone["detail"]
    # A zone that exists but is not configured: the fix names it.
    zone_id = account.env.pop("JITSI_HOSTED_ZONE_ID")
    code, report = account.doctor()
    zone = by_check(report)["hosted zone"]
    assert code == 1 and zone["fix"] == f"Set hosted_zone_id to {zone_id}."


def test_a_denied_action_is_reported_with_the_action_to_allow(account: Account) -> None:
    account.everything()
    control(account.platform.emulator, "iam", {"deny": ["ecs:UpdateService", "route53:*"]})
    code, report = account.doctor()
    perms = by_check(report)["permissions"]
    assert code == 1 and not perms["ok"] and perms["blocking"]
    assert "ecs:UpdateService" in perms["detail"]
    assert "route53:ChangeResourceRecordSets" in perms["fix"]
    assert "elasticloadbalancing:CreateLoadBalancer" not in perms["detail"]


def test_simulation_itself_denied_is_said_and_does_not_block(account: Account) -> None:
    account.everything()
    control(
        account.platform.emulator,
        "faults",
        {"permanent": {"operation": "SimulatePrincipalPolicy", "code": "AccessDenied"}},
    )
    code, report = account.doctor()
    perms = by_check(report)["permissions"]
    assert code == 0 and not perms["ok"] and not perms["blocking"]
    assert "iam:SimulatePrincipalPolicy" in perms["detail"]


def test_no_base_infrastructure_and_a_stale_task_definition(account: Account) -> None:
    account.env["JITSI_ACM_CERTIFICATE_ARN"] = account.certificate()
    account.env["JITSI_HOSTED_ZONE_ID"] = account.zone()
    code, report = account.doctor()
    checks = by_check(report)
    assert code == 1 and not checks["base infrastructure"]["ok"]
    assert "jitsi-bot infra bootstrap" in checks["task definition"]["fix"]

    account.bootstrap()
    s, ecs = account.platform.settings, account.clients.ecs
    current = ecs.describe_services(cluster=s.cluster_name, services=[s.service_name])
    td = ecs.describe_task_definition(taskDefinition=current["services"][0]["taskDefinition"])
    spec = {
        k: td["taskDefinition"][k]
        for k in ("family", "networkMode", "requiresCompatibilities", "cpu", "memory")
    }
    containers = td["taskDefinition"]["containerDefinitions"]
    containers[0] = {**containers[0], "image": "example.org/someone-else:latest"}
    stale = ecs.register_task_definition(**spec, containerDefinitions=containers)
    arn = stale["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster=s.cluster_name, service=s.service_name, taskDefinition=arn)
    code, report = account.doctor()
    task = by_check(report)["task definition"]
    assert code == 1 and "example.org/someone-else:latest" in task["detail"], task

    account.bootstrap()  # registers the project's definition and points the service at it
    code, report = account.doctor()
    assert code == 0, report


def test_a_fargate_quota_below_the_task_blocks(account: Account) -> None:
    account.everything()
    control(
        account.platform.emulator,
        "quotas",
        {"service": "fargate", "code": "L-3032A538", "value": 2},
    )
    code, report = account.doctor()
    quota = by_check(report)["Fargate vCPU quota"]
    assert code == 1 and not quota["ok"] and "L-3032A538" in quota["fix"]


def test_missing_prices_warn_without_blocking(account: Account) -> None:
    account.everything()
    code, report = account.doctor(JITSI_PRICE_REGION="ap-south-2")
    prices = by_check(report)["prices"]
    assert code == 0 and not prices["ok"] and not prices["blocking"]
    assert "ap-south-2" in prices["detail"]


def test_prices_say_where_they_come_from(account: Account, redis_url: str, project: str) -> None:
    """The worker's Price List API prices cached in Redis, with their date; a region
    with neither those nor a snapshot is unknown; neither blocks."""
    account.everything()
    doc = json.loads((PRICES_DIR / "eu-central-1.json").read_text(encoding="utf-8"))
    today = dt.datetime.now(dt.UTC).date().isoformat()
    doc.update(fetched=today, source=f"AWS Price List API, fetched {today}")
    client = redis.Redis.from_url(redis_url)
    client.set(Keys(project).prices("eu-central-1"), json.dumps(doc))
    client.close()
    code, report = account.doctor(JITSI_PRICE_REGION="eu-central-1")
    prices = by_check(report)["prices"]
    assert code == 0 and prices["ok"], prices
    assert prices["detail"] == (
        f"eu-central-1: AWS Price List API prices cached in Redis, fetched {today}."
    )
    code, report = account.doctor(JITSI_PRICE_REGION="sa-east-1")
    prices = by_check(report)["prices"]
    assert code == 0 and not prices["ok"] and not prices["blocking"]
    assert "no price table for region sa-east-1" in prices["detail"]
    unknown = {**account.env, "JITSI_PRICE_REGION": "sa-east-1"}
    text = account.platform.cli("doctor", extra_env=unknown)
    assert text.code == 0 and "warning" in text.stdout and "sa-east-1" in text.stdout


def test_unreachable_aws_is_a_credentials_miss(account: Account) -> None:
    code, report = account.doctor(JITSI_AWS_ENDPOINT_URL="http://127.0.0.1:9")
    creds = by_check(report)["credentials"]
    assert code == 1 and not creds["ok"] and "emulator" in creds["fix"]
    assert [f["check"] for f in report["findings"]] == ["credentials", "prices"]


@pytest.mark.parametrize("flags", [["--bogus"], ["extra"], ["--json=yes"]])
def test_bad_flags_exit_2(account: Account, flags: list[str]) -> None:
    result = account.platform.cli("doctor", *flags)
    assert result.code == 2 and "usage:" in result.stderr and "Traceback" not in result.stderr
