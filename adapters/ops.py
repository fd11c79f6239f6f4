"""The operator tools of the original scripts: worker, status, cost, bootstrap, audit."""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import uuid
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TypeVar

from rich.table import Table

from adapters.console.app import save_report
from adapters.console.term import error_line, terminal
from adapters.wiring import App
from bot.cost import money, rounded
from bot.errors import CloudError
from bot.model import IngressKind
from bot.state import DesiredState, PlatformState, PlatformStatus
from infra import jobs
from infra.tls_renewal import DAILY_SECONDS
from infra.worker import run_worker

EXIT_OK, EXIT_FAILED = 0, 1
T = TypeVar("T")
CERTIFICATE_FIRST_DELAY_SECONDS = 60.0


def worker(app: App, *, burst: bool = False, name: str | None = None) -> int:
    """Run an RQ worker (with its scheduler) for this platform's queue."""
    jobs.install(app.job_context())
    # Converge at once: a worker that died mid-job left work that this one resumes.
    app.reconcile_chain.run_now()
    # The certificate check's chain: daily, its first run a minute after the first worker.
    if app.settings.hosted_zone_id:
        app.certificate_chain.start(DAILY_SECONDS, CERTIFICATE_FIRST_DELAY_SECONDS)
    run_worker(
        app.redis,
        app.keys.queue_name,
        name=name or f"{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:4]}",
        burst=burst,
        retry_max_seconds=app.settings.redis_retry_max_seconds,
        # Redis is back: converge at once (a job the outage cut short is resumed on
        # its own id) rather than at the next periodic run.
        on_back=lambda _seconds: app.reconcile_chain.run_now(),
    )
    app.stop_price_refresh.set()
    return EXIT_OK


# All of `status`'s AWS calls together, however slowly each one answers: with the
# interpreter's start this keeps the command within 10 s.
STATUS_AWS_SECONDS = 6.0


def status(app: App, as_json: bool) -> int:
    stored = app.store.status()
    try:
        seen = _within(STATUS_AWS_SECONDS, app.lifecycle.observe)
    except CloudError as exc:
        return _status_without_aws(app, stored, exc, as_json)
    running = seen.service is not None and seen.service.running_count > 0
    ingress = seen.ingress
    nlb = ingress if ingress and ingress.kind is IngressKind.NLB else None
    per_hour = rounded(app.costs.running_hour, 5) if running else 0.0
    data = {
        "desired": stored.desired.value,
        "state": stored.state.value,
        "actual": "running"
        if running and ingress
        else ("partial" if running or ingress else "stopped"),
        "url": stored.url,
        "job_id": stored.job_id,
        "ingress": ingress.kind.value if ingress else None,
        "nlb_dns_name": nlb.dns_name if nlb else None,
        "nlb_state": nlb.state if nlb else None,
        # Direct mode: the task's own address, where the domain's A record points.
        "public_ip": ingress.addresses[0] if ingress and not nlb and ingress.addresses else None,
        "service": asdict(seen.service) if seen.service else None,
        "tasks": [asdict(t) for t in seen.tasks],
        "targets": [asdict(t) for t in ingress.targets] if ingress else [],
        "advertise_ips": list(seen.advertise_ips),
        "running_cost_per_hour": per_hour,
        "prices_unknown": app.costs.unknown_reason or None,
        "last_error": stored.last_error,
    }
    if as_json:
        print(json.dumps(data, indent=2, sort_keys=True))
        return EXIT_OK
    console = terminal(soft_wrap=not sys.stdout.isatty())
    console.print(
        f"{app.settings.project_name}: desired {data['desired']}, "
        f"recorded {data['state']}, AWS says {data['actual']}"
    )
    if data["url"]:
        console.print(f"Meeting URL: {data['url']}")
    if nlb:
        console.print(f"NLB: {nlb.dns_name} ({nlb.state})")
    elif ingress:
        console.print(
            f"Direct: {ingress.dns_name} -> task public IP {data['public_ip'] or 'not yet'} "
            f"(task {ingress.state}, no load balancer)"
        )
    if ingress and ingress.targets:
        table = Table("target group", "target", "port", "health")
        for t in ingress.targets:
            table.add_row(t.target_group, t.target_id, str(t.port), t.state)
        console.print(table)
    unknown = f" ({app.costs.unknown_reason})" if per_hour is None else ""
    console.print(f"Running cost: {money(per_hour)} per hour{unknown}")
    return EXIT_OK


