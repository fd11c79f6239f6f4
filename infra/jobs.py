"""Every job the queue runs: the RQ entry points, in one module.

The worker command installs a ``JobContext`` built once by ``adapters.wiring``
before it starts working. RQ forks a work horse per job, which inherits the
context; the AWS clients in it connect lazily, in the horse, so no connection
crosses a fork (redis-py's pool reconnects after a fork by itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rq import get_current_job

from bot.model import JobSpec
from infra.guard import Guards
from infra.reconciler import Reconciler
from infra.runner import LifecycleRunner
from infra.scheduling import ScheduledRuns

if TYPE_CHECKING:  # acme and botocore stay out of the chat process (see aws_clients)
    from infra.tls_renewal import CertificateCheck


@dataclass(frozen=True, slots=True)
class JobContext:
    """What the entry points run, built once per worker process."""

    runner: LifecycleRunner
    guards: Guards
    reconciler: Reconciler
    scheduled: ScheduledRuns
    certificates: CertificateCheck | None = None


_installed: JobContext | None = None


def install(context: JobContext | None) -> None:
    """Make ``context`` the one the entry points use (None: uninstall, for tests)."""
    global _installed
    _installed = context


def _context() -> JobContext:
    if _installed is None:
        raise RuntimeError("infra.jobs.install() was not called before running jobs")
    return _installed


def _run_id() -> str:
    job = get_current_job()
    return job.id if job is not None else ""


def lifecycle(spec_data: dict[str, Any]) -> bool:
    """A start or a stop (``JobSpec`` as a dict), under the platform's lock."""
    context = _context()
    ok = context.runner.run_queued(JobSpec.from_dict(spec_data))
    if not ok:  # a rollback or stop may have left something billing: hurry
        context.reconciler.leftovers.after_failed_job()
    return ok


def reconcile() -> str:
    """One reconcile run (a self-rescheduling chain)."""
    return _context().reconciler.run(_run_id())


def monitor() -> str:
    """One tick of the running session's monitor (a self-rescheduling chain)."""
    return _context().guards.run_monitor(_run_id())


def scheduled(item_id: str) -> str:
    """A scheduled start or stop, as the person who scheduled it."""
    return _context().scheduled.run(item_id)


def certificate() -> str:
    """One daily check of the direct ingress's certificate (a self-rescheduling chain)."""
    check = _context().certificates
    return check.run(_run_id()) if check is not None else "no certificate check wired"
