"""``jitsi-bot infra bootstrap``: the base infrastructure that stays while nobody meets.

Idempotent: every resource is looked up by name or tag first, so a second run
creates nothing (and says so), and a run killed half-way is finished by the
next. What it makes costs nothing at rest: no NAT gateway, no load balancer,
an ECS service at desired count 0.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from bot.config import ImageCache, Settings
from bot.config_jwt import GuestPolicy
from bot.model import IngressKind
from infra.aws import jwt_secret, naming
from infra.aws.bootstrap_cache import CACHE_ACTIONS, ensure_image_cache
from infra.aws.bootstrap_certificate import ensure_certificate
from infra.aws.bootstrap_network import Recorder, ensure_network
from infra.aws.dns_zone import lower_negative_caching
from infra.aws.errors import cloud_errors, error_code
from infra.aws.session import AwsClients
from infra.aws.tags import TagSet
from infra.jitsi.spec import TaskInputs, container_definitions, jvb_memory
from infra.settings import ConfigError

LOG_RETENTION_DAYS = 14
EXECUTION_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
SPEC_TAG = "jitsi:spec"  # hash of the task definition we would register
EXECUTION_POLICY_NAME = "read-task-parameters"
# Below this JVB has no room for a useful heap once the other containers have theirs.
MIN_JVB_MEMORY = 1024
WEB_TLS_ROLES = ("fullchain", "privkey")  # what the web container reads in direct mode


def bootstrap(
    settings: Settings,
    clients: AwsClients,
    progress: Callable[[str], None] | None = None,
    *,
    requested_by: str = "",
) -> dict[str, str]:
    """Find or create the base infrastructure; returns the names and ids of what exists.

    The ``created`` key lists what this run made (empty when nothing).
    """
    rec = Recorder(
        settings=settings,
        clients=clients,
        progress=progress or (lambda _msg: None),
        tags=TagSet(settings.project_name, requested_by=requested_by),
    )
    with cloud_errors(settings, "bootstrapping the base infrastructure"):
        account = clients.client("sts").get_caller_identity()["Account"]
        rec.result["account_id"] = account
        ensure_network(rec)
        ensure_certificate(rec)
        _log_group(rec)
        _parameter(rec, account)
        _passwords(rec, account)
        ensure_image_cache(rec, account)
        _jwt_secret(rec)
        _execution_role(rec, account)
        _task_definition(rec)
        _cluster(rec)
        _bucket(rec, account)
        _service(rec)
        _negative_caching(rec)
    rec.result["created"] = ",".join(rec.created)
    if rec.created:
        rec.progress(f"Base infrastructure ready: created {len(rec.created)} resources.")
    else:
        rec.progress("Nothing to create: the base infrastructure already exists.")
    return rec.result


def _negative_caching(rec: Recorder) -> None:
    """The hosted zone's SOA lowered, so a start is not hidden by cached NXDOMAINs
    (``infra.aws.dns_zone``); the only change bootstrap makes outside the project."""
    if not rec.settings.hosted_zone_id:
        return
    lowered = lower_negative_caching(rec.settings, rec.clients)
    if lowered is not None:
        rec.progress(
            f"Hosted zone {rec.settings.hosted_zone_id}: SOA TTL and minimum lowered to "
            f'{lowered.negative_cache_seconds} s ("no such name" is cached that long)'
        )
    else:
        rec.found("Hosted zone SOA", rec.settings.hosted_zone_id)


def _log_group(rec: Recorder) -> None:
    logs = rec.clients.client("logs")
    name = naming.log_group(rec.settings)
    groups = logs.describe_log_groups(logGroupNamePrefix=name).get("logGroups", [])
    group = next((g for g in groups if g["logGroupName"] == name), None)
    if group is None:
        logs.create_log_group(logGroupName=name, tags=rec.tags.as_dict())
        rec.made("Log group", name)
    else:
        rec.found("Log group", name)
    if group is None or group.get("retentionInDays") != LOG_RETENTION_DAYS:
        logs.put_retention_policy(logGroupName=name, retentionInDays=LOG_RETENTION_DAYS)
    rec.result["log_group"] = name


def _parameter(rec: Recorder, account: str) -> None:
    ssm = rec.clients.ssm
    name = rec.settings.advertise_ips_parameter
    try:
        arn = ssm.get_parameter(Name=name)["Parameter"]["ARN"]
        rec.found("SSM parameter", name)
    except ClientError as exc:
        if error_code(exc) != "ParameterNotFound":
            raise
        ssm.put_parameter(
            Name=name,
            Value="0.0.0.0",  # placeholder until the first start writes the NLB's IPs
            Type="String",
            Description="JVB_ADVERTISE_IPS: public IPs of the on-demand NLB",
            Tags=rec.tags.ssm(),
        )
        arn = f"arn:aws:ssm:{rec.settings.aws_region}:{account}:parameter/{name.lstrip('/')}"
        rec.made("SSM parameter", name)
    rec.result["advertise_ips_parameter"] = name
    rec.result["advertise_ips_parameter_arn"] = arn


def _passwords(rec: Recorder, account: str) -> None:
    """The internal XMPP accounts' passwords: prosody, jicofo and jvb refuse to start without.

    Random, created once and never rewritten (a new value would need every container
    restarted together); the task reads them through ``secrets``, never plain environment.
    """
    ssm = rec.clients.ssm
    for who in naming.XMPP_ACCOUNTS:
        name = naming.xmpp_password_parameter(rec.settings, who)
        try:
            arn = ssm.get_parameter(Name=name)["Parameter"]["ARN"]
            rec.found("SSM parameter", name)
        except ClientError as exc:
            if error_code(exc) != "ParameterNotFound":
                raise
            ssm.put_parameter(
                Name=name,
                Value=secrets.token_hex(32),
                Type="SecureString",
                Description=f"{who.upper()}_AUTH_PASSWORD of the internal XMPP account",
                Tags=rec.tags.ssm(),
            )
            arn = f"arn:aws:ssm:{rec.settings.aws_region}:{account}:parameter/{name.lstrip('/')}"
            rec.made("SSM parameter", name)
        rec.result[f"{who}_password_parameter_arn"] = arn


def _jwt_secret(rec: Recorder) -> None:
    """JWT_APP_SECRET for meeting links (``jwt`` on): random, made once, rotated by
    ``jitsi-bot infra rotate-secrets``; prosody gets it as a task secret."""
    if not rec.settings.jwt.enabled:
        return
    name = rec.settings.jwt.secret_parameter
    arn, created = jwt_secret.ensure(rec.settings, rec.clients, rec.tags)
    if created:
        rec.made("SSM parameter", name)
    else:
        rec.found("SSM parameter", name)
    rec.result["jwt_secret_parameter_arn"] = arn


def _execution_role(rec: Recorder, account: str) -> None:
    """The role ECS uses to pull images, write logs and read the task's parameters."""
    # The direct ingress's certificate: written by `infra certificate`, not here, but
    # named in the policy so a direct-mode task can read it (not the ACME account key).
    for role in WEB_TLS_ROLES:
        name = naming.tls_parameter(rec.settings.project_name, role)
        rec.result[f"tls_{role}_parameter_arn"] = (
            f"arn:aws:ssm:{rec.settings.aws_region}:{account}:parameter/{name.lstrip('/')}"
        )
    iam = rec.clients.client("iam")
    name = f"{rec.settings.project_name}-task-execution"
    try:
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
        rec.found("IAM role", name)
    except ClientError as exc:
        if error_code(exc) != "NoSuchEntity":
            raise
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        arn = iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), Tags=rec.tags.elbv2()
        )["Role"]["Arn"]
        rec.made("IAM role", name)
    attached = iam.list_attached_role_policies(RoleName=name).get("AttachedPolicies", [])
    if not any(p["PolicyArn"] == EXECUTION_POLICY for p in attached):
        iam.attach_role_policy(RoleName=name, PolicyArn=EXECUTION_POLICY)
    policy: dict[str, Any] = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                # ECS fetches a task's `secrets` with GetParameters; SecureStrings under
                # the account's default key (alias/aws/ssm) need no kms:Decrypt grant.
                "Action": ["ssm:GetParameters", "ssm:GetParameter"],
                "Resource": sorted(
                    rec.result[k]
                    for k in (
                        "advertise_ips_parameter_arn",
                        *(f"{who}_password_parameter_arn" for who in naming.XMPP_ACCOUNTS),
                        *(f"tls_{role}_parameter_arn" for role in WEB_TLS_ROLES),
                        *(
                            ["jwt_secret_parameter_arn"]
                            if "jwt_secret_parameter_arn" in rec.result
                            else []
                        ),
                    )
                ),
            }
        ],
    }
    if rec.result.get("image_registry"):
        prefix = naming.image_cache_prefix(rec.settings)
        region = rec.settings.aws_region
        policy["Statement"].append(
            {
                "Effect": "Allow",
                "Action": list(CACHE_ACTIONS),
                "Resource": f"arn:aws:ecr:{region}:{account}:repository/{prefix}/*",
            }
        )
    names = iam.list_role_policies(RoleName=name).get("PolicyNames", [])
    current = (
        iam.get_role_policy(RoleName=name, PolicyName=EXECUTION_POLICY_NAME)["PolicyDocument"]
        if EXECUTION_POLICY_NAME in names
        else None
    )
    if isinstance(current, str):
        current = json.loads(current)
    if current != policy:
        iam.put_role_policy(
            RoleName=name, PolicyName=EXECUTION_POLICY_NAME, PolicyDocument=json.dumps(policy)
        )
    if "read-advertise-ips" in names:  # the narrower policy of earlier versions
        iam.delete_role_policy(RoleName=name, PolicyName="read-advertise-ips")
    rec.result["execution_role_arn"] = arn


