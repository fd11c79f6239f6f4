"""Configuration: precedence, derived names, and errors that name the key and its source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config import Settings
from infra.settings import ConfigError, load_settings


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_defaults_and_derived_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ../jitsi-ops/config.json here
    s = load_settings({})
    assert s.project_name == "jitsi-video-platform"
    assert s.cluster_name == "jitsi-video-platform-cluster"
    assert s.service_name == "jitsi-video-platform-service"
    assert s.advertise_ips_parameter == "/jitsi-video-platform/jvb/advertise-ips"
    assert s.price_region == "us-east-1"


def test_env_beats_file_beats_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path, {"domain": "meet.file.org", "aws_region": "eu-west-1", "project_name": "acme"}
    )
    s = load_settings({"JITSI_CONFIG": str(path), "JITSI_DOMAIN": "meet.env.org"})
    assert s.domain == "meet.env.org"
    assert s.aws_region == "eu-west-1"
    assert s.cluster_name == "acme-cluster"


def test_sibling_ops_repo_config_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ops = tmp_path / "jitsi-ops"
    ops.mkdir()
    (ops / "config.json").write_text(json.dumps({"domain": "meet.sibling.org"}))
    repo = tmp_path / "repo"
    repo.mkdir()
    monkeypatch.chdir(repo)
    assert load_settings({}).domain == "meet.sibling.org"


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"domian": "x.org"}, "Unknown key 'domian'"),
        ({"domian": "x.org"}, "Did you mean domain"),
        ({"domain": "not a domain"}, "domain in "),
        ({"domain": "localhost"}, "not a domain name"),
        ({"aws_region": "mars-1"}, "aws_region in "),
        ({"aws_region": "mars-1"}, "not an AWS region"),
        ({"enable_tcp_4443": "maybe"}, "enable_tcp_4443 in "),
        ({"deregistration_delay_seconds": -1}, "deregistration_delay_seconds in "),
        ({"project_name": "Has Spaces"}, "project_name in "),
        ({"project_name": "x" * 40}, "project_name in "),
        ({"project_name": "x" * 24}, "project_name in "),  # x-udp10000 would pass 32
        ({"aws_endpoint_url": "ftp://x"}, "not an http(s) URL"),
        ({"poll_min_seconds": 5, "poll_max_seconds": 1}, "poll_max_seconds"),
        ({"allowed_users": ["alice"]}, "allowed_users in "),
    ],
)
def test_bad_file_values_name_key_and_file(
    tmp_path: Path, data: dict[str, object], needle: str
) -> None:
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as err:
        load_settings({"JITSI_CONFIG": str(path)})
    assert needle in err.value.user_message()


def test_bad_env_value_names_the_variable() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings({"JITSI_AWS_REGION": "nowhere"})
    assert "JITSI_AWS_REGION (environment)" in str(err.value)


def test_unknown_env_variable_is_refused() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings({"JITSI_DOMIAN": "meet.x.org"})
    assert "JITSI_DOMIAN" in str(err.value) and "JITSI_DOMAIN" in err.value.user_message()


def test_json_env_values() -> None:
    s = load_settings({"JITSI_ALLOWED_USERS": '{"stop": ["console:alice"]}'})
    assert s.allowed_users == {"stop": ["console:alice"]}
    with pytest.raises(ConfigError, match="must be JSON"):
        load_settings({"JITSI_ALLOWED_USERS": "{stop"})


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", ""])
def test_malformed_file(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_settings({"JITSI_CONFIG": str(path)})
    assert str(path) in str(err.value)


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings({"JITSI_CONFIG": str(tmp_path / "nope.json")})


def test_secrets_never_printed() -> None:
    s = load_settings({"JITSI_REDIS_URL": "redis://:hunter2@db.internal:6379/0"})
    assert "hunter2" not in repr(s) and "hunter2" not in str(s)
    assert "hunter2" not in json.dumps(s.public_view())
    assert s.redis_dsn.endswith("@db.internal:6379/0")
    with pytest.raises(ConfigError) as err:
        load_settings({"JITSI_REDIS_URL": "http://:hunter2@db.internal/"})
    assert "hunter2" not in str(err.value) and "JITSI_REDIS_URL" in str(err.value)


def test_settings_are_frozen() -> None:
    s = Settings()
    with pytest.raises(ValidationError):
        s.domain = "x.org"  # type: ignore[misc]


def test_chat_sections_from_flat_keys_objects_and_env(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "slack": {"mode": "http", "allowed_channels": ["C1"]},
            "matrix_homeserver": "https://matrix.example.org",
        },
    )
    s = load_settings(
        {
            "JITSI_CONFIG": str(path),
            "JITSI_SLACK_BOT_TOKEN": "xoxb-secret",
            "JITSI_SLACK_NOTICE_CHANNELS": '["C9"]',
        }
    )
    assert s.slack is not None and s.slack.mode == "http" and s.slack.allowed_channels == ["C1"]
    assert s.slack.notice_channels == ["C9"]
    assert s.slack.bot_token is not None and s.slack.bot_token.get_secret_value() == "xoxb-secret"
    assert s.matrix is not None and s.matrix.homeserver == "https://matrix.example.org"
    assert "xoxb-secret" not in repr(s) and "xoxb-secret" not in json.dumps(s.public_view())
    assert load_settings({}).slack is None  # a section is off unless configured


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"slack": {"mode": "carrier-pigeon"}}, "slack.mode in "),
        ({"slack_mode": "carrier-pigeon"}, "slack_mode in "),
        ({"slack": {"botoken": "x"}}, "Unknown key 'slack.botoken'"),
        ({"slack_botoken": "x"}, "Did you mean slack_bot_token"),
        ({"matrix": {"power_levels": {"stop": "high"}}}, "matrix.power_levels in "),
    ],
)
def test_bad_chat_sections_name_the_nested_key(
    tmp_path: Path, data: dict[str, object], needle: str
) -> None:
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as err:
        load_settings({"JITSI_CONFIG": str(path)})
    assert needle in err.value.user_message()


def test_a_null_section_is_off(tmp_path: Path) -> None:
    path = write(tmp_path, {"slack": None, "matrix": None})
    s = load_settings({"JITSI_CONFIG": str(path)})
    assert s.slack is None and s.matrix is None
