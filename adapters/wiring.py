"""Building the object graph for one process from the one ``Settings``: the only place
where objects are made and handed to each other.

``App`` is built in layers, one module each, every part made on first use: the stores
in Redis (``wiring_stores``), then AWS, costs and the commands (``wiring_platform``),
then the worker's jobs (``wiring_worker``), and here what the chat processes get."""

from __future__ import annotations

from rich.console import Console

from adapters.chat.host import ChatHost
from adapters.console.app import ConsoleChat
from adapters.wiring_worker import Worker
from bot.model import Actor
from infra.glance import PlatformGlance


class App(Worker):
    """Every part a process may use; ``chat_host`` and ``console_chat`` are what chat gets.

    ``given_parts`` and ``given_source`` replace the AWS parts and the participant
    source (tests and benches hand in fakes)."""

    def chat_host(self) -> ChatHost:
        """What the chat adapters of ``serve`` get, and nothing more."""
        glance = PlatformGlance(self.store, self.sessions, self.ledger, self.clock, self.costs)
        return ChatHost(self.settings, self.service, self.follower, self.audit_log.record, glance)

    def console_chat(
        self, actor: Actor, console: Console | None = None, renderer: str | None = None
    ) -> ConsoleChat:
        """The terminal chat of ``say``, ``serve`` without chat adapters, and the demo."""
        return ConsoleChat(self.service, self.follower, self.settings, actor, console, renderer)
