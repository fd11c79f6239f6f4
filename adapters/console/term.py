"""The one way terminal output is made: rich without markup or highlighting.

User and schema text (room names, config patterns such as ``^[a-z][a-z0-9-]{0,21}$``,
AWS messages) contains square brackets; rich would read them as style tags and drop
them. Styles are applied with ``style=`` or ``Text`` objects, never inline markup.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text


def terminal(**kwargs: Any) -> Console:
    """A Console that prints every string verbatim (no markup, highlighting or emoji codes)."""
    kwargs.setdefault("markup", False)
    kwargs.setdefault("highlight", False)
    kwargs.setdefault("emoji", False)  # ":smile:" in a room name stays as typed
    return Console(**kwargs)


def error_line(message: str) -> Text:
    """``Error: <message>`` with the label in bold red and the message verbatim."""
    line = Text("Error:", style="bold red")
    line.append(" ")
    line.append(message)
    return line
