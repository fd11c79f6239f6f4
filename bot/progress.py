"""Emitting a job's progress events: steps with durations, waits, outcome."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from bot.events import Event, EventKind
from bot.model import IngressKind, JobId
from bot.ports import Clock, EventSink

STEP_LABELS = {
    "preflight": "Prerequisites: certificate, hosted zone, base infrastructure",
    "ingress": "The way in",
    "advertise-ips": "Public IPs for JVB",
    "scale-up": "ECS service to 1 task",
    "register": "Task attached to the way in",
    "dns": "DNS record",
    "dns-sync": "DNS in sync",
    "containers": "Jitsi containers healthy",
    "healthy": "Reachable and healthy",
    "https": "Meeting page over HTTPS",
    "scale-down": "ECS service to 0 tasks",
    "dns-delete": "Remove the DNS record",
    "remove-ingress": "Remove the way in",
    "tasks-stopped": "Tasks stopped",
    "audit": "Orphan audit",
}
# What each step is called for each kind of ingress, where that says more.
INGRESS_STEP_LABELS: dict[IngressKind, dict[str, str]] = {
    IngressKind.NLB: {
        "ingress": "Network Load Balancer, target groups and listeners",
        "advertise-ips": "NLB public IPs for JVB",
        "register": "Task registered as NLB target",
        "dns": "DNS alias",
        "dns-sync": "DNS alias in sync on every Route 53 server",
        "healthy": "Targets healthy, NLB active",
        "dns-delete": "Remove the DNS alias",
        "remove-ingress": "Delete listeners, NLB and target groups",
    },
    IngressKind.DIRECT: {
        "ingress": "Direct: the task's own public IP (no load balancer)",
        "register": "Task running with a private IP",
        "dns": "DNS A record at the task's public IP",
        "dns-sync": "DNS A record in sync on every Route 53 server",
        "healthy": "Task healthy with its public IP",
        "dns-delete": "Remove the DNS A record (before the address is released)",
        "remove-ingress": "Nothing to remove (no load balancer)",
    },
}


def step_labels(kind: IngressKind) -> dict[str, str]:
    """Every step's label for a platform whose way in is ``kind``."""
    return {**STEP_LABELS, **INGRESS_STEP_LABELS.get(kind, {})}


class Reporter:
    """Writes one job's events to the sink, timing each step."""

    def __init__(
        self,
        job_id: JobId,
        sink: EventSink,
        clock: Clock,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        self.job_id = job_id
        self.sink = sink
        self.clock = clock
        self.labels = dict(labels if labels is not None else STEP_LABELS)
        self.current_step: str | None = None

    def note(self, message: str, data: dict[str, Any]) -> None:
        """Progress a driver reports from inside a step (e.g. Terraform, resource by
        resource): a WAITING event under the step that is running."""
        self.emit(EventKind.WAITING, message, self.current_step, **data)

    def emit(
        self, kind: EventKind, message: str = "", step: str | None = None, **data: Any
    ) -> None:
        self.sink.emit(Event(kind, self.job_id, self.clock.now(), message, step, data))

    @contextmanager
    def step(self, name: str, message: str = "") -> Iterator[None]:
        label = self.labels.get(name, name)
        self.emit(EventKind.STEP_STARTED, message or label, name, label=label)
        began = self.clock.monotonic()
        outer, self.current_step = self.current_step, name
        try:
            yield
        except BaseException as exc:
            self.current_step = outer
            self.emit(
                EventKind.STEP_FINISHED,
                str(exc) or type(exc).__name__,
                name,
                label=label,
                ok=False,
                seconds=round(self.clock.monotonic() - began, 3),
            )
            raise
        self.current_step = outer
        self.emit(
            EventKind.STEP_FINISHED,
            label,
            name,
            label=label,
            ok=True,
            seconds=round(self.clock.monotonic() - began, 3),
        )

    def waiting(self, step: str, message: str, waited: float) -> None:
        self.emit(EventKind.WAITING, message, step, seconds=round(waited, 1))
