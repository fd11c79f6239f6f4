"""Password login against the real Synapse: the bot logs in with ``matrix_password``,
keeps the device Synapse gave it in its store path and logs in to that same device
(same crypto identity) after a restart; a wrong password is a clear error that
never shows the password, in the process or from ``jitsi-bot serve``."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from adapters.matrix.client import MatrixClient, encryption_available
from adapters.matrix.errors import MatrixAuthError
from adapters.matrix.login import DEVICE_FILE, save_device, saved_device
from bot.config import Settings
from tests.matrix.conftest import (
    BotRunner,
    bot_messages,
    bot_settings,
    join_room,
    matrix_settings,
    originals,
)
from tests.matrix.crypto_user import CryptoUser
from tests.matrix.synapse import Synapse, User
from tests.support.services import ROOT, wait_for


def password_settings(hs: Synapse, bot: User, tmp: Path, password: str, **extra: Any) -> Any:
    fields: dict[str, Any] = {"access_token": None, "device_id": None, **extra}
    return matrix_settings(hs, bot, tmp, password=password, **fields)


def devices(user: User) -> set[str]:
    """The account's devices, as Synapse lists them (read with the registration token)."""
    return {d["device_id"] for d in user.call("GET", "/_matrix/client/v3/devices")["devices"]}


def answered_help(user: User, room: str, bot_id: str, count: int) -> bool:
    bodies = [e["content"]["body"] for e in originals(bot_messages(user, room, bot_id))]
    return len([b for b in bodies if "stop" in b]) >= count


def test_password_login_keeps_its_device_across_a_restart(
    synapse: Synapse, redis_url: str, project: str, runners: list[BotRunner], tmp_path: Path
) -> None:
    bot, alice = synapse.register(), synapse.register()
    room = join_room(alice, bot)
    base = Settings(project_name=project, redis_url=redis_url)
    cfg = password_settings(synapse, bot, tmp_path, bot.password)
    runner = BotRunner(bot_settings(base, cfg))
    runners.append(runner)

    adapter = runner.start()
    device = adapter.client.nio.device_id
    assert device and device != bot.device_id  # a device of its own, made by the login
    assert saved_device(Path(cfg.store_path), bot.user_id) == device
    assert devices(bot) == {bot.device_id, device}
    identity = _identity(adapter.client)
    alice.say(room, "!jitsi help")
    wait_for(lambda: answered_help(alice, room, bot.user_id, 1), 20, "the help answer")

    runner.stop()
    adapter = runner.start()
    # The same device, hence the same crypto store and keys: encrypted rooms go on.
    assert adapter.client.nio.device_id == device
    assert devices(bot) == {bot.device_id, device}  # no new device per restart
    assert _identity(adapter.client) == identity
    alice.say(room, "!jitsi help")
    wait_for(lambda: answered_help(alice, room, bot.user_id, 2), 20, "the help answer again")


def _identity(client: MatrixClient) -> dict[str, str] | None:
    if not client.encrypted:
        return None
    return dict(client.nio.olm.account.identity_keys)  # type: ignore[union-attr]


def test_a_configured_device_id_wins_over_the_saved_one(synapse: Synapse, tmp_path: Path) -> None:
    bot = synapse.register()
    cfg = password_settings(synapse, bot, tmp_path, bot.password, device_id="JITSIBOT")
    save_device(Path(cfg.store_path), bot.user_id, "OLDDEVICE")

    async def login() -> str:
        client = MatrixClient(cfg)
        try:
            await client.login()
            return str(client.nio.device_id)
        finally:
            await client.close()

    assert asyncio.run(login()) == "JITSIBOT"
    assert saved_device(Path(cfg.store_path), bot.user_id) == "JITSIBOT"
    assert "JITSIBOT" in devices(bot)


