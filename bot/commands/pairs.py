"""Bridge pairs: `/bridge pairs ...`, its buttons (App Home, introductions, follow-ups)
and its settings form; /bridge dispatches its `pairs` option here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import replies
from bot.commands import FeatureConfig
from bot.errors import Invalid, NotFound, usage_line
from bot.models import Person
from bot.replies import (
    Block,
    Button,
    Buttons,
    ButtonStyle,
    FieldKind,
    Form,
    FormField,
    Heading,
    Note,
    Paragraph,
    Reply,
    Span,
    Visibility,
    bold,
    code,
    text,
)
from bot.router import CommandContext, CommandRouter, split_first
from bot.services import pair_privacy, pairs, workspaces
from bot.services.pairs import ANSWERS, PairFigures, PairView
from bot.services.recurrence import (
    WEEKDAY_CHOICES,
    WEEKDAY_NAMES,
    WEEKDAYS,
    RecurrenceError,
    parse_day,
    parse_time,
)

USAGE = (
    "/bridge pairs [join | leave | snooze until DATE | block @PERSON | unblock @PERSON | "
    "time | met|planned|not | settings]"
)
PAIRS_JOIN = "pairs_join"
PAIRS_LEAVE = "pairs_leave"
PAIRS_SUGGEST_TIME = "pairs_suggest_time"
PAIRS_ANSWER = "pairs_answer"
PAIRS_SETTINGS_FORM = "pairs_settings_form"

SUB_USAGES = {
    "snooze": "/bridge pairs snooze until DATE",
    "block": "/bridge pairs block @PERSON",
    "unblock": "/bridge pairs unblock @PERSON",
}
HELP_LINES = (
    "/bridge pairs join · leave · snooze until DATE: meet someone from the other side every "
    "few weeks",
    "/bridge pairs block @PERSON · unblock @PERSON: never be paired with someone (private)",
    "/bridge pairs time · met|planned|not: suggest a time to your latest pair; did you meet?",
    "/bridge pairs settings: how often, which day and hour, on or off, where announced (admins)",
)


def register(router: CommandRouter, config: FeatureConfig) -> None:
    """Bridge pairs' buttons, form and privacy hooks (the command is /bridge pairs)."""
    router.register_action(PAIRS_JOIN, lambda ctx, _value: join(ctx))
    router.register_action(PAIRS_LEAVE, lambda ctx, _value: leave(ctx))
    router.register_action(PAIRS_SUGGEST_TIME, suggest_time_clicked)
    router.register_action(PAIRS_ANSWER, answer_clicked)
    router.register_form(PAIRS_SETTINGS_FORM, submit_settings)
    router.privacy.register(pair_privacy.HOOKS)


def handle_pairs(ctx: CommandContext, args: str) -> Reply:
    """`/bridge pairs SUBCOMMAND`."""
    sub, rest = split_first(args)
    handlers: dict[str, Callable[[], Reply]] = {
        "": lambda: show_status(ctx),
        "status": lambda: show_status(ctx),
        "join": lambda: join(ctx),
        "leave": lambda: leave(ctx),
        "snooze": lambda: snooze(ctx, rest),
        "block": lambda: block(ctx, rest),
        "unblock": lambda: unblock(ctx, rest),
        "time": lambda: suggest_time(ctx, None),
        "settings": lambda: settings_form(ctx),
        **{answer: partial(answer_typed, ctx, answer) for answer in ANSWERS},
    }
    if sub not in handlers:
        raise Invalid(text("/bridge pairs has no “", sub[:40], "” option."), USAGE)
    with usage_line(SUB_USAGES.get(sub, USAGE)):
        return handlers[sub]()


# -- opting in --------------------------------------------------------------------------


def _local_now(ctx: CommandContext) -> datetime:
    zone = workspaces.get_workspace(session=ctx.session, workspace_id=ctx.workspace_id).timezone
    return ctx.now.astimezone(ZoneInfo(zone))


