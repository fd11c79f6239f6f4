"""The on-demand Network Load Balancer as the platform's ``Ingress``.

Reading, attaching and removal leftovers are boto3's; creating and destroying the
NLB, its target groups and listeners is a ``NlbProvisioner``'s: boto3 calls
(``infra.aws.nlb_boto3``) or one ``terraform apply`` (``infra.terraform.nlb``).
Whatever the provisioner, removal ends with a boto3 sweep by name, so switching
provisioners never strands a billable resource.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from botocore.exceptions import ClientError
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from bot.config import Settings
from bot.errors import CloudError
from bot.model import (
    AliasTarget,
    DnsTarget,
    IngressKind,
    IngressView,
    Readiness,
    SessionTags,
    TargetHealth,
    Task,
)
from bot.ports import ProgressNote
from infra.aws import listeners, naming
from infra.aws.elb import (
    LoadBalancer,
    every_group,
    existing_groups,
    find_load_balancer,
    interface_ips,
)
from infra.aws.errors import error_code, translated
from infra.aws.session import AwsClients


class NlbProvisioner(Protocol):
    """Makes and unmakes the NLB with its target groups and listeners."""

    def create(self, tags: SessionTags, note: ProgressNote) -> LoadBalancer:
        """Find or create all of it and return the NLB; progress from inside long
        operations goes to ``note``."""

    def destroy(self, note: ProgressNote) -> None:
        """Remove what it manages; what remains is swept by name afterwards."""

    def calls(self) -> dict[str, int]:
        """Runs of tools other than boto3 (``terraform.<command>``); empty for boto3."""


def _in_use(exc: BaseException) -> bool:
    return isinstance(exc, ClientError) and error_code(exc) == "ResourceInUse"


class NlbIngress:
    """Clients reach the task through an internet-facing NLB: UDP 10000 to JVB and
    443 to jitsi-web (TLS ends at the NLB when a certificate is configured)."""

    kind = IngressKind.NLB
    advertises = True  # JVB advertises the NLB's addresses, never the task's own

    def __init__(
        self,
        settings: Settings,
        clients: AwsClients,
        provisioner: NlbProvisioner,
        *,
        in_use_attempts: int = 6,
        in_use_wait: float = 0.5,
    ) -> None:
        self.settings = settings
        self.clients = clients
        self.provisioner = provisioner
        # The NLB this job brought up; its interfaces are named after its id.
        self._current: LoadBalancer | None = None
        # A target group is "in use" for a moment after its listener is deleted.
        self._in_use_retry = Retrying(
            retry=retry_if_exception(_in_use),
            stop=stop_after_attempt(in_use_attempts),
            wait=wait_exponential(multiplier=in_use_wait, max=2.0),
            reraise=True,
        )

    # --- start -----------------------------------------------------------

    @translated("bringing up the load balancer")
    def bring_up(self, tags: SessionTags, note: ProgressNote) -> None:
        self._current = self.provisioner.create(tags, note)

    def load_balancer(self) -> LoadBalancer | None:
        """The NLB as AWS describes it now (also for its CloudWatch metrics)."""
        self._current = find_load_balancer(self.settings, self.clients)
        return self._current

    @translated("reading the load balancer's public IPs")
    def advertised_addresses(self) -> list[str]:
        """One public IP per zone of the NLB, once the interface of every zone exists
        (empty until then): JVB reads them once, at start, and a client routed to a
        zone whose address it was not told gets no media."""
        lb = self._current or self.load_balancer()
        if lb is None:
            return []
        ips = interface_ips(self.clients, lb.interface_description)
        return ips if len(ips) >= lb.availability_zones else []

    @translated("registering the task in the target groups")
    def attach(self, tasks: Sequence[Task]) -> None:
        """Register the tasks' IPs in every target group and deregister any other target."""
        elbv2 = self.clients.elbv2
        wanted_ips = {t.private_ip for t in tasks if t.private_ip}
        for group in existing_groups(self.settings, self.clients):
            arn, port = group["TargetGroupArn"], int(group["Port"])
            described = elbv2.describe_target_health(TargetGroupArn=arn)
            current = {
                (d["Target"]["Id"], int(d["Target"].get("Port", port)))
                for d in described["TargetHealthDescriptions"]
            }
            wanted = {(ip, port) for ip in wanted_ips}
            missing, stale = sorted(wanted - current), sorted(current - wanted)
            if missing:
                targets = [{"Id": ip, "Port": p} for ip, p in missing]
                elbv2.register_targets(TargetGroupArn=arn, Targets=targets)
            if stale:
                targets = [{"Id": ip, "Port": p} for ip, p in stale]
                elbv2.deregister_targets(TargetGroupArn=arn, Targets=targets)

    @translated("reading target health")
    def readiness(self) -> Readiness:
        lb = self.load_balancer()
        if lb is None:
            return Readiness(False, "NLB missing", gone=True)
        # An NLB health-checks its targets only once it is active: until then
        # their health is "initial" by definition, not worth a call.
        targets = self.target_health() if lb.active else []
        states = sorted({t.state for t in targets})
        pending = "checked once it is active" if not lb.active else "none"
        failing = tuple(
            f"{t.target_group}: {t.reason or 'unhealthy'}"
            for t in targets
            if t.state == "unhealthy"
        )
        return Readiness(
            ready=lb.active and bool(targets) and all(t.healthy for t in targets),
            address=lb.dns_name,
            summary=f"NLB {lb.state}, targets {'/'.join(states) or pending}",
            failing=failing,
            hint=f"Check the task's logs (/ecs/{self.settings.project_name}) and that "
            "jitsi-web answers on 8080 /about/health.",
        )

    def target_health(self) -> list[TargetHealth]:
        out: list[TargetHealth] = []
        for group in existing_groups(self.settings, self.clients):
            resp = self.clients.elbv2.describe_target_health(TargetGroupArn=group["TargetGroupArn"])
            for desc in resp.get("TargetHealthDescriptions", []):
                health = desc.get("TargetHealth", {})
                out.append(
                    TargetHealth(
                        target_group=group["TargetGroupName"],
                        target_id=desc["Target"]["Id"],
                        port=int(desc["Target"].get("Port", group["Port"])),
                        state=health.get("State", "unavailable"),
                        reason=health.get("Description") or health.get("Reason", ""),
                    )
                )
        return out

    @translated("looking up the load balancer")
    def dns_target(self, tasks: Sequence[Task]) -> DnsTarget | None:
        """An alias to the NLB (free, and it follows the NLB's addresses)."""
        lb = self._current if self._current and self._current.zone_id else self.load_balancer()
        return AliasTarget(lb.zone_id, lb.dns_name) if lb is not None else None

    # --- stop ------------------------------------------------------------

    @translated("removing the load balancer")
    def remove(self, note: ProgressNote) -> None:
        """The provisioner's removal, then a boto3 sweep by name of anything left."""
        self.provisioner.destroy(note)
        lb = find_load_balancer(self.settings, self.clients)
        if lb is not None:
            listeners.delete_all(self.clients.elbv2, lb)
            try:
                self.clients.elbv2.delete_load_balancer(LoadBalancerArn=lb.arn)
            except ClientError as exc:
                if error_code(exc) != "LoadBalancerNotFound":
                    raise
        for group in every_group(self.settings, self.clients):
            self._delete_group(group["TargetGroupArn"])
        self._current = None

    def _delete_group(self, arn: str) -> None:
        try:
            for attempt in self._in_use_retry:
                with attempt:
                    self.clients.elbv2.delete_target_group(TargetGroupArn=arn)
        except ClientError as exc:
            if error_code(exc) == "TargetGroupNotFound":
                return
            if error_code(exc) == "ResourceInUse":
                raise CloudError(
                    "A target group is still in use by the load balancer.",
                    "Delete the listeners and the load balancer first, then retry.",
                    retryable=True,
                ) from exc
            raise

    @translated("checking what is left of the load balancer")
    def remaining(self) -> list[str]:
        """Public addresses of the NLB's interfaces (they outlive a deleted NLB for a
        while and bill hourly), the NLB itself, its target groups: the first that exists."""
        prefix = naming.eni_description_prefix(self.settings)
        ips = interface_ips(self.clients, prefix + "*")
        if ips:
            return [f"{len(ips)} NLB network interface address(es)"]
        lb = find_load_balancer(self.settings, self.clients)
        if lb is not None:
            return [f"load balancer {lb.name} ({lb.state})"]
        return [
            f"target group {g['TargetGroupName']}"
            for g in existing_groups(self.settings, self.clients)
        ]

    # --- read-only -------------------------------------------------------

    @translated("reading the load balancer")
    def describe(self) -> IngressView | None:
        lb = self.load_balancer()
        if lb is None:
            return None
        return IngressView(
            kind=self.kind,
            name=lb.name,
            dns_name=lb.dns_name,
            state=lb.state,
            addresses=tuple(interface_ips(self.clients, lb.interface_description)),
            targets=tuple(self.target_health()),
        )