def test_a_saved_device_of_another_account_is_not_reused(tmp_path: Path) -> None:
    (tmp_path / DEVICE_FILE).write_text(json.dumps({"user_id": "@a:x", "device_id": "ABC"}))
    assert saved_device(tmp_path, "@a:x") == "ABC"
    assert saved_device(tmp_path, "@b:x") is None


def test_a_wrong_password_is_a_clear_error_without_the_password(
    synapse: Synapse, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bot = synapse.register()
    wrong = "wrong-" + bot.password
    cfg = password_settings(synapse, bot, tmp_path, wrong)

    async def login() -> MatrixAuthError:
        client = MatrixClient(cfg)
        try:
            with pytest.raises(MatrixAuthError) as info:
                await client.login()
            return info.value
        finally:
            await client.close()

    with caplog.at_level(logging.DEBUG):
        err = asyncio.run(login())
    message = err.user_message()
    assert f"login as {bot.user_id}: M_FORBIDDEN" in message
    assert "Check matrix_user_id and matrix_password" in message
    assert wrong not in message and wrong not in repr(err) and wrong not in caplog.text
    assert not (tmp_path / "matrix-store" / DEVICE_FILE).exists()


def test_serve_with_a_wrong_password_exits_with_the_reason(
    synapse: Synapse, redis_url: str, project: str, tmp_path: Path
) -> None:
    bot = synapse.register()
    wrong = "wrong-" + bot.password
    env = {k: v for k, v in os.environ.items() if not k.startswith("JITSI_") and k != "AWS_PROFILE"}
    env.update(
        JITSI_CONFIG=str(tmp_path / "none.json"),
        JITSI_PROJECT_NAME=project,
        JITSI_REDIS_URL=redis_url,
        JITSI_MATRIX_HOMESERVER=synapse.url,
        JITSI_MATRIX_USER_ID=bot.user_id,
        JITSI_MATRIX_PASSWORD=wrong,
        JITSI_MATRIX_STORE_PATH=str(tmp_path / "store"),
    )
    (tmp_path / "none.json").write_text("{}")
    proc = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "--verbose", "serve"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    assert f"login as {bot.user_id}: M_FORBIDDEN" in output, output
    assert "matrix_password" in output
    assert wrong not in output


@pytest.mark.skipif(not encryption_available(), reason="needs jitsi-chatops[e2e]")
def test_an_encrypted_room_survives_a_restart_of_a_password_login(
    synapse: Synapse, redis_url: str, project: str, runners: list[BotRunner], tmp_path: Path
) -> None:
    """Encrypted commands are read and answered before and after a restart, by one
    device: the user's client never has to share the room key with a new one."""
    bot = synapse.register()
    base = Settings(project_name=project, redis_url=redis_url)
    runner = BotRunner(bot_settings(base, password_settings(synapse, bot, tmp_path, bot.password)))
    runners.append(runner)
    alice = CryptoUser(synapse.register(), tmp_path / "alice-store", runner.loop)
    try:
        device = runner.start().client.nio.device_id
        room = alice.create_encrypted_room(bot.user_id)
        wait_for(
            lambda: (
                alice.user.state(room, "m.room.member", bot.user_id).get("membership") == "join"
            ),
            20,
            "the bot to join",
        )

        def answers() -> list[Any]:
            return [e for e in alice.from_bot(room, bot.user_id) if _decrypted_help(e)]

        alice.say(room, "!jitsi help")
        wait_for(answers, 20, "the decrypted help answer")
        runner.stop()
        assert runner.start().client.nio.device_id == device
        alice.say(room, "!jitsi help")  # the same megolm session: no new key for the bot
        wait_for(lambda: len(answers()) == 2, 20, "the decrypted answer after the restart")
        assert not [e for e in alice.from_bot(room, bot.user_id) if not _decrypted_help(e)]
    finally:
        alice.close()


def _decrypted_help(event: Any) -> bool:
    body = str((event.source.get("content") or {}).get("body", ""))
    return bool(getattr(event, "decrypted", False)) and "stop" in body
