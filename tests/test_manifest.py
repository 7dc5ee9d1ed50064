"""`bridgebot manifest`: the Slack app manifest people paste into api.slack.com/apps."""

from __future__ import annotations

from typing import Any

import yaml
from typer.testing import CliRunner

from bot.commands import build_router
from handlers.cli import cli

# Every command lists itself (tests/test_command_registry.py checks each entry).
SLASH_COMMANDS = {f"/{command.name}" for command in build_router().commands()}
# What the bot needs, and nothing more (checked against handlers/slack/manifest.py's reasons).
BOT_SCOPES = {
    "commands",
    "chat:write",
    "chat:write.public",
    "im:write",
    "mpim:write",
    "users:read",
    "usergroups:read",
    "files:write",
}


def manifest(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["manifest", *args])
    assert result.exit_code == 0, result.output
    parsed = yaml.safe_load(result.stdout)
    assert isinstance(parsed, dict)
    return parsed


def request_urls(value: object) -> list[str]:
    """Every `url` / `request_url` / `redirect_urls` entry anywhere in the manifest."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in {"url", "request_url"}:
                found.append(item)
            elif key == "redirect_urls":
                found.extend(item)
            else:
                found.extend(request_urls(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(request_urls(item))
    return found


def check_common(data: dict[str, Any]) -> None:
    features = data["features"]
    assert {c["command"] for c in features["slash_commands"]} == SLASH_COMMANDS
    for command in features["slash_commands"]:
        assert command["description"]
    assert {"name": "Explain jargon", "type": "message"}.items() <= features["shortcuts"][0].items()
    assert len(features["shortcuts"]) == 1
    assert features["shortcuts"][0]["callback_id"]
    assert features["app_home"]["home_tab_enabled"] is True
    assert features["bot_user"]["display_name"] == "bridgebot"

    settings = data["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["event_subscriptions"]["bot_events"] == [
        "app_home_opened",
        "app_uninstalled",
        "tokens_revoked",
    ]

    scopes = data["oauth_config"]["scopes"]
    assert set(scopes["bot"]) == BOT_SCOPES
    assert not scopes.get("user")


def test_http_manifest_points_every_request_at_slack_events() -> None:
    data = manifest("--url", "https://bot.example.org/")
    check_common(data)
    assert data["settings"]["socket_mode_enabled"] is False
    events_url = "https://bot.example.org/slack/events"
    for command in data["features"]["slash_commands"]:
        assert command["url"] == events_url
    assert data["settings"]["interactivity"]["request_url"] == events_url
    assert data["settings"]["event_subscriptions"]["request_url"] == events_url
    urls = request_urls(data)
    assert all(u.startswith("https://bot.example.org/slack/") for u in urls), urls
    assert sum(u.endswith("/slack/events") for u in urls) == len(SLASH_COMMANDS) + 2


def test_socket_mode_manifest_has_no_request_urls() -> None:
    data = manifest("--socket-mode")
    check_common(data)
    assert data["settings"]["socket_mode_enabled"] is True
    assert request_urls(data) == []
