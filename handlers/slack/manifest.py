"""The Slack app manifest: the router's commands, the shortcut, App Home, events and scopes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from bot.router import Command

# Why each scope is needed; nothing more is asked for.
BOT_SCOPES = (
    "commands",  # the slash commands and the Explain jargon shortcut
    "chat:write",  # replies, reminders, digests, pulse questions
    "chat:write.public",  # post wins and digests in the shared channel without joining
    "im:write",  # open a DM for reminders and pulse questions
    "mpim:write",  # open a group DM introducing a bridge pair
    "users:read",  # admin check (is_admin / is_owner) and display names
    "usergroups:read",  # sync sides from Marketing / IT user groups
    "files:write",  # calendar files, pulse charts, CSV exports
)

# app_uninstalled and tokens_revoked: bridgebot stops using the workspace's tokens.
BOT_EVENTS = ("app_home_opened", "app_uninstalled", "tokens_revoked")

EXPLAIN_SHORTCUT_ID = "glossary_explain_message"


def slash_command_entry(command: Command, *, events_url: str | None) -> dict[str, Any]:
    """The manifest's entry for one router command; HTTP mode sends it to `events_url`."""
    entry: dict[str, Any] = {
        "command": f"/{command.name}",
        "description": command.listed_description(),
    }
    if command.usage_hint:
        entry["usage_hint"] = command.usage_hint
    entry["should_escape"] = command.slack_escape
    if events_url is not None:
        entry["url"] = events_url
    return entry


def build_manifest(
    commands: Iterable[Command],
    *,
    socket_mode: bool,
    base_url: str = "https://bridgebot.example.com",
) -> dict[str, Any]:
    """The manifest for the router's `commands`; HTTP mode points every request URL at
    `base_url`."""
    events_url = f"{base_url.rstrip('/')}/slack/events"
    slash_commands = [
        slash_command_entry(command, events_url=None if socket_mode else events_url)
        for command in commands
    ]
    interactivity: dict[str, Any] = {"is_enabled": True}
    event_subscriptions: dict[str, Any] = {"bot_events": list(BOT_EVENTS)}
    oauth: dict[str, Any] = {"scopes": {"bot": list(BOT_SCOPES)}}
    if not socket_mode:
        interactivity["request_url"] = events_url
        event_subscriptions["request_url"] = events_url
        oauth["redirect_urls"] = [f"{base_url.rstrip('/')}/slack/oauth_redirect"]
    return {
        "display_information": {
            "name": "bridgebot",
            "description": "Marketing and IT, working as one team",
            "long_description": (
                "bridgebot runs joint Marketing + IT stand-ups with reminders, a shared board of "
                "wins and challenges, weekly pulse polls that show the perception gap between "
                "the two sides, and a glossary so each side speaks the other's language."
            ),
            "background_color": "#2b4a6f",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": False,
            },
            "bot_user": {"display_name": "bridgebot", "always_online": True},
            "slash_commands": slash_commands,
            "shortcuts": [
                {
                    "name": "Explain jargon",
                    "type": "message",
                    "callback_id": EXPLAIN_SHORTCUT_ID,
                    "description": "Explain every Marketing or IT term in this message",
                }
            ],
        },
        "oauth_config": oauth,
        "settings": {
            "event_subscriptions": event_subscriptions,
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": False,
        },
    }


def manifest_yaml(
    commands: Iterable[Command],
    *,
    socket_mode: bool,
    base_url: str = "https://bridgebot.example.com",
) -> str:
    return yaml.safe_dump(
        build_manifest(commands, socket_mode=socket_mode, base_url=base_url),
        sort_keys=False,
        width=100,
    )
