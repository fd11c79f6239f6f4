"""The ECR pull-through cache for Docker Hub (``image_cache: ecr``), part of ``infra bootstrap``.

A rule caches ``docker.io`` under ``<project>-hub/`` in the deployment's region, and the
task definition's registry becomes ``<account>.dkr.ecr.<region>.amazonaws.com/<project>-hub/jitsi``:
Fargate then pulls the Jitsi images from ECR in its own region instead of across the
internet at every start (docs/emulator.md, "Image pulls"). AWS accepts a Docker Hub rule
only with credentials: a Secrets Manager secret whose name starts with
``ecr-pullthroughcache/``. The user creates it (it holds their token); bootstrap only
finds it. The rule is never deleted here: turning the setting off just stops using it.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from bot.config import ImageCache
from infra.aws import naming
from infra.aws.bootstrap_network import Recorder
from infra.aws.errors import error_code
from infra.settings import ConfigError

# The execution role's extra rights: the first pull of an image through the rule
# creates its repository and imports the image (ECR user guide, "IAM permissions
# required to sync an upstream registry").
CACHE_ACTIONS = ("ecr:CreateRepository", "ecr:BatchImportUpstreamImage")


def ensure_image_cache(rec: Recorder, account: str) -> None:
    """Find or create the rule; sets ``image_registry`` (empty: the pinned Docker Hub one)."""
    s = rec.settings
    if s.image_cache is ImageCache.NONE:
        rec.result["image_registry"] = ""
        return
    prefix = naming.image_cache_prefix(s)
    ecr = rec.clients.client("ecr")
    try:
        rules = ecr.describe_pull_through_cache_rules(ecrRepositoryPrefixes=[prefix])
        rule = rules["pullThroughCacheRules"][0]
    except ClientError as exc:
        if error_code(exc) != "PullThroughCacheRuleNotFoundException":
            raise
        rule = None
    if rule is not None and rule.get("upstreamRegistryUrl") != naming.DOCKER_HUB_UPSTREAM:
        raise ConfigError(
            f"ECR prefix {prefix} caches {rule.get('upstreamRegistryUrl')}, not Docker Hub",
            hint=f"Delete that rule (aws ecr delete-pull-through-cache-rule "
            f"--ecr-repository-prefix {prefix}) or set image_cache=none.",
        )
    if rule is None:
        ecr.create_pull_through_cache_rule(
            ecrRepositoryPrefix=prefix,
            upstreamRegistryUrl=naming.DOCKER_HUB_UPSTREAM,
            credentialArn=_secret_arn(rec),
        )
        rec.made("ECR pull-through cache rule", f"{prefix} -> docker.io")
    else:
        rec.found("ECR pull-through cache rule", prefix)
    rec.result["image_cache_prefix"] = prefix
    rec.result["image_registry"] = naming.image_cache_registry(s, account)


def _secret_arn(rec: Recorder) -> str:
    secret = naming.image_cache_secret(rec.settings)
    try:
        found = rec.clients.client("secretsmanager").describe_secret(SecretId=secret)
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        name = secret.split(":secret:", 1)[-1]
        raise ConfigError(
            f"image_cache=ecr needs Docker Hub credentials in Secrets Manager: "
            f"no secret {secret} in {rec.settings.aws_region}",
            hint=(
                "Create a Docker Hub access token (hub.docker.com, Account settings, "
                "Personal access tokens, read-only) and store it: aws secretsmanager "
                f"create-secret --region {rec.settings.aws_region} --name {name} "
                '--secret-string \'{"username":"<docker hub user>","accessToken":"<token>"}\'. '
                "Then run the bootstrap again."
            ),
        ) from exc
    return str(found["ARN"])
