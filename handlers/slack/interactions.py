"""Buttons, modal submissions and the Explain jargon shortcut, routed to the neutral core."""

from __future__ import annotations

import asyncio
import logging
import re
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.glossary import GLOSSARY_EXPLAIN
from bot.deps import Deps
from bot.router import FormInvalid, RepeatedRequest, run_action, run_form
from handlers.slack import dedupe
from handlers.slack.common import interaction_caller_ids, make_caller, unit_of_work
from handlers.slack.errors import answered_at_ack
from handlers.slack.manifest import EXPLAIN_SHORTCUT_ID
from handlers.slack.people import SlackRuntime
from handlers.slack.render import action_name, form_values, render_message
from handlers.slack.replies import Answering, read_modal_metadata, send_reply
from handlers.slack.signature import replay_key
from handlers.slack.slash_text import typed_text

logger = logging.getLogger(__name__)


def register(app: AsyncApp, deps: Deps, runtime: SlackRuntime) -> None:
    background = runtime.background
    app.action(re.compile(r".+"))(
        answered_at_ack(partial(handle_block_action, deps=deps, runtime=runtime), background)
    )
    app.view(re.compile(r".+"))(
        answered_at_ack(partial(handle_view_submission, deps=deps, runtime=runtime), background)
    )
    app.shortcut(EXPLAIN_SHORTCUT_ID)(
        answered_at_ack(partial(handle_explain_shortcut, deps=deps, runtime=runtime), background)
    )


def _channel_of(body: dict[str, Any]) -> str | None:
    return (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")


async def handle_block_action(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    *,
    deps: Deps,
    runtime: SlackRuntime,
) -> None:
    """Handle a click on any bridgebot button."""
    await ack()
    team_id, user_id, name = interaction_caller_ids(body)
    caller = await make_caller(client, runtime, team_id=team_id, user_id=user_id, name=name)
    channel = _channel_of(body)
    uow = unit_of_work(deps, caller, channel)
    try:
        # The click's id is stored with its effect: a repeat of it is skipped.
        reply = await asyncio.to_thread(
            run_action,
            action_id=action_name(action["action_id"]),
            value=action.get("value", ""),
            once_key=dedupe.request_key(body),
            **uow,
        )
    except RepeatedRequest:
        logger.info("skipping a repeated click")
        return
    answering = Answering(
        client=client,
        runtime=runtime,
        uow=uow,
        user_ref=user_id,
        channel_ref=channel,
        trigger_id=body.get("trigger_id"),
        respond=runtime.responder(body, respond),
        wake=runtime.wake,
    )
    await send_reply(reply, answering)


async def handle_view_submission(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    request: AsyncBoltRequest,
    *,
    deps: Deps,
    runtime: SlackRuntime,
) -> None:
    """Handle a submitted bridgebot modal: field errors in the modal, or save and confirm.

    Validation must answer inside the acknowledgement, so the work runs before ack().
    A replay of the same signed submission is acknowledged and not saved again.
    """
    team_id, user_id, name = interaction_caller_ids(body)
    caller = await make_caller(client, runtime, team_id=team_id, user_id=user_id, name=name)
    metadata, channel = read_modal_metadata(view.get("private_metadata", ""))
    values = form_values(view.get("state", {}))
    uow = unit_of_work(deps, caller, channel)
    try:
        reply = await asyncio.to_thread(
            run_form,
            callback_id=view["callback_id"],
            values=values,
            metadata=metadata,
            once_key=replay_key(request.headers),
            **uow,
        )
    except FormInvalid as exc:
        await ack(response_action="errors", errors=_errors_by_block(exc.field_errors, list(values)))
        return
    except RepeatedRequest:
        logger.info("skipping a replayed form submission")
        await ack()
        return
    await ack()
    answering = Answering(
        client=client,
        runtime=runtime,
        uow=uow,
        user_ref=user_id,
        channel_ref=channel,
        wake=runtime.wake,
    )
    await send_reply(reply, answering)


def _errors_by_block(errors: dict[str, str], blocks: list[str]) -> dict[str, str]:
    """Slack shows errors only under blocks that exist; others go under the first one."""
    shown = {field: message for field, message in errors.items() if field in blocks}
    stray = [message for field, message in errors.items() if field not in blocks]
    if stray and blocks:
        first = blocks[0]
        shown[first] = " ".join(filter(None, [shown.get(first, ""), *stray]))
    return shown


async def handle_explain_shortcut(
    ack: AsyncAck,
    shortcut: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    *,
    deps: Deps,
    runtime: SlackRuntime,
) -> None:
    """Handle the *Explain jargon* message shortcut: the terms, shown to the caller only."""
    await ack()
    team_id, user_id, name = interaction_caller_ids(shortcut)
    caller = await make_caller(client, runtime, team_id=team_id, user_id=user_id, name=name)
    message = typed_text((shortcut.get("message") or {}).get("text", ""))
    reply = await asyncio.to_thread(
        run_action,
        action_id=GLOSSARY_EXPLAIN,
        value=message,
        **unit_of_work(deps, caller, _channel_of(shortcut)),
    )
    responder = runtime.responder(shortcut, respond)
    await responder(response_type="ephemeral", replace_original=False, **render_message(reply))
