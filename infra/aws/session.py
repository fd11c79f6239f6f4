"""boto3 clients for one deployment: endpoint, region, retries and call counting."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import boto3
from botocore.config import Config

from bot.config import Settings

# "standard" retry mode backs off on throttling and transient 5xx errors with
# jitter; 5 attempts ride out a short burst of Throttling and fail an
# unreachable endpoint in seconds rather than a minute.
RETRY_CONFIG = Config(
    retries={"max_attempts": 5, "mode": "standard"},
    connect_timeout=5,
    read_timeout=30,
)

# Credentials for an emulator endpoint, so the demo needs no AWS account.
EMULATOR_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


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
        self._config = retry_config
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
