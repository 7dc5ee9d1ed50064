"""The console's own commands, apart from the chat commands: who is typing, and when.

`:as` acts as another person (created if new), `:who` lists people, `:advance` moves the
clock on and delivers everything that falls due on the way, in order, `:time` shows it.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from bot.models import Person, Side
from bot.replies import Button, Reply
from bot.router import CommandContext, run_in_context
from bot.services import people, workspaces
from bot.services.people import SideSource
from handlers.console import CONSOLE_WORKSPACE, show_delivered
from handlers.console_clock import DurationError, describe_duration, parse_duration
from handlers.console_people import NAME, ConsolePerson
from schedules import fast_forward

if TYPE_CHECKING:  # the session runs these commands
    from handlers.console import ConsoleSession

META_HELP = """Console commands (the chat commands are listed by `help`):
  :as NAME [marketing|it|other] [admin]  act as NAME (created if new) and read what arrived for them
  :who                                   everyone here: side, admin, messages waiting
  :advance DURATION                      move the clock on (90m, 2h, 1d, 1w, 1d12h) and deliver
                                         everything that falls due on the way, in order
  :time                                  the console's date and time
  :help                                  this list
  help, /help, ?                         every chat command
A button's number clicks it as the person at the keyboard; quit, Ctrl-D or Ctrl-C leaves."""
AS_USAGE = "Usage: :as NAME [marketing|it|other] [admin]"
SIDE_NAMES = {"marketing": "Marketing", "it": "IT", "other": "Other"}
# The longest step :advance takes between two ticks: well inside the planners' horizon
# (stand-ups plan two days ahead), so nothing due can be stepped over.
MAX_STEP = timedelta(hours=1)


async def run_meta(console: ConsoleSession, line: str) -> None:
    """Run one `:` command typed at the console."""
    name, _, rest = line[1:].partition(" ")
    commands = {
        "as": act_as,
        "who": who,
        "advance": advance,
        "time": show_time,
        "help": show_help,
    }
    command = commands.get(name.lower())
    if command is None:
        known = ", ".join(f":{known}" for known in commands)
        console.write(f"! There is no :{name} here. Console commands: {known} (:help says more).")
        return
    await command(console, rest.strip())


async def show_help(console: ConsoleSession, rest: str) -> None:
    console.write(META_HELP)


async def show_time(console: ConsoleSession, rest: str) -> None:
    ahead = console.clock.offset
    note = f"; {describe_duration(ahead)} ahead of real time" if ahead >= MAX_STEP / 60 else ""
    console.write(f"It is {console.now_text()} in the console{note}.")


async def act_as(console: ConsoleSession, rest: str) -> None:
    words = rest.split()
    if not words:
        console.write(f"! Whom should the console act as?\n  ({AS_USAGE})")
        return
    name = words[0].removeprefix("@")
    if not NAME.fullmatch(name):
        console.write(
            f"! “{name}” cannot be a name here: use up to 40 letters, digits, dots, dashes "
            f"or underscores, starting with a letter.\n  ({AS_USAGE})"
        )
        return
    if await asyncio.to_thread(_is_shared_channel, console, name):
        # Its posts would land in this person's inbox instead of everyone's view.
        console.write(f"! #{name} is the shared channel; pick another name.\n  ({AS_USAGE})")
        return
    side: Side | None = None
    make_admin = False
    for word in (word.lower() for word in words[1:]):
        if word == "admin":
            make_admin = True
        elif word in SIDE_NAMES and side is None:
            side = Side(word)
        else:
            console.write(
                f"! “{word}” is not a side (marketing, it, other) or admin, "
                f"or is given twice.\n  ({AS_USAGE})"
            )
            return
    # Names are matched as typed, but Alice is the alice already here.
    same = next((p for p in console.roster if p.user_ref.lower() == name.lower()), None)
    person = console.roster.switch_to(same.user_ref if same else name)
    if make_admin:
        person.is_admin = True
    if side is not None:
        refused = await asyncio.to_thread(_set_side, console, person.user_ref, side)
        if refused is not None:
            await console.show(refused)
    current_side = await asyncio.to_thread(_sides, console)
    console.write(f"You are @{person.user_ref} ({_describe(person, current_side)}).")
    _show_inbox(console, person)


