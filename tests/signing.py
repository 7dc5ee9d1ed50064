"""Requests signed exactly as Slack signs them (v0 HMAC-SHA256 over "v0:timestamp:body")."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"


def slack_headers(
    body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = f"v0:{ts}:{body}".encode()
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }


def slash_command_body(
    command: str,
    text: str,
    *,
    response_url: str,
    user_id: str = "U0ALICE",
    team_id: str = "T0BRIDGE",
    channel_id: str = "C0GENERAL",
    trigger_id: str | None = None,
) -> str:
    """A slash command, as Slack posts it; each gets its own trigger_id, as from Slack.

    Two calls thus never make the same bytes: the bot runs a byte-for-byte repeat of a
    signed command only once (a replay).
    """
    return urlencode(
        {
            "token": "deprecated-verification-token",
            "team_id": team_id,
            "team_domain": "bridge",
            "channel_id": channel_id,
            "channel_name": "general",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A0BRIDGE",
            "response_url": response_url,
            "trigger_id": trigger_id or f"{uuid.uuid4().int % 10**12}.42.{uuid.uuid4().hex[:8]}",
        }
    )


def block_actions_body(
    action_id: str,
    value: str,
    *,
    response_url: str,
    user_id: str = "U0ALICE",
    team_id: str = "T0BRIDGE",
    channel_id: str = "D0ALICE",
    message_ts: str = "1700000000.000100",
    trigger_id: str | None = None,
) -> str:
    """A click on a button, as Slack posts it (form field `payload`, JSON).

    Each call gets its own trigger_id unless one is given: Slack's retry of the same
    click carries the same one, and the bot handles a trigger_id only once.
    """
    payload = {
        "type": "block_actions",
        "team": {"id": team_id, "domain": "bridge"},
        "user": {
            "id": user_id,
            "username": user_id.lower(),
            "name": user_id.lower(),
            "team_id": team_id,
        },
        "api_app_id": "A0BRIDGE",
        "token": "deprecated-verification-token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id or f"{uuid.uuid4().int % 10**12}.42.{uuid.uuid4().hex[:8]}",
        "channel": {"id": channel_id, "name": "bridge"},
        "message": {"type": "message", "ts": message_ts, "text": "", "blocks": []},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b0",
                "text": {"type": "plain_text", "text": "button"},
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def view_submission_body(
    callback_id: str,
    values: dict[str, str],
    *,
    private_metadata: str = "",
    user_id: str = "U0ALICE",
    team_id: str = "T0BRIDGE",
) -> str:
    """A submitted modal whose plain-text inputs (block_id = field name) hold `values`."""
    state = {
        name: {"value": {"type": "plain_text_input", "value": value}}
        for name, value in values.items()
    }
    payload = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": "bridge"},
        "user": {"id": user_id, "username": user_id.lower(), "team_id": team_id},
        "api_app_id": "A0BRIDGE",
        "token": "deprecated-verification-token",
        "trigger_id": f"{uuid.uuid4().int % 10**12}.42.{uuid.uuid4().hex[:8]}",
        "view": {
            "id": "V0MODAL",
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "state": {"values": state},
        },
    }
    return urlencode({"payload": json.dumps(payload)})


def modal_submission_body(
    view: dict[str, Any],
    answers: dict[str, str | list[str]],
    *,
    user_id: str = "U0ALICE",
    team_id: str = "T0BRIDGE",
) -> str:
    """Submit a modal the bot opened (the `view` it sent to views.open), field by block_id.

    Each element's state has the shape Slack sends for its type (selected_option(s),
    selected_conversation, selected_users, selected_time or value); a block missing
    from `answers` keeps the modal's initial value. List answers are for multi-selects.
    """
    state: dict[str, Any] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block["element"]
        kind = element["type"]
        given = answers.get(block["block_id"], _initial_value(element))
        chosen = [given] if isinstance(given, str) else list(given)
        entry: dict[str, Any] = {"type": kind}
        if kind == "static_select":
            options = [o for o in element.get("options", []) if o["value"] in chosen]
            entry["selected_option"] = options[0] if options else None
        elif kind == "multi_static_select":
            options = [o for o in element.get("options", []) if o["value"] in chosen]
            entry["selected_options"] = options
        elif kind == "conversations_select":
            entry["selected_conversation"] = chosen[0] if chosen and chosen[0] else None
        elif kind == "multi_users_select":
            entry["selected_users"] = [user for user in chosen if user]
        elif kind == "timepicker":
            entry["selected_time"] = chosen[0] if chosen and chosen[0] else None
        else:
            entry["value"] = chosen[0] if chosen and chosen[0] else None
        state[block["block_id"]] = {element.get("action_id", "value"): entry}
    payload = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": "bridge"},
        "user": {"id": user_id, "username": user_id.lower(), "team_id": team_id},
        "api_app_id": "A0BRIDGE",
        "token": "deprecated-verification-token",
        "trigger_id": f"{uuid.uuid4().int % 10**12}.42.{uuid.uuid4().hex[:8]}",
        "view": {
            "id": "V0MODAL",
            "type": "modal",
            "callback_id": view["callback_id"],
            "private_metadata": view.get("private_metadata", ""),
            "state": {"values": state},
            "hash": "1700000000.abcdef",
        },
    }
    return urlencode({"payload": json.dumps(payload)})


def _initial_value(element: dict[str, Any]) -> str | list[str]:
    if "initial_option" in element:
        return str(element["initial_option"]["value"])
    if "initial_options" in element:
        return [str(option["value"]) for option in element["initial_options"]]
    for key in ("initial_conversation", "initial_time", "initial_value"):
        if key in element:
            return str(element[key])
    return list(element.get("initial_users", [])) or ""


def message_action_body(
    callback_id: str,
    message_text: str,
    *,
    response_url: str,
    user_id: str = "U0ALICE",
    team_id: str = "T0BRIDGE",
    channel_id: str = "C0GENERAL",
    author_id: str = "U0BOB",
) -> str:
    """A message shortcut (a message's "More actions" menu), as Slack posts it."""
    payload = {
        "type": "message_action",
        "callback_id": callback_id,
        "team": {"id": team_id, "domain": "bridge"},
        "user": {"id": user_id, "username": user_id.lower(), "team_id": team_id},
        "channel": {"id": channel_id, "name": "general"},
        "api_app_id": "A0BRIDGE",
        "token": "deprecated-verification-token",
        "trigger_id": f"{uuid.uuid4().int % 10**12}.42.{uuid.uuid4().hex[:8]}",
        "action_ts": f"{time.time():.6f}",
        "message_ts": "1700000000.000200",
        "message": {
            "type": "message",
            "user": author_id,
            "ts": "1700000000.000200",
            "text": message_text,
        },
        "response_url": response_url,
    }
    return urlencode({"payload": json.dumps(payload)})


def json_headers(body: str, **kwargs: Any) -> dict[str, str]:
    """Signed headers for a JSON body (Events API deliveries)."""
    return slack_headers(body, **kwargs) | {"Content-Type": "application/json"}


def event_callback_body(event: dict[str, Any], *, event_id: str, team_id: str = "T0BRIDGE") -> str:
    """An Events API delivery (`event_callback`) of `event`, as Slack posts it (JSON)."""
    return json.dumps(
        {
            "token": "deprecated-verification-token",
            "team_id": team_id,
            "api_app_id": "A0BRIDGE",
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "team_id": team_id,
                    "user_id": "U0BOT",
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
        }
    )


def app_home_opened_body(user_id: str, *, event_id: str, team_id: str = "T0BRIDGE") -> str:
    """The `app_home_opened` event Slack sends when a person opens the bot's Home tab."""
    event = {
        "type": "app_home_opened",
        "user": user_id,
        "channel": f"D{user_id}",
        "tab": "home",
        "event_ts": f"{time.time():.6f}",
    }
    return event_callback_body(event, event_id=event_id, team_id=team_id)


def home_action_body(
    action_id: str,
    value: str,
    *,
    user_id: str = "U0ALICE",
    team_id: str = "T0BRIDGE",
    trigger_id: str | None = None,
) -> str:
    """A click on a button of the App Home view: no channel and no response_url."""
    payload = {
        "type": "block_actions",
        "team": {"id": team_id, "domain": "bridge"},
        "user": {
            "id": user_id,
            "username": user_id.lower(),
            "name": user_id.lower(),
            "team_id": team_id,
        },
        "api_app_id": "A0BRIDGE",
        "token": "deprecated-verification-token",
        "container": {"type": "view", "view_id": f"V{user_id}"},
        "trigger_id": trigger_id or f"{uuid.uuid4().int % 10**12}.42.{uuid.uuid4().hex[:8]}",
        "view": {"id": f"V{user_id}", "type": "home", "blocks": [], "hash": "1700000000.home"},
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b0",
                "text": {"type": "plain_text", "text": "button"},
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})
