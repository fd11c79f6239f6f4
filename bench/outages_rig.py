"""One outage case's private world (``rig``): its own restartable redis-server (AOF),
its own AWS emulator on the "field" profile, one bootstrapped platform on them; and
what the cases check with (``check`` raises ``Failed``, a case's FAIL row)."""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from infra.keys import Keys
from tests.e2e.conftest import Platform, bootstrapped_platform
from tests.e2e.outage_support import PlatformRedis, outage_client
from tests.support import services
from tests.support.services import RestartableRedis, restartable_redis

Row = tuple[str, str]  # (what, measured)


@dataclass
class Options:
    time_scale: float
    quick: bool
    tmp: Path


@dataclass
class Rig(PlatformRedis):
    """One case's private world: its Redis, its emulator, one platform on them."""

    server: RestartableRedis
    p: Platform

    def audit_clean(self) -> bool:
        return self.p.cli("infra", "audit").code == 0

    def nlbs(self) -> int:
        lbs = self.p.clients.elbv2.describe_load_balancers()["LoadBalancers"]
        name = f"{self.p.settings.project_name}-nlb"
        return len([lb for lb in lbs if lb["LoadBalancerName"] == name])


@contextlib.contextmanager
def rig(opts: Options, name: str, env: dict[str, str] | None = None) -> Iterator[Rig]:
    """A fresh world for one case; ``env`` adds to its platform's ``JITSI_*`` variables."""
    tmp = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=opts.tmp))
    project = f"o{uuid.uuid4().hex[:8]}"
    with (
        restartable_redis(tmp / "redis-data") as server,
        services.emulator("field", opts.time_scale, log=tmp / "emulator.log") as emu,
        bootstrapped_platform(project, server.url, emu, tmp, env) as p,
    ):
        yield Rig(outage_client(server.url), Keys(project), server, p)


class Failed(Exception):
    """The bot did not do what issue 11 asks; ``rows`` are what was measured before."""

    def __init__(self, what: str, rows: list[tuple[str, str]] | None = None) -> None:
        super().__init__(what)
        self.rows = rows or []


def check(cond: object, what: str) -> None:
    if not cond:
        raise Failed(what)


def start_and_wait(g: Rig) -> None:
    res = g.p.say("start")
    check(res.code == 0, f"start failed: {res.stdout[-800:]}{res.stderr[-800:]}")


def stop_clean(g: Rig) -> None:
    res = g.p.say("stop")
    check(res.code == 0, f"stop failed: {res.stdout[-800:]}{res.stderr[-800:]}")
    audits = res.events("audit")
    check(not audits or audits[-1]["data"]["clean"] is True, "stop's audit not clean")
    check(g.audit_clean(), "`infra audit` not clean after the stop")


def reap(proc: subprocess.Popen[str]) -> str:
    """Kill a `say` that may still follow; what it printed."""
    with contextlib.suppress(Exception):
        proc.kill()
        out, err = proc.communicate(timeout=10)
        return out + err
    return ""
