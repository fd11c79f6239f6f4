"""Logging the bot's account in: with an access token (its device from whoami) or a
password, whose device id is kept in the store so the encryption keys (and the crypto
store named after the device) survive a restart. Secrets are never logged."""

from __future__ import annotations

import json
import os
from pathlib import Path

from nio import AsyncClient, LoginResponse, WhoamiResponse

from adapters.matrix.errors import MatrixAuthError, MatrixUnavailable, convert

DEVICE_NAME = "jitsi-chatops"
# In the store path, beside nio's crypto store: the device a password login made.
DEVICE_FILE = "device.json"


def saved_device(store: Path, user_id: str) -> str | None:
    """The device id a password login of ``user_id`` saved in ``store``, if any."""
    try:
        data = json.loads((store / DEVICE_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("user_id") != user_id:
        return None  # another account's device is never reused
    device = data.get("device_id")
    return device if isinstance(device, str) and device else None


def save_device(store: Path, user_id: str, device_id: str) -> None:
    """Keep ``device_id`` for the next password login (written whole, then renamed)."""
    if saved_device(store, user_id) == device_id:
        return
    store.mkdir(parents=True, exist_ok=True)
    tmp = store / f".{DEVICE_FILE}.tmp"
    tmp.write_text(json.dumps({"user_id": user_id, "device_id": device_id}) + "\n")
    os.replace(tmp, store / DEVICE_FILE)


async def token_login(nio: AsyncClient, user_id: str, token: str, device: str | None) -> None:
    """Use ``token`` as ``user_id``; without a configured ``device``, whoami names it
    (and proves the token is this account's)."""
    if not device:
        nio.access_token = token
        who = await nio.whoami()
        if not isinstance(who, WhoamiResponse):
            raise convert(who, "whoami")
        if who.user_id != user_id:
            raise MatrixAuthError(f"The access token belongs to {who.user_id}, not {user_id}.")
        device = who.device_id or ""
    nio.restore_login(user_id, device, token)


async def password_login(nio: AsyncClient, store: Path, user_id: str, password: str) -> None:
    """Log in with ``password`` (as nio's own device id) and keep the device in ``store``."""
    resp = await nio.login(password=password, device_name=DEVICE_NAME)
    if not isinstance(resp, LoginResponse):
        err = convert(resp, f"login as {user_id}")
        if isinstance(err, MatrixUnavailable):
            raise err
        # Synapse answers M_FORBIDDEN "Invalid username or password"; the password
        # itself is never part of a message.
        raise MatrixAuthError(
            str(err),
            err.code,
            "Check matrix_user_id and matrix_password (JITSI_MATRIX_PASSWORD).",
        )
    save_device(store, user_id, resp.device_id)