def _within(seconds: float, call: Callable[[], T]) -> T:
    """``call()``, or CloudError when it has not returned after ``seconds`` (it is left
    running in a daemon thread: the command exits right after)."""
    box: list[T] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            box.append(call())
        except BaseException as exc:  # handed to the caller's thread
            failed.append(exc)

    thread = threading.Thread(target=run, daemon=True, name="aws-status")
    thread.start()
    thread.join(seconds)
    if failed:
        raise failed[0]
    if not box:
        raise CloudError(
            f"AWS did not answer within {seconds:.0f} s.",
            "Check the network and aws_endpoint_url, then try again.",
            retryable=True,
        )
    return box[0]


def _status_without_aws(app: App, stored: PlatformStatus, exc: CloudError, as_json: bool) -> int:
    """What Redis says, and that AWS did not answer (exit 1): a hung or unreachable
    endpoint must not hang the command a person typed."""
    problem = exc.user_message()
    if as_json:
        data = {
            "desired": stored.desired.value,
            "state": stored.state.value,
            "actual": "unknown",
            "url": stored.url,
            "job_id": stored.job_id,
            "last_error": stored.last_error,
            "aws_error": problem,
        }
        print(json.dumps(data, indent=2, sort_keys=True))
        return EXIT_FAILED
    console = terminal(soft_wrap=not sys.stdout.isatty())
    console.print(
        f"{app.settings.project_name}: desired {stored.desired.value}, "
        f"recorded {stored.state.value}; AWS unknown"
    )
    if stored.url:
        console.print(f"Meeting URL: {stored.url}")
    terminal(stderr=True, soft_wrap=True).print(error_line(problem))
    return EXIT_FAILED


def cost_view(app: App, words: list[str]) -> int:
    """``cost actual|report [YYYY-MM]``: the chat command's answer (same parser)."""
    from bot.commands import Cost, parse
    from bot.errors import CommandError

    try:
        command = parse("cost " + " ".join(words), app.settings.command_name)
    except CommandError as exc:
        terminal(stderr=True, soft_wrap=True).print(exc.user_message())
        return EXIT_FAILED
    assert isinstance(command, Cost)
    if command.view == "report":
        return cost_report(app, command.month)
    print(app.service.cost_answers.actual_text(command.month))
    return EXIT_OK


def cost_report(app: App, month: str | None, folder: str = ".") -> int:
    """``cost report [YYYY-MM]``: the chat command's summary, and the month's chart (PNG)
    and numbers (CSV) as files in ``folder``, as the terminal chat writes them."""
    reply = app.service.cost_answers.report_reply(month)
    if reply.report is None:
        terminal(stderr=True, soft_wrap=True).print(reply.text, markup=False)
        return EXIT_FAILED
    print(reply.text)
    return save_report(terminal(soft_wrap=True), reply.report, Path(folder))


def cost(app: App, hours: float | None, as_json: bool) -> int:
    c = app.costs
    rows = c.scenarios(hours)
    if as_json:
        print(
            json.dumps(
                {
                    "region": c.region,
                    "prices_unknown": c.unknown_reason or None,
                    "running_per_hour": rounded(c.running_hour, 5),
                    "running_items": [
                        {"label": i.label, "per_hour": rounded(i.amount, 5)}
                        for i in c.running_items()
                    ],
                    "idle_per_month": rounded(c.idle_month, 4),
                    "always_on_per_month": rounded(c.always_on_month, 2),
                    "break_even_hours": rounded(c.break_even_hours(), 1),
                    "scenarios": [
                        {
                            "label": label,
                            "hours": h,
                            "on_demand": rounded(od, 2),
                            "always_on": rounded(ao, 2),
                        }
                        for label, h, od, ao in rows
                    ],
                },
                indent=2,
            )
        )
        return EXIT_OK
    console = terminal(soft_wrap=not sys.stdout.isatty())
    if not c.known:
        console.print(f"Costs unknown: {c.unknown_reason}.")
    items = Table("running, per hour", "USD", title=f"Prices: {c.region}")
    for item in c.running_items():
        items.add_row(item.label, money(item.amount))
    items.add_row("total", money(c.running_hour), style="bold")
    console.print(items)
    idle = Table("idle, per month", "USD")
    for item in c.idle_items():
        idle.add_row(item.label, money(item.amount))
    idle.add_row("total", money(c.idle_month), style="bold")
    console.print(idle)
    table = Table(
        "usage",
        "hours/month",
        "on-demand",
        "always-on",
        "saving",
        title=f"Sessions of {app.settings.average_session_hours:g} h; "
        + ("the task's IPv4 bills" if c.direct else "NLB and IPv4 bill")
        + " per started hour",
    )
    for label, h, od, ao in rows:
        saving = f"{(ao - od) / ao * 100:+.0f}%" if ao and od is not None else "unknown"
        table.add_row(label, f"{h:g}", money(od), money(ao), saving)
    console.print(table)
    even = c.break_even_hours()
    console.print(
        "Break-even against always-on: "
        + (f"{even:.0f} meeting hours per month." if even is not None else "unknown.")
    )
    return EXIT_OK


