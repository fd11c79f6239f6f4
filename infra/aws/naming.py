"""Names the driver, the audit and the bootstrap derive from the project name.

Load balancer and target group names are capped at 32 characters; the
project name is validated to at most 23 (``bot.config``) so the longest,
``<project>-udp10000``, fits.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Settings

UDP_PORT = 10000
WEB_PORT = 443  # the NLB's TLS listener: browsers' https://
HTTP_PORT = 80  # the NLB's TCP listener: http://, redirected to https:// by nginx
# jitsi-web's nginx ports inside the task (awsvpc cannot remap them): 443/80 up to
# docker-jitsi-meet stable-11031, 8443/8000 from stable-11146 (web/rootfs/defaults/default).
WEB_CONTAINER_HTTPS_PORT = 443
WEB_CONTAINER_HTTP_PORT = 80
TCP_PORT = 4443
HEALTH_PORT = 8080
HEALTH_PATH = "/about/health"


@dataclass(frozen=True, slots=True)
class GroupSpec:
    """One target group and the listener that forwards to it."""

    name: str
    protocol: str  # target group protocol
    port: int  # the target's (container's) port
    health_protocol: str
    health_port: str
    health_path: str | None
    listener_port: int = 0  # the NLB's port for it; 0: the same as ``port``

    @property
    def front_port(self) -> int:
        return self.listener_port or self.port


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
        # The web groups check the port they forward to: 8080 belongs to JVB, and
        # a healthy bridge says nothing about nginx in jitsi-web.
        # The TLS listener ends the browser's TLS with the ACM certificate and opens
        # a new TLS connection to nginx's HTTPS port (NLBs do not verify target
        # certificates, so its self-signed one is fine). Not plain TCP to nginx's
        # HTTP port: with ENABLE_HTTP_REDIRECT that port answers every request with
        # a redirect to https://, which would loop.
        GroupSpec(
            f"{p}-web{WEB_PORT}",
            "TLS",
            WEB_CONTAINER_HTTPS_PORT,
            "TCP",
            "traffic-port",
            None,
            WEB_PORT,
        ),
        # http:// reaches nginx's HTTP port, which redirects to https://.
        GroupSpec(
            f"{p}-web{HTTP_PORT}",
            "TCP",
            WEB_CONTAINER_HTTP_PORT,
            "TCP",
            "traffic-port",
            None,
            HTTP_PORT,
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


TLS_ROLES = ("fullchain", "privkey", "account-key")


def tls_parameter(project: str, role: str) -> str:
    """SSM SecureString of the direct ingress's certificate: ``fullchain`` and ``privkey``
    (read by the web container at start), ``account-key`` (the ACME account's)."""
    return f"/{project}/tls/{role}"


# The ECR pull-through cache for Docker Hub (image_cache=ecr). Terraform derives the
# same names (terraform/main.tf, "Image cache").
DOCKER_HUB_UPSTREAM = "registry-1.docker.io"
IMAGE_CACHE_SECRET_PREFIX = "ecr-pullthroughcache/"  # AWS requires it for the rule's secret


def image_cache_prefix(settings: Settings) -> str:
    """The ECR repository prefix the Docker Hub images are cached under (2-30 characters)."""
    return f"{settings.project_name}-hub"


def image_cache_secret(settings: Settings) -> str:
    """The Secrets Manager secret (name or ARN) holding the Docker Hub credentials."""
    return settings.image_cache_secret_arn or (
        f"{IMAGE_CACHE_SECRET_PREFIX}{image_cache_prefix(settings)}"
    )


def image_cache_registry(settings: Settings, account: str) -> str:
    """Registry and namespace of the Jitsi images behind the cache (task.json's ``registry``)."""
    host = f"{account}.dkr.ecr.{settings.aws_region}.amazonaws.com"
    return f"{host}/{image_cache_prefix(settings)}/jitsi"
