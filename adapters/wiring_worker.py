"""The worker's side of the object graph: the lifecycle and its runner, the guards
(idle monitor, announcements), the reconciler, certificate renewal, and the
``JobContext`` that the RQ jobs run. The third layer of ``adapters.wiring.App``."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from adapters.wiring_platform import Platform
from bot.job import Deps
from bot.lifecycle import Lifecycle
from bot.model import Actor, JobResult, JobSpec
from infra import jobs
from infra.chain import JobChain
from infra.guard import Guards
from infra.jobs import JobContext
from infra.reconciler import Reconciler
from infra.redis_store import SummaryMarks
from infra.runner import LifecycleRunner
from infra.scheduling import ScheduledRuns

if TYPE_CHECKING:
    from infra.tls_renewal import CertificateCheck


class Worker(Platform):
    """``Platform`` plus everything the worker's jobs run."""

    @cached_property
    def lifecycle(self) -> Lifecycle:
        return Lifecycle(
            Deps(
                self.settings,
                self.parts,
                self.store,
                self.sink,
                self.clock,
                self.ledger,
                self.costs,
                self.traffic,
                self.traffic_log,
            )
        )

    @cached_property
    def runner(self) -> LifecycleRunner:
        return LifecycleRunner(
            self.settings,
            self.lifecycle,
            self.store,
            self.sink,
            self.lock,
            self._after_job,
            self.outage,
            journal=self.audit_log.record_job,
            acting_for=self._acting_for,
        )

    def _acting_for(self, actor: Actor | None) -> None:
        """The job's AWS calls name who asked (``AwsClients.act_for``); given parts
        (tests, benches) make no AWS calls of ours."""
        if self.given_parts is None:
            self.aws_clients.act_for(actor)

    def _after_job(self, spec: JobSpec, result: JobResult) -> None:
        self.ready_times.after_job(spec, result)  # before the announcements: never raises
        self.guards.after_job(spec, result)

    @cached_property
    def guards(self) -> Guards:
        return Guards(
            self.settings,
            self.store,
            self.sessions,
            self.notices,
            self.participants,
            self.service,
            self.ledger,
            self.costs,
            self.clock,
            self._chain(self.keys.monitor_scheduled, jobs.monitor, "monitor", 60),
            self.unwatched,
        )

    @cached_property
    def reconcile_chain(self) -> JobChain:
        return self._chain(self.keys.reconcile_scheduled, jobs.reconcile, "reconcile", 600)

    @cached_property
    def reconciler(self) -> Reconciler:
        return Reconciler(
            self.settings,
            self.store,
            self.sink,
            self.parts,
            self.costs,
            self.clock,
            self.ledger,
            SummaryMarks(self.redis, self.keys),
            self.guards,
            self.runner,
            self.queue,
            self.lock,
            self.reconcile_chain,
        )

    @cached_property
    def certificate_chain(self) -> JobChain:
        return self._chain(self.keys.certificate_scheduled, jobs.certificate, "certificate", 3600)

    def certificate_check(self) -> CertificateCheck | None:
        """The worker's daily renewal, when a certificate can exist: DNS-01 needs the
        hosted zone (without one nothing is ever stored, and no AWS call is made)."""
        if not self.settings.hosted_zone_id:
            return None
        from infra.tls_renewal import CertificateCheck

        return CertificateCheck(
            self.certificates,
            self.redis,
            self.keys.certificate_failing,
            self.guards.announce,
            self.certificate_chain,
        )

    def job_context(self) -> JobContext:
        """Everything the worker's jobs run, built once (``infra.jobs.install``)."""
        scheduled = ScheduledRuns(
            self.scheduler, self.service, self.sessions, self.guards, self.unwatched, self.clock
        )
        return JobContext(
            self.runner, self.guards, self.reconciler, scheduled, self.certificate_check()
        )
