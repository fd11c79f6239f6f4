"""Latency profiles: how long the emulated AWS takes for each slow thing it does.

Delays are nominal seconds (what AWS takes in the field); ``time_scale`` multiplies
every one of them so tests can run the realistic sequence in a fraction of the time.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Literal

from . import pulls

ProfileName = Literal["instant", "field"]
PROFILE_NAMES: tuple[ProfileName, ...] = ("instant", "field")


@dataclass(frozen=True)
class Delays:
    """Nominal delays in seconds, before scaling."""

    lb_active: float = 0.0  # NLB provisioning -> active
    lb_enis: float = 0.0  # NLB created -> its first network interface exists
    lb_eni_stagger: float = 0.0  # one zone's interface -> the next zone's
    lb_enis_deleted: float = 0.0  # NLB deleted -> its network interfaces are gone
    task_pending: float = 0.0  # task PROVISIONING -> PENDING (the private IP appears)
    # task started -> RUNNING for the pinned Jitsi task from Docker Hub: launch + image pulls
    task_running: float = 0.0
    # the image pulls inside ``task_running``; a task with other images (a pull-through
    # cache, another release) gets its own pull time instead (infra/emulator/pulls.py)
    image_pulls: float = 0.0
    task_stopped: float = 0.0  # task STOPPING -> STOPPED
    target_healthy: float = 0.0  # target registered (and NLB active) -> healthy
    dns_insync: float = 0.0  # Route 53 change submitted -> INSYNC (PENDING until then)
    cert_issued: float = 0.0  # ACM validation CNAME in the zone -> certificate ISSUED
    # task RUNNING -> a container's first passing health check (task.json: interval 10 s;
    # jicofo and jvb need about that long to join prosody)
    container_healthy: float = 0.0

    def nlb_bound(self, zones: int = 2) -> float:
        """A start's lower bound behind the NLB: the task starts once every zone's NLB
        interface has an address (JVB is told them), the record is written once it has
        a private IP; the URL needs targets healthy, containers healthy, DNS in sync."""
        told = self.lb_enis + self.lb_eni_stagger * (zones - 1)
        return max(
            max(self.lb_active, told + self.task_running) + self.target_healthy,
            told + self.task_running + self.container_healthy,
            told + self.task_pending + self.dns_insync,
        )

    def direct_bound(self) -> float:
        """A start's lower bound with no load balancer: the record is written the moment
        the task's public IP exists (its interface is made with the task) and must be in
        sync; the containers must be healthy."""
        return max(self.dns_insync, self.task_running + self.container_healthy)


_PINNED = pulls.pinned_images()

# Field numbers from ARCHITECTURE.md section 5: NLB creation over 2 min, Fargate
# start 20-60 s, targets `initial` for 70-120 s in total (registration waits for
# the NLB, then health checks: interval 10 s x threshold 3).
_NOMINAL: dict[ProfileName, Delays] = {
    "instant": Delays(),
    "field": Delays(
        lb_active=120.0,
        lb_enis=5.0,
        lb_eni_stagger=5.0,
        lb_enis_deleted=5.0,
        task_pending=10.0,
        # 15 s launch + 445 MB from Docker Hub at 18 MB/s: about 40 s (images.json)
        task_running=pulls.task_start_seconds(_PINNED),
        image_pulls=pulls.pull_seconds(_PINNED),
        task_stopped=10.0,
        target_healthy=30.0,
        # Route 53: "within 60 seconds under normal conditions" (Route 53 FAQ).
        dns_insync=60.0,
        cert_issued=60.0,  # ACM polls DNS; a few minutes is common, one is the floor seen
        container_healthy=20.0,
    ),
}


@dataclass(frozen=True)
class Profile:
    """A named set of delays and the factor applied to all of them."""

    name: ProfileName
    time_scale: float = 1.0

    def __post_init__(self) -> None:
        if self.name not in _NOMINAL:
            raise ValueError(f"unknown profile {self.name!r}: use one of {PROFILE_NAMES}")
        if self.time_scale < 0:
            raise ValueError(f"time scale must be >= 0, got {self.time_scale}")

    @property
    def delays(self) -> Delays:
        """The profile's delays in real seconds (nominal x time scale)."""
        nominal = _NOMINAL[self.name]
        scaled = {f.name: getattr(nominal, f.name) * self.time_scale for f in fields(nominal)}
        return replace(nominal, **scaled)
