"""The Matrix adapter's errors, converted at the nio boundary.

nio answers with error objects instead of raising; ``convert`` turns them into
``MatrixError`` subclasses (``MatrixUnavailable`` for what a retry may fix), and
``CONNECTION_ERRORS`` are what a lost connection raises, which callers turn into
``MatrixUnavailable`` too.
"""

from __future__ import annotations

import asyncio

import aiohttp
from nio import ErrorResponse

from bot.errors import BotError

CONNECTION_ERRORS = (aiohttp.ClientError, OSError, asyncio.TimeoutError, TimeoutError)
# Error codes no retry can fix: the token or the room is wrong.
_PERMANENT = {"M_UNKNOWN_TOKEN", "M_MISSING_TOKEN", "M_FORBIDDEN", "M_NOT_FOUND", "M_BAD_JSON"}


class MatrixError(BotError):
    """The homeserver refused a request."""

    def __init__(self, message: str, code: str = "", hint: str = "") -> None:
        super().__init__(message, hint)
        self.code = code


class MatrixUnavailable(MatrixError):
    """The homeserver is unreachable, overloaded or rate-limiting: try again later."""

    def __init__(self, message: str, code: str = "", retry_after: float | None = None) -> None:
        super().__init__(message, code)
        self.retry_after = retry_after


class MatrixAuthError(MatrixError):
    """Login failed or the access token is invalid: nothing works until config is fixed."""


def convert(resp: ErrorResponse, what: str) -> MatrixError:
    """The error that nio's ``resp`` to ``what`` (a request, in words) stands for."""
    code = str(resp.status_code or "")
    text = f"{what}: {code} {resp.message or ''}".strip()
    if code == "M_LIMIT_EXCEEDED" or code == "429":
        after = (resp.retry_after_ms or 1000) / 1000
        return MatrixUnavailable(text, code, retry_after=after)
    if code in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"):
        return MatrixAuthError(text, code, "Check matrix_access_token (or matrix_password).")
    if code in _PERMANENT:
        return MatrixError(text, code)
    return MatrixUnavailable(text, code)  # 5xx and the unknown: a retry may help
