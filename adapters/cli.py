"""The ``jitsi-bot`` command: the one entry point that reads configuration and wires."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence

from adapters.audit_export import export, since_arg
from adapters.console import translate
from adapters.console.app import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from adapters.console.term import error_line, terminal
from adapters.wiring import App
from bot.errors import BotError
from infra.logs import configure_logging
from infra.outage import converted
from infra.settings import load_settings

log = logging.getLogger("jitsi")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="jitsi-bot",
        description="Chat-ops for a scale-to-zero Jitsi Meet platform on AWS.",
        epilog="Configuration: JITSI_* environment variables > config.json (JITSI_CONFIG) "
        "> defaults. See docs/configuration.md.",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser(
        "serve", help="run the chat adapters (the terminal chat when none is configured)"
    )
    w = sub.add_parser("worker", help="run an RQ worker with its scheduler")
    w.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    w.add_argument("--name", help="worker name (default: host and pid)")

    d = sub.add_parser("demo", help="local demo: emulated AWS, Redis, a worker and a terminal chat")
    d.add_argument(
        "--profile",
        default="field",
        choices=["instant", "field"],
        help="emulator latency profile (default: field)",
    )
    d.add_argument(
        "--time-scale",
        type=float,
        default=0.1,
        help="multiply every emulated delay (default 0.1: about 15 s to a URL)",
    )
    d.add_argument("--script", help="commands separated by ';' instead of an interactive prompt")

    e = sub.add_parser("emulator", help="run the local AWS emulator (moto server + scheduler)")
    e.add_argument("--host", default="127.0.0.1")
    e.add_argument("--port", type=int, default=5000)
    e.add_argument("--profile", default="instant", choices=["instant", "field"])
    e.add_argument("--time-scale", type=float, default=1.0)

    s = sub.add_parser("say", help="send one chat command as a user would and follow its job")
    s.add_argument("--user", help="chat user (default: your login name)")
    s.add_argument("--channel", default="terminal", help="channel the command comes from")
    s.add_argument("--json", action="store_true", help="one JSON object per rendered event")
    s.add_argument("text", nargs="+", help="the command, e.g. start standup")

    st = sub.add_parser("status", help="desired and actual state, URL, NLB, targets, cost")
    st.add_argument("--json", action="store_true")

    c = sub.add_parser("cost", help="running and idle cost, and the usage-scenario table")
    c.add_argument(
        "view",
        nargs="*",
        help="`actual [YYYY-MM]`: AWS's own figures (Cost Explorer) beside the estimate; "
        "`report [YYYY-MM]`: the month's chart (PNG) and numbers (CSV) written here",
    )
    c.add_argument("--hours", type=float, help="add a row for N meeting hours per month")
    c.add_argument("--json", action="store_true")
    c.add_argument("--prices", action="store_true", help="each price with its source and date")

    cfg = sub.add_parser("config", help="show the effective configuration (secrets redacted)")
    cfg.add_argument("--json", action="store_true")

    h = sub.add_parser(
        "health",
        help="exit 0 when a serve or worker runs on this host and Redis answers (health checks)",
    )
    h.add_argument(
        "--process",
        choices=["serve", "worker"],
        help="the process to check (default: either)",
    )

    doc = sub.add_parser(
        "doctor",
        help="check every prerequisite of a start against the account; exit 0 when it can succeed",
    )
    doc.add_argument("--json", action="store_true", help="one JSON document")

    infra = sub.add_parser("infra", help="operator tools for the AWS side")
    isub = infra.add_subparsers(dest="infra_command", required=True, metavar="ACTION")
    isub.add_parser("bootstrap", help="create the base infrastructure (idempotent)")
    rot = isub.add_parser(
        "rotate-secrets",
        help="new random JWT app secret and XMPP passwords; the next start uses them",
    )
    rot.add_argument("--force", action="store_true", help="even while a session runs")
    a = isub.add_parser("audit", help="list billable resources left; exit 1 if any while stopped")
    a.add_argument("--json", action="store_true")
    cert = isub.add_parser(
        "certificate",
        help="the direct ingress's TLS certificate: issue if missing, renew if due (ACME DNS-01)",
    )
    cert.add_argument(
        "--renew",
        action="store_true",
        help="renew even if not due (Let's Encrypt allows 5 per week for the same name)",
    )
    cert.add_argument("--json", action="store_true")

    log_ = sub.add_parser("audit", help="the audit history of commands and jobs")
    lsub = log_.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    ex = lsub.add_parser("export", help="write the audit log as JSON lines, oldest first")
    ex.add_argument(
        "--since",
        type=since_arg,
        help="only entries from this time: ISO 8601 (UTC unless it says) or 90m, 12h, 7d, 2w",
    )
    ex.add_argument("--output", "-o", help="write to FILE instead of standard output")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Chat-like commands print for people; services log what they do.
    quiet = args.command in (
        "say",
        "demo",
        "serve",
        "status",
        "cost",
        "config",
        "infra",
        "doctor",
        "health",
        "audit",
    )
    level = logging.DEBUG if args.verbose else (logging.WARNING if quiet else logging.INFO)
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    err = terminal(stderr=True, soft_wrap=True)
    try:
        if args.command == "emulator":
            from infra.emulator.server import main as emulator_main

            return emulator_main(
                [
                    "--host",
                    args.host,
                    "--port",
                    str(args.port),
                    "--profile",
                    args.profile,
                    "--time-scale",
                    str(args.time_scale),
                ]
            )
        if args.command == "demo":
            from adapters.demo import run_demo

            return run_demo(args.profile, args.time_scale, args.script)
        interactive = args.command == "status" or (
            args.command == "infra" and args.infra_command == "audit"
        )
        settings = load_settings()
        configure_logging(settings, level)  # the configured format, secrets redacted
        app = App(settings, interactive_aws=interactive)
        with converted():  # Redis lost mid-command: say so, never a traceback
            return _dispatch(app, args)
    except BotError as exc:
        err.print(error_line(exc.user_message()))
        return EXIT_FAILED if not isinstance(exc, _usage_errors()) else EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _service(app: App, args: argparse.Namespace) -> int:
    from adapters import ops as commands

    if args.command == "serve":
        from adapters.serve import has_chat_adapters, serve_chat

        if has_chat_adapters(app):
            asyncio.run(serve_chat(app))
            return EXIT_OK
        chat = app.console_chat(translate.actor(), renderer="console:serve")
        return chat.repl()
    return commands.worker(app, burst=args.burst, name=args.name)


def _usage_errors() -> tuple[type[BaseException], ...]:
    from infra.settings import ConfigError

    return (ConfigError,)


def _dispatch(app: App, args: argparse.Namespace) -> int:
    from adapters import ops as commands

    if args.command == "config":
        data = app.settings.public_view()
        print(
            json.dumps(data, indent=2, sort_keys=True)
            if args.json
            else "\n".join(f"{k} = {v}" for k, v in sorted(data.items()))
        )
        return EXIT_OK
    if args.command == "cost" and args.prices:
        from adapters.prices_cmd import prices

        return prices(app, args.json)
    if args.command == "cost" and args.view:
        return commands.cost_view(app, args.view)
    if args.command == "cost":
        return commands.cost(app, args.hours, args.json)
    if args.command == "doctor":  # AWS only: a start's prerequisites, no Redis needed
        from adapters.doctor import doctor

        return doctor(app.diagnose(), args.json)
    if args.command == "health":  # its own short-timeout check: exit 1, never a wait
        from adapters.operations import health

        return health(app, args.process)
    if args.command == "infra" and args.infra_command == "certificate":  # AWS and the CA only
        from adapters.certificate_cmd import certificate

        return certificate(app, renew=args.renew, as_json=args.json)
    app.check_redis()
    if args.command == "worker":  # today's API prices before the worker prices anything
        app.prefetch_prices()
    if args.command in ("serve", "worker"):
        # Said once per process: a configuration that works but leaves something unknown.
        for note in app.configuration_notes():
            log.warning("configuration: %s", note)
    if args.command == "say":
        chat = app.console_chat(translate.actor(args.user, args.channel))
        return chat.say(" ".join(args.text), as_json=args.json)
    if args.command in ("serve", "worker"):
        from adapters.operations import operated

        with operated(app, args.command):  # heartbeat for `health`, /metrics if on
            return _service(app, args)

    if args.command == "status":
        return commands.status(app, args.json)
    if args.command == "infra" and args.infra_command == "bootstrap":
        return commands.bootstrap(app)
    if args.command == "infra" and args.infra_command == "audit":
        return commands.audit(app, args.json)
    if args.command == "audit" and args.audit_command == "export":
        count = export(app.audit_log.since(args.since), args.output)
        if args.output not in (None, "-"):
            terminal(stderr=True).print(f"Wrote {count} audit entries to {args.output}.")
        return EXIT_OK
    if args.command == "infra" and args.infra_command == "rotate-secrets":
        return commands.rotate_secrets(app, force=args.force)
    raise AssertionError(args.command)  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
