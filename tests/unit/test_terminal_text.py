"""Terminal output prints user and schema text verbatim: no rich markup, no emoji codes.

A bad project name once printed ``pattern '^{0,21}$'`` instead of the real pattern,
because rich read ``[a-z]`` as a style tag."""

from __future__ import annotations

import os

import pytest

from adapters.cli import main
from adapters.console.term import terminal
from bot.config import Settings
from infra.settings import ConfigError, load_settings

# Brackets that look like rich markup, an emoji code and a pattern.
WEIRD = "[bold]x[/] :smile: ^[a-z]{0,2}$ [link=http://e]"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: os.PathLike[str]) -> None:
    for name in list(os.environ):
        if name.startswith("JITSI_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no jitsi-bot config file from the checkout


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_a_bad_project_name_prints_the_real_pattern(
    clean_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JITSI_PROJECT_NAME", "Bad_Name")
    assert main(["config"]) == 2
    err = _flat(capsys.readouterr().err)
    assert "^[a-z][a-z0-9-]{0,21}[a-z0-9]$" in err
    assert err.startswith("Error:")


def _config_errors() -> list[tuple[str, str]]:
    """(key, message) for every setting that refuses the weird value."""
    out = []
    for key in sorted(Settings.model_fields):
        try:
            load_settings({f"JITSI_{key.upper()}": WEIRD})
        except ConfigError as exc:
            out.append((key, exc.user_message()))
    return out


def test_every_config_error_prints_verbatim(
    clean_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    errors = _config_errors()
    assert len(errors) > 10
    for key, message in errors:
        monkeypatch.setenv(f"JITSI_{key.upper()}", WEIRD)
        assert main(["config"]) == 2
        err = capsys.readouterr().err
        assert _flat(message) in _flat(err), key
        monkeypatch.delenv(f"JITSI_{key.upper()}")


@pytest.mark.parametrize("text", [WEIRD, "[red]room[/red]", "a\\[b]", ":thumbs_up:"])
def test_the_terminal_prints_strings_as_given(text: str) -> None:
    console = terminal(record=True, width=200)
    console.print(text)
    assert console.export_text().rstrip("\n") == text
