"""What direct mode needs from the account, as findings for the preflight and ``doctor``:
a certificate for the domain stored in SSM (ACME DNS-01, ``jitsi-bot infra certificate``),
a service that gives its task a public IP, a security group open to the world on TCP 443
and 80 and UDP 10000, and a task definition whose JVB finds its own address (STUN)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.x509.oid import NameOID

from bot.config import Settings
from bot.model import Finding
from infra.aws.certificate import name_covers
from infra.aws.errors import error_code
from infra.aws.network import active_service
from infra.aws.session import AwsClients

CERTIFICATE_FIX = (
    "Run `jitsi-bot infra certificate` once: it obtains a certificate for the domain by "
    "ACME DNS-01 against the hosted zone and stores it in SSM (the worker renews it)."
)
DIRECT_BOOTSTRAP_FIX = (
    "Run `jitsi-bot infra bootstrap` with ingress=direct (or apply terraform/ with "
    'ingress = "direct"), then check again.'
)
# What the world must reach on the task: web (and its redirect) and JVB's media.
OPEN_PORTS = (("tcp", 443), ("tcp", 80), ("udp", 10000))


def certificate_parameters(settings: Settings) -> tuple[str, str]:
    """The SecureStrings holding the certificate chain and its key (PEM)."""
    return f"/{settings.project_name}/tls/fullchain", f"/{settings.project_name}/tls/privkey"


def stored_certificate(settings: Settings, clients: AwsClients, now: float) -> Finding:
    """The stored certificate covers the domain and has not expired."""
    chain_name, key_name = certificate_parameters(settings)
    try:
        chain = clients.ssm.get_parameter(Name=chain_name, WithDecryption=True)
        clients.ssm.get_parameter(Name=key_name)  # only that it exists: no need to decrypt
    except ClientError as exc:
        if error_code(exc) != "ParameterNotFound":
            raise
        return Finding(
            "certificate",
            ok=False,
            detail=f"no certificate for {settings.domain} is stored in SSM "
            f"({chain_name} and {key_name}): direct mode has no load balancer to hold one.",
            fix=CERTIFICATE_FIX,
        )
    try:
        cert = x509.load_pem_x509_certificate(chain["Parameter"]["Value"].encode())
    except ValueError:
        return Finding(
            "certificate", False, f"{chain_name} is not a PEM certificate.", CERTIFICATE_FIX
        )
    names = _names(cert)
    until = cert.not_valid_after_utc
    if not any(name_covers(n, settings.domain) for n in names):
        return Finding(
            "certificate",
            False,
            f"the stored certificate is for {', '.join(names)}, not {settings.domain}.",
            CERTIFICATE_FIX,
        )
    if until.timestamp() <= now:
        return Finding(
            "certificate",
            False,
            f"the stored certificate expired on {until.date().isoformat()}.",
            CERTIFICATE_FIX,
        )
    return Finding(
        "certificate",
        True,
        f"{chain_name} covers {settings.domain}, valid until {until.date().isoformat()}.",
    )


def _names(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        return [str(n) for n in san.value.get_values_for_type(x509.DNSName)]
    except x509.ExtensionNotFound:
        return [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]


def network(settings: Settings, clients: AwsClients) -> list[Finding]:
    """The service assigns a public IP; its security groups admit the world where needed."""
    service = active_service(settings, clients)
    if service is None:
        return [
            Finding(
                "direct network", False, "the ECS service does not exist.", DIRECT_BOOTSTRAP_FIX
            )
        ]
    awsvpc = service.get("networkConfiguration", {}).get("awsvpcConfiguration", {})
    found: list[Finding] = []
    if awsvpc.get("assignPublicIp") != "ENABLED":
        found.append(
            Finding(
                "public IP",
                False,
                f"service {settings.service_name} does not give its task a public IP "
                "(assignPublicIp DISABLED): nothing could reach it.",
                DIRECT_BOOTSTRAP_FIX,
            )
        )
    else:
        found.append(Finding("public IP", True, "the service gives its task a public IP."))
    groups = awsvpc.get("securityGroups", [])
    described = (
        clients.ec2.describe_security_groups(GroupIds=groups)["SecurityGroups"] if groups else []
    )
    missing = [p for p in OPEN_PORTS if not any(_open(g, *p) for g in described)]
    if missing:
        ports = ", ".join(f"{proto.upper()} {port}" for proto, port in missing)
        found.append(
            Finding(
                "security group",
                False,
                f"the task's security group does not admit {ports} from anywhere.",
                DIRECT_BOOTSTRAP_FIX,
            )
        )
    else:
        found.append(
            Finding("security group", True, "TCP 443, TCP 80 and UDP 10000 open to the world.")
        )
    return found


def _open(group: dict[str, Any], proto: str, port: int) -> bool:
    for perm in group.get("IpPermissions", []):
        if perm.get("IpProtocol") not in (proto, "-1"):
            continue
        low, high = perm.get("FromPort", 0), perm.get("ToPort", 65535)
        if perm.get("IpProtocol") != "-1" and not low <= port <= high:
            continue
        if any(r.get("CidrIp") == "0.0.0.0/0" for r in perm.get("IpRanges", [])):
            return True
    return False


def task_stun(settings: Settings, clients: AwsClients) -> Finding:
    """JVB of the service's task definition finds its own address and is told no NLB's."""
    service = active_service(settings, clients)
    if service is None:
        return Finding(
            "JVB address", False, "the ECS service does not exist.", DIRECT_BOOTSTRAP_FIX
        )
    td = clients.ecs.describe_task_definition(taskDefinition=service["taskDefinition"])
    jvb = next(
        (c for c in td["taskDefinition"]["containerDefinitions"] if c["name"] == "jvb"), None
    )
    if jvb is None:
        return Finding("JVB address", False, "the task has no jvb container.", DIRECT_BOOTSTRAP_FIX)
    env = {e["name"]: e.get("value", "") for e in jvb.get("environment", [])}
    secrets = {s["name"] for s in jvb.get("secrets", [])}
    if env.get("JVB_DISABLE_STUN", "0") == "1" or "JVB_ADVERTISE_IPS" in secrets:
        return Finding(
            "JVB address",
            False,
            "the task definition is the NLB mode's: JVB has STUN off and advertises the "
            "load balancer's addresses, so media would not reach the task.",
            DIRECT_BOOTSTRAP_FIX,
        )
    return Finding("JVB address", True, "JVB finds the task's public address by STUN.")
