"""Malformed operator settings and flags: refused with the key, its source and the
accepted values; `health` never waits on a bad configuration."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.config import LogFormat
from infra.settings import ConfigError, load_settings
from tests.support.services import ROOT


def test_defaults_leave_metrics_off_and_logs_as_text() -> None:
    s = load_settings({})
    assert s.metrics_port is None and s.log_format is LogFormat.TEXT


def test_good_values_are_read_from_the_environment() -> None:
    s = load_settings(
        {
            "JITSI_METRICS_PORT": "9464",
            "JITSI_METRICS_HOST": "127.0.0.1",
            "JITSI_LOG_FORMAT": "json",
        }
    )
    assert (s.metrics_port, s.metrics_host, s.log_format) == (9464, "127.0.0.1", LogFormat.JSON)


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"JITSI_METRICS_PORT": "0"}, "JITSI_METRICS_PORT (environment)"),
        ({"JITSI_METRICS_PORT": "65536"}, "JITSI_METRICS_PORT (environment)"),
        ({"JITSI_METRICS_PORT": "-1"}, "JITSI_METRICS_PORT (environment)"),
        ({"JITSI_METRICS_PORT": "http"}, "JITSI_METRICS_PORT (environment)"),
        ({"JITSI_LOG_FORMAT": "xml"}, "JITSI_LOG_FORMAT (environment)"),
        ({"JITSI_HEARTBEAT_SECONDS": "0"}, "JITSI_HEARTBEAT_SECONDS (environment)"),
        ({"JITSI_METRIC_PORT": "9100"}, "JITSI_METRICS_PORT"),  # a typo: did you mean
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(env)
    assert needle in err.value.user_message()


def test_log_format_error_lists_the_choices() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings({"JITSI_LOG_FORMAT": "xml"})
    assert "'text'" in err.value.user_message() and "'json'" in err.value.user_message()


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("JITSI_")}
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", *args],
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "argv",
    [["health", "--process", "web"], ["health", "--bogus"], ["health", "worker"]],
)
def test_bad_health_flags_exit_2(argv: list[str]) -> None:
    res = _cli(*argv)
    assert res.returncode == 2 and "usage: jitsi-bot" in res.stderr, res.stderr
    assert "error:" in res.stderr and "Traceback" not in res.stderr


def test_health_with_a_bad_setting_exits_2_naming_it() -> None:
    res = _cli("health", JITSI_METRICS_PORT="70000")
    assert res.returncode == 2, res.stderr
    assert "JITSI_METRICS_PORT" in res.stderr and "Traceback" not in res.stderr
