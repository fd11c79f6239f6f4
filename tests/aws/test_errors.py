"""botocore failures reach the user as CloudError with a hint they can act on."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, NoCredentialsError

from bot.config import Settings
from bot.errors import CloudError
from infra.aws.errors import BOOTSTRAP_HINT, translate
from infra.aws.platform import Boto3Platform
from infra.aws.session import AwsClients
from tests.aws.conftest import Endpoint
from tests.support.services import free_port


def _client_error(code: str, message: str, op: str = "UpdateService") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, op)


def test_wrong_cluster_names_the_bootstrap(
    base: dict[str, str], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(cluster_name="no-such-cluster")
    platform = Boto3Platform(settings, AwsClients(settings))
    with pytest.raises(CloudError) as err:
        platform.set_desired_count(1)
    assert err.value.hint == BOOTSTRAP_HINT
    assert "no-such-cluster" in str(err.value)
    assert "jitsi-bot infra bootstrap" in err.value.user_message()
    with pytest.raises(CloudError) as err:
        platform.ensure_load_balancer("u", "s")
    assert err.value.hint == BOOTSTRAP_HINT


def test_missing_service_names_the_bootstrap(
    base: dict[str, str], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(service_name="no-such-service")
    platform = Boto3Platform(settings, AwsClients(settings))
    assert platform.service_state() is None
    with pytest.raises(CloudError) as err:
        platform.ensure_target_groups("u", "s")
    assert err.value.hint == BOOTSTRAP_HINT


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
        Boto3Platform(settings, clients).describe_load_balancer()
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


def _arm(endpoint: Endpoint, body: dict[str, object]) -> None:
    req = urllib.request.Request(
        f"{endpoint.url}/_emulator/faults",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 200


@pytest.fixture
def faults(aws_endpoint: Endpoint) -> Iterator[Callable[[dict[str, object]], None]]:
    if not aws_endpoint.emulated:
        pytest.skip("fault injection needs the project's emulator (infra/emulator)")
    yield lambda body: _arm(aws_endpoint, body)
    _arm(aws_endpoint, {"clear": True})


def test_throttling_is_ridden_out_then_reported_retryable(
    platform: Boto3Platform, settings: Settings, faults: Callable[[dict[str, object]], None]
) -> None:
    faults({"throttle": {"operation": "DescribeServices", "count": 1}})
    before = platform.clients.counter.attempts
    assert platform.service_state() is not None  # standard retry mode absorbs it
    assert platform.clients.counter.attempts - before == 2

    few = AwsClients(settings, retry_config=Config(retries={"max_attempts": 2, "mode": "standard"}))
    faults({"throttle": {"operation": "DescribeServices", "count": 5}})
    with pytest.raises(CloudError) as err:
        Boto3Platform(settings, few).service_state()
    assert err.value.retryable
    assert "throttling" in str(err.value)


def test_access_denied_names_the_iam_action(
    platform: Boto3Platform, faults: Callable[[dict[str, object]], None]
) -> None:
    faults({"permanent": {"operation": "UpdateService", "code": "AccessDeniedException"}})
    with pytest.raises(CloudError) as err:
        platform.set_desired_count(1)
    assert not err.value.retryable
    assert "ecs:UpdateService" in err.value.hint
