"""The JWT app secret (JWT_APP_SECRET) in its SSM SecureString: created by bootstrap
(Terraform makes the same parameter), read by the bot to sign links, rotated by
``jitsi-bot infra rotate-secrets``.

The value never leaves these functions except into the signer: it is not logged,
put in an error, an event or a Redis key. ECS hands it to prosody as a task
``secret`` when a task starts, so a rotation reaches the platform at its next start.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable

from botocore.exceptions import ClientError

from bot.config import Settings
from bot.errors import CloudError
from infra.aws.errors import cloud_errors, error_code
from infra.aws.session import AwsClients
from infra.aws.tags import TagSet

# HS256 wants a key at least as long as its 256-bit output (RFC 7518, 3.2): 48 random
# bytes, URL-safe text (it lands in a Lua string in prosody's configuration).
SECRET_BYTES = 48
DESCRIPTION = "JWT_APP_SECRET: HS256 key shared by prosody and the bot that signs meeting links"

# botocore logs whole response bodies at DEBUG (a GetParameter's decrypted value with
# them); whoever runs with -v must not find the secret in the log.
for _name in ("botocore.parsers", "botocore.endpoint"):
    logging.getLogger(_name).setLevel(logging.INFO)


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def ensure(settings: Settings, clients: AwsClients, tags: TagSet) -> tuple[str, bool]:
    """(ARN, created): find the parameter or create it with a random value."""
    ssm = clients.ssm
    name = settings.jwt.secret_parameter
    try:
        return str(ssm.get_parameter(Name=name)["Parameter"]["ARN"]), False
    except ClientError as exc:
        if error_code(exc) != "ParameterNotFound":
            raise
    ssm.put_parameter(
        Name=name,
        Value=new_secret(),
        Type="SecureString",
        Description=DESCRIPTION,
        Tags=tags.ssm(),
    )
    return str(ssm.get_parameter(Name=name)["Parameter"]["ARN"]), True


def rotate(settings: Settings, clients: AwsClients) -> int:
    """Write a new random secret; returns the parameter's new version."""
    with cloud_errors(settings, "rotating the meeting-link secret"):
        reply = clients.ssm.put_parameter(
            Name=settings.jwt.secret_parameter,
            Value=new_secret(),
            Type="SecureString",
            Overwrite=True,
        )
    return int(reply.get("Version", 0))


class SsmSecret:
    """The secret as the signer reads it: fetched on first use and again after
    ``jwt.secret_cache_seconds`` (a rotation reaches new links without a restart).
    Thread-safe: serve signs from worker threads."""

    def __init__(
        self,
        settings: Settings,
        clients: AwsClients,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.clients = clients
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._value: str | None = None
        self._read_at = 0.0

    def __repr__(self) -> str:  # never the value
        return f"SsmSecret({self.settings.jwt.secret_parameter!r})"

    def __call__(self) -> str:
        with self._lock:
            age = self._monotonic() - self._read_at
            if self._value is None or age >= self.settings.jwt.secret_cache_seconds:
                self._value = self._read()
                self._read_at = self._monotonic()
            return self._value

    def _read(self) -> str:
        name = self.settings.jwt.secret_parameter
        with cloud_errors(self.settings, "reading the meeting-link secret"):
            try:
                reply = self.clients.ssm.get_parameter(Name=name, WithDecryption=True)
            except ClientError as exc:
                if error_code(exc) != "ParameterNotFound":
                    raise
                raise CloudError(
                    f"The meeting-link secret {name} does not exist.",
                    "Run `jitsi-bot infra bootstrap` (or apply terraform/), or set jwt: off.",
                ) from None
        value = str(reply["Parameter"]["Value"])
        if len(value) < 32:
            raise CloudError(
                f"The meeting-link secret {name} is shorter than 32 characters.",
                "Run `jitsi-bot infra rotate-secrets` to replace it with a random one.",
            )
        return value