def bootstrap(app: App) -> int:
    from infra.aws.bootstrap import bootstrap as run
    from infra.aws.session import AwsClients

    console = terminal(soft_wrap=not sys.stdout.isatty())
    made = run(
        app.settings, AwsClients(app.settings), progress=lambda m: console.print(m, highlight=False)
    )
    for key, value in made.items():
        console.print(f"  {key}: {value}", highlight=False)
    return EXIT_OK


def rotate_secrets(app: App, *, force: bool = False) -> int:
    """New random values for the task's secrets (the JWT app secret with ``jwt`` on, and
    the internal XMPP passwords): ECS reads them when a task starts, so the next start
    uses them. Refused while a session runs (its prosody keeps the old JWT secret, so
    links made now would not open it) unless ``force``."""
    from infra.aws import jwt_secret, naming
    from infra.aws.errors import cloud_errors
    from infra.aws.session import AwsClients

    console = terminal(soft_wrap=not sys.stdout.isatty())
    state = app.store.status().state
    if state is not PlatformState.STOPPED and not force:
        console.print(
            error_line(
                f"The platform is {state.value}: its Jitsi keeps the old secrets until it "
                "stops, and links signed with a new one would not open the meeting. Stop it "
                "first, or pass --force."
            )
        )
        return EXIT_FAILED
    clients = AwsClients(app.settings)
    s = app.settings
    if s.jwt.enabled:
        version = jwt_secret.rotate(s, clients)
        console.print(f"Rotated {s.jwt.secret_parameter} (version {version}).", highlight=False)
    for who in naming.XMPP_ACCOUNTS:
        name = naming.xmpp_password_parameter(s, who)
        with cloud_errors(s, f"rotating {name}"):
            reply = clients.ssm.put_parameter(
                Name=name, Value=jwt_secret.new_secret(), Type="SecureString", Overwrite=True
            )
        console.print(f"Rotated {name} (version {reply.get('Version', 0)}).", highlight=False)
    console.print("The next start uses the new values.", highlight=False)
    return EXIT_OK


def audit(app: App, as_json: bool) -> int:
    found = app.parts.audit.billable()
    rows = [
        {
            "kind": r.kind.value,
            "id": r.resource_id,
            "name": r.name,
            "detail": r.detail,
            "public_ipv4": r.public_ipv4,
            "per_hour": rounded(app.costs.resource_hour(r), 5),
        }
        for r in found
    ]
    billable = [r for r in found if r.billable]
    per_hour = app.costs.total_hour(billable)
    desired = app.store.status().desired
    dirty = desired is DesiredState.STOPPED and bool(billable)
    if as_json:
        print(
            json.dumps(
                {
                    "desired": desired.value,
                    "resources": rows,
                    "billable": len(billable),
                    "per_hour": rounded(per_hour, 5),
                    "clean": not billable,
                },
                indent=2,
            )
        )
    else:
        console = terminal(soft_wrap=not sys.stdout.isatty())
        if not rows:
            console.print("Audit clean: no resource of the project exists.")
        else:
            table = Table("kind", "id", "name", "per hour", title="Project resources")
            for r in rows:
                table.add_row(
                    str(r["kind"]), str(r["id"]), str(r["name"]), money(_amount(r["per_hour"]))
                )
            console.print(table)
            style = "bold red" if dirty else "bold"
            console.print(
                f"{len(billable)} billable, {money(per_hour)} per hour "
                f"(desired state: {desired.value}).",
                style=style,
            )
    return EXIT_FAILED if dirty else EXIT_OK


def _amount(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None
