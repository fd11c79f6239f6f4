"""Drift of a running platform whose way in and task both exist but no longer fit
together, repaired by the reconciler (``infra.reconciler``):

- the task was replaced (ECS restarted it, a deployment): the NLB's targets are not
  the running task; register it and deregister the old ones;
- the NLB was recreated under the running task: its addresses changed, the task's JVB
  still advertises the old ones (it reads ``JVB_ADVERTISE_IPS`` once, at start);
  publish the new ones and redeploy the service, then bring the new task up;
- direct mode, the task was replaced (ECS restarts one that fails): it has a new
  public IP and the old one was released; point the domain's record at the new one.

Each repair is announced as a REPAIR notice, like the reconciler's own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from bot.events import NoticeKind
from bot.model import AddressTarget, Task
from bot.ports import PlatformParts
from infra.guard import Guards

log = logging.getLogger("jitsi.reconciler")


class DriftRepair:
    """Checks and repairs of a platform that should run and has both NLB and task."""

    def __init__(self, parts: PlatformParts, guards: Guards) -> None:
        self.parts = parts
        self.guards = guards

    def repair(self, bring_up: Callable[[], bool]) -> list[str]:
        """Repair what drifted; ``bring_up`` runs a start job (after a redeploy it waits
        for the new task, registers it and waits until it is healthy). Returns what
        was repaired, empty when nothing had drifted."""
        tasks = self._tasks()
        if not tasks:
            return []
        if not self.parts.ingress.advertises:
            # No targets to check: the record is the only thing that leads to the task.
            return ["DNS record"] if self._record_stale(tasks) else []
        if self._advertised_stale(tasks, bring_up):
            return ["stale advertised addresses"]
        if self._targets_stale(tasks):
            return ["targets"]
        return []

    def _tasks(self) -> list[Task]:
        return [t for t in self.parts.compute.tasks() if t.desired_status == "RUNNING"]

    def _advertised_stale(self, tasks: Sequence[Task], bring_up: Callable[[], bool]) -> bool:
        """Publish the NLB's addresses when they changed; redeploy a task created before
        the last change (it advertises addresses clients cannot reach)."""
        advertised = self.parts.advertised
        reachable = sorted(self.parts.ingress.advertised_addresses())
        if not reachable:  # not every zone's address exists yet: next run
            return False
        told = sorted(advertised.current())
        if told != reachable:
            advertised.publish(reachable)
        changed = advertised.published_at()
        stale = [
            t
            for t in tasks
            if t.created_at is not None and changed is not None and t.created_at < changed
        ]
        if not stale:
            return False
        log.info("reconcile: task(s) %s predate the advertised IPs; redeploying", stale)
        self.parts.compute.redeploy()
        ok = bring_up()
        what = (
            f"JVB's published addresses were {', '.join(told) or 'none'} but clients reach "
            f"{', '.join(reachable)}"
            if told != reachable
            else f"the addresses clients reach ({', '.join(reachable)}) changed after it started"
        )
        self.guards.announce(
            NoticeKind.REPAIR,
            f"Reconciler: the load balancer was recreated under the running task ({what}). "
            "Published them and redeployed the service: "
            + ("the new task is registered and healthy." if ok else "bringing it up failed."),
            repair="advertised-addresses",
            advertised=told,
            reachable=reachable,
            redeployed=[t.arn for t in stale],
            saved_per_hour=0.0,
        )
        return True

    def _record_stale(self, tasks: Sequence[Task]) -> bool:
        """Direct mode: re-point the record when it is not the running task's address."""
        dns = self.parts.dns
        if not dns.enabled:
            return False
        wanted = self.parts.ingress.dns_target(tasks)
        if wanted is None:  # the new task has no address yet: next run
            return False
        had = dns.current_target()
        if had == wanted:
            return False
        dns.upsert(wanted)
        before = ", ".join(had.addresses) if isinstance(had, AddressTarget) else "elsewhere"
        after = ", ".join(wanted.addresses) if isinstance(wanted, AddressTarget) else "it"
        self.guards.announce(
            NoticeKind.REPAIR,
            f"Reconciler: the meeting domain pointed at {before if had else 'nothing'}, but "
            f"the running task is at {after} (ECS replaced the task, and the old address "
            "was released). Pointed the domain at the running task.",
            repair="dns-record",
            had=list(had.addresses) if isinstance(had, AddressTarget) else [],
            now=list(wanted.addresses) if isinstance(wanted, AddressTarget) else [],
            saved_per_hour=0.0,
        )
        return True

    def _targets_stale(self, tasks: Sequence[Task]) -> bool:
        """Register the running task when the NLB's targets are something else."""
        view = self.parts.ingress.describe()
        wanted = {t.private_ip for t in tasks if t.private_ip}
        if view is None or not wanted:
            return False  # no way in (the reconciler brings it back) or no IP yet
        # A deregistered target drains for the deregistration delay: already gone.
        registered = {t.target_id for t in view.targets if t.state != "draining"}
        if registered == wanted:
            return False
        self.parts.ingress.attach([t for t in tasks if t.private_ip])
        gone = sorted(registered - wanted)
        self.guards.announce(
            NoticeKind.REPAIR,
            "Reconciler: the running task was not the load balancer's target "
            f"(targets: {', '.join(sorted(registered)) or 'none'}; task: "
            f"{', '.join(sorted(wanted))}). Registered it"
            + (f" and deregistered {', '.join(gone)}." if gone else "."),
            repair="targets",
            registered=sorted(wanted),
            deregistered=gone,
            saved_per_hour=0.0,
        )
        return True
