"""The core's root exception and the errors a user can act on."""

from __future__ import annotations


class BotError(Exception):
    """Root of every error the core raises; ``str()`` is fit to show a chat user."""

    hint: str = ""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint or self.hint

    def user_message(self) -> str:
        text = str(self)
        return f"{text} {self.hint}".strip() if self.hint else text


class CommandError(BotError):
    """The chat text is not a valid command; the message says how to write it."""


class PermissionDenied(BotError):
    """The actor may not run this command here."""


class IllegalTransition(BotError):
    """A lifecycle state change that the transition table does not allow."""


class CloudError(BotError):
    """AWS refused or failed; ``retryable`` says whether trying again may help."""

    def __init__(self, message: str, hint: str = "", *, retryable: bool = False) -> None:
        super().__init__(message, hint)
        self.retryable = retryable


class LifecycleTimeout(BotError):
    """A wait inside a lifecycle job ran past its deadline."""


class Cancelled(BotError):
    """A start noticed at a step boundary that the desired state is now ``stopped``."""


class PrerequisiteMissing(BotError):
    """Something a start needs is not there (certificate, hosted zone, base infrastructure)."""