def _containers(rec: Recorder) -> list[dict[str, Any]]:
    """infra/jitsi/task.json, filled with this account's names (Terraform fills the same)."""
    s = rec.settings
    memory = int(s.task_memory_gb * 1024)
    if jvb_memory(memory) < MIN_JVB_MEMORY:
        raise ConfigError(
            f"task_memory_gb={s.task_memory_gb} leaves JVB {jvb_memory(memory)} MiB",
            hint=f"Give the task at least {memory - jvb_memory(memory) + MIN_JVB_MEMORY} MiB.",
        )
    inputs = TaskInputs(
        project=s.project_name,
        region=s.aws_region,
        public_url=s.meeting_base_url,
        log_group=naming.log_group(s),
        task_memory=memory,
        advertise_ips_arn=rec.result["advertise_ips_parameter_arn"],
        jicofo_password_arn=rec.result["jicofo_password_parameter_arn"],
        jvb_password_arn=rec.result["jvb_password_parameter_arn"],
        tcp_4443=s.enable_tcp_4443,
        tls_fullchain_arn=rec.result.get("tls_fullchain_parameter_arn", ""),
        tls_privkey_arn=rec.result.get("tls_privkey_parameter_arn", ""),
        registry=rec.result.get("image_registry") or None,
        jwt=s.jwt.enabled,
        jwt_app_id=s.jwt.app_id,
        jwt_secret_arn=rec.result.get("jwt_secret_parameter_arn", ""),
        jwt_guests=s.jwt.guests is GuestPolicy.LOBBY,
        direct=s.ingress is IngressKind.DIRECT,
        # Direct mode has no load balancer to end TLS: web presents the ACME certificate.
        direct_tls=s.ingress is IngressKind.DIRECT,
    )
    return container_definitions(inputs)