def _when(moment: datetime, timezone: str) -> str:
    return f"{moment.astimezone(ZoneInfo(timezone)):%A %d %B at %H:%M} ({timezone})"


def show_status(ctx: CommandContext) -> Reply:
    """`/bridge pairs`: whether you take part, your latest pair, the next round."""
    me = pairs.status(
        session=ctx.session, workspace_id=ctx.workspace_id, user_ref=ctx.caller.user_ref,
        now=ctx.now,
    )  # fmt: skip
    settings = pairs.get_settings(session=ctx.session, workspace_id=ctx.workspace_id)
    workspace = workspaces.get_workspace(session=ctx.session, workspace_id=ctx.workspace_id)
    blocks: list[Block] = [Heading("Bridge pairs")]
    if not me.joined:
        state = "You have not joined. Every few weeks you would meet someone from the other side."
    elif me.snoozed_until:
        state = f"You have joined, snoozed until {me.snoozed_until:%A %d %B %Y}."
    else:
        state = "You have joined: you are paired in every round."
    blocks.append(Paragraph(text(state)))
    if not settings.enabled:
        blocks.append(Paragraph(text("Rounds are off in this workspace for now.")))
    elif me.next_round:
        blocks.append(
            Paragraph(text("Next round: ", bold(_when(me.next_round, settings.timezone)), "."))
        )
    if me.latest is not None:
        blocks.append(Paragraph(_latest_line(me.latest, ctx.caller.user_ref, workspace)))
    if me.blocked:
        names: list[str | Span] = []
        for index, ref in enumerate(me.blocked):
            names += [", "] if index else []
            names.append(replies.user(ref))
        blocks.append(Note(text("Never paired with (only you see this): ", *names)))
    blocks.append(
        Buttons((Button("Leave bridge pairs", PAIRS_LEAVE),))
        if me.joined
        else Buttons((Button("Join bridge pairs", PAIRS_JOIN, style=ButtonStyle.PRIMARY),))
    )
    return Reply(blocks=tuple(blocks))


def _latest_line(
    pair: PairView, user_ref: str, workspace: workspaces.WorkspaceView
) -> tuple[Span, ...]:
    parts: list[str | Span] = [f"Your latest pair ({pair.slot:%d %b}): "]
    for index, seat in enumerate(pair.others(user_ref)):
        if index:
            parts.append(" and ")
        parts += [replies.user(seat.user_ref), f" ({workspace.label(seat.side)})"]
    return text(*parts)


def join(ctx: CommandContext) -> Reply:
    changed = pairs.join(
        session=ctx.session, workspace_id=ctx.workspace_id, user_ref=ctx.caller.user_ref,
        now=ctx.now,
    )  # fmt: skip
    settings = pairs.get_settings(session=ctx.session, workspace_id=ctx.workspace_id)
    first = "You're in" if changed else "You were in already"
    after = (
        f"; the next round is {_when(next_round, settings.timezone)}."
        if settings.enabled
        and settings.schedule
        and (next_round := settings.schedule.next_after(ctx.now))
        else "; rounds start once an admin switches them on (/bridge pairs settings)."
    )
    return replies.message(
        text(first, after),
        text(
            "You'll get a direct message introducing you to someone from the other side. "
            "/bridge pairs snooze until DATE pauses, /bridge pairs leave stops."
        ),
    )


def leave(ctx: CommandContext) -> Reply:
    if not pairs.leave(
        session=ctx.session, workspace_id=ctx.workspace_id, user_ref=ctx.caller.user_ref
    ):
        return replies.message("You had not joined bridge pairs; nothing changed.")
    return replies.message(
        "You've left bridge pairs: you won't be paired again. /bridge pairs join to come back."
    )


