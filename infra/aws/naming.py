"""Names the driver, the audit and the bootstrap derive from the project name.

Load balancer and target group names are capped at 32 characters; the
project name is validated to at most 23 (``bot.config``) so the longest,
``<project>-udp10000``, fits.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Settings

UDP_PORT = 10000
WEB_PORT = 443
TCP_PORT = 4443
HEALTH_PORT = 8080
HEALTH_PATH = "/about/health"


@dataclass(frozen=True, slots=True)
class GroupSpec:
    """One target group and the listener that forwards to it."""

    name: str
    protocol: str  # target group protocol
    port: int
    health_protocol: str
    health_port: str
    health_path: str | None


def nlb_name(settings: Settings) -> str:
    return f"{settings.project_name}-nlb"


def eni_description_prefix(settings: Settings) -> str:
    """AWS names an NLB's interfaces ``ELB net/<lb name>/<lb id>``."""
    return f"ELB net/{nlb_name(settings)}/"


def group_specs(settings: Settings, *, all_groups: bool = False) -> list[GroupSpec]:
    """The target groups the settings ask for; ``all_groups`` adds 4443 whatever the flag."""
    p = settings.project_name
    specs = [
        # UDP cannot be health-checked over UDP: JVB's HTTP health endpoint on
        # 8080 answers for the bridge (same task network namespace).
        GroupSpec(f"{p}-udp{UDP_PORT}", "UDP", UDP_PORT, "HTTP", str(HEALTH_PORT), HEALTH_PATH),
        # The web group checks the port it forwards to: 8080 belongs to JVB, and
        # a healthy bridge says nothing about nginx in jitsi-web.
        # With a certificate the NLB ends TLS and re-encrypts to jitsi-web's
        # nginx, which only speaks HTTPS on 443: a TCP group would send it
        # plain text. Without one, TCP passes the client's TLS through.
        GroupSpec(
            f"{p}-web{WEB_PORT}",
            "TLS" if settings.acm_certificate_arn else "TCP",
            WEB_PORT,
            "TCP",
            "traffic-port",
            None,
        ),
    ]
    if settings.enable_tcp_4443 or all_groups:
        specs.append(
            GroupSpec(f"{p}-tcp{TCP_PORT}", "TCP", TCP_PORT, "HTTP", str(HEALTH_PORT), HEALTH_PATH)
        )
    return specs


XMPP_ACCOUNTS = ("jicofo", "jvb")


def xmpp_password_parameter(settings: Settings, account: str) -> str:
    """SecureString with ``<ACCOUNT>_AUTH_PASSWORD`` (terraform/main.tf names it the same)."""
    return f"/{settings.project_name}/xmpp/{account}-auth-password"


def family(settings: Settings) -> str:
    return f"{settings.project_name}-jitsi"


def log_group(settings: Settings) -> str:
    return f"/ecs/{settings.project_name}"
