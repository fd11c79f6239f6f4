"""The worker's certificate check: daily, renews the stored certificate when due.

A chain (``infra.chain``) like the reconciler's: one run a day per platform, however
many workers. It only renews what ``jitsi-bot infra certificate`` issued (nothing
stored: nothing to do, e.g. with the NLB ingress), and only when within
``tls_renew_days`` of expiry, so the CA sees one order per renewal window. A failed
renewal posts one notice per streak (the error and the days left) and is tried
again sooner, backing off: 15 min, 30 min, ... up to the daily cadence.
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import redis

from bot.errors import BotError
from bot.events import NoticeKind
from infra.chain import JobChain

if TYPE_CHECKING:  # acme and botocore load in the worker's job only
    from infra.tls_store import CertificateManager, Outcome

log = logging.getLogger("jitsi.tls")

DAILY_SECONDS = 86400.0
FIRST_RETRY_SECONDS = 900.0

Announce = Callable[..., None]  # Guards.announce(kind, text, **data)


def retry_delay(attempts: int) -> float:
    """Seconds before the next try after ``attempts`` failures in a row (>= 1)."""
    return float(min(FIRST_RETRY_SECONDS * 2 ** (attempts - 1), DAILY_SECONDS))


class CertificateCheck:
    def __init__(
        self,
        manager: CertificateManager,
        client: redis.Redis,
        failing_key: str,
        announce: Announce,
        chain: JobChain,
        now: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
    ) -> None:
        self.manager = manager
        self.r = client
        self.failing_key = failing_key
        self.announce = announce
        self.chain = chain
        self.now = now

    def run(self, run_id: str) -> str:
        """One check (renewing when due); schedules the next run."""
        delay = DAILY_SECONDS
        try:
            outcome = self.manager.ensure(only_renew=True)
        except BotError as exc:
            attempts = self._failed(exc)
            delay = retry_delay(attempts)
            return f"renewal failed (attempt {attempts}): {exc.user_message()}"
        finally:
            self.chain.hand_over(run_id, DAILY_SECONDS, delay)
        return self._succeeded(outcome)

    def _succeeded(self, outcome: Outcome) -> str:
        was_failing = self.r.delete(self.failing_key)
        status = outcome.status
        if outcome.action == "renewed":
            until = status.not_after.date().isoformat() if status.not_after else "?"
            if was_failing:
                self.announce(
                    NoticeKind.CERTIFICATE,
                    f"TLS certificate renewed after earlier failures; valid until {until}.",
                    renewed=True,
                )
            return f"renewed, valid until {until}"
        return f"{status.state.value}: nothing to do"

    def _failed(self, exc: BotError) -> int:
        raw = self.r.get(self.failing_key)
        streak: dict[str, Any] = (
            json.loads(raw) if raw else {"since": self.now().isoformat(), "attempts": 0}
        )
        attempts = int(streak["attempts"]) + 1
        self.r.set(self.failing_key, json.dumps({**streak, "attempts": attempts}))
        log.warning("certificate renewal failed (attempt %d): %s", attempts, exc)
        if attempts == 1:  # one notice per streak: the next tries are quiet
            self._notice(exc)
        return attempts

    def _notice(self, exc: BotError) -> None:
        try:
            status = self.manager.status(self.now())
            left = status.days_left(self.now())
        except BotError:
            left = None
        days = f"{left:.0f} days" if left is not None else "an unknown number of days"
        self.announce(
            NoticeKind.CERTIFICATE,
            f"TLS certificate renewal failed: {exc.user_message()} The certificate expires "
            f"in {days}; retrying with backoff. To retry now: `jitsi-bot infra certificate`.",
            error=exc.user_message(),
            days_left=round(left, 1) if left is not None else None,
        )
