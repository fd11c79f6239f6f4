"""``jitsi-bot infra certificate``: the direct ingress's certificate, issued or renewed
when needed (idempotent), else when it expires."""

from __future__ import annotations

import datetime
import json

from adapters.wiring import App

EXIT_OK = 0


def certificate(app: App, *, renew: bool, as_json: bool) -> int:
    """Issue if missing, renew if due (or ``renew``), else say when it expires."""
    outcome = app.certificates.ensure(force=renew)
    now = datetime.datetime.now(datetime.UTC)
    status = outcome.status
    if as_json:
        body = {"action": outcome.action, "domain": app.settings.domain, **status.to_dict(now)}
        print(json.dumps(body, indent=2))
        return EXIT_OK
    until = status.not_after.strftime("%Y-%m-%d %H:%M UTC") if status.not_after else "?"
    left = status.days_left(now) or 0.0
    renew_on = status.renew_after.strftime("%Y-%m-%d") if status.renew_after else "?"
    verb = {"issued": "Issued", "renewed": "Renewed", "kept": "Kept"}[outcome.action]
    print(
        f"{verb} the certificate for {app.settings.domain}: valid until {until} "
        f"({left:.0f} days); the worker renews it from {renew_on}."
    )
    return EXIT_OK