def _set_side(console: ConsoleSession, user_ref: str, side: Side) -> Reply | None:
    """Set a person's side as the console's directory says (like a user-group sync)."""

    def work(ctx: CommandContext) -> None:
        people.set_side(
            session=ctx.session,
            workspace_id=ctx.workspace_id,
            user_ref=user_ref,
            side=side,
            source=SideSource.SYNC,
            now=ctx.now,
        )

    return run_in_context(console.scope(), work, label=":as")


def _is_shared_channel(console: ConsoleSession, name: str) -> bool:
    with console.deps.session_factory() as session:
        try:
            view = workspaces.get_workspace(session=session, workspace_id=CONSOLE_WORKSPACE)
        except LookupError:  # no workspace yet, so no shared channel
            return False
    return (view.shared_channel_ref or "").lower() == name.lower()


def _sides(console: ConsoleSession) -> dict[str, str | None]:
    """Everyone's side in the console workspace, by user id."""
    with console.deps.session_factory() as session:
        rows = session.execute(
            select(Person.user_ref, Person.side).where(Person.workspace_id == CONSOLE_WORKSPACE)
        ).all()
    return {user_ref: side for user_ref, side in rows}


def _describe(person: ConsolePerson, sides: dict[str, str | None]) -> str:
    side = sides.get(person.user_ref)
    parts = [SIDE_NAMES[side] if side else "no side yet"]
    if person.is_admin:
        parts.append("admin")
    return ", ".join(parts)


def _show_inbox(console: ConsoleSession, person: ConsolePerson) -> None:
    """What reached the person while someone else was at the keyboard, buttons numbered."""
    if not person.inbox:
        console.write("Nothing new for you.")
        return
    count = len(person.inbox)
    console.write(f"{count} message{'s' if count > 1 else ''} arrived for you:")
    numbering: list[Button] = []
    for item in person.inbox:
        show_delivered(console.output, item.where, item.reply, console.files_dir, numbering)
    person.inbox.clear()
    person.buttons[:] = numbering


async def who(console: ConsoleSession, rest: str) -> None:
    sides = await asyncio.to_thread(_sides, console)
    for user_ref in sides:
        console.roster.add(user_ref)
    lines = []
    for person in console.roster:
        waiting = len(person.inbox)
        notes = [_describe(person, sides)]
        if waiting:
            notes.append(f"{waiting} unread")
        marker = "  ← you" if person is console.roster.current else ""
        lines.append(f"@{person.user_ref}: {', '.join(notes)}{marker}")
    console.write("\n".join(lines))


async def advance(console: ConsoleSession, rest: str) -> None:
    try:
        delta = parse_duration(rest) if rest else None
    except DurationError as exc:
        console.write(f"! {exc}\n  (Usage: :advance DURATION, e.g. :advance 90m)")
        return
    if delta is None:
        console.write("! How far? (Usage: :advance DURATION, e.g. :advance 90m, 1d, 1w)")
        return
    if not console.owns_scheduler:
        console.write(
            "! Another console on this database delivers the scheduled messages: "
            "advance the clock there."
        )
        return
    await advance_clock(console, delta)
    console.write(f"It is now {console.now_text()}.")


async def advance_clock(console: ConsoleSession, delta: timedelta) -> None:
    """Move the console's clock on by `delta`, running the scheduler's tick at each moment
    something falls due (and at least every MAX_STEP), so everything on the way is
    delivered in order, each message labelled with the time it fired."""
    scheduler = console.scheduler
    clock = console.clock
    target = clock() + delta
    if scheduler.running:  # the minute's tick waits; the steps below are the ticks
        scheduler.pause()
    while scheduler.jobs_in_progress > 0:
        await asyncio.sleep(0.01)
    console.notifier.stamp_zone = await asyncio.to_thread(console.zone)
    try:
        await fast_forward.advance(
            scheduler, clock, target, workspace_id=CONSOLE_WORKSPACE, max_step=MAX_STEP
        )
    finally:
        console.notifier.stamp_zone = None
        if scheduler.running:
            scheduler.resume()
