"""botocore failures reach the user as CloudError with a hint they can act on, from
every AWS part (compute, ingress) and the translation table itself."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    NoCredentialsError,
    ProxyConnectionError,
    ReadTimeoutError,
    ResponseStreamingError,
    SSLError,
)

from bot.config import Settings
from bot.errors import CloudError
from bot.model import SessionTags
from bot.ports import PlatformParts
from infra.aws.compute import EcsCompute
from infra.aws.errors import BOOTSTRAP_HINT, translate
from infra.aws.nlb import NlbIngress
from infra.aws.nlb_boto3 import Boto3NlbProvisioner
from infra.aws.session import AwsClients
from tests.support.services import free_port

TAGS = SessionTags(session="s", requested_by="u")


def _ignore(message: str, data: dict[str, object]) -> None:
    pass


def _ingress(settings: Settings, clients: AwsClients) -> NlbIngress:
    return NlbIngress(settings, clients, Boto3NlbProvisioner(settings, clients))


def _client_error(code: str, message: str, op: str = "UpdateService") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, op)


def test_wrong_cluster_names_the_bootstrap(
    base: dict[str, str], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(cluster_name="no-such-cluster")
    clients = AwsClients(settings)
    with pytest.raises(CloudError) as err:
        EcsCompute(settings, clients).scale(1)
    assert err.value.hint == BOOTSTRAP_HINT
    assert "no-such-cluster" in str(err.value)
    assert "jitsi-bot infra bootstrap" in err.value.user_message()
    with pytest.raises(CloudError) as err:
        _ingress(settings, clients).bring_up(TAGS, _ignore)
    assert err.value.hint == BOOTSTRAP_HINT


def test_missing_service_names_the_bootstrap(
    base: dict[str, str], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(service_name="no-such-service")
    clients = AwsClients(settings)
    assert EcsCompute(settings, clients).service() is None
    with pytest.raises(CloudError) as err:
        _ingress(settings, clients).bring_up(TAGS, _ignore)
    assert err.value.hint == BOOTSTRAP_HINT
    assert "no-such-service" in str(err.value)


def test_unreachable_endpoint_fails_fast_with_a_hint() -> None:
    url = f"http://user:s3cret@127.0.0.1:{free_port()}"
    settings = Settings(project_name="t-down", aws_endpoint_url=url)
    clients = AwsClients(
        settings,
        retry_config=Config(
            retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=1, read_timeout=1
        ),
    )
    started = time.monotonic()
    with pytest.raises(CloudError) as err:
        _ingress(settings, clients).describe()
    assert time.monotonic() - started < 10
    assert err.value.retryable
    assert "aws_endpoint_url" in err.value.hint
    assert "s3cret" not in err.value.user_message()
    assert "127.0.0.1" in err.value.hint


def test_translations() -> None:
    settings = Settings(project_name="t-unit")
    denied = translate(
        _client_error(
            "AccessDeniedException",
            "User: arn:aws:iam::123456789012:user/bot is not authorized to perform: "
            "ecs:UpdateService on resource: arn:aws:ecs:us-east-1:123456789012:service/x",
        ),
        settings,
    )
    assert "ecs:UpdateService" in denied.hint and not denied.retryable
    throttled = translate(_client_error("ThrottlingException", "Rate exceeded"), settings)
    assert throttled.retryable and "throttling" in str(throttled)
    assert translate(_client_error("ServiceNotFoundException", ""), settings).hint == (
        BOOTSTRAP_HINT
    )
    assert translate(_client_error("InternalError", "boom"), settings).retryable
    creds = translate(NoCredentialsError(), settings)
    assert "aws_profile" in creds.hint and not creds.retryable
    expired = translate(_client_error("ExpiredToken", "The security token has expired"), settings)
    assert "credentials" in str(expired)


def test_throttling_is_ridden_out_then_reported_retryable(
    parts: PlatformParts,
    settings: Settings,
    clients: AwsClients,
    faults: Callable[[dict[str, object]], None],
) -> None:
    faults({"throttle": {"operation": "DescribeServices", "count": 1}})
    before = clients.counter.attempts
    assert parts.compute.service() is not None  # standard retry mode absorbs it
    assert clients.counter.attempts - before == 2

    few = AwsClients(settings, retry_config=Config(retries={"max_attempts": 2, "mode": "standard"}))
    faults({"throttle": {"operation": "DescribeServices", "count": 5}})
    with pytest.raises(CloudError) as err:
        EcsCompute(settings, few).service()
    assert err.value.retryable
    assert "throttling" in str(err.value)


def test_access_denied_names_the_iam_action(
    parts: PlatformParts, faults: Callable[[dict[str, object]], None]
) -> None:
    faults({"permanent": {"operation": "UpdateService", "code": "AccessDeniedException"}})
    with pytest.raises(CloudError) as err:
        parts.compute.scale(1)
    assert not err.value.retryable
    assert "ecs:UpdateService" in err.value.hint


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (
            lambda: ReadTimeoutError(endpoint_url="http://x"),
            "did not answer in time",
        ),
        (
            lambda: ProxyConnectionError(proxy_url="http://p", error="refused"),
            "could not be reached",
        ),
        (
            lambda: SSLError(endpoint_url="https://x", error="bad"),
            "could not be reached",
        ),
        (
            lambda: ResponseStreamingError(error="cut"),
            "could not be reached",
        ),
    ],
)
def test_every_network_failure_is_retryable(make: Callable[[], Exception], needle: str) -> None:
    # Polls wait these out within their step's deadline (bot.job.JobRun.wait).
    error = translate(make(), Settings(), "reading the service")
    assert error.retryable and needle in str(error)
    assert not error.user_message().endswith("..")


def test_a_hung_endpoint_fails_a_status_call_within_seconds() -> None:
    """An endpoint that accepts and never answers: the interactive config gives up fast."""
    import socket

    from infra.aws.session import INTERACTIVE_CONFIG

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)  # the kernel accepts; nobody ever answers
    try:
        settings = Settings(aws_endpoint_url=f"http://127.0.0.1:{server.getsockname()[1]}")
        clients = AwsClients(settings, retry_config=INTERACTIVE_CONFIG)
        began = time.monotonic()
        with pytest.raises(CloudError) as info:
            EcsCompute(settings, clients).service()
        took = time.monotonic() - began
    finally:
        server.close()
    assert took < 6, took  # 2 attempts x 2 s read + up to 1 s of backoff
    assert "did not answer in time" in str(info.value) and info.value.retryable
