"""The /standup command: create, list and manage joint stand-ups; answer async ones."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from bot import replies
from bot.commands import FeatureConfig
from bot.commands import board as board_commands
from bot.errors import Invalid, NotFound
from bot.models import Side
from bot.replies import (
    Attachment,
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
from bot.services import availability, holiday_calendars, standup_privacy, standups, workspaces
from bot.services.calendar import standup_calendar
from bot.services.recurrence import WEEKDAY_CHOICES, WEEKDAY_NAMES, parse_day
from bot.services.standups import (
    AnswerRefused,
    StandupDraft,
    StandupView,
)
from bot.textinput import ascii_number

USAGE = (
    "/standup [list | pause ID | resume ID | skip ID DATE | delete ID | now ID | calendar ID"
    " | holidays ID [CODES|none]"
    " | answer ID | share ID win|challenge | nudge ID MINUTES|off]"
)

STANDUP_CREATE_FORM = "standup_create_form"
STANDUP_ANSWER = "standup_answer"
STANDUP_ANSWER_FORM = "standup_answer_form"
STANDUP_SHARE = "standup_share"
STANDUP_DELETE_CONFIRM = "standup_delete_confirm"
STANDUP_CANCEL = "standup_cancel"

BOTH_SIDES = "both"
CHOSEN = "chosen"


def register(router: CommandRouter, config: FeatureConfig) -> None:
    """Add /standup, its form and its buttons."""
    secret_key, public_url = config.secret_key, config.public_url
    router.register(
        Command(
            name="standup",
            summary="Joint stand-ups with reminders",
            usage=USAGE,
            description="Create and manage joint Marketing + IT stand-ups",
            usage_hint="list | pause ID | resume ID | skip ID DATE | now ID | calendar ID",
            teams_menu=(TeamsMenuEntry("standup", "standup, or standup list: joint stand-ups"),),
            help_lines=(
                "/standup: create a joint stand-up (live call or async answers)",
                "/standup list · pause ID · resume ID · delete ID",
                "/standup skip ID DATE: cancel one day (24 Dec, friday, tomorrow) · now ID: run it now",
                "/standup calendar ID: an .ics file and a calendar subscribe link",
                "/standup holidays ID: the next public holidays it skips · holidays ID GB US-CA"
                " (or none): its holiday calendars",
                "/standup answer ID: answer today's async round · share ID win|challenge: "
                "post your answer to the board",
                "/standup answer ID again: change your answers; until the next round starts, "
                "late answers and changes update the digest",
                "/standup nudge ID MINUTES|off: remind who has not answered, that long "
                "before the digest (off by default)",
            ),
            handler=lambda ctx, args: handle_standup(ctx, args, public_url=public_url),
        )
    )
    router.register_form(
        STANDUP_CREATE_FORM,
        lambda ctx, values, _: submit_create(ctx, values, secret_key=secret_key),
    )
    router.register_field_check(STANDUP_CREATE_FORM, "holidays", _check_holidays)
    router.register_action(STANDUP_ANSWER, open_answer_form)
    router.register_form(STANDUP_ANSWER_FORM, submit_answers)
    router.register_action(STANDUP_SHARE, share_answer)
    router.register_action(STANDUP_DELETE_CONFIRM, delete_confirmed)
    router.register_action(STANDUP_CANCEL, lambda ctx, _: replies.cancelled())
    router.privacy.register(standup_privacy.HOOKS)


def handle_standup(ctx: CommandContext, args: str, *, public_url: str) -> Reply:
    """Dispatch `/standup SUBCOMMAND`."""
    sub, rest = split_first(args)
    simple: dict[str, Callable[[], Reply]] = {
        "": lambda: Reply(form=create_form(ctx)),
        "new": lambda: Reply(form=create_form(ctx)),
        "list": lambda: list_reply(ctx),
        "help": lambda: replies.message(text("Usage: ", replies.code(USAGE))),
    }
    if sub in simple:
        return simple[sub]()
    with_id: dict[str, Callable[[int, str], Reply]] = {
        "pause": lambda number, _: set_paused(ctx, number, True),
        "resume": lambda number, _: set_paused(ctx, number, False),
        "delete": lambda number, _: confirm_delete(ctx, number),
        "skip": lambda number, more: skip(ctx, number, more),
        "now": lambda number, _: run_now(ctx, number),
        "calendar": lambda number, _: calendar(ctx, number, public_url),
        "holidays": lambda number, more: holidays(ctx, number, more),
        # The typed forms of the Answer and Share buttons (the console, Teams).
        "answer": lambda number, _: answer_typed(ctx, number),
        "share": lambda number, more: share_typed(ctx, number, more),
        "nudge": lambda number, more: set_nudge(ctx, number, more),
    }
    if sub not in with_id:
        raise Invalid(f"/standup has no “{sub[:20]}” option.", USAGE)
    number_text, more = split_first(rest)
    number = ascii_number(number_text)
    if number is None:
        raise Invalid(
            f"Give the stand-up's number, as shown by /standup list (e.g. /standup {sub} 1).", USAGE
        )
    return with_id[sub](number, more)


# -- creating ------------------------------------------------------------------


def create_form(ctx: CommandContext) -> Form:
    workspace = workspaces.get_workspace(session=ctx.session, workspace_id=ctx.workspace_id)
    return Form(
        callback_id=STANDUP_CREATE_FORM,
        title="New joint stand-up",
        submit_label="Create",
        fields=(
            FormField("name", "Name", "Marketing + IT stand-up", max_length=80),
            FormField(
                "channel",
                "Channel",
                workspace.shared_channel_ref or ctx.channel_ref or "",
                kind=FieldKind.CHANNEL,
            ),
            FormField(
                "weekdays",
                "Days",
                "mon,wed,fri",
                kind=FieldKind.MULTI_SELECT,
                options=WEEKDAY_CHOICES,
            ),
            FormField("time", "Time", "09:30", kind=FieldKind.TIME),
            FormField(
                "timezone",
                "Time zone",
                workspace.timezone,
                max_length=64,
                hint="An IANA name such as Europe/London or America/New_York",
            ),
            FormField(
                "mode",
                "How",
                "meeting",
                kind=FieldKind.SELECT,
                options=(
                    ("meeting", "A live call"),
                    ("async", "Async: answers by DM, then a digest"),
                ),
            ),
            FormField("call_link", "Call link (live call)", optional=True, max_length=500),
            FormField(
                "questions",
                "Questions (one per line)",
                "\n".join(standups.DEFAULT_QUESTIONS),
                multiline=True,
                max_length=1600,
            ),
            FormField(
                "audience",
                "Who takes part",
                BOTH_SIDES,
                kind=FieldKind.SELECT,
                options=(
                    (BOTH_SIDES, "Everyone on both sides"),
                    (CHOSEN, "The people chosen below"),
                ),
            ),
            FormField("participants", "People", optional=True, kind=FieldKind.USERS),
            FormField("lead", "Reminder, minutes before", "15", max_length=4),
            FormField(
                "deadline",
                "Async: minutes to answer",
                "120",
                max_length=4,
                hint="The digest is posted this long after the start",
            ),
            FormField(
                "holidays",
                "Public holidays: no stand-up on those of",
                availability.workspace_region(session=ctx.session, workspace_id=ctx.workspace_id)
                or "",
                optional=True,
                max_length=100,
                hint="Country codes with an optional region: GB, US-CA, DE-BY, IN; empty for none",
            ),
            FormField(
                "nudge",
                "Async: nudge, minutes before the digest",
                optional=True,
                max_length=4,
                hint="One reminder to who has not answered yet; empty for none",
            ),
        ),
    )


def _check_holidays(_ctx: CommandContext, value: str, _metadata: str) -> str | None:
    """The holiday calendars field, checked as soon as it is typed (the console)."""
    try:
        holiday_calendars.parse_calendars(value)
    except holiday_calendars.UnknownCalendar as exc:
        return str(exc)
    return None


def _checked_places(ctx: CommandContext, values: dict[str, str]) -> tuple[str, str, dict[str, str]]:
    """The channel (the shared channel when left empty) and the people, resolved as
    /bridge channel resolves a channel, and a field error for a name that is no channel
    or nobody in the workspace."""
    errors: dict[str, str] = {}
    typed_channel = values.get("channel", "").strip()
    if not typed_channel:
        shared = workspaces.get_workspace(
            session=ctx.session, workspace_id=ctx.workspace_id
        ).shared_channel_ref
        typed_channel = shared or ""
    channel_ref = ctx.resolve_channel(typed_channel) if typed_channel else ""
    if typed_channel and channel_ref is None:
        errors["channel"] = f"“{typed_channel[:80]}” is not a channel. Type # and pick one."
    people: list[str] = []
    for typed in (part.strip() for part in values.get("participants", "").split(",")):
        if not typed:
            continue
        user_ref = ctx.resolve_user(typed)
        if user_ref is None:
            errors["participants"] = f"“{typed[:80]}” is nobody in this workspace; pick people."
            break
        people.append(user_ref)
    return channel_ref or "", ",".join(people), errors


def submit_create(ctx: CommandContext, values: dict[str, str], *, secret_key: str) -> Reply:
    audience = values.get("audience", BOTH_SIDES)
    channel_ref, participants, errors = _checked_places(ctx, values)
    draft = StandupDraft(
        name=values.get("name", ""),
        channel_ref=channel_ref,
        weekdays=values.get("weekdays", ""),
        local_time=values.get("time", ""),
        timezone=values.get("timezone", "") or ctx.default_timezone,
        mode=values.get("mode", "meeting"),
        call_link=values.get("call_link", ""),
        questions=values.get("questions", ""),
        participants=participants,
        both_sides=audience == BOTH_SIDES,
        reminder_lead_minutes=values.get("lead", "15"),
        deadline_minutes=values.get("deadline", "120"),
        holidays=values.get("holidays", ""),
        nudge_minutes=values.get("nudge", ""),
    )
    renamed = {"reminder_lead": "lead"}  # the service's names for the form's fields
    # Every field's problem at once: the draft's, then the names that resolved to nobody.
    problems = {renamed.get(k, k): v for k, v in standups.draft_problems(draft).items()}
    if problems or errors:
        raise Invalid(field_errors=problems | errors)
    view = standups.create(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        draft=draft,
        creator_ref=ctx.caller.user_ref,
        now=ctx.now,
        secret_key=secret_key,
    )
    return Reply(
        blocks=(
            Paragraph(text("Created stand-up ", bold(str(view.number)), ": ", view.name, ".")),
            *summary_blocks(ctx, view),
        )
    )


# -- listing and managing -------------------------------------------------------


def describe_schedule(view: StandupView) -> str:
    days = ", ".join(WEEKDAY_NAMES[d][:3] for d in view.weekly.weekdays)
    return f"{days} at {view.weekly.local_time:%H:%M} ({view.weekly.timezone})"


def _when(moment: datetime, view: StandupView) -> str:
    local = moment.astimezone(view.weekly.zone)
    return f"{local:%a %d %b %H:%M} {view.weekly.timezone}"


def summary_blocks(ctx: CommandContext, view: StandupView) -> list[Block]:
    upcoming = view.next_start(ctx.now)
    status = (
        "paused"
        if view.paused
        else (f"next {_when(upcoming[1], view)}" if upcoming else "no date ahead")
    )
    who = (
        "everyone on both sides"
        if view.both_sides
        else replies.counted(len(view.participants), "person", "people")
    )
    if view.both_sides and view.participants:
        who += f" and {len(view.participants)} more"
    parts: list[str | Span] = [
        bold(f"{view.number}. "),
        bold(view.name),
        " in ",
        replies.channel(view.channel_ref),
        "\n",
        describe_schedule(view),
        " · ",
        "live call" if view.mode == "meeting" else "async",
        *(
            (f" · nudge {replies.counted(_minutes(view.nudge), 'minute')} before the digest",)
            if view.nudge
            else ()
        ),
        " · ",
        who,
        " · ",
        status,
    ]
    return [Paragraph(text(*parts)), *_days_off(ctx, view)]


# How far ahead the list shows the days a stand-up will not run.
DAYS_OFF_AHEAD = timedelta(days=21)


def _days_off(ctx: CommandContext, view: StandupView) -> list[Block]:
    """The stand-up's days off in the next three weeks: holidays by name, and skips."""
    if view.paused:
        return []
    today = ctx.now.astimezone(view.weekly.zone).date()
    last = today + DAYS_OFF_AHEAD
    days = [
        (day, name)
        for day, name in holiday_calendars.holidays_between(view.weekly.calendars, today, last)
        if day.weekday() in view.weekly.weekdays and view.weekly.start_on(day) > ctx.now
    ]
    days += [
        (day, "skipped")
        for day in view.skipped
        if today <= day <= last and view.weekly.start_on(day) > ctx.now
    ]
    if not view.weekly.calendars and not days:
        return []
    shown = "; ".join(f"{day:%a %d %b} ({name})" for day, name in sorted(days))
    calendars = ", ".join(view.weekly.calendars) or "none"
    return [
        Note(
            text(
                f"Holidays: {calendars}",
                f" · not running {shown}" if shown else "",
            )
        )
    ]


