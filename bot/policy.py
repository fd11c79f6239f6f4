"""Who may run which command: allow lists from configuration, no I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.errors import PermissionDenied
from bot.model import Actor

EVERYONE = "*"


def authorize(command: str, actor: Actor, allowed: Mapping[str, Sequence[str]]) -> None:
    """Raise ``PermissionDenied`` unless ``actor`` may run ``command``.

    A command missing from ``allowed``, or listing ``*``, is open to everyone.
    """
    users = allowed.get(command)
    if users is None or EVERYONE in users or actor.user in users:
        return
    raise PermissionDenied(
        f"You ({actor.user}) may not run `{command}` here.",
        "Ask one of the people allowed to, or an admin to add you to allowed_users.",
    )