def _task_definition(rec: Recorder) -> None:
    ecs = rec.clients.ecs
    s = rec.settings
    fam = naming.family(s)
    spec: dict[str, Any] = {
        "family": fam,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": str(int(s.task_vcpu * 1024)),
        "memory": str(int(s.task_memory_gb * 1024)),
        "executionRoleArn": rec.result["execution_role_arn"],
        "runtimePlatform": {
            "cpuArchitecture": "ARM64" if s.cpu_architecture.value == "arm64" else "X86_64",
            "operatingSystemFamily": "LINUX",
        },
        "containerDefinitions": _containers(rec),
    }
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
    try:
        current = ecs.describe_task_definition(taskDefinition=fam, include=["TAGS"])
    except ClientError as exc:
        if error_code(exc) not in ("ClientException", "InvalidParameterException"):
            raise
        current = None
    if current and {t["key"]: t["value"] for t in current.get("tags", [])}.get(SPEC_TAG) == digest:
        arn = current["taskDefinition"]["taskDefinitionArn"]
        rec.found("Task definition", arn.rsplit("/", 1)[-1])
    else:
        tags = [*rec.tags.ecs(), {"key": SPEC_TAG, "value": digest}]
        arn = ecs.register_task_definition(**spec, tags=tags)["taskDefinition"]["taskDefinitionArn"]
        rec.made("Task definition", arn.rsplit("/", 1)[-1])
    rec.result["task_definition"] = arn