def snooze(ctx: CommandContext, args: str) -> Reply:
    usage = "/bridge pairs snooze until DATE"
    typed = args.strip()
    if typed.lower().startswith("until"):
        typed = typed[5:].strip()
    if not typed:
        raise Invalid("Say until when, for example /bridge pairs snooze until 12 Jan.", usage)
    today = _local_now(ctx).date()
    try:
        until = parse_day(typed, today)
    except RecurrenceError as exc:
        raise Invalid(exc.text, usage) from None
    pairs.snooze(
        session=ctx.session, workspace_id=ctx.workspace_id, user_ref=ctx.caller.user_ref,
        until=until, today=today,
    )  # fmt: skip
    return replies.message(
        f"Snoozed: no pairs for you in rounds before {until:%A %d %B %Y}. "
        "/bridge pairs join ends the snooze now."
    )


def _known_person(ctx: CommandContext, typed: str, usage: str) -> str:
    if not typed.strip():
        raise Invalid("Name the person, for example /bridge pairs block @alex.", usage)
    user_ref = ctx.resolve_user(typed)
    known = (
        user_ref is not None
        and ctx.session.execute(
            select(Person.id).where(
                Person.workspace_id == ctx.workspace_id, Person.user_ref == user_ref
            )
        ).first()
    )
    if user_ref is None:
        raise Invalid(
            text("“", typed[:80], "” is nobody bridgebot knows here; mention them with @."),
            usage,
        )
    if not known:
        # Only people with a side are paired, and choosing one makes them known.
        raise Invalid(
            text(
                replies.user(user_ref),
                " has not used bridgebot yet, so cannot be paired with you; "
                "block them once they have.",
            ),
            usage,
        )
    return user_ref


def block(ctx: CommandContext, args: str) -> Reply:
    """`/bridge pairs block @X`: never paired with X; X is never told."""
    blocked = _known_person(ctx, args, "/bridge pairs block @PERSON")
    pairs.block(
        session=ctx.session, workspace_id=ctx.workspace_id, user_ref=ctx.caller.user_ref,
        blocked_ref=blocked,
    )  # fmt: skip
    return replies.message(
        text(
            "Done: you will never be paired with ",
            replies.user(blocked),
            ". Nobody else sees this, and they are not told. /bridge pairs unblock undoes it.",
        )  # fmt: skip
    )


def unblock(ctx: CommandContext, args: str) -> Reply:
    usage = "/bridge pairs unblock @PERSON"
    if not args.strip():
        raise Invalid("Name the person, for example /bridge pairs unblock @alex.", usage)
    unblocked = ctx.resolve_user(args)
    if unblocked is None:
        raise Invalid(
            text("“", args[:80], "” is nobody bridgebot knows here; mention them with @."), usage
        )
    done = pairs.unblock(
        session=ctx.session, workspace_id=ctx.workspace_id, user_ref=ctx.caller.user_ref,
        blocked_ref=unblocked,
    )  # fmt: skip
    if not done:
        return replies.message(text("You had not blocked ", replies.user(unblocked), "."))
    return replies.message(
        text("Done: you may be paired with ", replies.user(unblocked), " again.")
    )


# -- the introduction and its buttons ---------------------------------------------------


