"""Configuration sections of the chat adapters, nested in ``Settings``.

Each section may be written as an object (``{"slack": {"bot_token": ...}}``)
or as flat keys (``slack_bot_token`` in the file, ``JITSI_SLACK_BOT_TOKEN`` in
the environment). A section is enabled when any of its keys is given.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class SlackSettings(BaseModel):
    """Slack app: Socket Mode (default, no public URL) or HTTP mode."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bot_token: SecretStr | None = None  # xoxb-...
    app_token: SecretStr | None = None  # xapp-... (Socket Mode)
    signing_secret: SecretStr | None = None  # HTTP mode request signatures
    mode: Literal["socket", "http"] = "socket"
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=3000, ge=0, le=65535)
    api_url: str | None = None  # Web API base URL; a local server in tests
    allowed_teams: list[str] = Field(default_factory=list)  # empty: any workspace
    allowed_channels: list[str] = Field(default_factory=list)  # empty: any channel
    notice_channels: list[str] = Field(default_factory=list)
    # command -> Slack user group ids (S...): a listed command is further limited
    # to members of those groups (resolved with usergroups.users.list, cached).
    allowed_usergroups: dict[str, list[str]] = Field(default_factory=dict)
    usergroup_cache_seconds: float = Field(default=300.0, ge=0)
    app_home: bool = True  # publish the App Home tab on app_home_opened
    http_path: str = "/slack/events"  # HTTP mode: the Request URL's path


class MatrixSettings(BaseModel):
    """Matrix bot account on a homeserver (matrix-nio)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    homeserver: str | None = None  # https://matrix.example.org
    user_id: str | None = None  # @jitsi-bot:example.org
    access_token: SecretStr | None = None
    password: SecretStr | None = None
    device_id: str | None = None
    store_path: str = ".matrix-store"
    command_prefix: str = "!jitsi"
    allowed_homeservers: list[str] = Field(default_factory=list)
    allowed_rooms: list[str] = Field(default_factory=list)
    allowed_users: list[str] = Field(default_factory=list)
    notice_rooms: list[str] = Field(default_factory=list)
    # command -> minimum power level in the room
    power_levels: dict[str, int] = Field(
        default_factory=lambda: {
            "start": 0,
            "link": 0,
            "status": 0,
            "cost": 0,
            "keep": 0,
            "stop": 50,
        }
    )
    # Seconds between edits of a job's message (Synapse rate-limits bots).
    edit_interval_seconds: float = Field(default=4.0, ge=0.0, le=60.0)
    # Commands sent while the bot was down are still run when at most this old;
    # older ones are answered with a note instead (never replayed days later).
    max_command_age_seconds: float = Field(default=300.0, ge=0.0)
    # Use encrypted rooms when matrix-nio's e2e extra is installed.
    encryption: bool = True
    sync_timeout_seconds: float = Field(default=30.0, gt=0.0, le=300.0)
