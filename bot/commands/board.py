"""/win and /challenge: the shared board both sides see, where challenges find help."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot import replies
from bot.commands import FeatureConfig
from bot.errors import Conflict, Invalid, usage_line
from bot.models import Side
from bot.replies import (
    Block,
    Button,
    Buttons,
    ButtonStyle,
    Heading,
    Note,
    Outgoing,
    Paragraph,
    PostedMessage,
    QueuedPost,
    Reply,
    Span,
    Visibility,
    bold,
    italic,
    link,
    text,
)
from bot.router import (
    Command,
    CommandContext,
    CommandRouter,
    TeamsMenuEntry,
    split_first,
)
from bot.services import board, board_privacy, outbox, workspaces
from bot.services.board import PostNotFound, PostView, WeekNumbers
from bot.services.privacy import Forgotten, PrivacyHooks
from bot.services.workspaces import WorkspaceView
from bot.textinput import ascii_number

WIN_USAGE = "/win TEXT | /win list | /win celebrate N"
CHALLENGE_USAGE = (
    "/challenge TEXT | /challenge list [open] | /challenge help N | /challenge resolve N"
)

BOARD_CELEBRATE = "board_celebrate"
BOARD_HELP = "board_help"
BOARD_RESOLVE = "board_resolve"
OUTBOX_PREFIX = "board"
HELP_NOTE_PREFIX = "board-help"  # the note telling an author someone can help

STATUS_LABELS = {board.OPEN: "Open", board.IN_PROGRESS: "In progress", board.RESOLVED: "Resolved"}


def register(router: CommandRouter, config: FeatureConfig) -> None:
    """Add /win, /challenge, their buttons, and the outbox hooks for updating posts."""
    router.register(
        Command(
            name="win",
            summary="Share wins both sides can celebrate",
            usage=WIN_USAGE,
            description="Share a win with both sides",
            usage_hint="TEXT | list",
            teams_menu=(TeamsMenuEntry("win", "win TEXT: share a win with both sides"),),
            help_lines=(
                "/win TEXT: post a win to the shared channel",
                "/win list: recent wins · /win celebrate N: celebrate win N (again: take it back)",
            ),
            handler=lambda ctx, args: handle_board(ctx, "win", args),
        )
    )
    router.register(
        Command(
            name="challenge",
            summary="Share challenges and find help on the other side",
            usage=CHALLENGE_USAGE,
            description="Share a challenge and find help on the other side",
            usage_hint="TEXT | list [open]",
            teams_menu=(
                TeamsMenuEntry("challenge", "challenge TEXT: ask the other side for help"),
            ),
            help_lines=(
                "/challenge TEXT: post a challenge; others click I can help",
                "/challenge list [open]: recent (or open) challenges",
                "/challenge help N: offer help with challenge N · /challenge resolve N: close it",
            ),
            handler=lambda ctx, args: handle_board(ctx, "challenge", args),
        )
    )
    router.register_action(BOARD_CELEBRATE, celebrate)
    router.register_action(BOARD_HELP, offer_help)
    router.register_action(BOARD_RESOLVE, resolve)
    router.register_outbox(
        OUTBOX_PREFIX, recorder=record_post, refresher=refresh_post, renderer=render_post
    )
    router.register_outbox(
        HELP_NOTE_PREFIX,
        recorder=lambda ctx, key, posted: None,
        refresher=lambda ctx, key: None,
        renderer=render_help_note,
    )
    router.privacy.register(
        PrivacyHooks("board", export=board_privacy.export_person, forget=forget_person)
    )


def outbox_key(post_id: int) -> str:
    return f"{OUTBOX_PREFIX}:{post_id}"


def forget_person(
    *, session: Session, workspace_id: str, user_ref: str, now: datetime
) -> Forgotten:
    """Forget-me on the board; posted wins and challenges that showed the person are
    shown again without them (found before their name goes)."""
    naming = board_privacy.posts_naming(
        session=session, workspace_id=workspace_id, user_ref=user_ref
    )
    counts = board_privacy.forget_person(
        session=session, workspace_id=workspace_id, user_ref=user_ref
    )
    return Forgotten(counts, refresh_keys=tuple(outbox_key(post_id) for post_id in naming))


def _post_id(value: str) -> int:
    post_id = ascii_number(value.split(":")[-1])
    if post_id is None:
        raise Invalid("That button is out of date.")
    return post_id


def handle_board(ctx: CommandContext, kind: str, args: str) -> Reply:
    usage = WIN_USAGE if kind == "win" else CHALLENGE_USAGE
    sub, rest = split_first(args)
    # "list" and "help" are sub-commands only on their own: "/win list of 12 broken
    # links fixed" and "/challenge help needed with ..." are posts. One stray word
    # after "list" is more likely a typo than a post, so it is refused, not published.
    if sub == "list" and len(rest.split()) <= 1:
        if kind == "win" and rest:
            raise Invalid("/win list takes nothing after it.", usage)
        if kind == "challenge" and rest not in {"", "open"}:
            raise Invalid("Use /challenge list or /challenge list open.", usage)
        return list_reply(ctx, kind, only_open=rest == "open")
    if sub == "help" and not rest:
        return replies.message(text("Usage: ", replies.code(usage)))
    typed = TYPED_BUTTONS.get((kind, sub))
    if typed is not None and len(rest.split()) == 1:
        # The typed form of a button, where clicking one is not at hand (console, Teams).
        # Only a lone number (or "#N") is: "/win celebrate launch" is a win.
        number = ascii_number(rest.removeprefix("#"))
        if number is not None:
            return typed(ctx, str(number))
        if rest.startswith("#"):
            raise Invalid(f"Give the {kind}'s number, for example /{kind} {sub} 3.", usage)
    return post(ctx, kind, args, source="command")


def post(ctx: CommandContext, kind: str, body: str, *, source: str) -> Reply:
    """Store the post and queue its message for the shared channel, in one transaction."""
    workspace = workspaces.get_workspace(session=ctx.session, workspace_id=ctx.workspace_id)
    usage = WIN_USAGE if kind == "win" else CHALLENGE_USAGE
    if not workspace.shared_channel_ref:
        raise Conflict(
            "There is no shared channel yet, so nothing was posted. "
            "A workspace admin can choose one with /bridge channel #channel.",
            usage,
        )
    ctx.require_posting_allowance()
    with usage_line(usage):  # also when a stand-up answer is shared, not typed
        view = board.create_post(
            session=ctx.session,
            workspace_id=ctx.workspace_id,
            kind=kind,
            author_ref=ctx.caller.user_ref,
            text=body,
            channel_ref=workspace.shared_channel_ref,
            now=ctx.now,
            source=source,
        )
    outbox.queue_post(
        session=ctx.session, workspace_id=ctx.workspace_id, key=outbox_key(view.id), now=ctx.now
    )
    # Said before it is posted, so it says only what is sure: saved, and on its way.
    return Reply(
        blocks=(
            Paragraph(
                text(
                    f"Your {kind} is saved and on its way to ",
                    replies.channel(workspace.shared_channel_ref),
                    ". If it cannot be posted there, bridgebot will tell you.",
                )
            ),
        ),
        wake_scheduler=True,
    )


def _side_label(workspace: WorkspaceView, side: Side | None) -> str:
    return workspace.label(side) if side else "no side yet"


def _person(ref: str | None) -> Span:
    return replies.user(ref) if ref else Span("a former member")


def post_message(view: PostView, workspace: WorkspaceView) -> Reply:
    """The board message for a win or a challenge, as it stands now."""
    blocks: list[Block] = []
    if view.kind == "win":
        blocks.append(
            Paragraph(
                text(
                    bold("Win"),
                    " from ",
                    _person(view.author_ref),
                    f" ({_side_label(workspace, view.author_side)})",
                )
            )
        )
        blocks.append(Paragraph(text(view.text)))
        count = len(view.celebrators)
        if count:
            names: list[str | Span] = []
            for index, who in enumerate(view.celebrators[:10]):
                names += ([", "] if index else []) + [replies.user(who)]
            more = f" and {count - 10} more" if count > 10 else ""
            blocks.append(Note(text(f"{count} celebrating: ", *names, more)))
        blocks.append(
            Buttons(
                (
                    Button(
                        f"Celebrate ({count})" if count else "Celebrate",
                        BOARD_CELEBRATE,
                        str(view.id),
                        ButtonStyle.PRIMARY,
                    ),
                )
            )
        )
    else:
        status = STATUS_LABELS[view.status]
        blocks.append(
            Paragraph(
                text(
                    bold("Challenge"),
                    " from ",
                    _person(view.author_ref),
                    f" ({_side_label(workspace, view.author_side)}) · ",
                    bold(status),
                )
            )
        )
        blocks.append(Paragraph(text(view.text)))
        if view.helpers:
            parts: list[str | Span] = []
            for index, (helper, side) in enumerate(view.helpers):
                parts += ([", "] if index else []) + [
                    replies.user(helper),
                    f" ({_side_label(workspace, side)})",
                ]
            blocks.append(Note(text("Helping: ", *parts)))
        if view.status != board.RESOLVED:
            blocks.append(
                Buttons(
                    (
                        Button("I can help", BOARD_HELP, str(view.id), ButtonStyle.PRIMARY),
                        Button("Resolved", BOARD_RESOLVE, str(view.id)),
                    )
                )
            )
    if view.source == "standup":
        blocks.append(Note(text("Shared from a joint stand-up")))
    blocks.append(Note(text(*_typed_hint(view))))
    return Reply(blocks=tuple(blocks), visibility=Visibility.CHANNEL)


def _typed_hint(view: PostView) -> tuple[str, ...]:
    """The post's number and what its buttons are as typed commands."""
    if view.kind == "win":
        return (f"No. {view.id} · /win celebrate {view.id}",)
    if view.status == board.RESOLVED:
        return (f"No. {view.id}",)
    return (f"No. {view.id} · /challenge help {view.id} · /challenge resolve {view.id}",)


