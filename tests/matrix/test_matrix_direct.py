"""The direct room for a person's meeting links outlives a restart (real Synapse): it
is recorded in the bot's ``m.direct`` account data and reused while the person is in
it or invited; once they leave it, the next link opens a new one."""

from __future__ import annotations

import asyncio
from pathlib import Path

from adapters.matrix.client import MatrixClient
from tests.matrix.conftest import matrix_settings
from tests.matrix.synapse import Synapse, User, q


def _direct_room_after_restart(synapse: Synapse, bot: User, user: User, tmp: Path) -> str:
    """A fresh client process (full first sync, as the adapter does) asks for the room."""

    async def run() -> str:
        client = MatrixClient(matrix_settings(synapse, bot, tmp))
        try:
            await client.login()
            await client.sync(None, 1000, True)
            client.state_loaded.set()
            return await client.direct.room(user.user_id)
        finally:
            await client.close()

    return asyncio.run(run())


def test_the_direct_room_is_reused_after_a_restart_until_the_person_leaves(
    synapse: Synapse, tmp_path: Path
) -> None:
    bot, alice = synapse.register(), synapse.register()
    first = _direct_room_after_restart(synapse, bot, alice, tmp_path)
    recorded = bot.call("GET", f"/_matrix/client/v3/user/{q(bot.user_id)}/account_data/m.direct")
    assert recorded == {alice.user_id: [first]}

    # Invited only, then joined: both reuse it.
    assert _direct_room_after_restart(synapse, bot, alice, tmp_path) == first
    alice.join(first)
    assert _direct_room_after_restart(synapse, bot, alice, tmp_path) == first

    alice.call("POST", f"/_matrix/client/v3/rooms/{q(first)}/leave", {})
    second = _direct_room_after_restart(synapse, bot, alice, tmp_path)
    assert second != first
    recorded = bot.call("GET", f"/_matrix/client/v3/user/{q(bot.user_id)}/account_data/m.direct")
    assert recorded == {alice.user_id: [first, second]}
