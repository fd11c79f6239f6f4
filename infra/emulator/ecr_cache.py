"""ECR pull-through cache rules, which moto lacks: Create, Describe, Delete, and what a
rule does to a task's pulls.

As AWS documents them (ECR user guide, "Sync an upstream registry with an Amazon ECR
private registry"; API reference CreatePullThroughCacheRule): one rule per repository
prefix; Docker Hub (``registry-1.docker.io``) needs ``credentialArn``, a Secrets Manager
secret whose name starts with ``ecr-pullthroughcache/``. A task pulling
``<account>.dkr.ecr.<region>.amazonaws.com/<prefix>/<upstream path>:<tag>`` is served by
the rule; the first pull of an image fetches it from upstream (Docker Hub's speed), later
ones come from ECR (``pulls.py``). Rules and the cached set live on moto's ECR backend,
so a moto reset forgets them.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from moto.backends import get_backend
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.ecr import responses as ecr_responses

from . import pulls

log = logging.getLogger("infra.emulator")

SECRET_PREFIX = "ecr-pullthroughcache/"
# Upstreams whose rules AWS refuses without credentials (the rest: ECR Public, Quay, ...).
_NEEDS_CREDENTIALS = {
    "registry-1.docker.io": "docker-hub",
    "ghcr.io": "github-container-registry",
    "registry.gitlab.com": "gitlab-container-registry",
}
_ANONYMOUS = {"public.ecr.aws": "ecr-public", "quay.io": "quay", "registry.k8s.io": "k8s"}


class _RuleExists(ServiceException):
    code = "PullThroughCacheRuleAlreadyExistsException"


class _RuleNotFound(ServiceException):
    code = "PullThroughCacheRuleNotFoundException"


class _Invalid(ServiceException):
    code = "InvalidParameterException"


class _SecretNotFound(ServiceException):
    code = "SecretNotFoundException"


class _Unsupported(ServiceException):
    code = "UnsupportedUpstreamRegistryException"


def _rules(backend: Any) -> dict[str, dict[str, Any]]:
    rules: dict[str, dict[str, Any]] = backend.__dict__.setdefault("_emu_pull_through", {})
    return rules


def _cached(backend: Any) -> set[str]:
    cached: set[str] = backend.__dict__.setdefault("_emu_pull_through_cached", set())
    return cached


def _secret_exists(account: str, region: str, arn: str) -> bool:
    try:
        secrets = get_backend("secretsmanager")[account][region]
        secrets.describe_secret(arn)
    except Exception:  # moto's own not-found error types
        return False
    return True


def _create(self: Any) -> ActionResult:
    backend = self.ecr_backend
    prefix = str(self._get_param("ecrRepositoryPrefix") or "")
    upstream = str(self._get_param("upstreamRegistryUrl") or "")
    credential = self._get_param("credentialArn")
    if not prefix or not upstream:
        raise _Invalid("ecrRepositoryPrefix and upstreamRegistryUrl are required")
    if prefix in _rules(backend):
        raise _RuleExists(f"A pull through cache rule with prefix '{prefix}' already exists")
    kind = _NEEDS_CREDENTIALS.get(upstream) or _ANONYMOUS.get(upstream)
    if kind is None:
        raise _Unsupported(f"Upstream registry {upstream} is not supported")
    if upstream in _NEEDS_CREDENTIALS:
        if not credential:
            raise _Invalid(f"A credentialArn is required for upstream registry {upstream}")
        name = str(credential).split(":secret:", 1)[-1]
        if not name.startswith(SECRET_PREFIX):
            raise _Invalid(f"The secret's name must start with {SECRET_PREFIX}")
        if not _secret_exists(self.current_account, self.region, str(credential)):
            raise _SecretNotFound(f"Secret {credential} not found")
    rule: dict[str, Any] = {
        "ecrRepositoryPrefix": prefix,
        "upstreamRegistryUrl": upstream,
        "createdAt": datetime.now(UTC),
        "registryId": self.current_account,
        "upstreamRegistry": kind,
    }
    if credential:
        rule["credentialArn"] = credential
    _rules(backend)[prefix] = rule
    log.info("ECR pull-through cache rule %s -> %s", prefix, upstream)
    return ActionResult(dict(rule))


def _describe(self: Any) -> ActionResult:
    rules = _rules(self.ecr_backend)
    wanted = self._get_param("ecrRepositoryPrefixes")
    if wanted:
        missing = [p for p in wanted if p not in rules]
        if missing:
            raise _RuleNotFound(f"No pull through cache rule with prefix '{missing[0]}'")
        found = [rules[p] for p in wanted]
    else:
        found = list(rules.values())
    return ActionResult({"pullThroughCacheRules": [dict(r) for r in found]})


def _delete(self: Any) -> ActionResult:
    prefix = str(self._get_param("ecrRepositoryPrefix") or "")
    rule = _rules(self.ecr_backend).pop(prefix, None)
    if rule is None:
        raise _RuleNotFound(f"No pull through cache rule with prefix '{prefix}'")
    return ActionResult(dict(rule))


def install() -> None:
    """Give moto's ECR the three calls (idempotent: the methods are simply replaced)."""
    cls: Any = ecr_responses.ECRResponse
    cls.create_pull_through_cache_rule = _create
    cls.describe_pull_through_cache_rules = _describe
    cls.delete_pull_through_cache_rule = _delete


def _served(task: Any, image: str) -> tuple[Any, str] | None:
    """(ECR backend, upstream image) when a rule in the task's account serves ``image``."""
    if pulls.registry_kind(image) != "ecr":
        return None
    host, _, rest = image.partition("/")
    account, region = host.split(".", 1)[0], host.split(".")[3]
    try:
        backend = get_backend("ecr")[account][region]
    except Exception:  # an unknown account or region: no rule there
        return None
    for prefix in _rules(backend):
        if rest.startswith(prefix + "/"):
            return backend, rest[len(prefix) + 1 :]
    return None


def is_cold(task: Any, image: str) -> bool:
    """True when a pull-through rule serves ``image`` and has not cached it yet."""
    served = _served(task, image)
    return served is not None and served[1] not in _cached(served[0])


def pulled(task: Any, images: list[str]) -> None:
    """A task reached RUNNING: its pull-through images are cached from now on."""
    for image in images:
        served = _served(task, image)
        if served is not None and served[1] not in _cached(served[0]):
            _cached(served[0]).add(served[1])
            log.info("ECR pull-through cache: %s cached", served[1])


def unpullable(task: Any, image: str) -> bool:
    """True for an image in a private ECR registry that neither a repository nor a
    pull-through rule provides (ECS stops such a task with CannotPullContainerError)."""
    if pulls.registry_kind(image) != "ecr" or _served(task, image) is not None:
        return False
    host, _, rest = image.partition("/")
    repository = rest.split("@", 1)[0].rsplit(":", 1)[0]
    try:
        backend = get_backend("ecr")[host.split(".", 1)[0]][host.split(".")[3]]
    except Exception:  # an account or region moto never saw: nothing is there
        return True
    return repository not in getattr(backend, "repositories", {})