def list_reply(ctx: CommandContext) -> Reply:
    views = standups.list_standups(session=ctx.session, workspace_id=ctx.workspace_id)
    if not views:
        return replies.message("No stand-ups yet. Type /standup to create the first one.")
    blocks: list[Block] = [Heading("Joint stand-ups")]
    for view in views:
        blocks += summary_blocks(ctx, view)
    blocks.append(Note(text("Manage with /standup pause|resume|skip|now|calendar|delete NUMBER")))
    return Reply(blocks=tuple(blocks))


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)


def set_nudge(ctx: CommandContext, number: int, minutes: str) -> Reply:
    """`/standup nudge ID MINUTES|off`: the reminder to who has not answered, before the digest."""
    if not minutes.strip():
        raise Invalid(
            f"How long before the digest? For example /standup nudge {number} 30, or off.", USAGE
        )
    view = standups.set_nudge(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        number=number,
        minutes=minutes,
        user_ref=ctx.caller.user_ref,
        is_admin=ctx.caller.has_admin_rights(),
        now=ctx.now,
    )
    if view.nudge is None:
        said = text("No nudge for ", bold(view.name), ": nobody is reminded before the digest.")
    else:
        said = text(
            bold(view.name),
            f" nudges who has not answered {replies.counted(_minutes(view.nudge), 'minute')} "
            "before the digest, once a round, never someone away.",
        )
    return Reply(blocks=(Paragraph(said), *summary_blocks(ctx, view)))


