"""Making the NLB, its target groups and listeners with boto3: find or create each,
by name, so a job killed half way converges when it runs again."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from bot.config import Settings
from bot.model import SessionTags
from bot.ports import ProgressNote
from infra.aws import certificate, listeners, naming
from infra.aws.elb import LoadBalancer, TargetGroup, find_group, load_balancer, target_group
from infra.aws.errors import error_code
from infra.aws.network import service_network
from infra.aws.session import AwsClients
from infra.aws.tags import TagSet


class Boto3NlbProvisioner:
    """The NLB made by boto3 calls; removal is the ingress's sweep by name."""

    def __init__(self, settings: Settings, clients: AwsClients) -> None:
        self.settings = settings
        self.clients = clients

    def create(self, tags: SessionTags, note: ProgressNote) -> LoadBalancer:
        """Each boto3 call is short; the lifecycle reports its waits itself."""
        tag_set = TagSet(self.settings.project_name, tags.session, tags.requested_by)
        # Before anything that bills: without a certificate browsers would refuse the
        # meeting, so the start stops here with what to do.
        certificate_arn = certificate.listener_certificate(self.settings, self.clients)
        network: list[tuple[list[str], str]] = []

        def where() -> tuple[list[str], str]:
            if not network:  # one lookup, and only when something must be created
                network.append(service_network(self.settings, self.clients))
            return network[0]

        groups = [
            self._ensure_group(spec, tag_set, where) for spec in naming.group_specs(self.settings)
        ]
        lb = self._ensure_load_balancer(tag_set, where)
        listeners.ensure(self.settings, self.clients.elbv2, lb, groups, certificate_arn)
        return lb

    def destroy(self, note: ProgressNote) -> None:
        """Nothing beyond the ingress's sweep by name, which deletes what boto3 made."""

    def calls(self) -> dict[str, int]:
        return {}

    def _ensure_group(self, spec: naming.GroupSpec, tags: TagSet, where: Any) -> TargetGroup:
        found = find_group(self.clients, spec.name)
        if found is None:
            found = self._create_group(spec, tags, where()[1])
        # Written every time: a job killed after the create still converges, and
        # the default 300 s delay would hold up every stop.
        self.clients.elbv2.modify_target_group_attributes(
            TargetGroupArn=found["TargetGroupArn"],
            Attributes=[
                {
                    "Key": "deregistration_delay.timeout_seconds",
                    "Value": str(self.settings.deregistration_delay_seconds),
                }
            ],
        )
        return target_group(found)

    def _create_group(self, spec: naming.GroupSpec, tags: TagSet, vpc_id: str) -> dict[str, Any]:
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
            found = find_group(self.clients, spec.name)
            if found is None:
                raise
            return found

    def _ensure_load_balancer(self, tags: TagSet, where: Any) -> LoadBalancer:
        try:
            resp = self.clients.elbv2.describe_load_balancers(
                Names=[naming.nlb_name(self.settings)]
            )
            found = resp["LoadBalancers"][0] if resp.get("LoadBalancers") else None
        except ClientError as exc:
            if error_code(exc) != "LoadBalancerNotFound":
                raise
            found = None
        if found is None:
            subnets, _ = where()
            found = self.clients.elbv2.create_load_balancer(
                Name=naming.nlb_name(self.settings),
                Subnets=subnets,
                Type="network",
                Scheme="internet-facing",
                IpAddressType="ipv4",
                Tags=tags.elbv2(),
            )["LoadBalancers"][0]
        # JVB advertises every NLB address, but the one task lives in one zone:
        # without cross-zone balancing, media reaching the other zone's node is
        # dropped. Set on every bring-up, so a job killed after the create still
        # ends with it.
        self.clients.elbv2.modify_load_balancer_attributes(
            LoadBalancerArn=found["LoadBalancerArn"],
            Attributes=[{"Key": "load_balancing.cross_zone.enabled", "Value": "true"}],
        )
        return load_balancer(found)
