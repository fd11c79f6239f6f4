"""``CloudPlatform`` on boto3: the on-demand NLB, its target groups, DNS and the ECS service.

Every operation is idempotent (describe first, create what is missing) and
does not wait: the polling loops live in the core. The only sleeps are a
short, bounded retry of ``ResourceInUse`` when deleting target groups.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from bot.config import Settings
from bot.errors import CloudError
from bot.model import (
    BillableResource,
    LoadBalancer,
    PlatformObservation,
    ServiceState,
    TargetGroup,
    TargetHealth,
    Task,
)
from bot.ports import ProgressNote
from infra.aws import dns, listeners, naming
from infra.aws.audit import audit as run_audit
from infra.aws.ecs_tasks import describe_service_tasks, eni_public_ips, task_eni_id, task_private_ip
from infra.aws.errors import BOOTSTRAP_HINT, error_code, translated
from infra.aws.session import AwsClients
from infra.aws.tags import TagSet

# Deleting a target group fails with ResourceInUse until the NLB deletion has
# released it; the core deletes groups after the NLB is gone, so this is short.
IN_USE_RETRY_DELAYS = (0.5, 1.0, 2.0, 2.0, 2.0)


def _lb(data: dict[str, Any]) -> LoadBalancer:
    return LoadBalancer(
        arn=data["LoadBalancerArn"],
        name=data["LoadBalancerName"],
        dns_name=data.get("DNSName", ""),
        state=data.get("State", {}).get("Code", "provisioning"),
        availability_zones=len(data.get("AvailabilityZones", [])) or 1,
    )


def _tg(data: dict[str, Any]) -> TargetGroup:
    return TargetGroup(
        arn=data["TargetGroupArn"],
        name=data["TargetGroupName"],
        protocol=data["Protocol"],
        port=int(data["Port"]),
    )


class Boto3Platform:
    """The lifecycle's AWS operations through boto3 (moto or the emulator in tests)."""

    def __init__(
        self,
        settings: Settings,
        clients: AwsClients,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.clients = clients
        self._sleep = sleep
        self._network: tuple[list[str], str] | None = None

    # --- lookups ---------------------------------------------------------

    def _service(self) -> dict[str, Any] | None:
        resp = self.clients.ecs.describe_services(
            cluster=self.settings.cluster_name, services=[self.settings.service_name]
        )
        for service in resp.get("services", []):
            if service.get("status") == "ACTIVE":
                return dict(service)
        return None

    def _service_network(self) -> tuple[list[str], str]:
        """(subnets, vpc id) of the ECS service: the NLB goes where the tasks are."""
        if self._network is None:
            service = self._service()
            if service is None:
                raise CloudError(
                    f"ECS service {self.settings.service_name!r} not found in cluster "
                    f"{self.settings.cluster_name!r}.",
                    BOOTSTRAP_HINT,
                )
            awsvpc = service.get("networkConfiguration", {}).get("awsvpcConfiguration", {})
            subnet_ids = list(awsvpc.get("subnets", []))
            if not subnet_ids:
                raise CloudError(
                    f"ECS service {self.settings.service_name!r} has no awsvpc subnets.",
                    BOOTSTRAP_HINT,
                )
            subnets = self.clients.ec2.describe_subnets(SubnetIds=subnet_ids)["Subnets"]
            # One subnet per availability zone, as many zones as configured.
            by_zone: dict[str, str] = {}
            for subnet in sorted(subnets, key=lambda s: s["SubnetId"]):
                by_zone.setdefault(subnet["AvailabilityZone"], subnet["SubnetId"])
            chosen = [by_zone[z] for z in sorted(by_zone)][: self.settings.nlb_availability_zones]
            self._network = (chosen, subnets[0]["VpcId"])
        return self._network

    def _describe_lb(self) -> dict[str, Any] | None:
        try:
            resp = self.clients.elbv2.describe_load_balancers(
                Names=[naming.nlb_name(self.settings)]
            )
        except ClientError as exc:
            if error_code(exc) == "LoadBalancerNotFound":
                return None
            raise
        lbs = resp.get("LoadBalancers", [])
        return dict(lbs[0]) if lbs else None

    def _describe_group(self, name: str) -> dict[str, Any] | None:
        try:
            resp = self.clients.elbv2.describe_target_groups(Names=[name])
        except ClientError as exc:
            if error_code(exc) == "TargetGroupNotFound":
                return None
            raise
        groups = resp.get("TargetGroups", [])
        return dict(groups[0]) if groups else None

    def _existing_groups(self) -> list[dict[str, Any]]:
        """Every target group of the project that exists (4443 too, whatever the flag)."""
        names = [spec.name for spec in naming.group_specs(self.settings, all_groups=True)]
        try:
            resp = self.clients.elbv2.describe_target_groups(Names=names)
            return list(resp.get("TargetGroups", []))
        except ClientError as exc:
            if error_code(exc) != "TargetGroupNotFound":
                raise
        # Some are missing: one call each tells which.
        return [g for g in map(self._describe_group, names) if g is not None]

    # --- start -----------------------------------------------------------

    @translated("creating the target groups")
    def ensure_target_groups(self, requested_by: str, session: str) -> list[TargetGroup]:
        """Find or create the target groups; sets their health check and deregistration delay."""
        tags = TagSet(self.settings.project_name, session, requested_by)
        elbv2 = self.clients.elbv2
        groups: list[TargetGroup] = []
        for spec in naming.group_specs(self.settings):
            found = self._describe_group(spec.name)
            if found is None:
                found = self._create_group(spec, tags)
            arn = found["TargetGroupArn"]
            # Written every time: a job killed after the create still converges,
            # and the default 300 s delay would hold up every stop.
            elbv2.modify_target_group_attributes(
                TargetGroupArn=arn,
                Attributes=[
                    {
                        "Key": "deregistration_delay.timeout_seconds",
                        "Value": str(self.settings.deregistration_delay_seconds),
                    }
                ],
            )
            groups.append(_tg(found))
        return groups

    def _create_group(self, spec: naming.GroupSpec, tags: TagSet) -> dict[str, Any]:
        _, vpc_id = self._service_network()
        kwargs: dict[str, Any] = {
            "Name": spec.name,
            "Protocol": spec.protocol,
            "Port": spec.port,
            "VpcId": vpc_id,
            "TargetType": "ip",
            "HealthCheckEnabled": True,
            "HealthCheckProtocol": spec.health_protocol,
            "HealthCheckPort": spec.health_port,
            "HealthCheckIntervalSeconds": 10,
            "HealthyThresholdCount": 2,
            "UnhealthyThresholdCount": 2,
            "Tags": tags.elbv2(),
        }
        if spec.health_path:
            kwargs["HealthCheckPath"] = spec.health_path
        try:
            return dict(self.clients.elbv2.create_target_group(**kwargs)["TargetGroups"][0])
        except ClientError as exc:
            # Another worker won the race (moto says so; AWS returns the existing one).
            if error_code(exc) != "DuplicateTargetGroupName":
                raise
            found = self._describe_group(spec.name)
            if found is None:
                raise
            return found

    @translated("creating the load balancer")
    def ensure_load_balancer(self, requested_by: str, session: str) -> LoadBalancer:
        """Find or create the internet-facing NLB in the service's subnets."""
        found = self._describe_lb()
        if found is None:
            subnets, _ = self._service_network()
            tags = TagSet(self.settings.project_name, session, requested_by)
            resp = self.clients.elbv2.create_load_balancer(
                Name=naming.nlb_name(self.settings),
                Subnets=subnets,
                Type="network",
                Scheme="internet-facing",
                IpAddressType="ipv4",
                Tags=tags.elbv2(),
            )
            found = resp["LoadBalancers"][0]
        # JVB advertises every NLB address, but the one task lives in one zone:
        # without cross-zone balancing, media reaching the other zone's node is
        # dropped. Set on every ensure, so a job killed after the create still
        # ends with it.
        self.clients.elbv2.modify_load_balancer_attributes(
            LoadBalancerArn=found["LoadBalancerArn"],
            Attributes=[{"Key": "load_balancing.cross_zone.enabled", "Value": "true"}],
        )
        return _lb(found)

    @translated("creating the listeners")
    def ensure_listeners(self, lb: LoadBalancer, groups: list[TargetGroup]) -> int:
        """Make one listener per target group; returns how many it created or changed."""
        return listeners.ensure(self.settings, self.clients.elbv2, lb, groups)

    @translated("looking up the load balancer")
    def describe_load_balancer(self) -> LoadBalancer | None:
        found = self._describe_lb()
        return _lb(found) if found is not None else None

    @translated("reading the load balancer's public IPs")
    def load_balancer_public_ips(self, lb: LoadBalancer) -> list[str]:
        """Public IPs of the NLB's interfaces (``ELB net/<name>/<id>``); empty until they exist."""
        description = f"ELB net/{lb.name}/{lb.arn.rsplit('/', 1)[-1]}"
        ips: list[str] = []
        paginator = self.clients.ec2.get_paginator("describe_network_interfaces")
        filters = [{"Name": "description", "Values": [description]}]
        for page in paginator.paginate(Filters=filters):
            for eni in page.get("NetworkInterfaces", []):
                ip = eni.get("Association", {}).get("PublicIp")
                if ip:
                    ips.append(ip)
        return sorted(ips)

    @translated("writing the advertised IPs to SSM")
    def publish_advertise_ips(self, ips: list[str]) -> None:
        """Write the IPs to the SSM parameter JVB reads as ``JVB_ADVERTISE_IPS``."""
        self.clients.ssm.put_parameter(
            Name=self.settings.advertise_ips_parameter,
            Value=",".join(ips),
            Type="String",
            Overwrite=True,
        )

    @translated("updating DNS")
    def upsert_dns(self, lb: LoadBalancer) -> bool:
        """Alias the meeting domain to the NLB; False when no hosted zone is configured."""
        if not self.settings.hosted_zone_id:
            return False
        found = self._describe_lb()
        if found is None:
            raise CloudError(f"Load balancer {lb.name!r} vanished before its DNS record was set.")
        dns.change_alias(
            self.settings, self.clients, "UPSERT", found["CanonicalHostedZoneId"], found["DNSName"]
        )
        return True

    @translated("removing the DNS record")
    def delete_dns(self) -> bool:
        """Delete the domain's alias record; False when no hosted zone is configured."""
        zone = self.settings.hosted_zone_id
        if not zone:
            return False
        alias = dns.current_alias(self.settings, self.clients)
        if alias is not None:
            dns.change_alias(
                self.settings, self.clients, "DELETE", alias["HostedZoneId"], alias["DNSName"]
            )
        return True

    @translated("scaling the ECS service")
    def set_desired_count(self, count: int) -> None:
        self.clients.ecs.update_service(
            cluster=self.settings.cluster_name,
            service=self.settings.service_name,
            desiredCount=count,
        )

    @translated("reading the ECS service")
    def service_state(self) -> ServiceState | None:
        service = self._service()
        if service is None:
            return None
        return ServiceState(
            desired_count=int(service.get("desiredCount", 0)),
            running_count=int(service.get("runningCount", 0)),
            pending_count=int(service.get("pendingCount", 0)),
        )

    @translated("listing the service's tasks")
    def list_tasks(self, *, include_stopped: bool = False) -> list[Task]:
        """The service's tasks that should run (stopping/stopped ones too if asked)."""
        statuses = ("RUNNING", "STOPPED") if include_stopped else ("RUNNING",)
        raw = describe_service_tasks(self.clients, self.settings, statuses)
        enis = [eni for eni in map(task_eni_id, raw) if eni]
        public = eni_public_ips(self.clients, enis)
        tasks = []
        for task in raw:
            eni = task_eni_id(task)
            tasks.append(
                Task(
                    arn=task["taskArn"],
                    last_status=task.get("lastStatus", "PROVISIONING"),
                    private_ip=task_private_ip(task),
                    desired_status=task.get("desiredStatus", "RUNNING"),
                    public_ip=public.get(eni) if eni else None,
                )
            )
        return tasks

    @translated("registering the task in the target groups")
    def register_targets(self, ips: list[str]) -> None:
        """Register ``ips`` in every target group and deregister any other target."""
        elbv2 = self.clients.elbv2
        wanted_ips = set(ips)
        for group in self._existing_groups():
            arn, port = group["TargetGroupArn"], int(group["Port"])
            current = {
                (d["Target"]["Id"], int(d["Target"].get("Port", port)))
                for d in elbv2.describe_target_health(TargetGroupArn=arn)[
                    "TargetHealthDescriptions"
                ]
            }
            wanted = {(ip, port) for ip in wanted_ips}
            missing = sorted(wanted - current)
            stale = sorted(current - wanted)
            if missing:
                targets = [{"Id": ip, "Port": p} for ip, p in missing]
                elbv2.register_targets(TargetGroupArn=arn, Targets=targets)
            if stale:
                targets = [{"Id": ip, "Port": p} for ip, p in stale]
                elbv2.deregister_targets(TargetGroupArn=arn, Targets=targets)

    @translated("reading target health")
    def target_health(self) -> list[TargetHealth]:
        out: list[TargetHealth] = []
        for group in self._existing_groups():
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

    # --- stop ------------------------------------------------------------

    @translated("deleting the listeners")
    def delete_listeners(self, lb: LoadBalancer) -> int:
        """Delete every listener of ``lb``; returns how many it deleted."""
        return listeners.delete_all(self.clients.elbv2, lb)

    @translated("deleting the load balancer")
    def delete_load_balancer(self, lb: LoadBalancer) -> None:
        """Ask AWS to delete the NLB; does not wait (poll ``describe_load_balancer``)."""
        try:
            self.clients.elbv2.delete_load_balancer(LoadBalancerArn=lb.arn)
        except ClientError as exc:
            if error_code(exc) != "LoadBalancerNotFound":
                raise

    @translated("deleting the target groups")
    def delete_target_groups(self) -> int:
        """Delete every target group of the project; returns how many it deleted."""
        deleted = 0
        for group in self._existing_groups():
            if self._delete_group(group["TargetGroupArn"]):
                deleted += 1
        return deleted

    def _delete_group(self, arn: str) -> bool:
        delays = iter(IN_USE_RETRY_DELAYS)
        while True:
            try:
                self.clients.elbv2.delete_target_group(TargetGroupArn=arn)
                return True
            except ClientError as exc:
                code = error_code(exc)
                if code == "TargetGroupNotFound":
                    return False
                delay = next(delays, None)
                if code != "ResourceInUse" or delay is None:
                    if code == "ResourceInUse":
                        raise CloudError(
                            "A target group is still in use by the load balancer.",
                            "Delete the listeners and the load balancer first, then retry.",
                            retryable=True,
                        ) from exc
                    raise
                self._sleep(delay)

    # --- read-only -------------------------------------------------------

    def audit(self) -> list[BillableResource]:
        """Every billable resource that belongs to the project, whatever the desired state."""
        return run_audit(self.settings, self.clients)

    @translated("reading the platform's state")
    def observe(self) -> PlatformObservation:
        lb = self.describe_load_balancer()
        service = self.service_state()
        tasks = self.list_tasks() if service is not None else []
        return PlatformObservation(
            service=service,
            load_balancer=lb,
            tasks=tuple(tasks),
            targets=tuple(self.target_health()),
            advertise_ips=tuple(self._advertise_ips()),
            calls=self.call_counts(),
        )

    def _advertise_ips(self) -> list[str]:
        try:
            resp = self.clients.ssm.get_parameter(Name=self.settings.advertise_ips_parameter)
        except ClientError as exc:
            if error_code(exc) == "ParameterNotFound":
                return []
            raise
        return [ip for ip in resp["Parameter"]["Value"].split(",") if ip]

    def observe_progress(self, note: ProgressNote | None) -> None:
        """Each boto3 operation is short; the core reports its waits itself."""

    def call_counts(self) -> dict[str, int]:
        """AWS API calls made so far by this driver, per ``service.Operation``."""
        return self.clients.counter.snapshot()
