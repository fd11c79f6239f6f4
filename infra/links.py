"""Signing meeting links (``bot.ports.LinkSigner``) with PyJWT, HS256.

The secret comes from a callable (``infra.aws.jwt_secret.SsmSecret`` in serve, a
fixed string in tests); this module keeps no copy and logs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jwt

ALGORITHM = "HS256"  # prosody's token verification default (JWT_SIGN_TYPE unset)


class JwtSigner:
    def __init__(self, secret: Callable[[], str]) -> None:
        self._secret = secret

    def __repr__(self) -> str:
        return "JwtSigner(HS256)"

    def sign(self, claims: Mapping[str, Any]) -> str:
        return jwt.encode(dict(claims), self._secret(), algorithm=ALGORITHM)
