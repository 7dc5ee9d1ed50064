"""The /bridge command: help, your side, and the workspace's shared channel."""

from __future__ import annotations

from collections.abc import Callable

from bot import replies
from bot.models import Side
from bot.replies import Block, Divider, Heading, Note, Paragraph, Reply, bold, code, text
from bot.router import Command, CommandContext, CommandRouter, UsageError, split_first
from bot.services import people, workspaces

USAGE = "/bridge [help | side marketing|it|other | channel #CHANNEL]"

ABOUT = (
    "bridgebot helps Marketing and IT work as one team: joint stand-ups, a shared board "
    "of wins and challenges, weekly pulse polls that show the perception gap between the "
    "two sides, and a glossary so each side speaks the other's language."
)


def register(router: CommandRouter) -> None:
    """Add /bridge to the router."""
    router.register(
        Command(
            name="bridge",
            summary="Your side, the shared channel and help",
            usage=USAGE,
            help_lines=(
                "/bridge help: what bridgebot does and every command",
                "/bridge side marketing|it|other: set your side",
                "/bridge channel #CHANNEL: the shared channel for wins, challenges and digests (admins)",
            ),
            handler=lambda ctx, args: handle_bridge(ctx, args, router=router),
        )
    )


def handle_bridge(ctx: CommandContext, args: str, *, router: CommandRouter) -> Reply:
    """Dispatch `/bridge SUBCOMMAND`."""
    sub, rest = split_first(args)
    handlers: dict[str, Callable[[], Reply]] = {
        "": lambda: help_reply(router),
        "help": lambda: help_reply(router),
        "side": lambda: set_side(ctx, rest),
        "channel": lambda: set_channel(ctx, rest),
    }
    if sub not in handlers:
        raise UsageError(f"/bridge has no “{sub}” option.", USAGE)
    return handlers[sub]()


def help_reply(router: CommandRouter) -> Reply:
    """What the bot does and every command registered so far."""
    blocks: list[Block] = [Heading("bridgebot"), Paragraph(text(ABOUT)), Divider()]
    for command in sorted(router.commands(), key=lambda c: c.name):
        lines = replies.join_lines(text(code(line)) for line in command.help_lines)
        blocks.append(Paragraph(text(bold(command.summary), "\n", *lines)))
    blocks.append(Note(text("Replies to commands are visible only to you unless they say otherwise.")))
    return Reply(blocks=tuple(blocks))


def parse_side(value: str, labels: dict[Side, str]) -> Side | None:
    """A side from its name or the workspace's label for it ("Growth" for marketing)."""
    wanted = value.strip().lower()
    for side in Side:
        if wanted in {side.value, labels[side].lower()}:
            return side
    return None


def set_side(ctx: CommandContext, args: str) -> Reply:
    """`/bridge side [marketing|it|other]`: set, or show, the caller's side."""
    workspace = workspaces.get_workspace(session=ctx.session, workspace_id=ctx.workspace_id)
    usage = "/bridge side marketing|it|other"
    if not args:
        person = people.get_person(
            session=ctx.session, workspace_id=ctx.workspace_id, user_ref=ctx.caller.user_ref
        )
        if person is None or person.side is None:
            return replies.error("You have not chosen a side yet.", usage)
        return replies.message(text("You are on the ", bold(workspace.label(person.side)), " side."))
    side = parse_side(args, workspace.labels)
    if side is None:
        raise UsageError(
            text("“", args[:40], "” is not a side. Choose marketing, it or other."), usage
        )
    people.set_side(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        user_ref=ctx.caller.user_ref,
        side=side,
        display_name=ctx.caller.display_name,
    )
    return replies.message(
        text("Done: you are on the ", bold(workspace.label(side)), " side."),
    )


def set_channel(ctx: CommandContext, args: str) -> Reply:
    """`/bridge channel #CHANNEL` (admins): where wins, challenges and digests go."""
    usage = "/bridge channel #CHANNEL"
    ctx.require_admin("choose the shared channel")
    if not args:
        raise UsageError("Name the channel, for example /bridge channel #marketing-it.", usage)
    channel_ref = ctx.resolve_channel(args)
    if channel_ref is None:
        raise UsageError(
            text("“", args[:80], "” is not a channel. Type # and pick one from the list."), usage
        )
    workspaces.set_shared_channel(
        session=ctx.session, workspace_id=ctx.workspace_id, channel_ref=channel_ref
    )
    return replies.message(
        text("Wins, challenges and digests will be posted in ", replies.channel(channel_ref), "."),
        text("Make sure bridgebot is a member of that channel (invite it with /invite)."),
    )
