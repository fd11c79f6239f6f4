"""Leftovers: something billable still exists while the platform is meant to be
stopped (a failed start or stop could not remove it). One notice an episode says
what and what it costs per hour; the reconciler runs at its fast cadence until the
audit is clean, then says so once."""

from __future__ import annotations

import contextlib
import logging

from bot.config import Settings
from bot.cost import CostModel, money, rounded
from bot.errors import BotError
from bot.events import NoticeKind
from bot.fmt import duration
from bot.model import BillableResource
from bot.ports import PlatformParts
from bot.state import DesiredState
from infra.chain import JobChain
from infra.guard import Guards
from infra.redis_store import RedisPlatformStore

log = logging.getLogger("jitsi.reconciler")

_LABEL = {
    "load_balancer": "load balancer",
    "task": "task",
    "elastic_ip": "elastic IP",
    "network_interface": "network interface",
}


class LeftoverMark:
    """Whether leftovers were seen and announced (one notice an episode). Kept in
    Redis so every worker, and the next run, agrees; it expires after a day so a
    lost clear cannot mute the next episode for ever."""

    TTL_SECONDS = 86400

    def __init__(self, store: RedisPlatformStore) -> None:
        self.r = store.r
        self.key = store.keys.leftovers_noticed

    def mark(self) -> bool:
        """True for the first mark of an episode (the caller posts the notice)."""
        return bool(self.r.set(self.key, "1", nx=True, ex=self.TTL_SECONDS))

    def marked(self) -> bool:
        return bool(self.r.exists(self.key))

    def clear(self) -> bool:
        """True when a mark was there."""
        return bool(self.r.delete(self.key))


class Leftovers:
    """The reconciler's watch on leftovers: when to look, what to say, how fast to
    run (``chain`` is the reconcile chain)."""

    def __init__(
        self,
        settings: Settings,
        store: RedisPlatformStore,
        parts: PlatformParts,
        costs: CostModel,
        guards: Guards,
        chain: JobChain,
    ) -> None:
        self.settings = settings
        self.store = store
        self.parts = parts
        self.costs = costs
        self.guards = guards
        self.chain = chain
        self.mark = LeftoverMark(store)

    def next_interval(self) -> float:
        """Seconds until the next run: the fast cadence while leftovers are marked (and
        still there: the mark is cleared, with one all-clear notice, once they are gone)."""
        normal = self.settings.reconcile_interval_seconds
        if not self.mark.marked():
            return normal
        if self.store.status().desired is not DesiredState.STOPPED:
            # Someone started again: the start reuses or replaces what was left.
            self.mark.clear()
            return normal
        with contextlib.suppress(Exception):  # Redis or AWS down: keep hurrying
            pending, _ = self.pending()
            if not pending:
                self._gone()
                return normal
        return min(self.settings.reconcile_fast_interval_seconds, normal)

    def after_failed_job(self) -> None:
        """A start or stop failed: if it left something billable with the platform meant
        to be stopped, post ONE notice saying what and what it costs per hour, and run
        at the fast cadence from now on (not at the next normal run, minutes away).
        Never raises: it runs after a job, often while AWS is failing."""
        if self.settings.reconcile_interval_seconds <= 0:
            return
        try:
            pending, found = self.pending()
            if not pending:
                return
            self.seen(found)
            fast = min(
                self.settings.reconcile_fast_interval_seconds,
                self.settings.reconcile_interval_seconds,
            )
            self.chain.restart(self.settings.reconcile_interval_seconds, fast)
        except Exception:
            log.exception("after a failed job: checking for leftovers")

    def pending(self) -> tuple[bool, list[BillableResource] | None]:
        """(the platform is meant to be stopped and the audit finds something billable
        or cannot answer, what it found: None when AWS did not answer)."""
        if self.store.status().desired is not DesiredState.STOPPED:
            return False, []
        try:
            found = billable(self.parts)
        except BotError:
            return True, None
        return bool(found), found

    def seen(self, found: list[BillableResource] | None) -> None:
        """Mark the leftovers; the first sighting of an episode posts the one notice."""
        if not self.mark.mark():
            return  # already told
        every = duration(
            min(
                self.settings.reconcile_fast_interval_seconds,
                self.settings.reconcile_interval_seconds,
            )
        )
        if found is None:
            per_hour = self.costs.running_hour
            what = (
                "AWS is not answering, so the way in and the task may still exist, "
                f"costing up to {money(per_hour)} per hour"
            )
            ids: list[str] = []
        else:
            per_hour = self.costs.total_hour(found)
            what = f"{describe(found)} still exist, costing {money(per_hour)} per hour"
            ids = [r.resource_id for r in found]
        self.guards.announce(
            NoticeKind.REPAIR,
            f"Reconciler: the platform should be stopped but {what}. "
            f"Trying every {every} until the audit is clean; "
            "`jitsi-bot infra audit` lists them.",
            repair="leftovers",
            resources=ids,
            per_hour=rounded(per_hour, 5),
            saved_per_hour=0.0,
        )

    def _gone(self) -> None:
        if self.mark.clear():
            self.guards.announce(
                NoticeKind.REPAIR,
                "Reconciler: what a failed start or stop had left is removed; "
                "the audit is clean and nothing bills by the hour.",
                repair="leftovers-gone",
                saved_per_hour=0.0,
            )


def billable(parts: PlatformParts) -> list[BillableResource]:
    """What the audit finds that bills (raises ``BotError`` when AWS does not answer)."""
    return [r for r in parts.audit.billable() if r.billable]


def describe(found: list[BillableResource]) -> str:
    """``2 load balancers, 1 task``: what ``found`` holds, by kind."""
    parts = []
    for kind in sorted({r.kind for r in found}, key=lambda k: k.value):
        n = sum(1 for r in found if r.kind is kind)
        label = _LABEL.get(kind.value, kind.value)
        parts.append(f"{n} {label}" + ("s" if n > 1 else ""))
    return ", ".join(parts)
