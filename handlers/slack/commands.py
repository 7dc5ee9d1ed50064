"""Slash commands: every one is acked at once and then run through the neutral router."""

from __future__ import annotations

import asyncio
import re
import time
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.metrics import COMMAND_SECONDS
from bot.replies import Reply, Visibility
from bot.router import Caller, run_command
from handlers.slack.people import AdminDirectory
from handlers.slack.render import render_message

# Every slash command in the manifest; the router answers for the ones it knows.
SLASH_COMMANDS = ("bridge", "jargon", "standup", "win", "challenge", "pulse")

# "<#C0123|general>" as Slack sends an escaped channel mention, or a bare channel id.
_CHANNEL_MENTION = re.compile(r"^<#(?P<id>[CG][A-Z0-9]+)(\|[^>]*)?>$")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{6,}$")


def register(app: AsyncApp, deps: Deps, admins: AdminDirectory) -> None:
    """Route every slash command to the shared handler."""
    for name in SLASH_COMMANDS:
        app.command(f"/{name}")(partial(handle_slash_command, deps=deps, admins=admins))


def resolve_channel(value: str) -> str | None:
    """A channel id from what the user typed after the command."""
    value = value.strip()
    if match := _CHANNEL_MENTION.match(value):
        return match["id"]
    if _CHANNEL_ID.match(value):
        return value
    return None


async def handle_slash_command(
    ack: AsyncAck,
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    *,
    deps: Deps,
    admins: AdminDirectory,
) -> None:
    """Handle any bridgebot slash command (`/bridge`, `/jargon`, ...)."""
    await ack()
    name = body["command"].lstrip("/")
    caller = Caller(
        workspace_id=body["team_id"],
        user_ref=body["user_id"],
        platform="slack",
        is_admin=await admins.is_admin(client, body["team_id"], body["user_id"]),
        display_name=body.get("user_name"),
    )
    started = time.perf_counter()
    reply = await asyncio.to_thread(
        run_command,
        session_factory=deps.session_factory,
        router=deps.router,
        caller=caller,
        name=name,
        args=body.get("text", ""),
        now=deps.clock(),
        default_timezone=deps.settings.bridgebot_timezone,
        channel_ref=body.get("channel_id"),
        resolve_channel=resolve_channel,
    )
    COMMAND_SECONDS.labels(command=name).observe(time.perf_counter() - started)
    await send_reply(reply, respond)


async def send_reply(reply: Reply, respond: AsyncRespond) -> None:
    response_type = "in_channel" if reply.visibility is Visibility.CHANNEL else "ephemeral"
    await respond(response_type=response_type, **render_message(reply))