def introduction(ctx: CommandContext, pair: PairView, *, recipient: str | None = None) -> Reply:
    """The message introducing a pair: everyone's side and two starters each.

    With `recipient` (platforms without group messages) the same message goes to each
    person, saying "you" for them.
    """
    workspace = workspaces.get_workspace(session=ctx.session, workspace_id=ctx.workspace_id)
    names: list[str | Span] = []
    for index, seat in enumerate(pair.seats):
        if index:
            names.append(", " if index < len(pair.seats) - 1 else " and ")
        names += [replies.user(seat.user_ref), f" ({workspace.label(seat.side)})"]
    if recipient is not None:
        names = []
        others = pair.others(recipient)
        for index, seat in enumerate(others):
            if index:
                names.append(" and ")
            names += [replies.user(seat.user_ref), f" ({workspace.label(seat.side)})"]
        own = next(seat.side for seat in pair.seats if seat.user_ref == recipient)
        meet = text("You (", workspace.label(own), ") are paired with ", *names, ".")
    else:
        meet = text("Meet ", *names, "!")
    blocks: list[Block] = [
        Heading("Your bridge pair for this round"),
        Paragraph(text(*meet, " Find half an hour to talk before the next round.")),
    ]
    lines = []
    for starter in pairs.starters(session=ctx.session, workspace_id=ctx.workspace_id, pair=pair):
        if starter.ask_about:
            lines.append(
                text(
                    replies.user(starter.user_ref),
                    ", ask ",
                    replies.user(starter.ask_ref),
                    " what ",
                    bold(starter.ask_about),
                    " means in their work",
                    f"; explain {starter.explain} in return." if starter.explain else ".",
                )  # fmt: skip
            )
    if lines:
        blocks.append(
            Paragraph(text(bold("Conversation starters"), "\n", *replies.join_lines(lines)))
        )
    blocks.append(
        Buttons((Button("Suggest a time", PAIRS_SUGGEST_TIME, str(pair.id), ButtonStyle.PRIMARY),))
    )
    blocks.append(
        Note(
            text(
                "No button here? Type ",
                code("/bridge pairs time"),
                ". ",
                code("/jargon TERM"),
                " explains any term.",
            )  # fmt: skip
        )
    )
    return Reply(blocks=tuple(blocks), visibility=Visibility.CHANNEL)


def _pair_of_caller(ctx: CommandContext, value: str | None) -> PairView:
    if value is None:
        pair = pairs.latest_pair(
            session=ctx.session, workspace_id=ctx.workspace_id, user_ref=ctx.caller.user_ref
        )
        if pair is None:
            raise NotFound("You have not been paired yet; /bridge pairs join to take part.")
        return pair
    pair_id = int(value) if value.isascii() and value.isdigit() else None
    pair = (
        pairs.get_pair(session=ctx.session, workspace_id=ctx.workspace_id, pair_id=pair_id)
        if pair_id is not None
        else None
    )
    if pair is None or not pair.has(ctx.caller.user_ref):
        raise NotFound("That is not one of your pairs.")
    return pair


def suggest_time(ctx: CommandContext, value: str | None) -> Reply:
    """The next hour that is working time for everyone in the pair, in each one's zone
    (from their time zones; bridgebot does not read calendars)."""
    pair = _pair_of_caller(ctx, value)
    zones = {
        seat.user_ref: pairs.person_zone(
            session=ctx.session, workspace_id=ctx.workspace_id, user_ref=seat.user_ref
        )
        for seat in pair.seats
    }
    shared = pairs.next_shared_hour(zones.values(), ctx.now)
    lines = []
    if shared is not None:
        for seat in pair.seats:
            zone = zones[seat.user_ref]
            lines.append(
                text(
                    replies.user(seat.user_ref),
                    f": {shared.astimezone(ZoneInfo(zone)):%A %d %B %H:%M} ({zone})",
                )
            )
        head = "The next working hour for all of you:"
    else:
        for seat in pair.seats:
            zone = zones[seat.user_ref]
            own = pairs.next_working_hour(zone, ctx.now)
            lines.append(
                text(
                    replies.user(seat.user_ref),
                    f": {own.astimezone(ZoneInfo(zone)):%A %d %B %H:%M} ({zone})",
                )
            )
        head = "Your working hours never overlap; each one's next working hour:"
    return Reply(
        blocks=(
            Paragraph(text(bold(head), "\n", *replies.join_lines(lines))),
            Note(text("Working hours are Monday to Friday, 09:00 to 17:00 in each person's zone.")),
        )
    )


def suggest_time_clicked(ctx: CommandContext, value: str) -> Reply:
    return suggest_time(ctx, value)


# -- did you meet? ----------------------------------------------------------------------


