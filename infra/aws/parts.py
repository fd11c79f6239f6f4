"""The platform's parts on AWS, for the lifecycle: one ``PlatformParts`` per process."""

from __future__ import annotations

from bot.config import Settings
from bot.model import IngressKind
from bot.ports import MeetingProbe, PlatformParts
from infra.aws.advertise import SsmAdvertisedAddresses
from infra.aws.audit import AwsAudit
from infra.aws.compute import EcsCompute
from infra.aws.direct import DirectIngress
from infra.aws.dns import Route53Dns
from infra.aws.nlb import NlbIngress, NlbProvisioner
from infra.aws.preflight import AwsPreflight
from infra.aws.session import AwsClients
from infra.probe import HttpsProbe


class Meter:
    """boto3's API calls plus the provisioner's runs of other tools."""

    def __init__(self, clients: AwsClients, provisioner: NlbProvisioner) -> None:
        self.clients = clients
        self.provisioner = provisioner

    def calls(self) -> dict[str, int]:
        counts = self.clients.counter.snapshot()
        counts.update(self.provisioner.calls())
        return counts


def aws_parts(
    settings: Settings,
    clients: AwsClients,
    provisioner: NlbProvisioner,
    probe: MeetingProbe | None = None,
) -> tuple[PlatformParts, NlbIngress | None]:
    """The parts over ``clients``, with the ingress the settings choose; the NLB ingress
    is also returned as itself (the CloudWatch participant source reads its metrics),
    None in direct mode. ``probe`` defaults to the HTTPS probe the settings describe."""
    nlb = NlbIngress(settings, clients, provisioner)
    ingress = DirectIngress(settings, clients) if settings.ingress is IngressKind.DIRECT else nlb
    parts = PlatformParts(
        ingress=ingress,
        compute=EcsCompute(settings, clients),
        dns=Route53Dns(settings, clients),
        advertised=SsmAdvertisedAddresses(settings, clients),
        audit=AwsAudit(settings, clients),
        meter=Meter(clients, provisioner),
        preflight=AwsPreflight(settings, clients),
        probe=probe if probe is not None else HttpsProbe(settings),
    )
    return parts, nlb if ingress is nlb else None
