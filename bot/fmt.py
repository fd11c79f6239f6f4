"""How durations read in messages."""

from __future__ import annotations

import unicodedata


def duration(seconds: float, *, precise: bool = True) -> str:
    """``1 h 5 min``, ``3 min 20 s`` or ``45 s``; without ``precise``, whole minutes only."""
    if not precise:
        hours, minutes = divmod(round(seconds / 60), 60)
        return f"{hours} h {minutes} min" if hours else f"{minutes} min"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


# Categories a person cannot see or that change how the text around them shows:
# controls (tab, CR, BEL, ESC...), format characters (U+202E right-to-left
# override, zero-width joiners), line and paragraph separators, surrogates,
# private use and unassigned code points.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def unsafe_char(char: str) -> bool:
    """True for a character that must not reach a chat or terminal as typed:
    any control, format or separator character, and any whitespace but a space."""
    if char == " ":
        return False
    return char.isspace() or unicodedata.category(char) in _UNSAFE_CATEGORIES


def safe_text(text: str, limit: int | None = None) -> str:
    """User text made safe to show back: each unsafe character as a visible escape
    (``\\t``, ``\\x07``, ``\\u202e``), cut to ``limit`` characters with an ellipsis.

    The one function every echo of typed text goes through ("Unknown command",
    "Did you mean", room names in errors, the console's ``> text`` echo)."""
    out = "".join(_escape(c) if unsafe_char(c) else c for c in text)
    if limit is not None and len(out) > limit:
        return out[:limit] + "…"
    return out


def _escape(char: str) -> str:
    code = ord(char)
    named = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
    if char in named:
        return named[char]
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def sentence(text: str) -> str:
    """``text`` ending in exactly one full stop (or its own ``?``/``!``/``…``), so
    messages built from messages never end in ``..``."""
    text = text.rstrip().rstrip(".").rstrip()
    return text if text.endswith(("?", "!", "…")) else f"{text}."