def set_paused(ctx: CommandContext, number: int, paused: bool) -> Reply:
    view = standups.set_paused(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        number=number,
        paused=paused,
        user_ref=ctx.caller.user_ref,
        is_admin=ctx.caller.has_admin_rights(),
        now=ctx.now,
    )
    verb = "Paused" if paused else "Resumed"
    return Reply(
        blocks=(Paragraph(text(f"{verb} ", bold(view.name), ".")), *summary_blocks(ctx, view))
    )


def skip(ctx: CommandContext, number: int, date_text: str) -> Reply:
    if not date_text:
        raise Invalid("Which day? For example /standup skip 1 friday, or 24 Dec.", USAGE)
    planned = standups.get(session=ctx.session, workspace_id=ctx.workspace_id, number=number)
    # "friday" and "tomorrow" are the stand-up's own, in its time zone.
    local_date = parse_day(date_text, today=ctx.now.astimezone(planned.weekly.zone).date())
    view = standups.skip(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        number=number,
        local_date=local_date,
        user_ref=ctx.caller.user_ref,
        is_admin=ctx.caller.has_admin_rights(),
        now=ctx.now,
    )
    return Reply(
        blocks=(
            Paragraph(
                text(
                    "No ",
                    bold(view.name),
                    f" on {local_date:%A %d %B %Y}; nothing will be sent that day.",
                )
            ),
            *summary_blocks(ctx, view),
        )
    )


