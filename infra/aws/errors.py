"""botocore failures -> ``bot.errors.CloudError`` with a message a chat user can act on.

Every public method of the driver, the audit and the bootstrap runs inside
:func:`cloud_errors` (or is decorated with :func:`translated`). Messages name
the AWS operation and the key to check, never a credential.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from bot.config import Settings, redact_url
from bot.errors import CloudError

P = ParamSpec("P")
R = TypeVar("R")

BOOTSTRAP_HINT = (
    "The base infrastructure is missing: run `jitsi-bot infra bootstrap` "
    "or apply the Terraform root module, then try again."
)

_THROTTLING = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "PriorRequestNotComplete",
        "ProvisionedThroughputExceededException",
    }
)
# Server-side failures that pass (most come with a 5xx status, also retryable);
# the request timeouts come with 4xx statuses but say the server gave up waiting.
_TRANSIENT = frozenset(
    {
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "ServerException",
        "Unavailable",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
_ACCESS = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthorizationError",
        "OperationNotPermitted",
    }
)
_CREDENTIALS = frozenset(
    {
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "ExpiredToken",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
        "AuthFailure",
        "InvalidAccessKeyId",
        "IncompleteSignature",
    }
)
_MISSING_BASE = frozenset(
    {
        "ClusterNotFoundException",
        "ServiceNotFoundException",
        "ServiceNotActiveException",
    }
)
# "... is not authorized to perform: ecs:UpdateService on resource: ..."
_IAM_ACTION = re.compile(r"perform:? ([a-z0-9-]+:[A-Za-z0-9]+)")


# The services the bot calls, in the order that settles an operation name two
# of them share (elbv2 and ec2 both have DescribeTags; the bot only uses elbv2's).
_SERVICES = ("ecs", "elbv2", "ssm", "route53", "logs", "iam", "s3", "sts", "acm", "ec2")


@functools.cache
def _iam_prefixes() -> dict[str, str]:
    """Operation name -> IAM action prefix (``UpdateService`` -> ``ecs``)."""
    import botocore.session

    session = botocore.session.get_session()
    out: dict[str, str] = {}
    for service in _SERVICES:
        model = session.get_service_model(service)
        prefix = model.signing_name
        for operation in model.operation_names:
            out.setdefault(operation, prefix)
    return out


def iam_action(operation: str) -> str:
    """``UpdateService`` -> ``ecs:UpdateService`` (best effort; the name alone if unknown)."""
    prefix = _iam_prefixes().get(operation)
    return f"{prefix}:{operation}" if prefix else operation


def translate(exc: Exception, settings: Settings, doing: str = "") -> CloudError:
    """Return the CloudError for ``exc``; ``doing`` names the step ("creating the NLB")."""
    where = f" while {doing}" if doing else ""
    endpoint = redact_url(settings.aws_endpoint_url) if settings.aws_endpoint_url else ""
    if isinstance(exc, CloudError):
        return exc
    if isinstance(exc, ClientError):
        return _client_error(exc, settings, where)
    if isinstance(exc, ReadTimeoutError):
        return CloudError(f"AWS did not answer in time{where}.", "Try again.", retryable=True)
    # Every other connection-level failure (refused, reset, closed mid-answer,
    # proxy, TLS, a stream cut short) passes with the network: retryable.
    if isinstance(
        exc,
        EndpointConnectionError
        | ConnectTimeoutError
        | ConnectionClosedError
        | BotoConnectionError
        | HTTPClientError,
    ):
        if endpoint:
            hint = (
                f"Is the AWS emulator running at {endpoint}? "
                "Check aws_endpoint_url in the configuration."
            )
        else:
            hint = (
                f"Check the network and the region ({settings.aws_region}); "
                "set aws_endpoint_url only for an emulator."
            )
        return CloudError(f"AWS could not be reached{where}.", hint, retryable=True)
    if isinstance(exc, ProfileNotFound):
        return CloudError(
            f"The AWS profile {settings.aws_profile!r} does not exist{where}.",
            "Fix aws_profile in the configuration or add the profile to ~/.aws/config.",
        )
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return CloudError(
            f"No usable AWS credentials{where}.",
            "Set aws_profile, or provide credentials through the environment or an instance role.",
        )
    if isinstance(exc, NoRegionError):
        return CloudError(f"No AWS region{where}.", "Set aws_region in the configuration.")
    if isinstance(exc, BotoCoreError):
        return CloudError(f"AWS client error{where}: {type(exc).__name__}.", retryable=False)
    raise exc


def _client_error(exc: ClientError, settings: Settings, where: str) -> CloudError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "Unknown"))
    text = str(error.get("Message", "")).strip()
    op = exc.operation_name
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    base = f"AWS {op} failed{where}: {code}"
    if code in _THROTTLING:
        return CloudError(
            f"AWS is throttling {op}{where} (still {code} after retries).",
            "This passes: try again in a minute.",
            retryable=True,
        )
    if code in _ACCESS:
        match = _IAM_ACTION.search(text)
        action = match.group(1) if match else iam_action(op)
        return CloudError(
            f"{base}: the bot's IAM identity may not call {action}.",
            f"Allow {action} in the bot's IAM policy (see terraform/ for the full policy).",
        )
    if code in _CREDENTIALS:
        return CloudError(
            f"{base}: AWS rejected the credentials.",
            "Check aws_profile or the credentials in the environment; they may have expired.",
        )
    if code in _MISSING_BASE:
        return CloudError(
            f"{base}: cluster {settings.cluster_name!r} / service {settings.service_name!r} "
            f"not found in {settings.aws_region}.",
            BOOTSTRAP_HINT,
        )
    if code in _TRANSIENT or status >= 500:
        return CloudError(f"{base} ({text or 'server error'}).", "Try again.", retryable=True)
    if code == "ParameterNotFound":
        return CloudError(
            f"{base}: SSM parameter {settings.advertise_ips_parameter!r} does not exist.",
            BOOTSTRAP_HINT,
        )
    if code in ("NoSuchHostedZone", "InvalidChangeBatch"):
        return CloudError(
            f"{base} ({text}).",
            f"Check hosted_zone_id ({settings.hosted_zone_id}) and domain ({settings.domain}).",
        )
    if code in ("CertificateNotFound", "UnsupportedCertificate"):
        return CloudError(
            f"{base}: the ACM certificate cannot be used.",
            "Check acm_certificate_arn: it must be an issued certificate in "
            f"{settings.aws_region} covering {settings.domain}.",
        )
    if code in ("TooManyLoadBalancers", "TooManyTargetGroups", "TooManyListeners"):
        return CloudError(
            f"{base}: an AWS service quota is reached.", "Raise the quota or clean up."
        )
    detail = f" ({text})" if text else ""
    return CloudError(f"{base}{detail}.")


@contextmanager
def cloud_errors(settings: Settings, doing: str = "") -> Iterator[None]:
    """Run the block, turning botocore failures into CloudError."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise translate(exc, settings, doing) from exc


def translated(doing: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a method of an object with ``.settings``: botocore failures -> CloudError."""

    def wrap(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def inner(*args: P.args, **kwargs: P.kwargs) -> R:
            settings: Settings = args[0].settings  # type: ignore[attr-defined]
            with cloud_errors(settings, doing):
                return func(*args, **kwargs)

        return inner

    return wrap


def access_denied(exc: ClientError) -> bool:
    """Whether AWS refused the call for want of an IAM permission."""
    return error_code(exc) in _ACCESS


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def failure_code(exc: ClientError | BotoCoreError) -> str:
    """AWS's error code for an answer, the exception's class for no answer at all."""
    return error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
