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
from bot.router import (
    AdminCheckFailed,
    AdminCheckNeeded,
    FormInvalid,
    RepeatedRequest,
    refusal,
    run_action,
    run_form,
)
from handlers.slack import dedupe
from handlers.slack.background import answered_at_ack
from handlers.slack.manifest import EXPLAIN_SHORTCUT_ID
from handlers.slack.render import action_name, form_values, render_message
from handlers.slack.replies import Answering, read_modal_metadata, send_reply
from handlers.slack.request_scope import (
    ask_admin,
    interaction_caller_ids,
    make_caller,
    request_scope,
    run_resolving_admin,
)
from handlers.slack.runtime import SlackRuntime
from handlers.slack.signature import replay_key
from handlers.slack.slash_text import typed_text

logger = logging.getLogger(__name__)

# Shown in a form whose sender's admin rights Slack was not asked about yet: it is
# asked after the acknowledgement, and the next submission has the answer at hand.
CHECKING_ADMIN = (
    "bridgebot is checking with Slack whether you are a workspace admin; "
    "nothing was saved yet, please submit again in a moment."
)


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
    caller = make_caller(runtime, team_id=team_id, user_id=user_id, name=name)
    channel = _channel_of(body)
    action_id = action_name(action["action_id"])
    value = action.get("value", "")
    # The click's id is stored with its effect: a repeat of it is skipped.
    once_key = dedupe.request_key(body)
    try:
        reply, scope = await run_resolving_admin(
            request_scope(deps, caller, channel),
            lambda scope: run_action(scope, action_id, value, once_key=once_key),
            client=client,
            runtime=runtime,
        )
    except RepeatedRequest:
        logger.info("skipping a repeated click")
        return
    answering = Answering(
        client=client,
        runtime=runtime,
        scope=scope,
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
    Slack is never asked anything before the ack: a form that needs to know whether
    its sender is an admin, when no recent answer is at hand, stays open and asks them
    to submit again while Slack is asked after the ack.
    """
    team_id, user_id, name = interaction_caller_ids(body)
    caller = make_caller(runtime, team_id=team_id, user_id=user_id, name=name)
    metadata, channel = read_modal_metadata(view.get("private_metadata", ""))
    values = form_values(view.get("state", {}))
    scope = request_scope(deps, caller, channel)
    answering = Answering(
        client=client,
        runtime=runtime,
        scope=scope,
        user_ref=user_id,
        channel_ref=channel,
        wake=runtime.wake,
    )
    try:
        reply = await asyncio.to_thread(
            run_form,
            scope,
            view["callback_id"],
            values,
            metadata,
            once_key=replay_key(request.headers),
        )
    except FormInvalid as exc:
        await ack(response_action="errors", errors=_errors_by_block(exc.field_errors, list(values)))
        return
    except RepeatedRequest:
        logger.info("skipping a replayed form submission")
        await ack()
        return
    except AdminCheckNeeded:
        # Rolled back, nothing kept; the typed values stay in the open form.
        await ack(
            response_action="errors",
            errors=_errors_by_block({"": CHECKING_ADMIN}, list(values)),
        )
        answered = await ask_admin(client, runtime, scope)
        if answered.caller.admin_check_failed:
            await send_reply(refusal(AdminCheckFailed("Slack")), answering)
        return
    await ack()
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
    caller = make_caller(runtime, team_id=team_id, user_id=user_id, name=name)
    message = typed_text((shortcut.get("message") or {}).get("text", ""))
    reply, _ = await run_resolving_admin(
        request_scope(deps, caller, _channel_of(shortcut)),
        lambda scope: run_action(scope, GLOSSARY_EXPLAIN, message),
        client=client,
        runtime=runtime,
    )
    responder = runtime.responder(shortcut, respond)
    await responder(response_type="ephemeral", replace_original=False, **render_message(reply))