def follow_up(pair: PairView, user_ref: str) -> Reply:
    """The question three days before the next round, with its three answers."""
    others: list[str | Span] = []
    for index, seat in enumerate(pair.others(user_ref)):
        if index:
            others.append(" and ")
        others.append(replies.user(seat.user_ref))
    return Reply(
        blocks=(
            Paragraph(text("Did you meet ", *others, "?")),
            Buttons(
                tuple(
                    Button(label, PAIRS_ANSWER, f"{pair.id}:{answer}")
                    for answer, label in ANSWERS.items()
                )
            ),
            Note(
                text(
                    "Or type ",
                    code("/bridge pairs met"),
                    ", ",
                    code("planned"),
                    " or ",
                    code("not"),
                    ".",
                )
            ),
        )
    )


def _answered(pair: PairView, answer: str) -> Reply:
    thanks = {
        "met": "Great, thanks! That counts towards this quarter's meetings across sides.",
        "planned": "Thanks! Enjoy the meeting.",
        "not": "Thanks for saying; there's a new pair next round.",
    }[answer]
    return Reply(blocks=(Paragraph(text(f"{ANSWERS[answer]}: {thanks}")),), replace_original=True)


def answer_clicked(ctx: CommandContext, value: str) -> Reply:
    pair_text, _, answer = value.partition(":")
    pair = _pair_of_caller(ctx, pair_text)
    pairs.record_answer(
        session=ctx.session, workspace_id=ctx.workspace_id, pair_id=pair.id,
        user_ref=ctx.caller.user_ref, answer=answer, now=ctx.now,
    )  # fmt: skip
    return _answered(pair, answer)


def answer_typed(ctx: CommandContext, answer: str) -> Reply:
    pair = _pair_of_caller(ctx, None)
    pairs.record_answer(
        session=ctx.session, workspace_id=ctx.workspace_id, pair_id=pair.id,
        user_ref=ctx.caller.user_ref, answer=answer, now=ctx.now,
    )  # fmt: skip
    reply = _answered(pair, answer)
    return Reply(blocks=reply.blocks)


# -- figures ----------------------------------------------------------------------------


def figures_text(quarter: PairFigures) -> tuple[Span, ...]:
    share = "" if quarter.share_met is None else f", {quarter.share_met:.0%} said they met"
    return text(
        f"{replies.counted(quarter.pairs_made, 'pair')} made{share}: ",
        f"{replies.counted(quarter.pairs_met, 'meeting')} across sides.",
    )


def program_figures(session: Session, workspace_id: str, *, until: datetime) -> Paragraph | None:
    """The program's figures this quarter (pairs made, the share that said they met, the
    meetings across sides), for the weekly digest and App Home; None where bridge pairs
    never ran."""
    if not pairs.has_rounds(session=session, workspace_id=workspace_id):
        return None
    timezone = workspaces.get_workspace(session=session, workspace_id=workspace_id).timezone
    quarter = pairs.figures(
        session=session,
        workspace_id=workspace_id,
        since=pairs.quarter_start(until, timezone),
        until=until,
    )
    return Paragraph(text(bold("Bridge pairs this quarter: "), *figures_text(quarter)))


def home_blocks(ctx: CommandContext, *, join_action: str, leave_action: str) -> list[Block]:
    """App Home's bridge pairs section: whether you take part (a button to change it) and
    the program's figures this quarter."""
    me = pairs.status(
        session=ctx.session, workspace_id=ctx.workspace_id, user_ref=ctx.caller.user_ref,
        now=ctx.now,
    )  # fmt: skip
    settings = pairs.get_settings(session=ctx.session, workspace_id=ctx.workspace_id)
    if not me.joined:
        line = "Meet someone from the other side every few weeks."
        button = Button("Join bridge pairs", join_action, style=ButtonStyle.PRIMARY)
    else:
        line = (
            f"You take part; snoozed until {me.snoozed_until:%d %b}."
            if me.snoozed_until
            else "You take part."
        )
        if settings.enabled and me.next_round:
            line += f" Next round: {_when(me.next_round, settings.timezone)}."
        button = Button("Leave bridge pairs", leave_action)
    blocks: list[Block] = [Paragraph(text(bold("Bridge pairs"), "\n", line)), Buttons((button,))]
    figures = program_figures(ctx.session, ctx.workspace_id, until=ctx.now)
    if figures is not None:
        blocks.append(figures)
    return blocks


