"""The start's preflight on AWS: a few read-only calls that tell whether a start can
succeed (the certificate, the hosted zone, the base infrastructure ``infra bootstrap``
makes). A missing prerequisite is a ``Finding`` with its fix; an identity that may not
read something gets a non-blocking finding (the start itself may still work)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from bot.config import Settings
from bot.model import Finding, IngressKind
from bot.preflight import covers, zone_serves
from infra.aws.direct_checks import stored_certificate
from infra.aws.errors import access_denied, cloud_errors, error_code, iam_action
from infra.aws.network import active_service
from infra.aws.session import AwsClients

BOOTSTRAP_FIX = "Run `jitsi-bot infra bootstrap` (or apply terraform/), then check again."


def certificate_fix(settings: Settings) -> str:
    return (
        f"Request a public certificate for {settings.domain} in {settings.aws_region} with DNS "
        f"validation (`aws acm request-certificate --domain-name {settings.domain} "
        f"--validation-method DNS --region {settings.aws_region}`), create the validation "
        "CNAME it asks for in the hosted zone, wait until it is ISSUED, then set "
        "acm_certificate_arn to its ARN."
    )


def zone_fix(settings: Settings) -> str:
    parent = settings.domain.partition(".")[2] or settings.domain
    return (
        f"Create a public hosted zone for {parent} (or {settings.domain}) in Route 53 "
        f"(`aws route53 create-hosted-zone --name {parent} --caller-reference $(date +%s)`), "
        "delegate the domain to its name servers at your registrar, then set hosted_zone_id."
    )


def _not_allowed(check: str, exc: ClientError) -> Finding:
    action = iam_action(exc.operation_name)
    return Finding(
        check,
        ok=False,
        detail=f"not checked: the bot's identity may not call {action}.",
        fix=f"Allow {action} in the bot's IAM policy to have it checked.",
        blocking=False,
    )


def find_certificate(
    settings: Settings, clients: AwsClients, now: float | None = None
) -> dict[str, Any] | None:
    """The ISSUED, unexpired ACM certificate in the region covering the domain that
    lasts longest (what an ingress with no ``acm_certificate_arn`` should use)."""
    acm = clients.client("acm")
    at = time.time() if now is None else now
    best: dict[str, Any] | None = None
    for page in acm.get_paginator("list_certificates").paginate(CertificateStatuses=["ISSUED"]):
        for summary in page.get("CertificateSummaryList", []):
            if not _may_cover(summary, settings.domain):
                continue
            cert = acm.describe_certificate(CertificateArn=summary["CertificateArn"])
            detail = cert["Certificate"]
            if _problem(detail, settings.domain, at) is None and (
                best is None or _until(detail) > _until(best)
            ):
                best = detail
    return best


def _until(cert: dict[str, Any]) -> float:
    not_after = cert.get("NotAfter")
    return not_after.timestamp() if isinstance(not_after, datetime) else 0.0


def _may_cover(summary: dict[str, Any], domain: str) -> bool:
    """Whether a listed certificate is worth describing: AWS's summary carries its first
    100 names (an emulator's may carry none: then it is described)."""
    if "SubjectAlternativeNameSummaries" not in summary:
        return True
    if summary.get("HasAdditionalSubjectAlternativeNames"):
        return True
    names = [summary.get("DomainName", ""), *summary["SubjectAlternativeNameSummaries"]]
    return any(covers(name, domain) for name in names if name)


def _names(cert: dict[str, Any]) -> list[str]:
    return [cert.get("DomainName", ""), *cert.get("SubjectAlternativeNames", [])]


def _problem(cert: dict[str, Any], domain: str, now: float) -> str | None:
    """Why this certificate cannot serve ``domain`` now, or None when it can."""
    status = cert.get("Status", "?")
    if status != "ISSUED":
        return f"its status is {status}, not ISSUED"
    if not any(covers(name, domain) for name in _names(cert)):
        return f"it covers {', '.join(n for n in _names(cert) if n)}, not {domain}"
    not_after = cert.get("NotAfter")
    if isinstance(not_after, datetime) and not_after.timestamp() <= now:
        return f"it expired on {not_after.date().isoformat()}"
    return None


class AwsPreflight:
    """``bot.ports.Preflight`` over boto3; ``now`` is injectable for expiry tests."""

    def __init__(
        self, settings: Settings, clients: AwsClients, now: Callable[[], float] = time.time
    ) -> None:
        self.settings = settings
        self.clients = clients
        self.now = now

    def check(self) -> list[Finding]:
        with cloud_errors(self.settings, "checking the start's prerequisites"):
            return [self.certificate(), self.hosted_zone(), self.base_infrastructure()]

    # -- the certificate ---------------------------------------------------------
    def certificate(self) -> Finding:
        s = self.settings
        try:
            if s.ingress is IngressKind.DIRECT:
                # No load balancer to hold an ACM certificate: web presents the stored one.
                return stored_certificate(s, self.clients, self.now())
            if s.acm_certificate_arn:
                return self._configured_certificate(s.acm_certificate_arn)
            found = find_certificate(s, self.clients, self.now())
        except ClientError as exc:
            if access_denied(exc):
                return _not_allowed("certificate", exc)
            raise
        if found is None:
            return Finding(
                "certificate",
                ok=False,
                detail=f"no ISSUED ACM certificate in {s.aws_region} covers {s.domain}.",
                fix=certificate_fix(s),
            )
        return Finding(
            "certificate",
            ok=True,
            detail=f"{found['CertificateArn']} covers {s.domain} (found by domain; set "
            "acm_certificate_arn to pin it).",
        )

    def _configured_certificate(self, arn: str) -> Finding:
        s = self.settings
        region = arn.split(":")[3] if arn.count(":") >= 5 else ""
        if region and region != s.aws_region:
            return Finding(
                "certificate",
                ok=False,
                detail=f"acm_certificate_arn is in {region}; the NLB in {s.aws_region} "
                "can only use a certificate of its own region.",
                fix=certificate_fix(s),
            )
        try:
            cert = self.clients.client("acm").describe_certificate(CertificateArn=arn)
        except ClientError as exc:
            if error_code(exc) not in ("ResourceNotFoundException", "ValidationException"):
                raise
            return Finding(
                "certificate",
                ok=False,
                detail=f"acm_certificate_arn {arn} does not exist in {s.aws_region}.",
                fix=certificate_fix(s),
            )
        problem = _problem(cert["Certificate"], s.domain, self.now())
        if problem is not None:
            return Finding(
                "certificate",
                ok=False,
                detail=f"{arn} cannot serve {s.domain}: {problem}.",
                fix=certificate_fix(s),
            )
        until = cert["Certificate"].get("NotAfter")
        valid = f", valid until {until.date().isoformat()}" if isinstance(until, datetime) else ""
        return Finding("certificate", ok=True, detail=f"{arn} covers {s.domain}{valid}.")

    # -- the hosted zone ---------------------------------------------------------
    def hosted_zone(self) -> Finding:
        s = self.settings
        route53 = self.clients.route53
        try:
            if s.hosted_zone_id:
                return self._configured_zone(s.hosted_zone_id)
            pages = route53.get_paginator("list_hosted_zones").paginate()
            zones = [z for page in pages for z in page.get("HostedZones", [])]
        except ClientError as exc:
            if access_denied(exc):
                return _not_allowed("hosted zone", exc)
            raise
        # The longest public zone that can hold the domain's record: the one resolvers ask.
        serving = [
            z
            for z in zones
            if zone_serves(z["Name"], s.domain) and not z.get("Config", {}).get("PrivateZone")
        ]
        if not serving:
            return Finding(
                "hosted zone",
                ok=False,
                detail=f"no public Route 53 hosted zone holds {s.domain}.",
                fix=zone_fix(s),
            )
        zone = max(serving, key=lambda z: len(z["Name"]))
        zone_id = zone["Id"].rsplit("/", 1)[-1]
        return Finding(
            "hosted zone",
            ok=False,
            detail=f"{zone_id} ({zone['Name'].rstrip('.')}) holds {s.domain}, but "
            "hosted_zone_id is not set, so a start would not point the domain at the platform.",
            fix=f"Set hosted_zone_id to {zone_id}.",
        )

    def _configured_zone(self, zone_id: str) -> Finding:
        s = self.settings
        try:
            zone = self.clients.route53.get_hosted_zone(Id=zone_id)["HostedZone"]
        except ClientError as exc:
            if error_code(exc) not in ("NoSuchHostedZone", "InvalidInput"):
                raise
            return Finding(
                "hosted zone",
                ok=False,
                detail=f"hosted_zone_id {zone_id} does not exist.",
                fix=zone_fix(s),
            )
        name = zone["Name"].rstrip(".")
        if not zone_serves(name, s.domain):
            return Finding(
                "hosted zone",
                ok=False,
                detail=f"hosted zone {zone_id} is {name}, which cannot hold {s.domain}.",
                fix=zone_fix(s),
            )
        return Finding("hosted zone", ok=True, detail=f"{zone_id} ({name}) holds {s.domain}.")

    # -- the base infrastructure -----------------------------------------------------
    def base_infrastructure(self) -> Finding:
        try:
            missing, found = self._missing_base()
        except ClientError as exc:
            if access_denied(exc):
                return _not_allowed("base infrastructure", exc)
            raise
        if missing:
            return Finding(
                "base infrastructure",
                ok=False,
                detail=f"missing in {self.settings.aws_region}: {'; '.join(missing)}.",
                fix=BOOTSTRAP_FIX,
            )
        return Finding("base infrastructure", ok=True, detail=f"{', '.join(found)}.")

    def _missing_base(self) -> tuple[list[str], list[str]]:
        """(what is missing, what was found), in the order a start needs them."""
        s, ecs = self.settings, self.clients.ecs
        clusters = ecs.describe_clusters(clusters=[s.cluster_name]).get("clusters", [])
        if not any(c.get("status") == "ACTIVE" for c in clusters):
            return [f"ECS cluster {s.cluster_name}"], []
        service = active_service(s, self.clients)
        if service is None:
            return [f"ECS service {s.service_name} in cluster {s.cluster_name}"], []
        missing: list[str] = []
        found = [f"cluster {s.cluster_name}", f"service {s.service_name}"]
        td = str(service.get("taskDefinition", ""))
        try:
            status = ecs.describe_task_definition(taskDefinition=td)["taskDefinition"]["status"]
        except ClientError as exc:
            if error_code(exc) not in ("ClientException", "InvalidParameterException"):
                raise
            status = "missing"
        if status == "ACTIVE":
            found.append(f"task definition {td.rsplit('/', 1)[-1]}")
        else:
            missing.append(f"the service's task definition {td or '(none)'} ({status})")
        awsvpc = service.get("networkConfiguration", {}).get("awsvpcConfiguration", {})
        missing += self._missing_network(
            awsvpc.get("subnets", []), awsvpc.get("securityGroups", [])
        )
        if not missing:
            found.append(f"{len(awsvpc.get('subnets', []))} subnets and their security group")
        try:
            self.clients.ssm.get_parameter(Name=s.advertise_ips_parameter)
            found.append(f"parameter {s.advertise_ips_parameter}")
        except ClientError as exc:
            if error_code(exc) != "ParameterNotFound":
                raise
            missing.append(f"SSM parameter {s.advertise_ips_parameter}")
        return missing, found

    def _missing_network(self, subnet_ids: list[str], group_ids: list[str]) -> list[str]:
        ec2 = self.clients.ec2
        if not subnet_ids:
            return ["the service's subnets (it has none)"]
        if not group_ids:
            return ["the service's security groups (it has none)"]
        subnets = ec2.describe_subnets(Filters=[{"Name": "subnet-id", "Values": subnet_ids}]).get(
            "Subnets", []
        )
        groups = ec2.describe_security_groups(
            Filters=[{"Name": "group-id", "Values": group_ids}]
        ).get("SecurityGroups", [])
        missing = sorted(set(subnet_ids) - {x["SubnetId"] for x in subnets})
        missing += sorted(set(group_ids) - {x["GroupId"] for x in groups})
        return [f"{x} (used by the service)" for x in missing]
