"""What a person typed comes back verbatim, or escaped, through the real CLI: never
read as rich markup, never with control or bidirectional-override characters."""

from __future__ import annotations

import pytest

from bot.fmt import unsafe_char
from tests.e2e.conftest import Platform

pytestmark = pytest.mark.e2e


def test_brackets_in_a_command_are_echoed_verbatim(platform: Platform) -> None:
    result = platform.cli("say", "[bold]x[/bold]")
    assert result.code == 2
    assert "Unknown command `[bold]x[/bold]`" in result.stdout + result.stderr


@pytest.mark.parametrize("text", ["start\tstop", "start\x07\x08\x0b", "st\u202eart", "start\rx"])
def test_control_characters_are_refused_and_never_echoed(platform: Platform, text: str) -> None:
    result = platform.cli("say", "--json", text)
    assert result.code == 2, result.stdout + result.stderr
    [problem] = [x for x in result.lines if x.get("type") in ("problem", "reply")][:1]
    message = problem["text"]
    assert "plain spaces" in message
    assert not any(unsafe_char(c) for c in message.replace("\n", " "))
    # Nothing was started.
    assert platform.cli("status", "--json").stdout.count('"desired": "stopped"') == 1
