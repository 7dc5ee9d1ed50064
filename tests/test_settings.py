"""Settings: the SPEC's defaults, refusing bad values, one clear line at start-up, .env.example."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot.settings import RunMode, Settings, describe_validation_error
from tests.processes import clean_env, run_bridgebot

REPO_ROOT = Path(__file__).resolve().parent.parent


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


def test_defaults_match_the_spec() -> None:
    defaults = settings()
    assert defaults.database_url == "sqlite:///bridgebot.db"
    assert defaults.slack_api_url == "https://slack.com/api/"
    assert defaults.bridgebot_host == "127.0.0.1"
    assert defaults.bridgebot_port == 3000
    assert defaults.bridgebot_timezone == "UTC"
    assert defaults.bridgebot_admins == []
    assert defaults.log_level == "INFO"
    assert defaults.slack_bot_token is None
    assert defaults.bridgebot_secret_key is None


def test_settings_come_from_upper_case_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BRIDGEBOT_ADMINS", "U1, U2")
    monkeypatch.setenv("BRIDGEBOT_PORT", "8080")
    monkeypatch.setenv("BRIDGEBOT_TIMEZONE", "Europe/London")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    loaded = settings()
    assert loaded.bridgebot_admins == ["U1", "U2"]
    assert loaded.bridgebot_port == 8080
    assert loaded.bridgebot_timezone == "Europe/London"
    assert loaded.log_level == "DEBUG"


def test_empty_environment_variables_keep_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGEBOT_PORT", "")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "")
    loaded = settings()
    assert loaded.bridgebot_port == 3000
    assert loaded.slack_bot_token is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("BRIDGEBOT_PORT", "99999"),
        ("BRIDGEBOT_PORT", "http"),
        ("BRIDGEBOT_TIMEZONE", "Mars/Olympus"),
        ("DATABASE_URL", "mysql://x"),
        ("DATABASE_URL", "not a url"),
        ("LOG_LEVEL", "loud"),
        ("BRIDGEBOT_BUSY_AFTER_SECONDS", "0"),
        ("BRIDGEBOT_BUSY_AFTER_SECONDS", "soon"),
        ("SLACK_API_URL", "slack.com/api"),
        ("SLACK_BOT_TOKEN", "changeme"),
        ("SLACK_BOT_TOKEN", "xoxp-a-user-token"),
        ("SLACK_APP_TOKEN", "xoxb-not-an-app-token"),
    ],
)
def test_bad_values_are_refused_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    if variable.startswith("SLACK_"):
        # Complete the credentials so only the bad value can be the problem.
        monkeypatch.setenv("SLACK_SIGNING_SECRET", "a-signing-secret-for-tests")
        if variable == "SLACK_APP_TOKEN":
            monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    with pytest.raises(ValidationError) as refused:
        settings()
    line = describe_validation_error(refused.value)
    assert line.startswith(variable), line
    assert "\n" not in line


def test_secrets_are_never_echoed_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxp-1234-secret-user-token")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "a-signing-secret-for-tests")
    with pytest.raises(ValidationError) as refused:
        settings()
    assert "1234-secret" not in describe_validation_error(refused.value)


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"slack_bot_token": "xoxb-test"}, "SLACK_SIGNING_SECRET"),
        ({"slack_app_token": "xapp-test"}, "SLACK_BOT_TOKEN"),
        (
            {"slack_client_id": "123.456", "slack_client_secret": "s3cr3t-value"},
            "SLACK_SIGNING_SECRET",
        ),
    ],
)
def test_incomplete_slack_credentials_are_refused(values: dict[str, str], named: str) -> None:
    with pytest.raises(ValidationError) as refused:
        settings(**values)
    assert named in describe_validation_error(refused.value)


@pytest.mark.parametrize(
    ("values", "mode"),
    [
        ({}, RunMode.CONSOLE),
        ({"slack_bot_token": "xoxb-test", "slack_signing_secret": "sign"}, RunMode.SLACK_HTTP),
        (
            {"slack_bot_token": "xoxb-test", "slack_app_token": "xapp-test"},
            RunMode.SLACK_SOCKET,
        ),
        (
            {
                "slack_bot_token": "xoxb-test",
                "slack_signing_secret": "sign",
                "slack_app_token": "xapp-test",
            },
            RunMode.SLACK_SOCKET,
        ),
        (
            {
                "slack_client_id": "123.456",
                "slack_client_secret": "s3cr3t-value",
                "slack_signing_secret": "sign",
            },
            RunMode.SLACK_OAUTH,
        ),
    ],
)
def test_run_mode_follows_the_credentials(values: dict[str, str], mode: RunMode) -> None:
    assert settings(**values).run_mode is mode


@pytest.mark.parametrize(
    ("variable", "value"),
    [("BRIDGEBOT_PORT", "99999"), ("BRIDGEBOT_TIMEZONE", "Mars/Olympus")],
)
def test_run_with_a_bad_setting_stops_with_one_clear_line(
    tmp_path: Path, variable: str, value: str
) -> None:
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path}/bridgebot.db", **{variable: value})
    result = run_bridgebot("run", cwd=tmp_path, env=env, timeout=20)
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert value in lines[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "bridgebot.db").exists()  # refused before touching anything


def test_env_example_lists_every_setting() -> None:
    example = REPO_ROOT / ".env.example"
    assert example.exists(), ".env.example is missing at the repository root"
    assignment = re.compile(r"^\s*#?\s*([A-Z][A-Z0-9_]*)\s*=")
    names = [m[1] for line in example.read_text().splitlines() if (m := assignment.match(line))]
    assert len(names) == len(set(names)), "a setting is listed twice"
    assert set(names) == {name.upper() for name in Settings.model_fields}


def test_env_example_loads_as_valid_settings_with_no_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BRIDGEBOT_SECRET_KEY_FILE")  # the test's own, set by conftest
    loaded = Settings(_env_file=REPO_ROOT / ".env.example")
    assert loaded.run_mode is RunMode.CONSOLE
    for name in Settings.model_fields:
        if any(word in name for word in ("token", "secret", "password")):
            assert getattr(loaded, name) is None, name
