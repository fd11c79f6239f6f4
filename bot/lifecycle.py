"""Start and stop as convergent, idempotent step sequences over the platform's parts.

A job killed at any point can run again: every step finds what exists before
creating anything. ``bot.start`` and ``bot.stop`` hold the sequences.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.job import Deps, JobRun
from bot.model import JobKind, JobResult, JobSpec, PlatformObservation
from bot.start import run_start
from bot.stop import run_stop


@dataclass(frozen=True, slots=True)
class Lifecycle:
    deps: Deps

    def run(self, spec: JobSpec) -> JobResult:
        """Run the job ``spec`` to its end. Always emits FINISHED."""
        run = JobRun(self.deps, spec)
        result = run_start(run) if spec.kind is JobKind.START else run_stop(run)
        return replace(result, aws_calls=run.aws_calls())

    def observe(self) -> PlatformObservation:
        """What AWS says exists right now, part by part (for ``status``)."""
        parts = self.deps.parts
        service = parts.compute.service()
        return PlatformObservation(
            service=service,
            ingress=parts.ingress.describe(),
            tasks=tuple(parts.compute.tasks()) if service is not None else (),
            advertise_ips=tuple(parts.advertised.current()),
            calls=parts.meter.calls(),
        )
