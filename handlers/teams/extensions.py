"""Message actions (… › More actions › Explain jargon), answered in a dialog only the
person who chose the action sees.

The app manifest declares each of the router's message actions as an action command in
the message context with `fetchTask` (handlers/teams/manifest.py): Teams then sends a
`composeExtension/fetchTask` invoke carrying the message, and shows the card bridgebot
answers with in a dialog. Nothing is posted in the conversation.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from functools import partial
from html.parser import HTMLParser
from typing import Any, cast

from microsoft_teams.api.activities.invoke.message_extension.fetch_task import (
    MessageExtensionFetchTaskInvokeActivity,
)
from microsoft_teams.api.models.message.message import Message
from microsoft_teams.apps import ActivityContext, App

from bot.metrics import HANDLER_SECONDS, REQUESTS
from bot.router import run_action
from bot.textinput import strip_invisible
from handlers.teams.errors import apology
from handlers.teams.render import CARD_CONTENT_TYPE
from handlers.teams.runtime import TeamsRuntime
from handlers.teams.size import fit_card
from handlers.teams.turn import read_turn

logger = logging.getLogger(__name__)

OTHER_TENANT = "This bridgebot serves another organisation."
UNKNOWN_ACTION = "bridgebot no longer offers that action; update the app in Teams."
NO_TEXT = "That message has no text to explain (only pictures or a card)."
MAX_TEXT = 40_000
# Tags after which a reader sees a new line.
BREAKS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}


class _Text(HTMLParser):
    """The text a reader sees in a Teams message's HTML body (tags gone, entities read)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def message_text(message: Message | None) -> str:
    """What the chosen message says, as plain text."""
    body = message.body if message else None
    if body is None or not body.content:
        return ""
    if body.content_type == "text":
        content = body.content
    else:
        parser = _Text()
        parser.feed(body.content)
        parser.close()
        content = "".join(parser.parts)
    lines = (" ".join(line.split()) for line in strip_invisible(content).splitlines())
    # A Teams message holds about 28,000 characters: more is not a message a person wrote.
    return "\n".join(line for line in lines if line)[:MAX_TEXT]


def register(app: App, runtime: TeamsRuntime) -> None:
    """Answer the message actions the manifest declares."""
    # The SDK types the answer as its response models; a plain dict serialises the same.
    app.on_message_ext_open(cast(Any, partial(handle_message_action, runtime=runtime)))


def dialog(title: str, card: dict[str, Any]) -> dict[str, Any]:
    """A dialog (task module) showing `card` to the person who chose the action."""
    (fitted,) = fit_card(card, split=False)
    attachment = {"contentType": CARD_CONTENT_TYPE, "content": fitted}
    return {"task": {"type": "continue", "value": {"title": title, "card": attachment}}}


def notice(message: str) -> dict[str, Any]:
    """A short message in place of the dialog."""
    return {"task": {"type": "message", "value": message}}


async def handle_message_action(
    ctx: ActivityContext[MessageExtensionFetchTaskInvokeActivity], *, runtime: TeamsRuntime
) -> dict[str, Any]:
    """Handle a message action (`composeExtension/fetchTask`, e.g. Explain jargon)."""
    turn = read_turn(ctx.activity)
    if not runtime.accepts(turn):
        return notice(OTHER_TENANT)
    value = ctx.activity.value
    offered = {action.action_id: action for action in runtime.deps.router.message_actions()}
    action = offered.get(value.command_id or "")
    if action is None or value.command_context != "message":
        return notice(UNKNOWN_ACTION)
    started = time.perf_counter()
    outcome = "ok"
    try:
        text = message_text(value.message_payload)
        if not text:
            return notice(NO_TEXT)
        # The person, not the conversation: a message action works in chats bridgebot
        # was never added to, where it could not post later.
        await runtime.remember(dataclasses.replace(turn, channel_ref=None))
        scope = runtime.request_scope(runtime.caller(turn), turn.channel_ref)
        reply = await asyncio.to_thread(run_action, scope, action.action_id, text)
        card, _ = await runtime.render(
            reply, turn.workspace_id, turn.channel_ref or "", for_person=turn.user_ref
        )
        return dialog(action.title, card)
    except Exception as error:  # noqa: BLE001 - the single error path for message actions
        outcome = "error"
        return notice(apology(error, "message action"))
    finally:
        REQUESTS.labels(platform="teams", kind="message_action", outcome=outcome).inc()
        HANDLER_SECONDS.labels(platform="teams", kind="message_action").observe(
            time.perf_counter() - started
        )
