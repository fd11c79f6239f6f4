"""boto3 clients for one deployment: endpoint, region, retries and call counting."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from importlib import metadata
from string import ascii_letters, digits
from typing import Any
from urllib.parse import quote

import boto3
from botocore.config import Config

from bot.config import Settings
from bot.model import Actor

# "standard" retry mode backs off on throttling, transient 5xx errors, connection
# errors and read timeouts with jitter (up to 1 s, 2 s, 4 s... between attempts).
#
# Jobs (the worker): the control-plane calls the bot makes answer in well under a
# second, so 10 s of silence means the endpoint is stuck, and 3 attempts ride out a
# short burst of Throttling on the calls that change things. Polls ride out longer
# bursts themselves: bot.job.JobRun.wait treats a retryable failure as "not yet"
# until the step's own deadline. Worst case for an endpoint that accepts
# connections and never answers: 3 x 10 s + about 3 s of backoff per call.
RETRY_CONFIG = Config(
    retries={"total_max_attempts": 3, "mode": "standard"},
    connect_timeout=3,
    read_timeout=10,
)

# Commands a person waits on (`jitsi-bot status`, `infra audit`): two attempts of
# at most 2 s each, so the first call to a hung endpoint gives up within about
# 5 s (2 x 2 s + up to 1 s of backoff) and the command says AWS did not answer,
# within 10 s of being typed (the interpreter and boto3 take 1-2 s to load).
# `status` also bounds all its calls together (adapters.ops.STATUS_AWS_SECONDS).
INTERACTIVE_CONFIG = Config(
    retries={"total_max_attempts": 2, "mode": "standard"},
    connect_timeout=2,
    read_timeout=2,
)

# Credentials for an emulator endpoint, so the demo needs no AWS account.
EMULATOR_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


# What botocore allows in a User-Agent component (botocore.useragent's
# _USERAGENT_ALLOWED_CHARACTERS); ``user_agent_extra`` is sent verbatim, so we keep to it.
_UA_ALLOWED = frozenset(ascii_letters + digits + "!$%&'*+-.^_`|~")
_UA_USER_MAX = 128


def _version() -> str:
    try:
        return metadata.version("jitsi-chatops")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "0"


PRODUCT = f"jitsi-chatops/{_version()}"


def user_agent_extra(actor: Actor | None) -> str:
    """``jitsi-chatops/<version> requested-by/<platform>#<user>``: appended to every AWS
    call's User-Agent, which CloudTrail records as ``userAgent``, so a call leads back to
    the chat user whose job made it. The user id is percent-encoded (reversible, and
    only characters botocore allows), cut to 128 characters."""
    if actor is None:
        return PRODUCT
    platform = "".join(c if c in _UA_ALLOWED else "-" for c in actor.platform.value)
    user = quote(actor.user, safe="")[:_UA_USER_MAX]
    return f"{PRODUCT} requested-by/{platform}#{user}"


class CallCounter:
    """Counts API calls (``service.Operation``) and HTTP attempts, thread-safely."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.attempts = 0

    def _on_call(self, model: Any, **_: Any) -> None:
        key = f"{model.service_model.service_name}.{model.name}"
        with self._lock:
            self.calls[key] += 1

    def _on_send(self, **_: Any) -> None:
        with self._lock:
            self.attempts += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.calls)

    def total(self) -> int:
        with self._lock:
            return sum(self.calls.values())


class AwsClients:
    """Lazily built, cached clients sharing one session, one config and one counter."""

    def __init__(self, settings: Settings, *, retry_config: Config = RETRY_CONFIG) -> None:
        self.settings = settings
        self.counter = CallCounter()
        self._base_config = retry_config
        self._extra = user_agent_extra(None)
        self._config = retry_config.merge(Config(user_agent_extra=self._extra))
        kwargs: dict[str, Any] = {"region_name": settings.aws_region}
        if settings.aws_profile:
            kwargs["profile_name"] = settings.aws_profile
        elif settings.aws_endpoint_url:
            kwargs.update(EMULATOR_CREDENTIALS)
        self._session = boto3.session.Session(**kwargs)
        self._session.events.register("before-call.*.*", self.counter._on_call)
        self._session.events.register("before-send.*.*", self.counter._on_send)
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def on(self, event: str, handler: Callable[..., None]) -> None:
        """Register a botocore event handler (``before-call.*.*`` ...) on the shared
        session; clients made afterwards carry it (the metrics' AWS counts)."""
        self._session.events.register(event, handler)

    @property
    def user_agent(self) -> str:
        """What the clients add to their User-Agent now (``user_agent_extra``)."""
        with self._lock:
            return self._extra

    def act_for(self, actor: Actor | None) -> None:
        """Make the next clients' calls carry ``actor`` in their User-Agent (None: the
        bot's own calls). A change drops the cached clients (a client's config is fixed
        when it is made); callers fetch ``clients.ec2`` per call, never keep one."""
        extra = user_agent_extra(actor)
        with self._lock:
            if extra == self._extra:
                return
            self._extra = extra
            self._config = self._base_config.merge(Config(user_agent_extra=extra))
            self._clients.clear()

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._session.client(
                    service,  # type: ignore[call-overload]
                    endpoint_url=self.settings.aws_endpoint_url,
                    config=self._config,
                )
            return self._clients[service]

    @property
    def ec2(self) -> Any:
        return self.client("ec2")

    @property
    def ecs(self) -> Any:
        return self.client("ecs")

    @property
    def elbv2(self) -> Any:
        return self.client("elbv2")

    @property
    def ssm(self) -> Any:
        return self.client("ssm")

    @property
    def route53(self) -> Any:
        return self.client("route53")