def run_now(ctx: CommandContext, number: int) -> Reply:
    view, local_date = standups.run_now(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        number=number,
        user_ref=ctx.caller.user_ref,
        is_admin=ctx.caller.has_admin_rights(),
        now=ctx.now,
    )
    what = (
        "the agenda is being posted" if view.mode == "meeting" else "questions are going out by DM"
    )
    instead = ""
    if local_date in view.skipped and local_date.weekday() in view.weekly.weekdays:
        usual = view.weekly.start_on(local_date).astimezone(view.weekly.zone)
        if usual > ctx.now:
            instead = f" instead of at {usual:%H:%M}"
    return Reply(
        blocks=(
            Paragraph(
                text(
                    "Running ",
                    bold(view.name),
                    f" now for today, {local_date:%A %d %B}{instead}: {what}.",
                )
            ),
        ),
        wake_scheduler=True,
    )


def confirm_delete(ctx: CommandContext, number: int) -> Reply:
    view = standups.get(session=ctx.session, workspace_id=ctx.workspace_id, number=number)
    standups.may_change(view, ctx.caller.user_ref, ctx.caller.has_admin_rights())
    return Reply(
        blocks=(
            Paragraph(text("Delete the stand-up ", bold(view.name), "? Its reminders stop.")),
            Buttons(
                (
                    Button("Delete", STANDUP_DELETE_CONFIRM, str(number), ButtonStyle.DANGER),
                    Button("Cancel", STANDUP_CANCEL),
                )
            ),
        )
    )


