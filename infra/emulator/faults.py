"""Injected AWS errors: throttling (retryable) and permanent errors, N calls at a time.

The emulator answers the matched call itself, in the wire format of the caller's
protocol, so botocore parses the error exactly as it would from AWS and its retry
logic (standard mode treats ``Throttling``/``ThrottlingException`` as retryable)
is what gets exercised.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qs

# botocore's JSON protocols name the throttling error differently from the query ones.
_JSON_CODES = {"Throttling": "ThrottlingException", "AccessDenied": "AccessDeniedException"}


@dataclass
class Fault:
    """One armed fault: the next ``remaining`` calls of ``operation`` fail with ``code``."""

    operation: str
    code: str
    remaining: int
    status: int
    message: str


class FaultBook:
    """Armed faults by operation name. Not thread safe: callers hold the emulator lock."""

    def __init__(self) -> None:
        self._faults: dict[str, Fault] = {}

    def __bool__(self) -> bool:
        return bool(self._faults)

    def arm(self, spec: dict[str, Any]) -> None:
        """Apply one control request body (``throttle`` / ``permanent`` / ``clear``)."""
        if spec.get("clear"):
            self._faults.clear()
        if "throttle" in spec:
            t = spec["throttle"]
            self._add(t, code="Throttling", status=400, message="Rate exceeded")
        if "permanent" in spec:
            p = spec["permanent"]
            code = str(p.get("code", "AccessDenied"))
            status = int(p.get("status", 403 if code.startswith("AccessDenied") else 400))
            message = str(p.get("message", f"Injected {code} by the emulator"))
            self._add(p, code=code, status=status, message=message)

    def _add(self, spec: dict[str, Any], code: str, status: int, message: str) -> None:
        operation = str(spec["operation"])
        count = int(spec.get("count", 1))
        if count < 1:
            raise ValueError("count must be >= 1")
        self._faults[operation] = Fault(operation, code, count, status, message)

    def take(self, operation: str | None) -> Fault | None:
        """Consume one call of ``operation``'s fault, if one is armed."""
        if operation is None or operation not in self._faults:
            return None
        fault = self._faults[operation]
        fault.remaining -= 1
        if fault.remaining <= 0:
            del self._faults[operation]
        return fault

    def snapshot(self) -> dict[str, Any]:
        return {op: asdict(f) for op, f in self._faults.items()}


def operation_of(environ: dict[str, Any], body: bytes) -> str | None:
    """The AWS operation name of a request: JSON target header, or query ``Action``."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return str(target).rsplit(".", 1)[-1]
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" in query:
        return str(query["Action"][0])
    if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
        form = parse_qs(body.decode("utf-8", "replace"))
        if "Action" in form:
            return str(form["Action"][0])
    return None


def _signing_service(environ: dict[str, Any]) -> str:
    # SigV4: "Credential=AKID/20240101/us-east-1/ec2/aws4_request"
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    if "Credential=" in auth:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        if len(scope) >= 4:
            return scope[3]
    return ""


def error_response(
    fault: Fault, environ: dict[str, Any]
) -> tuple[str, list[tuple[str, str]], bytes]:
    """Status line, headers and body of the AWS error for ``fault`` in the caller's protocol."""
    request_id = str(uuid.uuid4())
    status = f"{fault.status} {'Forbidden' if fault.status == 403 else 'Bad Request'}"
    headers = [("x-amzn-RequestId", request_id)]
    if environ.get("HTTP_X_AMZ_TARGET"):
        code = _JSON_CODES.get(fault.code, fault.code)
        body = json.dumps({"__type": code, "message": fault.message}).encode()
        headers += [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)]
    elif _signing_service(environ) == "ec2":
        # EC2's query dialect wraps errors differently from the other query services.
        body = (
            f"<Response><Errors><Error><Code>{fault.code}</Code><Message>{fault.message}"
            f"</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
        ).encode()
        headers.append(("Content-Type", "text/xml"))
    else:
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{fault.code}</Code>"
            f"<Message>{fault.message}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers.append(("Content-Type", "text/xml"))
    headers.append(("Content-Length", str(len(body))))
    return status, headers, body