def render_post(ctx: CommandContext, key: str) -> QueuedPost | None:
    """The queued post of a win or challenge; None if it is gone or was posted already."""
    try:
        view = board.get_post(
            session=ctx.session, workspace_id=ctx.workspace_id, post_id=_post_id(key)
        )
    except PostNotFound:
        return None
    if view.message_ref is not None:
        return None
    workspace = workspaces.get_workspace(session=ctx.session, workspace_id=ctx.workspace_id)
    return QueuedPost(
        conversation_ref=view.channel_ref,
        reply=post_message(view, workspace),
        author_ref=view.author_ref,
        what=view.kind,
    )


def record_post(ctx: CommandContext, key: str, posted: PostedMessage) -> None:
    board.record_message(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        post_id=_post_id(key),
        channel_ref=posted.conversation_ref,
        message_ref=posted.message_ref,
        permalink=posted.permalink,
    )


def refresh_post(ctx: CommandContext, key: str) -> tuple[PostedMessage, Reply] | None:
    try:
        view = board.get_post(
            session=ctx.session, workspace_id=ctx.workspace_id, post_id=_post_id(key)
        )
    except PostNotFound:
        return None
    if view.message_ref is None:
        return None
    workspace = workspaces.get_workspace(session=ctx.session, workspace_id=ctx.workspace_id)
    return PostedMessage(view.channel_ref, view.message_ref, view.permalink), post_message(
        view, workspace
    )


