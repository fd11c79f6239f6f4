"""``jitsi-bot doctor`` on AWS: every prerequisite of a start, checked against the
account, each as a ``Finding`` with its fix. Read-only: it creates nothing.

Order: the identity first (without it nothing else can be asked), where today's
prices come from (no AWS call: the Price List API's cache in Redis, else the bundled
snapshot; infra/price_source.py), the start's own preflight (certificate, hosted zone, base
infrastructure), the registered task definition against the one the project would
register, the worker's IAM permissions, and the service quotas.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError

from bot.config import Settings
from bot.errors import CloudError
from bot.model import Finding, IngressKind
from bot.ports import Preflight
from infra.aws import direct_checks
from infra.aws.bootstrap import expected_containers
from infra.aws.cost_explorer import cost_tag_finding
from infra.aws.errors import access_denied, error_code, iam_action, translate
from infra.aws.network import active_service
from infra.aws.permissions import check_permissions
from infra.aws.preflight import BOOTSTRAP_FIX
from infra.aws.quotas import check_quotas
from infra.aws.session import AwsClients
from infra.price_source import price_source_finding
from infra.pricing import RegionPrices


def diagnose(
    settings: Settings,
    clients: AwsClients,
    preflight: Preflight,
    cached_prices: Callable[[], RegionPrices | None] = lambda: None,
) -> list[Finding]:
    """Every check, in order; an AWS failure inside a check becomes that check's finding.
    ``cached_prices``: the Price List API's prices the worker cached in Redis, if any."""
    identity, caller = _identity(settings, clients)
    findings = [identity, _prices(settings, cached_prices)]
    if caller is None:
        return findings  # no usable credentials: every other check would fail the same way
    findings += _guarded(settings, "preflight", preflight.check)
    findings += _guarded(settings, "task definition", lambda: [_task_definition(settings, clients)])
    if settings.ingress is IngressKind.DIRECT:
        findings += _guarded(
            settings, "direct network", lambda: direct_checks.network(settings, clients)
        )
        findings += _guarded(
            settings, "JVB address", lambda: [direct_checks.task_stun(settings, clients)]
        )
    findings += _guarded(settings, "permissions", lambda: [check_permissions(clients, caller)])
    findings += _guarded(settings, "quotas", lambda: check_quotas(settings, clients))
    findings.append(cost_tag_finding(settings, clients))  # never blocks a start
    return findings


def _guarded(settings: Settings, check: str, run: Callable[[], list[Finding]]) -> list[Finding]:
    try:
        return run()
    except CloudError as exc:
        return [Finding(check, False, str(exc), exc.hint)]
    except (ClientError, BotoCoreError) as exc:
        error = translate(exc, settings, f"checking the {check}")
        return [Finding(check, False, str(error), error.hint)]


def _identity(settings: Settings, clients: AwsClients) -> tuple[Finding, str | None]:
    where = f" ({settings.aws_endpoint_url})" if settings.aws_endpoint_url else ""
    try:
        who = clients.client("sts").get_caller_identity()
    except (ClientError, BotoCoreError) as exc:
        error = translate(exc, settings, "asking AWS who the bot is")
        return Finding("credentials", False, str(error), error.hint), None
    arn = str(who["Arn"])
    detail = f"{arn} in account {who['Account']}, region {settings.aws_region}{where}."
    return Finding("credentials", True, detail), arn


def _prices(settings: Settings, cached: Callable[[], RegionPrices | None]) -> Finding:
    return price_source_finding(
        settings.price_region,
        cached(),
        dt.datetime.now(dt.UTC).date(),
        api_off=settings.price_list_url == "off",
    )


def _task_definition(settings: Settings, clients: AwsClients) -> Finding:
    """The service's registered containers (names, images) against what bootstrap makes."""
    try:
        service = active_service(settings, clients)
    except ClientError as exc:
        if error_code(exc) != "ClusterNotFoundException":
            raise
        service = None
    if service is None:
        return Finding(
            "task definition",
            ok=False,
            detail="not checked: the ECS service does not exist.",
            fix=BOOTSTRAP_FIX,
        )
    arn = str(service.get("taskDefinition", ""))
    try:
        td = clients.ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    except ClientError as exc:
        if access_denied(exc):
            action = iam_action(exc.operation_name)
            return Finding(
                "task definition",
                False,
                f"not checked: the identity may not call {action}.",
                f"Allow {action} to have it checked.",
                blocking=False,
            )
        return Finding("task definition", False, f"{arn} cannot be read ({exc}).", BOOTSTRAP_FIX)
    have = {c["name"]: c.get("image", "") for c in td.get("containerDefinitions", [])}
    want = expected_containers(settings, clients)
    problems = [f"container {n} missing" for n in sorted(want.keys() - have.keys())]
    problems += [f"unexpected container {n}" for n in sorted(have.keys() - want.keys())]
    problems += [
        f"{n} runs {have[n]}, the project's definition has {want[n]}"
        for n in sorted(want.keys() & have.keys())
        if have[n] != want[n]
    ]
    name = arn.rsplit("/", 1)[-1]
    if problems:
        return Finding(
            "task definition",
            ok=False,
            detail=f"the service runs {name}, which differs from the project's task "
            f"definition: {'; '.join(problems)}.",
            fix="Run `jitsi-bot infra bootstrap` to register the project's task definition "
            "and point the service at it.",
        )
    images = ", ".join(f"{n} ({i})" for n, i in sorted(want.items()))
    return Finding("task definition", ok=True, detail=f"the service runs {name}: {images}.")
