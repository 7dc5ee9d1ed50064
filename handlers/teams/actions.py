"""Card actions (Action.Execute): buttons and form submissions, routed to the neutral core.

Teams shows the card an action answers with to the person who clicked; a message that
everyone sees (a board post, a quick poll) is updated through the Bot Connector.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Any, cast

from microsoft_teams.api.activities.invoke.adaptive_card.action import AdaptiveCardInvokeActivity
from microsoft_teams.api.activities.invoke.search import SearchInvokeActivity
from microsoft_teams.apps import ActivityContext, App
from sqlalchemy.orm import Session

from bot import replies
from bot.metrics import HANDLER_SECONDS, REQUESTS
from bot.replies import Paragraph, Reply, Visibility
from bot.router import FormInvalid, RequestScope, run_action, run_form
from handlers.teams import store
from handlers.teams.errors import apology
from handlers.teams.render import (
    CANCEL_VERB,
    CHANNEL_CHOICES,
    CHANNEL_DATASET,
    FORM_VERB,
    card_response,
    form_from_spec,
    is_short,
    message_response,
    plain,
    span_refs,
    submitted_values,
)
from handlers.teams.runtime import TeamsRuntime
from handlers.teams.turn import Turn, read_turn

logger = logging.getLogger(__name__)

OTHER_TENANT = "This bridgebot serves another organisation."


def register(app: App, runtime: TeamsRuntime, wake: Callable[[], None]) -> None:
    """Answer clicks and forms; `wake` runs the scheduler at once for the posts they queue."""
    # The SDK types the answer as its response models; a plain dict serialises the same.
    handler = partial(handle_card_action, runtime=runtime, wake=wake)
    app.on_card_action_execute(cast(Any, handler))
    app.on_card_search(cast(Any, partial(handle_card_search, runtime=runtime)))


async def handle_card_action(
    ctx: ActivityContext[AdaptiveCardInvokeActivity],
    *,
    runtime: TeamsRuntime,
    wake: Callable[[], None],
) -> dict[str, Any]:
    """Handle a click on a bridgebot card: a button, a form's Submit or its Cancel."""
    turn = read_turn(ctx.activity)
    if not runtime.accepts(turn):
        return message_response(OTHER_TENANT)
    action = ctx.activity.value.action
    data: dict[str, Any] = dict(action.data or {})
    started = time.perf_counter()
    outcome = "ok"
    try:
        await runtime.remember(turn)
        # The channel the card belongs to, even when it was sent by DM.
        origin = str(data.get("c") or "") or turn.channel_ref or ""
        scope = runtime.request_scope(runtime.caller(turn), origin or None)
        verb = action.verb or ""
        if verb == CANCEL_VERB:
            return await replace(
                runtime, turn, replies.message("Cancelled; nothing was saved."), origin
            )
        if verb == FORM_VERB:
            return await submit_form(runtime, turn, data, scope, origin, wake)
        reply = await asyncio.to_thread(run_action, scope, verb, str(data.get("v", "")))
        return await answer_click(runtime, reply, turn, scope, origin, wake)
    except Exception as error:  # noqa: BLE001 - the single error path for card actions
        outcome = "error"
        return message_response(apology(error, "card action"))
    finally:
        REQUESTS.labels(platform="teams", kind="card_action", outcome=outcome).inc()
        HANDLER_SECONDS.labels(platform="teams", kind="card_action").observe(
            time.perf_counter() - started
        )


async def replace(runtime: TeamsRuntime, turn: Turn, reply: Reply, origin: str) -> dict[str, Any]:
    """Show `reply` in place of the clicked card."""
    mine = turn.user_ref if turn.personal else None
    card, line = await runtime.render(reply, turn.workspace_id, origin, for_person=mine)
    await persist(runtime, turn, card, line)
    return card_response(card)


async def persist(runtime: TeamsRuntime, turn: Turn, card: dict[str, Any], line: str) -> None:
    """In a 1:1 chat the replaced card is also saved, so it stays after a reload."""
    if turn.personal and turn.reply_to_id:
        await runtime.connector.update(
            turn.service_url,
            turn.conversation_id,
            turn.reply_to_id,
            card,
            line,
            tenant_id=turn.tenant_id,
        )