def _refresh(view_id: int) -> Outgoing:
    return Outgoing(refresh_key=outbox_key(view_id))


def _act(ctx: CommandContext, value: str, action: Callable[[int], Reply]) -> Reply:
    return action(_post_id(value))


def celebrate(ctx: CommandContext, value: str) -> Reply:
    """*Celebrate* on a win: toggles the caller's celebration; the message updates in place."""

    def run(post_id: int) -> Reply:
        board.toggle_celebration(
            session=ctx.session,
            workspace_id=ctx.workspace_id,
            post_id=post_id,
            user_ref=ctx.caller.user_ref,
            now=ctx.now,
        )
        return Reply(outbox=(_refresh(post_id),))

    return _act(ctx, value, run)


def celebrate_typed(ctx: CommandContext, value: str) -> Reply:
    """`/win celebrate N`: the Celebrate button, saying what it did (no button changes)."""
    reply = celebrate(ctx, value)
    post_id = _post_id(value)
    celebrating = (
        ctx.caller.user_ref
        in board.get_post(
            session=ctx.session, workspace_id=ctx.workspace_id, post_id=post_id
        ).celebrators
    )
    said = (
        f"You are celebrating win {post_id}. Type the same again to take it back."
        if celebrating
        else f"You no longer celebrate win {post_id}."
    )
    return Reply(blocks=(Paragraph(text(said)),), outbox=reply.outbox)


