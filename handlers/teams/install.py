"""bridgebot added to a team, a group chat or a 1:1 chat: remember where it can post, say hello."""

from __future__ import annotations

import logging
from functools import partial

from microsoft_teams.api import ConversationUpdateActivity
from microsoft_teams.api.activities.install_update.add import InstalledActivity
from microsoft_teams.api.activities.install_update.remove import UninstalledActivity
from microsoft_teams.apps import ActivityContext, App
from sqlalchemy.orm import Session

from bot.metrics import REQUESTS
from bot.replies import Heading, Paragraph, Reply, Visibility, code, text
from handlers.teams import store
from handlers.teams.errors import apology
from handlers.teams.runtime import TeamsRuntime
from handlers.teams.turn import Turn, conversation_ref, read_turn

logger = logging.getLogger(__name__)

WELCOME = Reply(
    blocks=(
        Heading("Hello from bridgebot"),
        Paragraph(
            text(
                "I help Marketing and IT work as one team: joint stand-ups, a board of wins and "
                "challenges, a weekly anonymous pulse, and a glossary of each other's jargon."
            )
        ),
        Paragraph(
            text(
                "In a channel, mention me: ",
                code("@bridgebot help"),
                ". In a chat with me, just type ",
                code("help"),
                ". Start by choosing your side: ",
                code("bridge side marketing"),
                ", ",
                code("bridge side it"),
                " or ",
                code("bridge side other"),
                ".",
            )
        ),
    ),
    visibility=Visibility.CHANNEL,
)
CHANNEL_EVENTS = {"channelCreated", "channelRenamed", "channelRestored"}


def register(app: App, runtime: TeamsRuntime) -> None:
    app.on_conversation_update(partial(handle_conversation_update, runtime=runtime))
    app.on_install_add(partial(handle_install, runtime=runtime))
    app.on_install_remove(partial(handle_uninstall, runtime=runtime))


async def handle_conversation_update(
    ctx: ActivityContext[ConversationUpdateActivity], *, runtime: TeamsRuntime
) -> None:
    """Handle members (bridgebot included) added to a conversation, and channel changes."""
    activity = ctx.activity
    turn = read_turn(activity)
    if not runtime.accepts(turn):
        return
    outcome = "ok"
    try:
        await runtime.remember(turn)
        added = activity.members_added or []
        if any(member.id == turn.bot_id for member in added):
            await welcome(runtime, turn)
        people = [
            (member.aad_object_id or member.id, member.id, member.name)
            for member in added
            if member.id != turn.bot_id and member.id.startswith("29:")
        ]
        if people:
            await remember_people(runtime, turn, people)
        data = activity.channel_data
        if data and data.event_type in CHANNEL_EVENTS and data.channel and data.channel.id:
            await runtime.remember_channels(
                turn.workspace_id, turn, [(data.channel.id, data.channel.name or "General")]
            )
        removed = activity.members_removed or []
        event = data.event_type if data else None
        bot_removed = any(member.id == turn.bot_id for member in removed)
        if turn.team_id and (bot_removed or event == "teamDeleted"):
            await forget_where(runtime, turn)
        elif bot_removed and turn.kind == store.CHAT:
            await forget_where(runtime, turn)
        elif event == "channelDeleted" and data and data.channel and data.channel.id:
            ref = conversation_ref(data.channel.id)
            await runtime.read(
                lambda s: store.forget_channel(session=s, workspace_id=turn.workspace_id, ref=ref)
            )
    except Exception as error:  # noqa: BLE001 - the single error path for installs
        outcome = "error"
        apology(error, "conversation update")
    finally:
        REQUESTS.labels(platform="teams", kind="conversation_update", outcome=outcome).inc()


async def handle_install(ctx: ActivityContext[InstalledActivity], *, runtime: TeamsRuntime) -> None:
    """Handle the app being installed: remember who installed it and where."""
    turn = read_turn(ctx.activity)
    if not runtime.accepts(turn):
        return
    try:
        await runtime.remember(turn)
    except Exception as error:  # noqa: BLE001 - the single error path for installs
        apology(error, "installation")


async def handle_uninstall(
    ctx: ActivityContext[UninstalledActivity], *, runtime: TeamsRuntime
) -> None:
    """Handle the app being uninstalled from a 1:1 chat, a group chat or a team."""
    turn = read_turn(ctx.activity)
    if not runtime.accepts(turn):
        return
    outcome = "ok"
    try:
        await forget_where(runtime, turn)
    except Exception as error:  # noqa: BLE001 - the single error path for installs
        outcome = "error"
        apology(error, "uninstallation")
    finally:
        REQUESTS.labels(platform="teams", kind="uninstall", outcome=outcome).inc()


async def forget_where(runtime: TeamsRuntime, turn: Turn) -> None:
    """bridgebot can no longer post where `turn` happened: forget that reference (a
    team's channels, a group chat, or the person's 1:1 chat)."""
    workspace_id = turn.workspace_id

    def work(session: Session) -> None:
        if turn.personal:
            store.forget_personal_chat(
                session=session, workspace_id=workspace_id, user_ref=turn.user_ref
            )
        elif turn.team_id:
            store.forget_team(session=session, workspace_id=workspace_id, team_id=turn.team_id)
        elif turn.channel_ref:
            store.forget_chat(session=session, workspace_id=workspace_id, ref=turn.channel_ref)

    await runtime.read(work)
    runtime.forget_cached(workspace_id, turn.user_ref if turn.personal else turn.channel_ref or "")
    logger.info("bridgebot removed from a Teams %s: its reference is forgotten", turn.kind)


async def welcome(runtime: TeamsRuntime, turn: Turn) -> None:
    """Remember a team's channels, then say what bridgebot does."""
    if turn.team_id:
        channels = await runtime.connector.team_channels(
            turn.service_url, turn.team_id, tenant_id=turn.tenant_id
        )
        await runtime.remember_channels(turn.workspace_id, turn, channels)
    card, line = await runtime.render(WELCOME, turn.workspace_id, turn.channel_ref or "")
    await runtime.connector.send(
        turn.service_url, turn.conversation_id, card, line, tenant_id=turn.tenant_id
    )


async def remember_people(
    runtime: TeamsRuntime, turn: Turn, people: list[tuple[str, str, str | None]]
) -> None:
    """Members added to a team: their 29: ids let bridgebot open a 1:1 chat with them later."""

    for ref, _, _ in people:
        runtime.found(turn.workspace_id, ref)

    def work(session: Session) -> None:
        for ref, member_id, name in people:
            store.remember(
                session=session, workspace_id=turn.workspace_id, ref=ref, kind=store.PERSON,
                service_url=turn.service_url, tenant_id=turn.tenant_id, member_id=member_id,
                name=name,
            )  # fmt: skip

    await runtime.read(work)
