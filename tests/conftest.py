"""Session-wide real services: one private redis-server and one AWS API for the whole run."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.support import services
from tests.support.aws import Endpoint, aws_api


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with services.redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(scope="session")
def aws_endpoint() -> Iterator[Endpoint]:
    """One AWS API for the session, shared by tests/aws and tests/contract: the
    emulator with its instant profile (tests.support.aws)."""
    with aws_api() as endpoint:
        yield endpoint


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def project() -> str:
    """A unique project name per test: isolates Redis keys and AWS resources."""
    return f"t{uuid.uuid4().hex[:8]}"


@pytest.fixture
def repo_root() -> Path:
    return services.ROOT
