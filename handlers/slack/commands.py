"""Slash commands: every one is acked at once and then run through the neutral router."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot import replies
from bot.deps import Deps
from bot.metrics import COMMAND_SECONDS
from bot.replies import Visibility
from bot.router import Caller, RepeatedRequest, run_command
from bot.services import command_inbox
from handlers.slack.background import answered_at_ack
from handlers.slack.render import render_message
from handlers.slack.replies import Answering, send_reply
from handlers.slack.request_metrics import BUSY_TEXT, RequestLabels, refuse_busy
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

    The command is stored before it is acknowledged, so a crash after the ack cannot
    lose it (the scheduler runs it again, see inbox_recovery). A command carries no id
    of its own, so its signature stands for it: a replay of the same signed request
    finds it stored already and is acknowledged and skipped.
    """
    if request.mode == "socket_mode" and runtime.background.lag.busy():
        # Over HTTP the check came before Bolt (handle_measured): refused, not stored.
        await ack(text=BUSY_TEXT, response_type="ephemeral")
        refuse_busy(RequestLabels("command", body["team_id"], body["command"]))
        return
    name, args = body["command"].lstrip("/"), typed_text(body.get("text", ""))
    if deps.router.answered_at_once(name, args):
        await answer_in_ack(ack, body, respond, client, name, args, deps=deps, runtime=runtime)
        return
    try:
        inbox_id = await asyncio.to_thread(_store, deps, body, replay_key(request.headers))
    except Exception:
        await ack()  # told by the one error path, at its response_url
        raise
    await ack()
    if inbox_id is None:
        logger.info("skipping a replayed slash command")
        return
    caller = make_caller(
        runtime, team_id=body["team_id"], user_id=body["user_id"], name=body.get("user_name")
    )
    await run_and_answer(
        deps=deps,
        runtime=runtime,
        client=client,
        caller=caller,
        name=body["command"].lstrip("/"),
        args=typed_text(body.get("text", "")),
        channel_ref=body.get("channel_id"),
        inbox_id=inbox_id,
        respond=runtime.responder(body, respond),
        trigger_id=body.get("trigger_id"),
    )


async def answer_in_ack(
    ack: AsyncAck,
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    name: str,
    args: str,
    *,
    deps: Deps,
    runtime: SlackRuntime,
) -> None:
    """Run a command that only reads (a lookup) and answer it in Slack's acknowledgement.

    It takes milliseconds, so the answer arrives with the ack: no record in the inbox,
    no second trip to the database, no request to its response_url. A crash before the
    answer shows Slack's own failure to its author, so nothing is lost silently, and
    running it again changes nothing. A reply that cannot travel in an ack (one a
    command gives only in odd cases: a form, files, posts) is answered after it.
    """
    caller = make_caller(
        runtime, team_id=body["team_id"], user_id=body["user_id"], name=body.get("user_name")
    )
    channel_ref = body.get("channel_id")
    started = time.perf_counter()
    try:
        reply, scope = await run_resolving_admin(
            request_scope(deps, caller, channel_ref),
            lambda scope: run_command(scope, name, args),
            client=client,
            runtime=runtime,
        )
    except Exception:
        await ack()  # told by the one error path, at its response_url
        raise
    COMMAND_SECONDS.labels(command=name).observe(time.perf_counter() - started)
    if reply.blocks and not (
        reply.form or reply.attachments or reply.outbox or reply.wake_scheduler
    ):
        visibility = "in_channel" if reply.visibility is Visibility.CHANNEL else "ephemeral"
        await ack(response_type=visibility, **render_message(reply))
        return
    await ack()
    answering = Answering(
        client=client,
        runtime=runtime,
        scope=scope,
        user_ref=caller.user_ref,
        channel_ref=channel_ref,
        trigger_id=body.get("trigger_id"),
        respond=runtime.responder(body, respond),
        wake=runtime.wake,
    )
    await send_reply(reply, answering)


def _store(deps: Deps, body: dict[str, Any], signed_key: str | None) -> int | None:
    """Store the command as received: its inbox id, or None for a replay."""
    # Socket Mode requests carry no signature: each is its own, with no replay check.
    key = signed_key or f"unsigned:{uuid.uuid4().hex}"
    with deps.session_factory.begin() as session:
        return command_inbox.store(
            session=session,
            replay_key=key,
            workspace_id=body["team_id"],
            user_ref=body["user_id"],
            user_name=body.get("user_name"),
            command=body["command"].lstrip("/"),
            text=body.get("text", ""),
            channel_ref=body.get("channel_id"),
            response_url=body.get("response_url"),
            now=deps.clock(),
        )


async def run_and_answer(
    *,
    deps: Deps,
    runtime: SlackRuntime,
    client: AsyncWebClient,
    caller: Caller,
    name: str,
    args: str,
    channel_ref: str | None,
    inbox_id: int,
    respond: Any,  # Bolt's respond or a ResponseUrl, as SlackRuntime.responder gives
    trigger_id: str | None,
) -> None:
    """Run a stored command (as it arrives, or again after a crash) and answer it.

    Its inbox row is marked done in the command's transaction; a refusal rolls that
    back, so it is marked done on its own. A command another run finished is skipped.
    """
    started = time.perf_counter()
    try:
        reply, scope = await run_resolving_admin(
            request_scope(deps, caller, channel_ref),
            lambda scope: run_command(scope, name, args, inbox_id=inbox_id),
            client=client,
            runtime=runtime,
        )
    except RepeatedRequest:
        logger.info("skipping a slash command another run has handled")
        return
    if reply.is_error:
        await asyncio.to_thread(_finish, deps, inbox_id)
    COMMAND_SECONDS.labels(command=name).observe(time.perf_counter() - started)
    if reply.form is not None and trigger_id is None:
        # Slack lets a form open only within seconds of the command; this one is older.
        reply = replies.message(
            replies.text(
                "bridgebot was restarting when you typed ",
                replies.code(f"/{name}"),
                "; type it again to open its form.",
            )
        )
    answering = Answering(
        client=client,
        runtime=runtime,
        scope=scope,
        user_ref=caller.user_ref,
        channel_ref=channel_ref,
        trigger_id=trigger_id,
        respond=respond,
        wake=runtime.wake,
    )
    await send_reply(reply, answering)


def _finish(deps: Deps, inbox_id: int) -> None:
    with deps.session_factory.begin() as session:
        command_inbox.finish(session=session, command_id=inbox_id, now=deps.clock())