def with_figures(reply: Reply, figures: Paragraph | None) -> Reply:
    """`reply` (a digest) with the figures' paragraph at its end."""
    return reply if figures is None else replace(reply, blocks=(*reply.blocks, figures))


# -- settings ---------------------------------------------------------------------------


def settings_form(ctx: CommandContext) -> Reply:
    """`/bridge pairs settings` (admins)."""
    ctx.require_admin("change bridge pairs settings")
    current = pairs.get_settings(session=ctx.session, workspace_id=ctx.workspace_id)
    return Reply(
        form=Form(
            callback_id=PAIRS_SETTINGS_FORM,
            title="Bridge pairs",
            submit_label="Save",
            fields=(
                FormField(
                    "enabled",
                    "Rounds",
                    "on" if current.enabled else "off",
                    kind=FieldKind.SELECT,
                    options=(("on", "On"), ("off", "Off")),
                ),
                FormField(
                    "every_weeks",
                    "Every",
                    str(current.every_weeks),
                    kind=FieldKind.SELECT,
                    options=(("1", "Week"), ("2", "2 weeks"), ("4", "4 weeks")),
                ),
                FormField(
                    "weekday",
                    "Day",
                    WEEKDAYS[current.weekday],
                    kind=FieldKind.SELECT,
                    options=WEEKDAY_CHOICES,
                ),
                FormField(
                    "time",
                    f"Hour ({current.timezone})",
                    f"{current.local_time:%H:%M}",
                    kind=FieldKind.TIME,
                ),
                FormField(
                    "channel",
                    "Announce each round in",
                    current.channel_ref or "",
                    kind=FieldKind.CHANNEL,
                    optional=True,
                    hint="empty: no announcement",
                ),
            ),
        )
    )


def submit_settings(ctx: CommandContext, values: dict[str, str], _metadata: str) -> Reply:
    ctx.require_admin("change bridge pairs settings")
    errors: dict[str, str] = {}
    enabled = values.get("enabled", "off")
    if enabled not in ("on", "off"):
        errors["enabled"] = "Choose on or off."
    every = values.get("every_weeks", "2")
    if every not in ("1", "2", "4"):
        errors["every_weeks"] = "Choose every 1, 2 or 4 weeks."
    weekday = values.get("weekday", "tue")
    if weekday not in WEEKDAYS:
        errors["weekday"] = "Choose a day."
    try:
        local_time = parse_time(values.get("time", "10:00"))
    except RecurrenceError as exc:
        errors["time"] = str(exc)
    typed_channel = values.get("channel", "").strip()
    channel_ref = ctx.resolve_channel(typed_channel) if typed_channel else None
    if typed_channel and channel_ref is None:
        errors["channel"] = f"“{typed_channel[:80]}” is not a channel. Type # and pick one."
    if errors:
        raise Invalid(field_errors=errors)
    saved = pairs.save_settings(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        enabled=enabled == "on",
        every_weeks=int(every),
        weekday=WEEKDAYS.index(weekday),
        local_time=local_time,
        channel_ref=channel_ref,
        now=ctx.now,
    )
    if not saved.enabled:
        return replies.message("Saved. Bridge pairs rounds are off.")
    next_round = saved.schedule.next_after(ctx.now) if saved.schedule else None
    where: list[str | Span] = (
        [" Each round is announced in ", replies.channel(channel_ref), "."]
        if channel_ref
        else [" Rounds are not announced in a channel."]
    )
    weeks = "week" if saved.every_weeks == 1 else f"{saved.every_weeks} weeks"
    return replies.message(
        text(
            f"Saved. A round every {weeks} on {WEEKDAY_NAMES[saved.weekday]}s at "
            f"{saved.local_time:%H:%M} ({saved.timezone})",
            f"; the next is {_when(next_round, saved.timezone)}." if next_round else ".",
            *where,
        )
    )