def _button_number(value: str) -> int:
    """A number a button carries; ValueError for anything else (a typed, forged value)."""
    number = ascii_number(value)
    if number is None:
        raise ValueError(value)
    return number


def delete_confirmed(ctx: CommandContext, value: str) -> Reply:
    number = ascii_number(value)
    if number is None:  # a forged value names no stand-up
        raise NotFound("That stand-up was already deleted.")
    name = standups.delete_standup(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        number=number,
        user_ref=ctx.caller.user_ref,
        is_admin=ctx.caller.has_admin_rights(),
    )
    return Reply(
        blocks=(Paragraph(text("Deleted the stand-up “", name, "”.")),), replace_original=True
    )


def holidays(ctx: CommandContext, number: int, codes: str) -> Reply:
    """`/standup holidays ID [CODES|none]`: the next holidays it skips, or name its calendars
    (its creator or an admin; rounds not under way are planned again)."""
    if codes:
        view = standups.set_holiday_calendars(
            session=ctx.session,
            workspace_id=ctx.workspace_id,
            number=number,
            calendars=codes,
            user_ref=ctx.caller.user_ref,
            is_admin=ctx.caller.has_admin_rights(),
            now=ctx.now,
        )
        done = (
            f"Done: {view.name} follows the holidays of {', '.join(view.weekly.calendars)}."
            if view.weekly.calendars
            else f"Done: {view.name} follows no holiday calendar; it runs on public holidays."
        )
    else:
        view = standups.get(session=ctx.session, workspace_id=ctx.workspace_id, number=number)
        done = ""
    if not view.weekly.calendars:
        return replies.message(
            done
            or f"{view.name} follows no holiday calendar. Name one or more with "
            f"/standup holidays {view.number} GB US-CA."
        )
    today = ctx.now.astimezone(view.weekly.zone).date()
    upcoming = [
        (day, name)
        for day, name in holiday_calendars.holidays_between(
            view.weekly.calendars, today, today + timedelta(days=366)
        )
        if day.weekday() in view.weekly.weekdays and view.weekly.start_on(day) > ctx.now
    ][:HOLIDAYS_SHOWN]
    lines = [text(f"{day:%a %d %b %Y}: ", name) for day, name in upcoming]
    return replies.message(
        *([done] if done else []),
        text(
            bold(f"{view.name} does not run on these holidays"),
            f" of {', '.join(view.weekly.calendars)} (on its days, in the next 12 months):",
        ),
        replies.join_lines(lines) if lines else text("No holiday on its days in the next year."),
        text("People on a holiday of their own region (/bridge region) are not asked that day."),
    )


HOLIDAYS_SHOWN = 10


def calendar(ctx: CommandContext, number: int, public_url: str) -> Reply:
    view = standups.get(session=ctx.session, workspace_id=ctx.workspace_id, number=number)
    url = f"{public_url}/calendar/{view.calendar_token}.ics"
    ics = standup_calendar(view, subscribe_url=url, now=ctx.now)
    return Reply(
        blocks=(
            Paragraph(
                text(
                    "Calendar for ",
                    bold(view.name),
                    ": open the file, or subscribe to stay in sync:",
                )
            ),
            Paragraph(text(link(url, url))),
        ),
        attachments=(Attachment(f"standup-{view.number}.ics", ics, f"{view.name} (calendar)"),),
    )