def _cluster(rec: Recorder) -> None:
    ecs = rec.clients.ecs
    name = rec.settings.cluster_name
    clusters = ecs.describe_clusters(clusters=[name]).get("clusters", [])
    if any(c.get("status") == "ACTIVE" for c in clusters):
        rec.found("ECS cluster", name)
    else:
        ecs.create_cluster(clusterName=name, tags=rec.tags.ecs())
        rec.made("ECS cluster", name)
    rec.result["cluster"] = name


def _bucket(rec: Recorder, account: str) -> None:
    s3 = rec.clients.client("s3")
    name = f"{rec.settings.project_name}-recordings-{account}"
    try:
        s3.head_bucket(Bucket=name)
        rec.found("S3 bucket", name)
    except ClientError as exc:
        if error_code(exc) not in ("404", "NoSuchBucket", "NotFound"):
            raise
        kwargs: dict[str, Any] = {"Bucket": name}
        if rec.settings.aws_region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": rec.settings.aws_region}
        s3.create_bucket(**kwargs)
        s3.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        s3.put_bucket_tagging(Bucket=name, Tagging=rec.tags.s3())
        rec.made("S3 bucket", name)
    rec.result["bucket"] = name


def _service(rec: Recorder) -> None:
    ecs = rec.clients.ecs
    s = rec.settings
    td = rec.result["task_definition"]
    services = ecs.describe_services(cluster=s.cluster_name, services=[s.service_name])
    active = [x for x in services.get("services", []) if x.get("status") == "ACTIVE"]
    if active:
        rec.found("ECS service", s.service_name)
        if active[0].get("taskDefinition") != td:
            ecs.update_service(cluster=s.cluster_name, service=s.service_name, taskDefinition=td)
            rec.progress(f"ECS service {s.service_name}: now uses {td.rsplit('/', 1)[-1]}")
    else:
        ecs.create_service(
            cluster=s.cluster_name,
            serviceName=s.service_name,
            taskDefinition=td,
            desiredCount=0,
            launchType="FARGATE",
            # One bridge at a time: never run the old and new task side by side.
            deploymentConfiguration={"maximumPercent": 100, "minimumHealthyPercent": 0},
            networkConfiguration={
                "awsvpcConfiguration": {
                    "subnets": rec.result["subnet_ids"].split(","),
                    "securityGroups": [rec.result["security_group_id"]],
                    "assignPublicIp": "ENABLED",
                }
            },
            propagateTags="SERVICE",
            tags=rec.tags.ecs(),
        )
        rec.made("ECS service", s.service_name)
    rec.result["service"] = s.service_name


def expected_containers(settings: Settings, clients: AwsClients) -> dict[str, str]:
    """Container name -> image of the task definition ``bootstrap`` would register now
    (``jitsi-bot doctor`` compares the service's registered one with it)."""
    rec = Recorder(settings, clients, lambda _msg: None, TagSet(settings.project_name))
    # Only the names and images are read: the ARNs may stay empty.
    for key in ("advertise_ips", *(f"{who}_password" for who in naming.XMPP_ACCOUNTS)):
        rec.result[f"{key}_parameter_arn"] = ""
    if settings.image_cache is ImageCache.ECR:
        account = clients.client("sts").get_caller_identity()["Account"]
        rec.result["image_registry"] = naming.image_cache_registry(settings, account)
    return {c["name"]: c["image"] for c in _containers(rec)}
