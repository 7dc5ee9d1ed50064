"""Slash commands: every one is acked at once and then run through the neutral router."""

from __future__ import annotations

import logging
import time
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.metrics import COMMAND_SECONDS
from bot.router import RepeatedRequest, run_command
from handlers.slack.background import answered_at_ack
from handlers.slack.replies import Answering, send_reply
from handlers.slack.request_scope import make_caller, request_scope, run_resolving_admin
from handlers.slack.runtime import SlackRuntime
from handlers.slack.signature import replay_key
from handlers.slack.slash_text import typed_text

logger = logging.getLogger(__name__)


def register(app: AsyncApp, deps: Deps, runtime: SlackRuntime) -> None:
    """Route the slash command of every router command (the manifest's) to the shared handler."""
    for command in deps.router.commands():
        app.command(f"/{command.name}")(
            answered_at_ack(
                partial(handle_slash_command, deps=deps, runtime=runtime), runtime.background
            )
        )


async def handle_slash_command(
    ack: AsyncAck,
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    request: AsyncBoltRequest,
    *,
    deps: Deps,
    runtime: SlackRuntime,
) -> None:
    """Handle any bridgebot slash command (`/bridge`, `/jargon`, ...).

    A command carries no id of its own, so its signature stands for it: a replay of
    the same signed request is acknowledged and skipped.
    """
    await ack()
    name = body["command"].lstrip("/")
    caller = make_caller(
        runtime, team_id=body["team_id"], user_id=body["user_id"], name=body.get("user_name")
    )
    args = typed_text(body.get("text", ""))
    once_key = replay_key(request.headers)
    started = time.perf_counter()
    try:
        reply, scope = await run_resolving_admin(
            request_scope(deps, caller, body.get("channel_id")),
            lambda scope: run_command(scope, name, args, once_key=once_key),
            client=client,
            runtime=runtime,
        )
    except RepeatedRequest:
        logger.info("skipping a replayed slash command")
        return
    COMMAND_SECONDS.labels(command=name).observe(time.perf_counter() - started)
    answering = Answering(
        client=client,
        runtime=runtime,
        scope=scope,
        user_ref=body["user_id"],
        channel_ref=body.get("channel_id"),
        trigger_id=body.get("trigger_id"),
        respond=runtime.responder(body, respond),
        wake=runtime.wake,
    )
    await send_reply(reply, answering)