# -- messages the scheduler sends -------------------------------------------------


def reminder_message(
    view: StandupView, start: datetime, *, direct: bool, due_at: datetime | None = None
) -> replies.Reply:
    """The channel post (agenda and call link) or the personal DM before a stand-up.

    A reminder due later than the usual lead (a stand-up created or run at short notice)
    says how soon it starts, not only when.
    """
    when = f"starts at {start.astimezone(view.weekly.zone):%H:%M} ({view.weekly.timezone})"
    if due_at is not None and start - due_at < view.reminder_lead:
        minutes = max(0, round((start - due_at).total_seconds() / 60))
        soon = "starts now" if minutes == 0 else f"starts in {replies.counted(minutes, 'minute')}"
        when = f"{soon}, at {start.astimezone(view.weekly.zone):%H:%M} ({view.weekly.timezone})"
    lines = [text("• ", q) for q in view.questions]
    blocks: list[Block] = [
        Paragraph(text(bold(view.name), f" {when}.")),
    ]
    if view.mode == "meeting":
        blocks.append(Paragraph(text(bold("Agenda:"), "\n", *replies.join_lines(lines))))
        if view.call_link:
            blocks.append(Paragraph(text("Join the call: ", link(view.call_link, view.call_link))))
    else:
        blocks.append(
            Paragraph(text("Questions arrive by DM at the start; answer when it suits you."))
        )
    if direct:
        blocks.append(
            Note(
                text(
                    "You are taking part in ",
                    replies.channel(view.channel_ref),
                    "'s joint stand-up.",
                )
            )
        )
    return Reply(blocks=tuple(blocks), visibility=Visibility.CHANNEL)


def questions_message(view: StandupView, local_date: date) -> Reply:
    lines = [text(f"{n}. ", q) for n, q in enumerate(view.questions, start=1)]
    return Reply(
        blocks=(
            Paragraph(text(bold(view.name), f" — {local_date:%A %d %B}: your answers, please.")),
            Paragraph(replies.join_lines(lines)),
            Buttons(
                (
                    Button(
                        "Answer",
                        STANDUP_ANSWER,
                        f"{view.id}:{local_date.isoformat()}",
                        ButtonStyle.PRIMARY,
                    ),
                )
            ),
            Note(
                text(
                    "Answers go into a digest in ",
                    replies.channel(view.channel_ref),
                    " at the deadline; later ones are added to it until the next round. ",
                    f"Or type /standup answer {view.number}.",
                )
            ),
        ),
        visibility=Visibility.CHANNEL,
    )


def nudge_message(view: StandupView, local_date: date, digest_at: datetime) -> Reply:
    """The one reminder, before the digest, to someone who has not answered yet."""
    return Reply(
        blocks=(
            Paragraph(
                text(
                    "A reminder: ",
                    bold(view.name),
                    f" — {local_date:%A %d %B}. The digest goes to ",
                    replies.channel(view.channel_ref),
                    f" at {digest_at.astimezone(view.weekly.zone):%H:%M} "
                    f"({view.weekly.timezone}) and has no answers from you yet.",
                )
            ),
            Buttons(
                (
                    Button(
                        "Answer",
                        STANDUP_ANSWER,
                        f"{view.id}:{local_date.isoformat()}",
                        ButtonStyle.PRIMARY,
                    ),
                )
            ),
            Note(text(f"Or type /standup answer {view.number}. This is the only reminder.")),
        ),
        visibility=Visibility.CHANNEL,
    )


