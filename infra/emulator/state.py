"""The emulator's own mutable state, shared by request threads and the scheduler.

Timestamps of emulated AWS objects live on the moto model objects themselves (so
a moto reset forgets them too); this holds only what belongs to the emulator.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from .faults import FaultBook
from .profiles import Profile

TargetMode = Literal["auto", "unhealthy", "initial"]
# The key of the participant count that applies to every project without its own.
ANY_PROJECT = "*"
TARGET_MODES: tuple[TargetMode, ...] = ("auto", "unhealthy", "initial")

# Documentation ranges (RFC 5737): they look public and never route anywhere.
_PUBLIC_POOL = [
    str(ip)
    for net in ("203.0.113.0/24", "198.51.100.0/24")
    for ip in ipaddress.ip_network(net).hosts()
]


def now() -> float:
    """The emulator's clock (monotonic seconds); every delay is measured against it."""
    return time.monotonic()


@dataclass
class EmulatorState:
    """Profile, control switches and faults. Hold ``lock`` to read or change anything."""

    profile: Profile
    target_mode: TargetMode = "auto"
    faults: FaultBook = field(default_factory=FaultBook)
    # Re-entrant: moto calls made by the scheduler re-enter the patches, which lock too.
    lock: threading.RLock = field(default_factory=threading.RLock)
    # Rotates so a recreated NLB gets new public IPs, as on AWS.
    _next_public: int = 0
    # (account, region, cluster, service) -> (retry after, last error): a failing
    # run_task is retried slowly, not on every tick.
    service_errors: dict[tuple[str, str, str, str], tuple[float, str]] = field(default_factory=dict)
    # What the simulated stats sidecar reports, by project (ANY_PROJECT: the rest);
    # None: the sidecar is silent. Unset: 0, an empty meeting.
    participants: dict[str, int | None] = field(default_factory=dict)
    # The task's network bytes per simulated minute (sent, received), by project:
    # the sidecar's NetworkTxBytes/NetworkRxBytes. Unset: nothing is published.
    traffic: dict[str, tuple[float, float]] = field(default_factory=dict)
    # IAM actions every principal is denied in simulations (iam_sim), and quota
    # values other than AWS's defaults (quotas): the doctor's tests set them.
    denied_actions: set[str] = field(default_factory=set)
    quota_values: dict[tuple[str, str], float] = field(default_factory=dict)
    # The HTTPS front (infra.emulator.front): what jitsi-web answers behind a healthy
    # target (200: the Jitsi Meet page; 502: nginx with its upstream down), and where
    # the front listens and its CA file, for the control API.
    web_status: int = 200
    https_front: dict[str, str] = field(default_factory=dict)
    # The HTTPS front's CA signing a certificate for names: (fullchain, privkey) PEM.
    tls_issuer: Callable[[tuple[str, ...]], tuple[str, str]] | None = None

    def next_public_ip(self, in_use: set[str]) -> str:
        """A fake public IPv4 address no live interface holds."""
        for _ in range(len(_PUBLIC_POOL)):
            ip = _PUBLIC_POOL[self._next_public % len(_PUBLIC_POOL)]
            self._next_public += 1
            if ip not in in_use:
                return ip
        raise RuntimeError("the emulator ran out of fake public IPv4 addresses")

    def reset(self) -> None:
        """Forget switches, faults and errors; keep the profile."""
        self.target_mode = "auto"
        self.faults = FaultBook()
        self.service_errors.clear()
        self.participants.clear()
        self.traffic.clear()
        self.denied_actions.clear()
        self.quota_values.clear()
        self.web_status = 200
        self._next_public = 0