def resolve_typed(ctx: CommandContext, value: str) -> Reply:
    """`/challenge resolve N`: the Resolved button, saying what it did."""
    reply = resolve(ctx, value)
    return Reply(
        blocks=(Paragraph(text(f"Challenge {_post_id(value)} is marked resolved.")),),
        outbox=reply.outbox,
    )


def offer_help(ctx: CommandContext, value: str) -> Reply:
    """*I can help*: records the helper, tells the author by DM, updates the message."""

    def run(post_id: int) -> Reply:
        view = board.offer_help(
            session=ctx.session,
            workspace_id=ctx.workspace_id,
            post_id=post_id,
            helper_ref=ctx.caller.user_ref,
            now=ctx.now,
        )
        if view.author_ref:
            offer = board.help_offer_id(
                session=ctx.session,
                workspace_id=ctx.workspace_id,
                post_id=post_id,
                helper_ref=ctx.caller.user_ref,
            )
            outbox.queue_post(
                session=ctx.session,
                workspace_id=ctx.workspace_id,
                key=f"{HELP_NOTE_PREFIX}:{offer}",
                now=ctx.now,
            )
        return Reply(
            blocks=(
                Paragraph(
                    text("Thanks! ", _person(view.author_ref), " will be told you can help.")
                ),
            ),
            outbox=(_refresh(post_id),),
            wake_scheduler=bool(view.author_ref),
        )

    return _act(ctx, value, run)


def render_help_note(ctx: CommandContext, key: str) -> QueuedPost | None:
    """The direct message telling a challenge's author who offered help."""
    found = board.get_help_offer(
        session=ctx.session, workspace_id=ctx.workspace_id, offer_id=_post_id(key)
    )
    if found is None:
        return None
    view, helper_ref, side = found
    if view.author_ref is None:
        return None
    workspace = workspaces.get_workspace(session=ctx.session, workspace_id=ctx.workspace_id)
    note = Reply(
        blocks=(
            Paragraph(
                text(
                    replies.user(helper_ref),
                    f" from {_side_label(workspace, side)} can help with your challenge:",
                )
            ),
            Paragraph(text(italic(view.text[:300]))),
        ),
        visibility=Visibility.CHANNEL,
    )
    return QueuedPost(conversation_ref=view.author_ref, reply=note)


def resolve(ctx: CommandContext, value: str) -> Reply:
    """*Resolved*: only the author or a helper; the message updates in place."""

    def run(post_id: int) -> Reply:
        board.resolve(
            session=ctx.session,
            workspace_id=ctx.workspace_id,
            post_id=post_id,
            user_ref=ctx.caller.user_ref,
            now=ctx.now,
        )
        return Reply(outbox=(_refresh(post_id),))

    return _act(ctx, value, run)