def digest_message(sheet: standups.AnswerSheet, labels: dict[Side, str]) -> Reply:
    """Answers grouped by side, then who has not answered."""
    view = sheet.standup
    blocks: list[Block] = [Heading(f"{view.name} — {sheet.local_date:%A %d %B}"[:150])]
    groups: list[tuple[str, list[tuple[str, tuple[str, ...]]]]] = []
    for side in (Side.MARKETING, Side.IT, Side.OTHER, None):
        members = [(user, answers) for user, who_side, answers in sheet.answers if who_side == side]
        if members:
            groups.append((labels[side] if side else "No side chosen", members))
    if not groups:
        blocks.append(Paragraph(text("Nobody answered this time.")))
    for label, members in groups:
        blocks.append(Paragraph(text(bold(label))))
        for user, answers in members:
            lines = [
                text(bold(f"{q}: "), answer)
                for q, answer in zip(view.questions, answers, strict=False)
                if answer
            ]
            when = (
                " (late)"
                if user in sheet.late
                else " (edited after the digest)"
                if user in sheet.edited
                else ""
            )
            blocks.append(
                Paragraph(text(replies.user(user), when, "\n", *replies.join_lines(lines)))
            )
    if sheet.missing:
        names: list[str | Span] = []
        for index, user in enumerate(sheet.missing):
            if index:
                names.append(", ")
            names.append(replies.user(user))
        # Sent at the deadline: answering is over, so "yet" would promise too much.
        blocks.append(Note(text("Didn't answer: ", *names)))
    if sheet.away:
        away: list[str | Span] = []
        for index, (user, label) in enumerate(sheet.away):
            away += [", " if index else "", replies.user(user)]
            if label != "away":
                away.append(f" ({label})")
        blocks.append(Note(text("Away: ", *away)))
    return Reply(blocks=tuple(blocks), visibility=Visibility.CHANNEL)


# -- answering ----------------------------------------------------------------------


def _parse_occurrence_value(value: str) -> tuple[int, date]:
    try:
        standup_id, day = value.split(":", 1)
        return _button_number(standup_id), date.fromisoformat(day)
    except ValueError:
        raise Invalid("That button is out of date.") from None


def open_answer_form(ctx: CommandContext, value: str) -> Reply:
    standup_id, local_date = _parse_occurrence_value(value)
    view = standups.get_by_id(
        session=ctx.session, workspace_id=ctx.workspace_id, standup_id=standup_id
    )
    standups.check_may_answer(  # refused before typing (closed, or not asked), not after
        session=ctx.session,
        view=view,
        local_date=local_date,
        user_ref=ctx.caller.user_ref,
        now=ctx.now,
    )
    previous = standups.get_answers(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        standup_id=standup_id,
        local_date=local_date,
        user_ref=ctx.caller.user_ref,
    )
    fields = tuple(
        FormField(
            f"q{n}",
            question[:150],
            previous[n] if n < len(previous) else "",
            multiline=True,
            optional=True,
            max_length=1500,
        )
        for n, question in enumerate(view.questions)
    )
    return Reply(
        form=Form(
            callback_id=STANDUP_ANSWER_FORM,
            title=view.name[:24],
            submit_label="Send",
            fields=fields,
            metadata=value,
        )
    )


