"""The /bridge options for holidays and time off: region, timezone and away (the /bridge
command declares them, in bot/commands/bridge.py; their replies are built here)."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from bot import replies
from bot.replies import Block, Note, Reply, bold, text, user
from bot.router import CommandContext, split_first
from bot.services import availability, workspaces
from bot.services.availability import AWAY_USAGE, Availability
from bot.services.holiday_calendars import holiday_name, next_holidays

REGION_USAGE = "/bridge region CODE (GB, US-CA, DE-BY, IN…) | default"
TIMEZONE_USAGE = "/bridge timezone ZONE (Europe/London, America/New_York…) | default"
# Admins see time off this far ahead in /bridge away list.
AWAY_LIST_AHEAD = timedelta(days=60)

HELP_LINES = (
    "/bridge away 2026-12-21 to 2027-01-03 · away friday · away 3 days · away until 5 Jan · "
    "away off: your time off (no stand-up questions, reminders or pulse while away)",
    "/bridge away list: who is away now and in the next 60 days (admins; never why)",
    "/bridge region GB|US-CA|DE-BY|…: your public holiday calendar (default: the workspace's)",
    "/bridge timezone Europe/London: your time zone for time off (default: the workspace's)",
)


def _mine(ctx: CommandContext) -> Availability:
    return availability.availability_of(
        session=ctx.session, workspace_id=ctx.workspace_id, user_refs=[ctx.caller.user_ref]
    )[ctx.caller.user_ref]


def _today(ctx: CommandContext) -> date:
    return _mine(ctx).local_date(ctx.now)


def _region_text(person: Availability) -> str:
    if person.region is None:
        return "no holiday calendar (the workspace has none; choose yours with /bridge region)"
    whose = "yours" if person.own_region else "the workspace's"
    return f"{person.region} ({whose})"


def set_region(ctx: CommandContext, args: str) -> Reply:
    """`/bridge region [CODE|default]`: set, or show, the caller's holiday calendar."""
    if not args:
        person = _mine(ctx)
        upcoming = next_holidays((person.region,), _today(ctx), 3) if person.region else []
        lines = [text("Your holiday calendar: ", bold(_region_text(person)), ".")]
        if upcoming:
            lines.append(
                text("Next: ", "; ".join(f"{day:%a %d %b %Y} {name}" for day, name in upcoming))
            )
        lines.append(text(f"Change it with {REGION_USAGE}."))
        return replies.message(*lines)
    person = availability.set_region(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        user_ref=ctx.caller.user_ref,
        region=args,
        display_name=ctx.caller.display_name,
    )
    today = person.local_date(ctx.now)
    upcoming = next_holidays((person.region,), today, 3) if person.region else []
    return replies.message(
        text("Done: your holiday calendar is ", bold(_region_text(person)), "."),
        text(
            "You are not asked stand-up questions or the pulse on its holidays"
            + (
                ": next " + "; ".join(f"{day:%a %d %b} {name}" for day, name in upcoming) + "."
                if upcoming
                else "."
            )
        ),
    )


def set_timezone(ctx: CommandContext, args: str) -> Reply:
    """`/bridge timezone [ZONE|default]`: set, or show, the caller's own time zone."""
    if not args:
        person = _mine(ctx)
        whose = "yours" if person.own_timezone else "the workspace's"
        return replies.message(
            text("Your time zone: ", bold(f"{person.timezone} ({whose})"), "."),
            text(f"Change it with {TIMEZONE_USAGE}."),
        )
    person = availability.set_timezone(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        user_ref=ctx.caller.user_ref,
        timezone=args,
        display_name=ctx.caller.display_name,
    )
    whose = "yours" if person.own_timezone else "the workspace's"
    return replies.message(
        text("Done: your time zone is ", bold(f"{person.timezone} ({whose})"), "."),
        text("Your time off starts and ends at midnight there."),
    )


def away(ctx: CommandContext, args: str) -> Reply:
    """`/bridge away PERIOD | off | list`: the caller's time off (admins: everyone's)."""
    sub, rest = split_first(args)
    if sub == "list" and not rest:
        return away_list(ctx)
    today = _today(ctx)
    if not args:
        periods = availability.time_off_of(
            session=ctx.session,
            workspace_id=ctx.workspace_id,
            user_ref=ctx.caller.user_ref,
            today=today,
        )
        if not periods:
            return replies.message(text(f"You have no time off planned. {AWAY_USAGE}"))
        return replies.message(
            text("Your time off: ", "; ".join(p.describe() for p in periods), "."),
            text("/bridge away off ends it."),
        )
    period = availability.parse_time_off(args, today)
    if period is None:
        changed = availability.end_time_off(
            session=ctx.session,
            workspace_id=ctx.workspace_id,
            user_ref=ctx.caller.user_ref,
            today=today,
        )
        if not changed:
            return replies.message(text("You had no time off planned; nothing changed."))
        return replies.message(
            text(
                "Welcome back: your time off is cancelled from today. Stand-ups and the pulse "
                "ask you again."
            )
        )
    first, last = period
    periods = availability.add_time_off(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        user_ref=ctx.caller.user_ref,
        first_day=first,
        last_day=last,
        today=today,
        now=ctx.now,
    )
    merged = next(p for p in periods if p.covers(first))
    person = _mine(ctx)
    return replies.message(
        text("Away ", bold(merged.describe()), f" ({person.timezone} time)."),
        text(
            "Until then no stand-up questions, reminders or pulse come to you; digests show "
            "you as away. /bridge away off brings you back early."
        ),
    )


def away_list(ctx: CommandContext) -> Reply:
    """`/bridge away list` (admins): who is away now and soon; never why."""
    ctx.require_admin("see who is away")
    workspace = workspaces.get_workspace(session=ctx.session, workspace_id=ctx.workspace_id)
    zone_today = ctx.now.astimezone(ZoneInfo(workspace.timezone)).date()
    periods = availability.people_away(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        first=zone_today,
        last=zone_today + AWAY_LIST_AHEAD,
    )
    if not periods:
        return replies.message(text("Nobody has time off in the next 60 days."))
    lines = [text(user(p.user_ref), ": ", p.describe()) for p in periods]
    return replies.message(
        text(bold("Away now or in the next 60 days")),
        replies.join_lines(lines),
    )


def away_note(ctx: CommandContext) -> Block | None:
    """A line for /bridge and App Home: the caller's time off under way or ahead, and
    today's holiday where they are."""
    person = _mine(ctx)
    today = person.local_date(ctx.now)
    periods = availability.time_off_of(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        user_ref=ctx.caller.user_ref,
        today=today,
    )
    parts: list[str] = []
    if periods:
        now_off = periods[0].covers(today)
        parts.append(
            ("You are away: " if now_off else "Time off ahead: ")
            + "; ".join(p.describe() for p in periods)
            + " (/bridge away off to cancel)."
        )
    holiday = holiday_name((person.region,), today) if person.region else None
    if holiday:
        parts.append(
            f"Today is {holiday} in {person.region}: no stand-up or pulse asks you anything."
        )
    return Note(text(" ".join(parts))) if parts else None