async def answer_click(
    runtime: TeamsRuntime,
    reply: Reply,
    turn: Turn,
    scope: RequestScope,
    origin: str,
    wake: Callable[[], None],
) -> dict[str, Any]:
    """Deliver what a button answered and say what the clicked card shows now."""
    workspace_id = turn.workspace_id
    connector = runtime.connector
    refreshed = await runtime.send_outbox(reply, scope, workspace_id)
    if reply.wake_scheduler:
        wake()
    if reply.form is not None:
        # A form opens as a new card, so the card clicked on (a pulse, a term) stays.
        card = await runtime.render_form(reply.form, workspace_id, origin)
        service_url, conversation_id = await runtime.private_place(turn)
        await connector.send(
            service_url, conversation_id, card, reply.form.title, tenant_id=turn.tenant_id
        )
        where = "below" if turn.personal else "in your chat with bridgebot"
        return message_response(f"{reply.form.title}: the form is {where}.")
    if reply.blocks or reply.attachments:
        if reply.replace_original:
            return await replace(runtime, turn, reply, origin)
        if reply.visibility is Visibility.CHANNEL:
            if origin and origin != turn.channel_ref:
                await runtime.post(workspace_id, origin, reply)
            else:
                card, line = await runtime.render(reply, workspace_id, origin)
                await connector.send(
                    turn.service_url, turn.conversation_id, card, line, tenant_id=turn.tenant_id
                )
            return message_response("Posted.")
        first = reply.blocks[0] if reply.blocks else None
        if not reply.attachments and isinstance(first, Paragraph) and is_short(reply, {}):
            names = await runtime.read(lambda s: _names(s, workspace_id, reply))
            return message_response(plain(first.text, names))
        card, line = await runtime.render(reply, workspace_id, origin, for_person=turn.user_ref)
        service_url, conversation_id = await runtime.private_place(turn)
        await connector.send(service_url, conversation_id, card, line, tenant_id=turn.tenant_id)
        return message_response(
            "Sent " + ("below." if turn.personal else "to your chat with bridgebot.")
        )
    clicked = refreshed.get(turn.reply_to_id or "")
    if clicked is not None:
        return card_response(clicked)
    return message_response("Done.")


def _names(session: Session, workspace_id: str, reply: Reply) -> dict[str, str]:
    return store.names(session=session, workspace_id=workspace_id, refs=span_refs(reply))


def form_channels(known: list[store.Reference], origin: str) -> Callable[[str], str | None]:
    """A form's channel choice is one the card offered: a conversation bridgebot knows,
    or the one the form came from."""
    refs = {item.ref for item in known} | ({origin} if origin else set())

    def resolve(value: str) -> str | None:
        return value if value in refs else None

    return resolve


async def submit_form(
    runtime: TeamsRuntime,
    turn: Turn,
    data: dict[str, Any],
    scope: RequestScope,
    origin: str,
    wake: Callable[[], None],
) -> dict[str, Any]:
    """A form's Submit: errors next to their fields, or save and show the result in its place."""
    spec = data.get("spec")
    if not isinstance(spec, dict) or not spec.get("f"):
        return message_response("That form has expired; open it again.")
    values = submitted_values(spec, data)
    workspace_id = turn.workspace_id
    known = await runtime.read(lambda s: store.conversations(session=s, workspace_id=workspace_id))
    scope = dataclasses.replace(scope, resolve_channel=form_channels(known, origin))
    try:
        reply = await asyncio.to_thread(
            run_form, scope, str(spec["f"]), values, str(spec.get("m", ""))
        )
    except FormInvalid as exc:
        form = form_from_spec(spec, values)
        return card_response(
            await runtime.render_form(form, workspace_id, origin, errors=exc.field_errors)
        )
    await runtime.send_outbox(reply, scope, workspace_id)
    if reply.wake_scheduler:
        wake()
    if reply.form is not None:
        card = await runtime.render_form(reply.form, workspace_id, origin)
        await persist(runtime, turn, card, reply.form.title)
        return card_response(card)
    if not (reply.blocks or reply.attachments):
        return await replace(runtime, turn, replies.message("Saved."), origin)
    if reply.visibility is Visibility.CHANNEL and origin and origin != turn.channel_ref:
        await runtime.post(workspace_id, origin, reply)
    return await replace(runtime, turn, reply, origin)


def channel_matches(known: list[store.Reference], query: str) -> list[tuple[str, str]]:
    """(ref, title) of the channels and chats whose name holds `query`, those starting
    with it first, then by name."""
    wanted = query.strip().lstrip("#").casefold()
    found = [
        (item.ref, item.name or "")
        for item in known
        if item.kind in {store.CHANNEL, store.CHAT} and wanted in (item.name or "").casefold()
    ]
    found.sort(key=lambda pair: (not pair[1].casefold().startswith(wanted), pair[1].casefold()))
    return [(ref, f"#{name}") for ref, name in found]


async def handle_card_search(
    ctx: ActivityContext[SearchInvokeActivity], *, runtime: TeamsRuntime
) -> dict[str, Any]:
    """Handle a form's channel search (`application/search`): the matching channels."""
    turn = read_turn(ctx.activity)
    value = ctx.activity.value
    results: list[dict[str, str]] = []
    if runtime.accepts(turn) and value.dataset == CHANNEL_DATASET:
        known = await runtime.read(
            lambda s: store.conversations(session=s, workspace_id=turn.workspace_id)
        )
        options = value.query_options
        skip = max(0, options.skip or 0) if options else 0
        top = min(
            CHANNEL_CHOICES, max(1, options.top or CHANNEL_CHOICES) if options else CHANNEL_CHOICES
        )
        matches = channel_matches(known, value.query_text)[skip : skip + top]
        results = [{"title": title, "value": ref} for ref, title in matches]
    return {
        "statusCode": 200,
        "type": "application/vnd.microsoft.search.searchResponse",
        "value": {"results": results},
    }