def submit_answers(ctx: CommandContext, values: dict[str, str], metadata: str) -> Reply:
    standup_id, local_date = _parse_occurrence_value(metadata)
    view = standups.get_by_id(
        session=ctx.session, workspace_id=ctx.workspace_id, standup_id=standup_id
    )
    answers = [values.get(f"q{n}", "").strip() for n in range(len(view.questions))]
    if not any(answers):
        raise Invalid(field_errors={"q0": "Answer at least one question."})
    too_long = [f"q{n}" for n, a in enumerate(answers) if len(a) > 1500]
    if too_long:
        raise Invalid(field_errors={name: "Keep it under 1,500 characters." for name in too_long})
    try:
        row = standups.save_answers(
            session=ctx.session,
            workspace_id=ctx.workspace_id,
            standup_id=standup_id,
            local_date=local_date,
            user_ref=ctx.caller.user_ref,
            answers=answers,
            now=ctx.now,
        )
    except AnswerRefused as exc:  # shown next to the first question
        raise Invalid(field_errors={"q0": str(exc)}) from None
    window = standups.answer_window(session=ctx.session, view=view, local_date=local_date)
    assert window is not None  # save_answers refuses a day without a round
    buttons = (
        Button("Edit answers", STANDUP_ANSWER, metadata),
        *(
            Button(f"Share as {role}", STANDUP_SHARE, f"{row.id}:{index}")
            for index, role in sorted((int(i), r) for i, r in (row.shareable or {}).items())
        ),
    )
    until = f"{window.closes.astimezone(view.weekly.zone):%a %d %b %H:%M} ({view.weekly.timezone})"
    if window.is_late(ctx.now) and not _digest_shown(ctx, standup_id, local_date):
        said = text(
            "Thanks! Your answers for ",
            bold(view.name),
            f" on {local_date:%A %d %B} are saved. That round's digest was never posted "
            "(bridgebot was not running at the time), so they are shown nowhere else; "
            f"you can change them until the next round starts, {until}.",
        )
    elif window.is_late(ctx.now):
        said = text(
            "Thanks! The digest of ",
            bold(view.name),
            f" for {local_date:%A %d %B} now shows your answers, marked as ",
            "late" if window.is_late(row.created_at) else "edited after the digest",
            f"; you can change them until the next round starts, {until}.",
        )
    else:
        said = text(
            "Thanks! Your answers for ",
            bold(view.name),
            f" are in; you can change them until the next round starts, {until}",
            " (after the digest, a change updates it).",
        )
    roles = sorted(set((row.shareable or {}).values()), reverse=True)  # win, challenge
    typed = [f"/standup answer {view.number} to change them"]
    typed += [f"/standup share {view.number} {role}" for role in roles]
    blocks: list[Block] = [
        Paragraph(said),
        Buttons(buttons),
        Note(text("Or type ", " · ".join(typed), ".")),
    ]
    # A late answer or an edit queued an update of the digest: send it now.
    return Reply(blocks=tuple(blocks), wake_scheduler=window.is_late(ctx.now))


def _digest_shown(ctx: CommandContext, standup_id: int, local_date: date) -> bool:
    """Whether the round's digest was posted, or is being posted (not missed)."""
    key = (ctx.workspace_id, standup_id, local_date)
    return bool(
        standups.posted_digest(
            session=ctx.session, workspace_id=key[0], standup_id=key[1], local_date=key[2]
        )
        or standups.digest_coming(
            session=ctx.session, workspace_id=key[0], standup_id=key[1], local_date=key[2]
        )
    )


def share_answer(ctx: CommandContext, value: str) -> Reply:
    """*Share as win/challenge* on one's own answer: posts it to the board."""
    try:
        answer_id, index = (_button_number(part) for part in value.split(":", 1))
    except ValueError:
        raise Invalid("That button is out of date.") from None
    role, answer = standups.mark_shared(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        answer_id=answer_id,
        index=index,
        user_ref=ctx.caller.user_ref,
    )
    return board_commands.post(ctx, role, answer, source="standup")


def answer_typed(ctx: CommandContext, number: int) -> Reply:
    """`/standup answer ID`: the Answer button of the round taking answers now."""
    view = standups.get(session=ctx.session, workspace_id=ctx.workspace_id, number=number)
    if view.mode != "async":
        raise Invalid(f"{view.name} is a live call: only async stand-ups take written answers.")
    local_date = standups.open_round(session=ctx.session, view=view, now=ctx.now)
    if local_date is None:
        raise NotFound(
            f"{view.name} takes no answers now; its questions come by direct message "
            "when a round starts."
        )
    return open_answer_form(ctx, f"{view.id}:{local_date.isoformat()}")


def share_typed(ctx: CommandContext, number: int, role_text: str) -> Reply:
    """`/standup share ID win|challenge`: the Share button on one's latest answers."""
    role = role_text.strip().lower()
    if role not in {"win", "challenge"}:
        raise Invalid(f"Share it as a win or a challenge: /standup share {number} win.", USAGE)
    view = standups.get(session=ctx.session, workspace_id=ctx.workspace_id, number=number)
    row = standups.latest_answer(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        standup_id=view.id,
        user_ref=ctx.caller.user_ref,
    )
    if row is None:
        raise NotFound(f"You have no answers to {view.name} to share.")
    index = next((int(i) for i, r in sorted((row.shareable or {}).items()) if r == role), None)
    if index is None:
        raise NotFound(
            f"Your answers to {view.name} on {row.local_date:%A %d %B} have no {role} to share."
        )
    return share_answer(ctx, f"{row.id}:{index}")
