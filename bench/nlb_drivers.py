"""One NLB on/off cycle through the boto3 provisioner and through the Terraform one.

Both run in one process against one in-process emulator, through ``NlbIngress``
as the lifecycle drives it: ``bring_up`` (target groups, NLB and listeners), wait
until the NLB is active; then ``remove`` (the provisioner's removal and the boto3
sweep by name) and wait until ``remaining`` is empty (the NLB, its interfaces and
its groups are gone). The AWS calls are counted on the emulator's side (a WSGI
wrapper), so the Terraform provider's calls count too; each request is put
down to its client by User-Agent (the provider says ``terraform-provider-aws``).
The base infrastructure is made first and not measured: by ``infra bootstrap``
for the boto3 provisioner, by ``terraform apply -var nlb_enabled=false`` for the
Terraform provisioner.

Usage: python bench/nlb_drivers.py [--time-scale 0]   (0: the instant profile;
       F > 0: the field profile's delays times F, e.g. NLB active after 120*F s)
Needs terraform on PATH and the provider mirror (TF_PLUGIN_MIRROR, or a folder
named tf-plugins under /opt).
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import NlbDriver, Settings
from bot.config_terraform import TerraformSettings
from bot.model import SessionTags
from bot.polling import poll
from infra.aws.bootstrap import bootstrap
from infra.aws.nlb import NlbIngress
from infra.aws.nlb_boto3 import Boto3NlbProvisioner
from infra.aws.session import AwsClients
from infra.clock import SystemClock
from infra.emulator.faults import operation_of
from infra.emulator.server import EmulatorServer
from infra.terraform.cli import TerraformCli, mirror_cli_config
from infra.terraform.nlb import terraform_provisioner

ROOT = Path(__file__).resolve().parents[1]
PROVIDER = "registry.terraform.io/hashicorp/aws"


class RequestCounter:
    """WSGI wrapper: counts AWS requests by (client, operation)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.calls: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(("/_emulator/", "/moto-api/")):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            agent = environ.get("HTTP_USER_AGENT", "").lower()
            client = "terraform" if "terraform" in agent else "boto3" if "boto" in agent else "?"
            op = operation_of(environ, body) or f"{environ['REQUEST_METHOD']} {path}"
            with self._lock:
                self.calls[(client, op)] += 1
        return self.app(environ, start_response)

    def take(self) -> Counter[tuple[str, str]]:
        with self._lock:
            taken, self.calls = self.calls, Counter()
        return taken


def find_mirror() -> Path | None:
    if os.environ.get("TF_PLUGIN_MIRROR"):
        return Path(os.environ["TF_PLUGIN_MIRROR"])
    for dirpath, dirnames, _ in os.walk("/opt"):
        if "tf-plugins" in dirnames and (Path(dirpath) / "tf-plugins" / PROVIDER).is_dir():
            return Path(dirpath) / "tf-plugins"
    return None


def _quiet(message: str, data: dict[str, Any]) -> None:
    pass


def cycle(ingress: NlbIngress, poll_s: float) -> tuple[float, float]:
    """(seconds NLB on until active, seconds NLB off until it and its interfaces are gone)."""
    clock = SystemClock()

    def wait(probe: Callable[[], Any], done: Callable[[Any], bool], what: str) -> Any:
        return poll(
            probe,
            done,
            clock=clock,
            timeout=600,
            what=what,
            min_interval=poll_s,
            max_interval=poll_s * 10,
        )

    began = time.monotonic()
    ingress.bring_up(SessionTags("bench", "bench"), _quiet)
    wait(ingress.load_balancer, lambda lb: lb is not None and lb.active, "NLB active")
    on = time.monotonic() - began
    began = time.monotonic()
    ingress.remove(_quiet)
    wait(ingress.remaining, lambda left: not left, "NLB, interfaces and groups gone")
    return on, time.monotonic() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--time-scale", type=float, default=0.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    mirror = find_mirror()
    if shutil.which("terraform") is None or mirror is None:
        print("needs terraform on PATH and the provider mirror (TF_PLUGIN_MIRROR)")
        return 2
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    profile = "field" if args.time_scale > 0 else "instant"
    server = EmulatorServer(port=0, profile=profile, time_scale=max(args.time_scale, 0.0))
    server.start()
    assert server._server is not None  # a bench may reach in: count at the wire
    counter = RequestCounter(server._server.app)
    server._server.app = counter
    poll_s = max(1.0 * args.time_scale, 0.05)
    results: dict[str, dict[str, Any]] = {}
    tmp = Path(tempfile.mkdtemp(prefix="bench-nlb-"))
    try:
        # boto3 provisioner
        b3 = Settings(project_name="bench-boto3", aws_endpoint_url=server.url)
        bootstrap(b3, AwsClients(b3))
        counter.take()
        b3_clients = AwsClients(b3)
        on, off = cycle(NlbIngress(b3, b3_clients, Boto3NlbProvisioner(b3, b3_clients)), poll_s)
        results["boto3"] = {"on": on, "off": off, "calls": counter.take()}

        # Terraform provisioner: the operator's root (the emulator example) applied without the NLB.
        tree = tmp / "terraform"
        shutil.copytree(
            ROOT / "terraform",
            tree,
            ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"),
        )
        workdir = tree / "examples" / "emulator"
        tf_vars: dict[str, Any] = {
            "aws_endpoint_url": server.url,
            "project_name": "bench-tf",
            "recordings_bucket_enabled": False,
        }
        tfrc = mirror_cli_config(mirror, tmp / "tfrc")
        base = TerraformCli(workdir, env={"TF_CLI_CONFIG_FILE": str(tfrc)})
        base.init()
        began = time.monotonic()
        base.apply({**tf_vars, "nlb_enabled": False})
        base_s = time.monotonic() - began
        tf = Settings(
            project_name="bench-tf",
            aws_endpoint_url=server.url,
            nlb_driver=NlbDriver.TERRAFORM,
            terraform=TerraformSettings(
                dir=str(workdir), vars=tf_vars, cli_config_file=str(tfrc), init=False
            ),
        )
        counter.take()
        tf_clients = AwsClients(tf)
        on, off = cycle(NlbIngress(tf, tf_clients, terraform_provisioner(tf, tf_clients)), poll_s)
        results["terraform"] = {"on": on, "off": off, "calls": counter.take(), "base": base_s}
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"One NLB on/off cycle, emulator profile {profile} (time scale {args.time_scale:g})")
    print(f"{'driver':<10} {'on (s)':>8} {'off (s)':>8} {'AWS calls':>10} {'by provider':>12}")
    for name, r in results.items():
        calls: Counter[tuple[str, str]] = r["calls"]
        total = sum(calls.values())
        by_tf = sum(n for (client, _), n in calls.items() if client == "terraform")
        print(f"{name:<10} {r['on']:8.1f} {r['off']:8.1f} {total:10d} {by_tf:12d}")
    base_s = results["terraform"]["base"]
    print(f"(Terraform's base apply without the NLB, not in the cycle: {base_s:.1f} s)")
    for name, r in results.items():
        by_op: Counter[str] = Counter()
        for (client, op), n in r["calls"].items():
            by_op[f"{client}:{op}"] += n
        print(f"\n{name}: " + json.dumps(dict(by_op.most_common()), separators=(", ", ": ")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
