"""Commands typed to bridgebot in Teams (`jargon CAC`, or `@bridgebot win …` in a channel)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial

from microsoft_teams.api.activities.message.message import MessageActivity
from microsoft_teams.apps import ActivityContext, App

from bot import replies
from bot.metrics import COMMAND_SECONDS, HANDLER_SECONDS, REQUESTS
from bot.replies import Note, Reply, Visibility
from bot.router import RequestScope, parse_line, run_command
from bot.services import dedupe
from handlers.teams import store
from handlers.teams.errors import apology
from handlers.teams.runtime import TeamsRuntime
from handlers.teams.store import Reference
from handlers.teams.turn import Turn, channel_mentions, command_text, mentions, read_turn

logger = logging.getLogger(__name__)

HERE = {"here", "this", "this channel", "this chat"}
TEAMS_HINT = (
    "In Teams, type the commands without the slash: jargon CAC in a chat with bridgebot, "
    "or @bridgebot jargon CAC in a channel. Choose the shared channel with "
    "@bridgebot bridge channel here."
)


def register(app: App, runtime: TeamsRuntime, wake: Callable[[], None]) -> None:
    """Answer typed commands; `wake` runs the scheduler at once for the posts they queue."""
    app.on_message(partial(handle_message, runtime=runtime, wake=wake))


def command_of(text: str) -> tuple[str, str]:
    """("jargon", "CAC") from "jargon CAC"; a bare mention or `help` shows the help."""
    name, args = parse_line(text)
    if name in {"", "help", "?"}:
        return "bridge", "help"
    return name, args


def channel_resolver(
    turn: Turn, known: list[Reference], mentioned: dict[str, str]
) -> Callable[[str], str | None]:
    """How `bridge channel …` names a channel in Teams: `here`, an @channel mention, or
    the name of a channel bridgebot knows (this team's first)."""

    def resolve(value: str) -> str | None:
        wanted = value.strip()
        name = wanted.lstrip("#@").strip().lower()
        if name in HERE:
            return turn.channel_ref
        if name in mentioned:
            return mentioned[name]
        if any(item.ref == wanted for item in known):
            return wanted
        named = [item for item in known if item.name and item.name.lower() == name]
        in_team = [item for item in named if turn.team_id and item.team_id == turn.team_id]
        if in_team:
            return in_team[0].ref
        return named[0].ref if len(named) == 1 else None

    return resolve


def _request_key(turn: Turn) -> str:
    digest = hashlib.sha256(f"{turn.conversation_id}|{turn.activity_id}".encode()).hexdigest()
    return f"teams:{digest[:40]}"


async def handle_message(
    ctx: ActivityContext[MessageActivity],
    *,
    runtime: TeamsRuntime,
    wake: Callable[[], None],
) -> None:
    """Handle a message to bridgebot: run the command it types and answer."""
    activity = ctx.activity
    turn = read_turn(activity)
    if not runtime.accepts(turn):
        logger.info("ignoring a Teams message from another tenant")
        return
    started = time.perf_counter()
    outcome = "ok"
    try:
        if turn.activity_id and not await runtime.read(
            lambda s: dedupe.first_time(session=s, key=_request_key(turn), now=runtime.deps.clock())
        ):
            logger.info("skipping a repeated Teams message")
            return
        await run_typed_command(runtime, turn, activity, wake)
    except Exception as error:  # noqa: BLE001 - the single error path for typed commands
        outcome = "error"
        message = apology(error, "message")
        try:
            await ctx.send(message)
        except Exception:  # noqa: BLE001 - the apology is best effort
            logger.warning("could not tell the person about the error")
    finally:
        REQUESTS.labels(platform="teams", kind="message", outcome=outcome).inc()
        HANDLER_SECONDS.labels(platform="teams", kind="message").observe(
            time.perf_counter() - started
        )


async def run_typed_command(
    runtime: TeamsRuntime, turn: Turn, activity: MessageActivity, wake: Callable[[], None]
) -> None:
    text = command_text(activity.text, activity)
    if not text and activity.value is not None:
        logger.info("ignoring a card submission sent as a message (Action.Submit)")
        return
    await runtime.remember(turn)
    mentioned = channel_mentions(activity)
    if mentioned and turn.team_id:
        # A channel @mentioned in the command is one bridgebot can post to: keep it.
        ids = [(mid, name) for _, mid, name in mentions(activity) if mid.startswith("19:") and name]
        await runtime.remember_channels(turn.workspace_id, turn, ids)
    known = await runtime.read(
        lambda s: store.conversations(session=s, workspace_id=turn.workspace_id)
    )
    name, args = command_of(text)
    scope = runtime.request_scope(
        runtime.caller(turn), turn.channel_ref, channel_resolver(turn, known, mentioned)
    )
    # Outside the 1:1 chat everyone in the conversation reads the typed command.
    scope = replace(scope, typed_where_others_see=not turn.personal)
    started = time.perf_counter()
    reply = await asyncio.to_thread(run_command, scope, name, args)
    COMMAND_SECONDS.labels(command=name if runtime.deps.router.get(name) else "unknown").observe(
        time.perf_counter() - started
    )
    if name == "bridge" and args.lower() in {"", "help"} and not reply.is_error:
        reply = replace(reply, blocks=(*reply.blocks, Note(replies.text(TEAMS_HINT))))
    await answer_command(runtime, reply, turn, scope)
    if reply.wake_scheduler:
        wake()


async def answer_command(
    runtime: TeamsRuntime, reply: Reply, turn: Turn, scope: RequestScope
) -> None:
    """Answer a typed command: in the conversation if everyone may see it, else privately.

    Teams has no messages only one person sees, so in a channel or group chat a private
    answer (and any form) goes to the person's 1:1 chat with bridgebot; its buttons
    still act for the channel the command was typed in.
    """
    workspace_id = turn.workspace_id
    origin = turn.channel_ref or ""
    connector = runtime.connector
    if reply.form is not None:
        card = await runtime.render_form(reply.form, workspace_id, origin)
        service_url, conversation_id = await runtime.private_place(turn)
        await connector.send(
            service_url, conversation_id, card, reply.form.title, tenant_id=turn.tenant_id
        )
    elif reply.blocks or reply.attachments:
        private = turn.personal or reply.visibility is not Visibility.CHANNEL
        card, line = await runtime.render(
            reply, workspace_id, origin, for_person=turn.user_ref if private else None
        )
        if reply.visibility is Visibility.CHANNEL or turn.personal:
            await connector.send(
                turn.service_url, turn.conversation_id, card, line, tenant_id=turn.tenant_id
            )
        else:
            service_url, conversation_id = await runtime.private_place(turn)
            await connector.send(service_url, conversation_id, card, line, tenant_id=turn.tenant_id)
    await runtime.send_outbox(reply, scope, workspace_id)
