"""How durations read in messages."""

from __future__ import annotations


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