# (kind, sub-command) -> the button it types; see handle_board.
TYPED_BUTTONS: dict[tuple[str, str], Callable[[CommandContext, str], Reply]] = {
    ("win", "celebrate"): celebrate_typed,
    ("challenge", "help"): offer_help,
    ("challenge", "resolve"): resolve_typed,
}


def list_reply(ctx: CommandContext, kind: str, *, only_open: bool) -> Reply:
    posts = board.recent(
        session=ctx.session, workspace_id=ctx.workspace_id, kind=kind, only_open=only_open
    )
    what = ("open challenges" if only_open else "challenges") if kind == "challenge" else "wins"
    if not posts:
        return replies.message(f"No {what} yet. Post one with /{kind} TEXT.")
    workspace = workspaces.get_workspace(session=ctx.session, workspace_id=ctx.workspace_id)
    lines = []
    for view in posts:
        summary = view.text if len(view.text) <= 120 else view.text[:119] + "…"
        status = (
            f" · {STATUS_LABELS[view.status]}"
            if kind == "challenge"
            else f" · {len(view.celebrators)} celebrating"
        )
        parts: list[str | Span] = [
            f"No. {view.id} · {view.created_at:%d %b} · ",
            _person(view.author_ref),
            f" ({_side_label(workspace, view.author_side)}){status}: ",
            summary,
        ]
        if view.permalink:
            parts += [" · ", link("open", view.permalink)]
        lines.append(text(*parts))
    return Reply(blocks=(Heading(f"Recent {what}"), Paragraph(replies.join_lines(lines))))


def digest_message(numbers: WeekNumbers, workspace: WorkspaceView) -> Reply:
    """The weekly digest of the board, posted in the shared channel."""

    def by_side(counts: dict[str, int]) -> str:
        parts = [
            f"{workspace.label(side)} {counts.get(side.value, 0)}"
            for side in (Side.MARKETING, Side.IT, Side.OTHER)
        ]
        if counts.get("none"):
            parts.append(f"no side {counts['none']}")
        return " · ".join(parts)

    zone = ZoneInfo(workspace.timezone)
    start, end = numbers.start.astimezone(zone), numbers.end.astimezone(zone)
    blocks: list[Block] = [
        # The week it covers, from one digest to the next, in the workspace's dates.
        Heading(f"The board's week: {start:%a %d %b} – {end:%a %d %b %Y}"),
        Paragraph(
            text(
                bold("Wins: "),
                f"{sum(numbers.wins_by_side.values())} ({by_side(numbers.wins_by_side)})",
            )
        ),
        Paragraph(
            text(
                bold("Challenges: "),
                f"{sum(numbers.challenges_by_side.values())} ({by_side(numbers.challenges_by_side)})",
            )
        ),
        Paragraph(
            text(
                bold("Helped across sides: "),
                replies.counted(numbers.helped_across, "challenge"),
                f" where {workspace.label(Side.MARKETING)} helped {workspace.label(Side.IT)} or the reverse.",
            )
        ),
    ]
    if numbers.top_wins:
        lines = [
            text(f"{len(w.celebrators)} 🎉 ", _person(w.author_ref), ": ", w.text[:140])
            for w in numbers.top_wins
        ]
        blocks.append(Paragraph(text(bold("Most celebrated:"), "\n", *replies.join_lines(lines))))
    if numbers.stale_open:
        lines = []
        for challenge in numbers.stale_open:
            parts: list[str | Span] = [
                f"{challenge.created_at:%d %b} ",
                _person(challenge.author_ref),
                ": ",
                challenge.text[:140],
            ]
            if challenge.permalink:
                parts += [" · ", link("open", challenge.permalink)]
            lines.append(text(*parts))
        blocks.append(
            Paragraph(
                text(
                    bold("Still open after a week — can you help?"),
                    "\n",
                    *replies.join_lines(lines),
                )
            )
        )
    return Reply(blocks=tuple(blocks), visibility=Visibility.CHANNEL)
