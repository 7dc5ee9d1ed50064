"""The home view (Slack App Home): your side, next stand-ups, open challenges, the gap, a term."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot import replies
from bot.commands import FeatureConfig, time_off
from bot.commands.bridge import change_own_side
from bot.commands.pairs import home_blocks
from bot.errors import Invalid
from bot.models import GlossaryTerm, Side
from bot.replies import (
    Block,
    Button,
    Buttons,
    ButtonStyle,
    Divider,
    Heading,
    Note,
    Outgoing,
    Paragraph,
    PostedMessage,
    Reply,
    Span,
    bold,
    text,
)
from bot.router import CommandContext, CommandRouter
from bot.services import board, glossary, pairs, people, pulse, standups, workspaces

HOME_SIDE = "home_side"
HOME_PAIRS_JOIN = "home_pairs_join"
HOME_PAIRS_LEAVE = "home_pairs_leave"
HOME_KEY = "home"
# Where a refreshed home view goes: adapters publish it for `message_ref` (the person).
HOME_CONVERSATION = "@home"


def register(router: CommandRouter, config: FeatureConfig) -> None:
    router.register_action(HOME_SIDE, set_side_from_home)
    router.register_action(HOME_PAIRS_JOIN, lambda ctx, _value: pairs_from_home(ctx, join=True))
    router.register_action(HOME_PAIRS_LEAVE, lambda ctx, _value: pairs_from_home(ctx, join=False))
    router.register_outbox(HOME_KEY, recorder=lambda ctx, key, posted: None, refresher=refresh_home)


def home_key(user_ref: str) -> str:
    return f"{HOME_KEY}:{user_ref}"


def term_of_the_day(term_ids: Iterable[int], day: date) -> int | None:
    """The same term all day for everyone in a workspace, a different one the next day.

    Each term draws a number for the day; the lowest wins. A term added or removed
    meanwhile changes the choice only if it is the winner, not every draw.
    """

    def draw(term_id: int) -> bytes:
        return hashlib.sha256(f"{day.isoformat()}:{term_id}".encode()).digest()

    return min(term_ids, key=draw, default=None)


def build_home(ctx: CommandContext) -> Reply:
    workspace = workspaces.get_workspace(session=ctx.session, workspace_id=ctx.workspace_id)
    me = people.get_person(
        session=ctx.session, workspace_id=ctx.workspace_id, user_ref=ctx.caller.user_ref
    )
    side = me.side if me else None
    blocks: list[Block] = [Heading("bridgebot: Marketing and IT, one team")]
    current = f"You are on the {workspace.label(side)} side." if side else "Choose your side:"
    blocks.append(Paragraph(text(bold(current))))
    if away := time_off.away_note(ctx):
        blocks.append(away)  # the caller's time off, or today's holiday where they are
    blocks.append(
        Buttons(
            tuple(
                Button(
                    workspace.label(option),
                    HOME_SIDE,
                    option.value,
                    ButtonStyle.PRIMARY if option == side else ButtonStyle.DEFAULT,
                )
                for option in Side
            )
        )
    )
    blocks += [
        Divider(),
        *_standups(ctx, side),
        Divider(),
        *_challenges(ctx),
        Divider(),
        *_gap(ctx, workspace),
        Divider(),
        *home_blocks(ctx, join_action=HOME_PAIRS_JOIN, leave_action=HOME_PAIRS_LEAVE),
    ]
    blocks += [Divider(), *_term(ctx, ctx.now.astimezone(ZoneInfo(workspace.timezone)).date())]
    return Reply(blocks=tuple(blocks))


def _standups(ctx: CommandContext, side: Side | None) -> list[Block]:
    mine = []
    for view in standups.list_standups(session=ctx.session, workspace_id=ctx.workspace_id):
        takes_part = ctx.caller.user_ref in view.participants or (
            view.both_sides and side in (Side.MARKETING, Side.IT)
        )
        upcoming = view.next_start(ctx.now)
        if takes_part and upcoming:
            mine.append((upcoming[1], view))
    if not mine:
        return [Paragraph(text(bold("Your next stand-ups"), "\nNone yet. /standup creates one."))]
    lines = [
        text(
            f"{when.astimezone(view.weekly.zone):%a %d %b %H:%M} ({view.weekly.timezone}) · ",
            bold(view.name),
            " in ",
            replies.channel(view.channel_ref),
        )
        for when, view in sorted(mine, key=lambda item: item[0])[:5]
    ]
    return [Paragraph(text(bold("Your next stand-ups"), "\n", *replies.join_lines(lines)))]


def _challenges(ctx: CommandContext) -> list[Block]:
    open_ones = board.recent(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        kind="challenge",
        only_open=True,
        limit=5,
    )
    if not open_ones:
        return [Paragraph(text(bold("Open challenges"), "\nNone open. Post one with /challenge."))]
    lines = []
    for post in open_ones:
        parts: list[str | Span] = [post.text[:100]]
        if post.permalink:
            parts += [" · ", replies.link("open", post.permalink)]
        lines.append(text(*parts))
    return [Paragraph(text(bold("Open challenges"), "\n", *replies.join_lines(lines)))]


def _gap(ctx: CommandContext, workspace: workspaces.WorkspaceView) -> list[Block]:
    poll = pulse.latest_weekly(session=ctx.session, workspace_id=ctx.workspace_id)
    if poll is None:
        return [Paragraph(text(bold("Perception gap"), "\nNo pulse results yet."))]
    results = pulse.results(
        session=ctx.session, workspace_id=ctx.workspace_id, poll_id=poll.id, with_previous=False
    )
    first = results.questions[0]
    if first.gap is None:
        detail = "Not enough answers on both sides to show it."
    else:
        detail = (
            f"{workspace.label(Side.MARKETING)} {first.by_side['marketing'].agree_pct:.0f}% vs "
            f"{workspace.label(Side.IT)} {first.by_side['it'].agree_pct:.0f}% agree they work together well "
            f"({'+' if first.gap >= 0 else ''}{first.gap:.0f} points)."
        )
    return [Paragraph(text(bold(f"Perception gap ({poll.opened_at:%d %b})"), "\n", detail))]


def _term(ctx: CommandContext, today: date) -> list[Block]:
    """The term of the day; the day is the workspace's own, not UTC's."""
    term_ids = ctx.session.execute(
        select(GlossaryTerm.id).where(GlossaryTerm.workspace_id == ctx.workspace_id)
    ).scalars()
    chosen = term_of_the_day(term_ids, today)
    if chosen is None:
        return [Paragraph(text(bold("Term of the day"), "\nThe glossary is empty."))]
    card = glossary.get_card(session=ctx.session, workspace_id=ctx.workspace_id, term_id=chosen)
    return [
        Paragraph(text(bold("Term of the day: "), card.name, "\n", card.definition)),
        Note(text("Look up any term with /jargon TERM")),
    ]


def set_side_from_home(ctx: CommandContext, value: str) -> Reply:
    try:
        side = Side(value)
    except ValueError:
        raise Invalid("That is not a side.") from None
    change_own_side(ctx, side)
    return Reply(outbox=(Outgoing(refresh_key=home_key(ctx.caller.user_ref)),))


def pairs_from_home(ctx: CommandContext, *, join: bool) -> Reply:
    """The App Home's Join / Leave bridge pairs button; the home view shows the change."""
    if join:
        pairs.join(
            session=ctx.session, workspace_id=ctx.workspace_id, user_ref=ctx.caller.user_ref,
            now=ctx.now,
        )  # fmt: skip
    else:
        pairs.leave(
            session=ctx.session, workspace_id=ctx.workspace_id, user_ref=ctx.caller.user_ref
        )
    return Reply(outbox=(Outgoing(refresh_key=home_key(ctx.caller.user_ref)),))


def refresh_home(ctx: CommandContext, key: str) -> tuple[PostedMessage, Reply] | None:
    return PostedMessage(HOME_CONVERSATION, key.split(":", 1)[1]), build_home(ctx)
