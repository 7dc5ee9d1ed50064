"""/pulse: weekly anonymous pulses that show the perception gap, and quick polls."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot import replies
from bot.commands import FeatureConfig
from bot.errors import Conflict, DomainError, Invalid, NotAllowed, NotFound, usage_line
from bot.models import Side, WorkspaceSettings
from bot.replies import (
    Attachment,
    Block,
    Button,
    Buttons,
    ButtonStyle,
    FieldKind,
    Fields,
    Form,
    FormField,
    Heading,
    Note,
    Outgoing,
    Paragraph,
    PostedMessage,
    QueuedPost,
    Reply,
    Visibility,
    bold,
    code,
    text,
)
from bot.router import (
    AdminCheckFailed,
    Command,
    CommandContext,
    CommandRouter,
    TeamsMenuEntry,
    split_first,
)
from bot.services import (
    occurrences,
    outbox,
    people,
    pulse,
    pulse_alerts,
    pulse_audience,
    pulse_privacy,
    pulse_questions,
    workspaces,
)
from bot.services.pulse import NotInAudience, PollNotFound, PollResults, PollView, PulseRefused
from bot.services.pulse_chart import average_agree, trend_chart
from bot.services.recurrence import (
    WEEKDAY_CHOICES,
    WEEKDAY_NAMES,
    WEEKDAYS,
    RecurrenceError,
    parse_time,
)
from bot.services.workspaces import WorkspaceView
from bot.textinput import ascii_number

USAGE = (
    "/pulse [results [WEEKS] | now | schedule | questions … | alerts … | ask QUESTION | OPTION"
    " | OPTION … | export | answer 4 4 5 | comment TEXT | vote POLL OPTION | close POLL]"
)
QUESTIONS_USAGE = (
    "/pulse questions [bank | choose | add ID … | remove ID … | set ID … | custom STATEMENT"
    " | custom TITLE | FOR MARKETING | FOR IT | delete ID]"
)
ALERTS_USAGE = "/pulse alerts [gap POINTS | rate PERCENT | channel on|off | me on|off]"
ASK_USAGE = "/pulse ask QUESTION | OPTION | OPTION (2 to 10 options)"
# The typed forms of the pulse's buttons (the weekly DM and a quick poll's card).
ANSWER_USAGE = "/pulse answer 4 4 5 (1 to 5 for each question, in order) | /pulse answer 2=4"
VOTE_USAGE = "/pulse vote POLL OPTION (the numbers on the poll's card) | /pulse close POLL"

PULSE_VOTE = "pulse_vote"
PULSE_COMMENT = "pulse_comment"
PULSE_COMMENT_FORM = "pulse_comment_form"
PULSE_SCHEDULE_FORM = "pulse_schedule_form"
PULSE_QUESTIONS_FORM = "pulse_questions_form"
NOT_ASKED = "none"
PULSE_ASK_VOTE = "pulse_ask_vote"
PULSE_ASK_CLOSE = "pulse_ask_close"
OUTBOX_PREFIX = "pulse"

# Occurrence kinds (delivered by schedules/pulse.py).
PULSE_OPEN = "pulse.open"
PULSE_DM = "pulse.dm"
PULSE_CLOSE = "pulse.close"
DEFAULT_WEEKS = 12
MAX_WEEKS = 52


def register(router: CommandRouter, config: FeatureConfig) -> None:
    secret_key = config.secret_key
    router.register(
        Command(
            name="pulse",
            summary="Pulse polls: the perception gap between the two sides",
            usage=USAGE,
            description="Pulse poll results, or ask a quick poll",
            usage_hint="results [WEEKS] | ask QUESTION | OPTION | OPTION",
            teams_menu=(
                TeamsMenuEntry("pulse", "pulse: the latest Marketing and IT pulse results"),
            ),
            help_lines=(
                "/pulse: the latest pulse results · /pulse results [WEEKS]: the trend",
                "/pulse ask QUESTION | OPTION | OPTION: a quick poll in this channel",
                "/pulse now · /pulse schedule (admins) · /pulse export: a CSV of results",
                "/pulse questions: the weekly questions (admins choose 1 to 5 from the bank)",
                "/pulse alerts (admins): when a gap widens or a side stops answering",
                "/pulse answer 4 4 5 (or 2=4: one question) · /pulse comment TEXT: the weekly pulse",
                "/pulse vote POLL OPTION · /pulse close POLL: a quick poll, by its number",
                "Away or on a holiday when the pulse opens (/bridge away, /bridge region)? "
                "It asks you on your first working day back if that comes before it closes, "
                "and stays open a day for you; away throughout, you are not asked or counted",
            ),
            handler=lambda ctx, args: handle_pulse(ctx, args, secret_key),
        )
    )
    router.register_action(PULSE_VOTE, lambda ctx, value: vote(ctx, value, secret_key))
    router.register_action(PULSE_COMMENT, comment_form)
    router.register_form(
        PULSE_COMMENT_FORM, lambda ctx, values, meta: submit_comment(ctx, values, meta, secret_key)
    )
    router.register_form(PULSE_SCHEDULE_FORM, submit_schedule)
    router.register_form(PULSE_QUESTIONS_FORM, submit_questions)
    router.register_action(PULSE_ASK_VOTE, lambda ctx, value: ask_vote(ctx, value, secret_key))
    router.register_action(PULSE_ASK_CLOSE, ask_close)
    router.register_outbox(
        OUTBOX_PREFIX, recorder=record_poll, refresher=refresh_poll, renderer=render_poll
    )
    router.privacy.register(pulse_privacy.hooks(secret_key))


def handle_pulse(ctx: CommandContext, args: str, secret_key: str) -> Reply:
    sub, rest = split_first(args)
    handlers: dict[str, Callable[[], Reply]] = {
        "": lambda: latest(ctx),
        "results": lambda: results_reply(ctx, rest),
        "now": lambda: start_now(ctx),
        "schedule": lambda: schedule_form(ctx),
        "export": lambda: export(ctx),
        "questions": lambda: questions_reply(ctx, rest),
        "alerts": lambda: alerts_reply(ctx, rest),
        "ask": lambda: ask(ctx, rest),
        "answer": lambda: answer_typed(ctx, rest, secret_key),
        "comment": lambda: comment_typed(ctx, rest, secret_key),
        "vote": lambda: vote_typed(ctx, rest, secret_key),
        "close": lambda: close_typed(ctx, rest),
        "help": lambda: replies.message(replies.text("Usage: ", replies.code(USAGE))),
    }
    if sub not in handlers:
        raise Invalid(f"/pulse has no “{sub[:20]}” option.", USAGE)
    return handlers[sub]()


def _labels(workspace: WorkspaceView) -> dict[str, str]:
    return {side.value: workspace.label(side) for side in Side} | {"overall": "Everyone"}


# -- results --------------------------------------------------------------------


def _stat_line(
    result_stats: pulse.SideStats, change: float | None, threshold: int, *, everyone: bool = False
) -> str:
    if not result_stats.shown:
        if result_stats.respondents == 0:
            return "no answers"
        if everyone:  # a total over the sides would show what the hidden side answered
            return f"hidden: a side that answered has fewer than {threshold} answers"
        return f"hidden: fewer than {threshold} answers"
    line = f"{result_stats.agree_pct:.0f}% agree · mean {result_stats.mean:.1f} · n={result_stats.respondents}"
    if change is not None:
        line += f" · {'+' if change >= 0 else ''}{change:.0f} pts"
    return line


def _other(side: str) -> str:
    return Side.IT.value if side == Side.MARKETING.value else Side.MARKETING.value


def results_blocks(results: PollResults, workspace: WorkspaceView) -> list[Block]:
    """The results as text: readable by screen readers and always included with the chart."""
    labels = _labels(workspace)
    blocks: list[Block] = []
    for index, question in enumerate(results.questions):
        mirror = question.mirror
        items = [
            (
                # A mirrored pair: each side's view of the other, side by side.
                f"{labels[side]} on {labels[_other(side)]}" if mirror else labels[side],
                text(
                    _stat_line(
                        question.by_side[side], results.change(index, side), results.threshold
                    )
                ),
            )
            for side in (Side.MARKETING.value, Side.IT.value)
        ]
        if mirror is None:
            items.append(
                (
                    "Everyone",
                    text(
                        _stat_line(
                            question.overall,
                            results.change(index, "overall"),
                            results.threshold,
                            everyone=True,
                        )
                    ),
                )
            )
        gap = question.gap
        items.append(
            (
                "Perception gap",
                text(
                    f"{'+' if gap >= 0 else ''}{gap:.0f} points ({labels['marketing']} minus {labels['it']})"
                    if gap is not None
                    else "not shown (a side has too few answers)"
                ),
            )
        )
        blocks.append(Paragraph(text(bold(f"{index + 1}. {question.question}"))))
        if mirror is not None:
            asked = [
                text(f"{labels[side]} was asked: “", mirror[side], "”")
                for side in (Side.MARKETING.value, Side.IT.value)
            ]
            blocks.append(Note(replies.join_lines(asked)))
        blocks.append(Fields(tuple(items)))
    rates = []
    for side in (Side.MARKETING.value, Side.IT.value, Side.OTHER.value):
        invited = results.poll.invited.get(side, 0)
        if invited:
            rates.append(
                f"{labels[side]} {results.respondents_by_side.get(side, 0)}/{invited} ({results.response_rate[side]:.0f}%)"
            )
    if rates:
        blocks.append(Note(text("Response rate: ", " · ".join(rates))))
    if results.comments:
        lines = [text("“", comment[:300], "”") for comment in results.comments[:10]]
        blocks.append(
            Paragraph(text(bold("Comments (anonymous):"), "\n", *replies.join_lines(lines)))
        )
    blocks.append(
        Note(
            text(
                f"Anonymous: answers are stored without names; a side's numbers and comments show "
                f"only with at least {results.threshold} answers, and Everyone only when every side "
                "that answered shows."
            )
        )
    )
    return blocks


def results_reply(ctx: CommandContext, weeks_text: str) -> Reply:
    weeks = DEFAULT_WEEKS
    if weeks_text:
        weeks = ascii_number(weeks_text) or 0
        if not 1 <= weeks <= MAX_WEEKS:
            raise Invalid(f"WEEKS is a number from 1 to {MAX_WEEKS}.", USAGE)
    workspace = workspaces.get_workspace(session=ctx.session, workspace_id=ctx.workspace_id)
    history = pulse.trend(session=ctx.session, workspace_id=ctx.workspace_id, weeks=weeks)
    if not history:
        open_poll = pulse.open_weekly_poll(session=ctx.session, workspace_id=ctx.workspace_id)
        if open_poll is not None:
            closes = (
                f" until {_local(open_poll.closes_at, workspace)}" if open_poll.closes_at else ""
            )
            return replies.message(
                f"A pulse is open{closes}; its results appear here when it closes."
            )
        return replies.message("No pulse has closed yet. Admins can start one with /pulse now.")
    return trend_reply(history, workspace, visibility=Visibility.PRIVATE)


def _local(moment: datetime, workspace: WorkspaceView) -> str:
    """A moment as the workspace reads it: "Wed 09 Dec 10:00 Europe/London"."""
    return f"{moment.astimezone(ZoneInfo(workspace.timezone)):%a %d %b %H:%M} {workspace.timezone}"


def trend_reply(
    history: list[PollResults], workspace: WorkspaceView, *, visibility: Visibility
) -> Reply:
    labels = _labels(workspace)
    lines = []
    for result in history:
        cells = []
        for side in (Side.MARKETING.value, Side.IT.value, "overall"):
            value = average_agree(result, side)
            cells.append(
                f"{labels[side]} {value:.0f}%" if value is not None else f"{labels[side]} –"
            )
        lines.append(text(f"{result.poll.opened_at:%d %b}: ", " · ".join(cells)))
    chart = trend_chart(history, labels)
    return Reply(
        blocks=(
            Heading(f"Pulse trend: % agree by side, last {len(history)} pulses"),
            Paragraph(replies.join_lines(lines)),
            Note(
                text(
                    "Averaged over each pulse's questions; – means hidden: too few answers "
                    "on that side (for Everyone, on any side that answered)."
                )
            ),
        ),
        visibility=visibility,
        attachments=(Attachment("pulse-trend.png", chart, "Pulse trend: % agree by side"),),
    )


def latest(ctx: CommandContext) -> Reply:
    workspace = workspaces.get_workspace(session=ctx.session, workspace_id=ctx.workspace_id)
    blocks: list[Block] = []
    open_poll = pulse.open_weekly_poll(session=ctx.session, workspace_id=ctx.workspace_id)
    if open_poll is not None and open_poll.closes_at:
        count = pulse.respondent_count(
            session=ctx.session, workspace_id=ctx.workspace_id, poll_id=open_poll.id
        )
        blocks.append(
            Note(
                text(
                    f"A pulse is open until {open_poll.closes_at:%a %d %b %H:%M} UTC; {count} answered so far."
                )
            )
        )
        blocks += _side_changes_note(ctx, open_poll)
    poll = pulse.latest_weekly(session=ctx.session, workspace_id=ctx.workspace_id)
    if poll is None:
        blocks.insert(0, Paragraph(text("No pulse results yet.")))
        return Reply(blocks=tuple(blocks))
    results = pulse.results(session=ctx.session, workspace_id=ctx.workspace_id, poll_id=poll.id)
    return Reply(
        blocks=(
            Heading(f"Pulse of {poll.opened_at:%d %b %Y}"),
            *results_blocks(results, workspace),
            *_side_changes_note(ctx, poll),
            *blocks,
        )
    )


def _side_changes_note(ctx: CommandContext, poll: PollView) -> list[Block]:
    """For admins only, and a count only: side changes while the pulse was open. They do
    not move its answers (sides froze when it opened); many may mean someone tries to."""
    try:
        if not ctx.caller.has_admin_rights():
            return []
    except AdminCheckFailed:
        return []  # the results themselves need no admin; only this note is left out
    count = people.side_changes_between(
        session=ctx.session, workspace_id=ctx.workspace_id, start=poll.opened_at, end=poll.closed_at
    )
    changes = replies.counted(count, "side change")
    when = "while it was open" if poll.closed_at else "since it opened"
    return [
        Note(
            text(
                f"Admins only: {changes} {when} (pulse of {poll.opened_at:%d %b}); "
                "they count from the next pulse."
            )
        )
    ]


def results_message(
    results: PollResults, history: list[PollResults], workspace: WorkspaceView
) -> Reply:
    """What is posted to the shared channel when a pulse closes: the table and the chart."""
    chart = trend_chart(history, _labels(workspace)) if history else None
    return Reply(
        blocks=(
            Heading(f"Pulse results — {results.poll.opened_at:%d %b %Y}"),
            *results_blocks(results, workspace),
        ),
        visibility=Visibility.CHANNEL,
        attachments=(Attachment("pulse-trend.png", chart, "Pulse trend: % agree by side"),)
        if chart
        else (),
    )


def export(ctx: CommandContext) -> Reply:
    """A CSV of aggregates: never individual answers, and hidden cells stay hidden."""
    history = pulse.trend(session=ctx.session, workspace_id=ctx.workspace_id, weeks=520)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "pulse_opened",
            "question",
            "side",
            "respondents",
            "mean",
            "agree_pct",
            "gap_points",
            "question_id",
            "statement_asked",
        ]
    )
    for result in history:
        for question in result.questions:
            for side, stats in [*question.by_side.items(), ("overall", question.overall)]:
                # A mirrored pair asked each side its own statement, and nobody else.
                asked = question.mirror.get(side, "") if question.mirror else question.question
                writer.writerow(
                    [
                        result.poll.opened_at.date().isoformat(),
                        question.question,
                        side,
                        _export_respondents(stats, result.threshold),
                        "" if stats.mean is None else stats.mean,
                        "" if stats.agree_pct is None else stats.agree_pct,
                        "" if question.gap is None or side != "overall" else question.gap,
                        question.id,
                        asked,
                    ]
                )
    return Reply(
        blocks=(
            Paragraph(text(f"Pulse results of {len(history)} pulses as CSV (aggregates only).")),
        ),
        attachments=(
            Attachment(
                "pulse-results.csv", buffer.getvalue().encode(), "Pulse results (aggregates)"
            ),
        ),
    )


def _export_respondents(stats: pulse.SideStats, threshold: int) -> int | str:
    """The respondents cell: a count only beside the numbers it belongs to."""
    if stats.shown:
        return stats.respondents
    # Everyone with enough answers, hidden because a side in it is: "<3" would be untrue.
    return "hidden" if stats.respondents >= threshold else f"<{threshold}"


# -- the weekly pulse ---------------------------------------------------------------


def start_now(ctx: CommandContext) -> Reply:
    """`/pulse now` (admins): open a pulse at once for everyone with a side."""
    ctx.require_admin("start a pulse")
    existing = pulse.open_weekly_poll(session=ctx.session, workspace_id=ctx.workspace_id)
    if existing is not None and existing.closes_at and existing.closes_at > ctx.now:
        raise Conflict(f"A pulse is already open until {existing.closes_at:%a %d %b %H:%M} UTC.")
    settings = _settings_row(ctx)
    poll, people = open_and_plan(
        ctx.session, ctx.workspace_id, slot=ctx.now, now=ctx.now, hours=settings.pulse_open_hours
    )
    if not people:
        # An error rolls the opening back: an empty poll would block the weekly one.
        if poll.mirrors and all(poll.mirrors):
            raise Conflict(
                "Nobody is in Marketing or IT, and the pulse asks only mirrored pairs, which "
                "only those two sides answer. People set their side with /bridge side."
            )
        raise Conflict(
            "Nobody has chosen a side yet, so there is nobody to ask. People set theirs with /bridge side."
        )
    return Reply(
        blocks=(
            Paragraph(
                text(
                    f"Pulse sent to {replies.counted(len(people), 'person', 'people')}; it closes {poll.closes_at:%a %d %b %H:%M} UTC."
                )
            ),
        ),
        wake_scheduler=True,
    )


def open_and_plan(
    session: Session, workspace_id: str, *, slot: datetime, now: datetime, hours: int
) -> tuple[PollView, list[str]]:
    """Open the pulse for `slot` and plan one DM per person and the closing (idempotent)."""
    poll, people = pulse.open_weekly(
        session=session,
        workspace_id=workspace_id,
        slot=slot,
        now=now,
        open_for=timedelta(hours=hours),
    )
    payload = {"poll_id": poll.id}
    for user_ref, due_at in pulse.invitations(
        session=session, workspace_id=workspace_id, poll=poll, people=people
    ).items():
        occurrences.schedule(
            session=session,
            workspace_id=workspace_id,
            kind=PULSE_DM,
            subject_ref=f"pulse:{poll.id}",
            due_at=due_at,
            recipient_ref=user_ref,
            payload=payload,
        )
    assert poll.closes_at is not None
    occurrences.schedule(
        session=session,
        workspace_id=workspace_id,
        kind=PULSE_CLOSE,
        subject_ref=f"pulse:{poll.id}",
        due_at=poll.closes_at,
        payload=payload,
    )
    return poll, people


def _settings_row(ctx: CommandContext) -> WorkspaceSettings:
    return workspaces.settings_row(session=ctx.session, workspace_id=ctx.workspace_id)


def question_message(
    poll: PollView, chosen: dict[int, int], side: str | None, *, has_comment: bool = False
) -> Reply:
    """The DM: each statement the person's side is asked (frozen when the pulse opened),
    with a 1-5 scale; their choices are marked. Questions keep the pulse's numbers."""
    asked = poll.statements_for(side)
    blocks: list[Block] = [
        Paragraph(
            text(bold("Weekly pulse"), ": how did Marketing and IT work together this week?")
        ),
    ]
    for index, question in asked:
        blocks.append(Paragraph(text(bold(f"{index + 1}. "), question)))
        blocks.append(
            Buttons(
                tuple(
                    Button(
                        f"✓ {label}" if chosen.get(index) == value else label,
                        PULSE_VOTE,
                        f"{poll.id}:{index}:{value}",
                        ButtonStyle.PRIMARY if chosen.get(index) == value else ButtonStyle.DEFAULT,
                    )
                    for value, label in pulse.SCALE
                )
            )
        )
    blocks.append(
        Buttons(
            (
                Button(
                    "Edit comment" if has_comment else "Add a comment", PULSE_COMMENT, str(poll.id)
                ),
            )
        )
    )
    closes = f" Closes {poll.closes_at:%a %d %b %H:%M} UTC." if poll.closes_at else ""
    answered = len(chosen)
    progress = f" You answered {answered} of {len(asked)}." if answered else ""
    blocks.append(
        Note(
            text(
                "Anonymous: your name is never stored with your answers; you can change them until it closes.",
                closes,
                progress,
            )
        )
    )
    example = _example_answer(len(asked))
    one = asked[min(1, len(asked) - 1)][0] + 1 if asked else 1
    blocks.append(
        Note(
            text(
                f"Or type /pulse answer {example} (1 to 5 for each question, in order), "
                f"/pulse answer {one}=4 for one question, and /pulse comment TEXT."
            )
        )
    )
    return Reply(blocks=tuple(blocks), visibility=Visibility.CHANNEL)


def _split_value(value: str, parts: int) -> list[int]:
    found = [ascii_number(part) for part in value.split(":")]
    numbers = [number for number in found if number is not None]
    if len(found) != parts or len(numbers) != parts:
        raise Invalid("That button is out of date.")
    return numbers


def vote(ctx: CommandContext, value: str, secret_key: str) -> Reply:
    """A click on 1-5: record it and redraw the DM with the choice marked."""
    poll_id, question, answer = _split_value(value, 3)
    poll = pulse.vote(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        poll_id=poll_id,
        question=question,
        value=answer,
        user_ref=ctx.caller.user_ref,
        secret_key=secret_key,
        now=ctx.now,
    )
    chosen = pulse.my_answers(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        poll_id=poll_id,
        user_ref=ctx.caller.user_ref,
        secret_key=secret_key,
    )
    side = pulse_audience.frozen_side(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        poll_id=poll_id,
        user_ref=ctx.caller.user_ref,
    )
    message = question_message(poll, chosen, side)
    return Reply(blocks=message.blocks, replace_original=True)


def comment_form(ctx: CommandContext, value: str) -> Reply:
    (poll_id,) = _split_value(value, 1)
    pulse.check_may_answer(  # refused before typing, not after
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        poll_id=poll_id,
        user_ref=ctx.caller.user_ref,
        now=ctx.now,
    )
    return Reply(
        form=Form(
            callback_id=PULSE_COMMENT_FORM,
            title="Anonymous comment",
            submit_label="Save",
            metadata=str(poll_id),
            fields=(
                FormField(
                    "comment",
                    "Anything to add? (no names are kept)",
                    multiline=True,
                    max_length=pulse.MAX_COMMENT,
                    optional=True,
                    hint=(
                        "Comments are shown without names, only when at least 3 people comment, "
                        "and only from a side with enough answers to show its numbers."
                    ),
                ),
            ),
        )
    )


def submit_comment(
    ctx: CommandContext, values: dict[str, str], metadata: str, secret_key: str
) -> Reply:
    (poll_id,) = _split_value(metadata, 1)
    try:
        pulse.save_comment(
            session=ctx.session,
            workspace_id=ctx.workspace_id,
            poll_id=poll_id,
            user_ref=ctx.caller.user_ref,
            text=values.get("comment", ""),
            secret_key=secret_key,
            now=ctx.now,
        )
    except DomainError as exc:  # closed, gone, too long: said next to the comment
        raise Invalid(field_errors={"comment": str(exc)}) from None
    if not values.get("comment", "").strip():  # an empty comment removes one
        return replies.message("You have no comment on this pulse now; your answers stay.")
    return replies.message("Thanks — your comment is saved without your name.")


def schedule_form(ctx: CommandContext) -> Reply:
    ctx.require_admin("change the pulse schedule")
    settings = _settings_row(ctx)
    return Reply(
        form=Form(
            callback_id=PULSE_SCHEDULE_FORM,
            title="Weekly pulse",
            submit_label="Save",
            fields=(
                FormField(
                    "enabled",
                    "Weekly pulse",
                    "on" if settings.pulse_enabled else "off",
                    kind=FieldKind.SELECT,
                    options=(("on", "On"), ("off", "Off")),
                ),
                FormField(
                    "weekday",
                    "Day",
                    WEEKDAYS[settings.pulse_weekday],
                    kind=FieldKind.SELECT,
                    options=WEEKDAY_CHOICES,
                ),
                FormField(
                    "time",
                    f"Time ({settings.timezone})",
                    f"{settings.pulse_time:%H:%M}",
                    kind=FieldKind.TIME,
                ),
                FormField(
                    "hours", "Open for (hours)", str(settings.pulse_open_hours), max_length=3
                ),
            ),
        )
    )


def submit_schedule(ctx: CommandContext, values: dict[str, str], _metadata: str) -> Reply:
    ctx.require_admin("change the pulse schedule")
    errors: dict[str, str] = {}
    weekday = values.get("weekday", "mon")
    if weekday not in WEEKDAYS:
        errors["weekday"] = "Choose a day."
    try:
        at = parse_time(values.get("time", ""))
    except RecurrenceError as exc:
        errors["time"] = str(exc)
    hours = ascii_number(values.get("hours", "48")) or 0
    if not 1 <= hours <= 168:
        errors["hours"] = "Between 1 and 168 hours."
    if errors:
        raise Invalid(field_errors=errors)
    settings = _settings_row(ctx)
    settings.pulse_enabled = values.get("enabled", "on") != "off"
    settings.pulse_weekday = WEEKDAYS.index(weekday)
    settings.pulse_time = at
    settings.pulse_open_hours = hours
    state = "on" if settings.pulse_enabled else "off"
    return replies.message(
        text(
            f"Weekly pulse {state}: {WEEKDAY_NAMES[settings.pulse_weekday]}s at {at:%H:%M} "
            f"({settings.timezone}), open {settings.pulse_open_hours} hours."
        )
    )


# -- the questions and the gap alert -------------------------------------------------


def _question_labels(ctx: CommandContext) -> dict[str, str]:
    workspace = workspaces.get_workspace(session=ctx.session, workspace_id=ctx.workspace_id)
    return {
        Side.MARKETING.value: workspace.label(Side.MARKETING),
        Side.IT.value: workspace.label(Side.IT),
    }


def _question_lines(
    questions: list[pulse_questions.Question],
    labels: dict[str, str],
    *,
    numbered: bool,
    asked: frozenset[str] = frozenset(),
) -> list[replies.Text]:
    lines = []
    for number, question in enumerate(questions, start=1):
        lead = f"{number}. " if numbered else ("✓ " if question.id in asked else "• ")
        if question.mirror is None:
            lines.append(text(lead, code(question.id), " ", question.statement))
            continue
        lines.append(text(lead, code(question.id), " ", question.statement, " (mirrored pair)"))
        for side in pulse_questions.MIRROR_SIDES:
            lines.append(text(f"      {labels[side]} is asked: ", question.mirror[side]))
    return lines


def questions_reply(ctx: CommandContext, args: str) -> Reply:
    """`/pulse questions …`: what the weekly pulse asks, and (admins) choosing it."""
    sub, rest = split_first(args)
    labels = _question_labels(ctx)
    if sub in ("", "list"):
        return _chosen_questions(ctx, labels)
    if sub == "bank":
        return _question_bank(ctx, labels)
    if sub == "choose":
        return questions_form(ctx, labels)
    changes: dict[str, Callable[[], str]] = {
        "add": lambda: _change_questions(ctx, pulse_questions.add, rest, labels),
        "remove": lambda: _change_questions(ctx, pulse_questions.remove, rest, labels),
        "set": lambda: _change_questions(ctx, pulse_questions.choose, rest, labels),
        "custom": lambda: _custom_question(ctx, rest, labels),
        "delete": lambda: _delete_question(ctx, rest),
    }
    if sub not in changes:
        raise Invalid(f"/pulse questions has no “{sub[:20]}” option.", QUESTIONS_USAGE)
    ctx.require_admin("choose the pulse's questions")
    with usage_line(QUESTIONS_USAGE):
        done = changes[sub]()
    chosen = pulse_questions.chosen(
        session=ctx.session, workspace_id=ctx.workspace_id, labels=labels
    )
    return Reply(
        blocks=(
            Paragraph(text(done)),
            Paragraph(text(bold("From the next pulse:"))),
            Paragraph(replies.join_lines(_question_lines(chosen, labels, numbered=True))),
            *_signed_up_note(ctx),
        )
    )


def _chosen_questions(ctx: CommandContext, labels: dict[str, str]) -> Reply:
    chosen = pulse_questions.chosen(
        session=ctx.session, workspace_id=ctx.workspace_id, labels=labels
    )
    blocks: list[Block] = [
        Heading("The weekly pulse asks"),
        Paragraph(replies.join_lines(_question_lines(chosen, labels, numbered=True))),
        Note(
            text(
                "Each on a 1 to 5 scale. A mirrored pair asks each side about the other; "
                "only those two sides answer it. /pulse questions bank: every question."
            )
        ),
    ]
    running = pulse.open_weekly_poll(session=ctx.session, workspace_id=ctx.workspace_id)
    if running is not None and list(running.question_ids) != [q.id for q in chosen]:
        blocks.append(Note(text("The pulse open now asks what was chosen when it opened.")))
    try:
        admin = ctx.caller.has_admin_rights()
    except AdminCheckFailed:
        admin = False  # the list needs no admin; only this note is left out
    if admin:
        blocks.append(
            Note(text("Admins: ", QUESTIONS_USAGE, "; changes apply from the next pulse."))
        )
    return Reply(blocks=tuple(blocks))


def questions_form(ctx: CommandContext, labels: dict[str, str]) -> Reply:
    """`/pulse questions choose` (admins): a form with the next pulse's 1 to 5 questions."""
    ctx.require_admin("choose the pulse's questions")
    questions = pulse_questions.available(
        session=ctx.session, workspace_id=ctx.workspace_id, labels=labels
    )
    chosen = pulse_questions.chosen_ids(session=ctx.session, workspace_id=ctx.workspace_id)

    def option(question: pulse_questions.Question) -> tuple[str, str]:
        label = f"{question.statement}{' (mirrored)' if question.mirrored else ''}"
        # Slack shows at most 75 characters of an option.
        return question.id, label if len(label) <= 75 else label[:74] + "…"

    options = tuple(option(q) for q in questions)
    fields = tuple(
        FormField(
            f"q{number}",
            f"Question {number}",
            chosen[number - 1] if number <= len(chosen) else ("" if number == 1 else NOT_ASKED),
            kind=FieldKind.SELECT,
            options=options if number == 1 else ((NOT_ASKED, "(not asked)"), *options),
            optional=number > 1,
        )
        for number in range(1, pulse_questions.MAX_CHOSEN + 1)
    )
    return Reply(
        form=Form(
            callback_id=PULSE_QUESTIONS_FORM,
            title="Pulse questions",
            submit_label="Save",
            fields=fields,
        )
    )


def submit_questions(ctx: CommandContext, values: dict[str, str], _metadata: str) -> Reply:
    ctx.require_admin("choose the pulse's questions")
    labels = _question_labels(ctx)
    picked: list[tuple[str, str]] = []
    errors: dict[str, str] = {}
    for number in range(1, pulse_questions.MAX_CHOSEN + 1):
        field = f"q{number}"
        value = values.get(field, "").strip()
        if not value or value == NOT_ASKED:
            if number == 1:
                errors[field] = "Choose the first question."
            continue
        if value in (chosen for _, chosen in picked):
            errors[field] = "Chosen above already."
            continue
        picked.append((field, value))
    if errors:
        raise Invalid(field_errors=errors)
    for field, value in picked:
        try:
            pulse_questions.find(
                session=ctx.session, workspace_id=ctx.workspace_id, question_id=value, labels=labels
            )
        except pulse_questions.UnknownQuestion as exc:  # deleted meanwhile, or forged
            errors[field] = str(exc)
    if errors:
        raise Invalid(field_errors=errors)
    chosen = pulse_questions.choose(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        question_ids=[value for _, value in picked],
        labels=labels,
    )
    return Reply(
        blocks=(
            Paragraph(text(bold("From the next pulse:"))),
            Paragraph(replies.join_lines(_question_lines(chosen, labels, numbered=True))),
            *_signed_up_note(ctx),
        )
    )


def _question_bank(ctx: CommandContext, labels: dict[str, str]) -> Reply:
    questions = pulse_questions.available(
        session=ctx.session, workspace_id=ctx.workspace_id, labels=labels
    )
    chosen = pulse_questions.chosen_ids(session=ctx.session, workspace_id=ctx.workspace_id)
    blocks: list[Block] = [Heading("Pulse question bank")]
    categories = list(dict.fromkeys(q.category for q in questions))
    for category in categories:
        these = [q for q in questions if q.category == category]
        lines = _question_lines(these, labels, numbered=False, asked=frozenset(chosen))
        blocks.append(
            Paragraph(text(bold(category.capitalize()), "\n", *replies.join_lines(lines)))
        )
    blocks.append(
        Note(
            text(
                f"✓ asked by the next pulse, in this order: {', '.join(chosen)}. "
                "Admins: /pulse questions add ID, remove ID, set ID ID …"
            )
        )
    )
    return Reply(blocks=tuple(blocks))


def _change_questions(
    ctx: CommandContext,
    change: Callable[..., list[pulse_questions.Question]],
    typed: str,
    labels: dict[str, str],
) -> str:
    ids = typed.replace(",", " ").split()
    if not ids:
        raise Invalid("Name the questions by their ids (/pulse questions bank lists them).")
    change(session=ctx.session, workspace_id=ctx.workspace_id, question_ids=ids, labels=labels)
    return "Saved; the pulse open now, if any, keeps its questions."


def _custom_question(ctx: CommandContext, typed: str, labels: dict[str, str]) -> str:
    parts = [part.strip() for part in typed.split("|")]
    if len(parts) not in (1, 3):
        raise Invalid(
            "Write one statement, or a title and what each side is asked: "
            f"TITLE | FOR {labels['marketing'].upper()} | FOR {labels['it'].upper()}."
        )
    question = pulse_questions.create_custom(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        statement=parts[0],
        mirror=(parts[1], parts[2]) if len(parts) == 3 else None,
        labels=labels,
    )
    current = pulse_questions.chosen_ids(session=ctx.session, workspace_id=ctx.workspace_id)
    if len(current) < pulse_questions.MAX_CHOSEN:
        pulse_questions.add(
            session=ctx.session,
            workspace_id=ctx.workspace_id,
            question_ids=[question.id],
            labels=labels,
        )
        return f"Your question is saved as {question.id} and asked from the next pulse."
    return (
        f"Your question is saved as {question.id}. The pulse asks {pulse_questions.MAX_CHOSEN} "
        f"questions already: /pulse questions remove ID, then add {question.id}."
    )


def _delete_question(ctx: CommandContext, typed: str) -> str:
    if not typed.strip():
        raise Invalid("Name the question to delete by its id, e.g. custom-1.")
    question = pulse_questions.delete_custom(
        session=ctx.session, workspace_id=ctx.workspace_id, question_id=typed.split()[0]
    )
    return f"Deleted {question.id}; pulses that asked it keep their results."


def _signed_up_note(ctx: CommandContext) -> list[Block]:
    """An admin who changes the pulse gets its gap alert (told once, with how to stop)."""
    if not pulse_alerts.subscribe(
        session=ctx.session, workspace_id=ctx.workspace_id, user_ref=ctx.caller.user_ref
    ):
        return []
    return [
        Note(
            text(
                "You now get the pulse's gap alert by direct message; "
                "/pulse alerts me off to stop it."
            )
        )
    ]


def alerts_reply(ctx: CommandContext, args: str) -> Reply:
    """`/pulse alerts …` (admins): the gap alert's settings and who gets it."""
    ctx.require_admin("change the pulse's gap alert")
    sub, rest = split_first(args)
    value = rest.strip().lower()
    done = ""
    if sub == "gap":
        points = ascii_number(value.removesuffix("points").strip())
        if points is None:
            raise Invalid(
                "Give the gap as a number of points, e.g. /pulse alerts gap 15.", ALERTS_USAGE
            )
        with usage_line(ALERTS_USAGE):
            pulse_alerts.set_gap_points(
                session=ctx.session, workspace_id=ctx.workspace_id, points=points
            )
        done = f"Alert when a gap widens by {points} points or more."
    elif sub == "rate":
        share = ascii_number(value.removesuffix("%").strip())
        if share is None:
            raise Invalid(
                "Give the response rate as a percentage, e.g. /pulse alerts rate 30.", ALERTS_USAGE
            )
        with usage_line(ALERTS_USAGE):
            pulse_alerts.set_rate_share(
                session=ctx.session, workspace_id=ctx.workspace_id, share=share
            )
        done = (
            f"Alert when a side's response rate falls below {share}%."
            if share
            else "No alert on response rates."
        )
    elif sub in ("channel", "me"):
        if value not in ("on", "off"):
            raise Invalid(f"/pulse alerts {sub} on, or off.", ALERTS_USAGE)
        on = value == "on"
        if sub == "channel":
            pulse_alerts.set_channel(session=ctx.session, workspace_id=ctx.workspace_id, on=on)
            done = (
                "The shared channel gets a short post with each alert."
                if on
                else "No alert posts in the shared channel."
            )
        elif on:
            pulse_alerts.subscribe(
                session=ctx.session, workspace_id=ctx.workspace_id, user_ref=ctx.caller.user_ref
            )
            done = "You get the gap alert by direct message."
        else:
            pulse_alerts.unsubscribe(
                session=ctx.session, workspace_id=ctx.workspace_id, user_ref=ctx.caller.user_ref
            )
            done = "You no longer get the gap alert."
    elif sub:
        raise Invalid(f"/pulse alerts has no “{sub[:20]}” option.", ALERTS_USAGE)
    config = pulse_alerts.settings(session=ctx.session, workspace_id=ctx.workspace_id)
    workspace = workspaces.get_workspace(session=ctx.session, workspace_id=ctx.workspace_id)
    receives = ctx.caller.user_ref in config.recipients
    others = len(config.recipients) - (1 if receives else 0)
    admins = replies.counted(others, "other admin")
    by_dm = (
        ("you and " + admins if others else "you")
        if receives
        else (admins.replace("other ", "") if others else "nobody (/pulse alerts me on)")
    )
    blocks: list[Block] = [Paragraph(text(done))] if done else []
    blocks += [
        Heading("Pulse gap alert"),
        Fields(
            (
                (
                    "Gap widens by",
                    text(
                        f"{config.gap_points} points or more, against the average of its previous {pulse_alerts.AVERAGED_PULSES} pulses"
                    ),
                ),
                (
                    "Response rate",
                    text(f"below {config.rate_share}% on a side" if config.rate_share else "never"),
                ),
                (
                    "By direct message",
                    text(by_dm),
                ),
                (
                    "Shared channel",
                    text("a short post" if config.channel else "no post")
                    if workspace.shared_channel_ref
                    else text("none chosen (/bridge channel)"),
                ),
            )
        ),
        Note(
            text(
                "Checked as each weekly pulse closes, on what its results show: a side hidden "
                "for too few answers never sets it off. ",
                ALERTS_USAGE,
            )
        ),
    ]
    if sub and sub != "me":
        blocks += _signed_up_note(ctx)
    return Reply(blocks=tuple(blocks))


def alert_message(alert: pulse_alerts.Alert, workspace: WorkspaceView, *, short: bool) -> Reply:
    """The gap alert: in full to an admin, in short in the shared channel."""
    labels = _labels(workspace)
    when = f"{alert.poll.opened_at:%d %b}"
    lines: list[replies.Text] = []
    for gap in alert.gaps:
        title = text("“", gap.question, "”")
        over = "the previous pulse" if gap.pulses == 1 else f"the previous {gap.pulses} pulses"
        change = (
            f"the gap widened to {_points(gap.gap)} points, from {_points(gap.average)} "
            f"on average over {over}"
        )
        if short:
            lines.append(text("• ", *title, f": {change}."))
            continue
        marketing, it = labels["marketing"], labels["it"]
        if gap.mirror is not None:  # each side's view of the other
            marketing, it = f"{marketing} on {it}", f"{it} on {marketing}"
        views = f"{marketing} {gap.marketing_pct:.0f}% agree, {it} {gap.it_pct:.0f}%"
        lines.append(
            text(
                "• ",
                bold(f"Question {gap.number}"),
                " (",
                code(gap.question_id),
                ") ",
                *title,
                f": {change} ({views}).",
            ),
        )
    for fell in alert.rates:
        before = (
            f", from {fell.previous:.0f}% the pulse before" if fell.previous is not None else ""
        )
        lines.append(
            text(
                f"• {labels[fell.side]} answered less: {fell.rate:.0f}% "
                f"({fell.respondents} of {fell.invited}){before}, below the {alert.rate_share}% set."
            )
        )
    blocks: list[Block] = [
        Paragraph(text(bold(f"Pulse alert — pulse of {when}"))),
        Paragraph(replies.join_lines(lines)),
    ]
    if short:
        blocks.append(Note(text("/pulse for the results.")))
    else:
        blocks.append(
            Note(
                text(
                    f"You get this as an admin: a gap ({labels['marketing']} minus {labels['it']}, "
                    f"% agree) wider by {alert.gap_points} points or more than its recent average, "
                    "or a side's response rate falling below the share set. /pulse for the "
                    "results · /pulse alerts to change this · /pulse alerts me off to stop it."
                )
            )
        )
    return Reply(blocks=tuple(blocks), visibility=Visibility.CHANNEL)


def _points(value: float) -> str:
    return f"{'+' if value >= 0 else ''}{value:.0f}"


# -- quick polls --------------------------------------------------------------------


def ask(ctx: CommandContext, rest: str) -> Reply:
    """`/pulse ask QUESTION | A | B`: a quick poll posted in this channel."""
    if "|" not in rest:
        raise Invalid("Separate the question and the options with |.", ASK_USAGE)
    question, *options = rest.split("|")
    if not ctx.channel_ref:
        raise Invalid("Quick polls are posted in a channel; run this in one.", ASK_USAGE)
    ctx.require_posting_allowance()
    with usage_line(ASK_USAGE):
        poll = pulse.create_adhoc(
            session=ctx.session,
            workspace_id=ctx.workspace_id,
            question=question,
            options=options,
            author_ref=ctx.caller.user_ref,
            channel_ref=ctx.channel_ref,
            now=ctx.now,
        )
    outbox.queue_post(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        key=f"{OUTBOX_PREFIX}:{poll.id}",
        now=ctx.now,
    )
    return Reply(wake_scheduler=True)


def ask_message(poll: PollView, counts: list[int]) -> Reply:
    total = sum(counts)
    lines = []
    for number, (option, count) in enumerate(zip(poll.options, counts, strict=True), start=1):
        share = round(100 * count / total) if total else 0
        bar = "█" * round(share / 10) + "░" * (10 - round(share / 10))
        lines.append(text(f"{number}. {bar} {count} ({share}%) ", option))
    blocks: list[Block] = [
        Paragraph(text(bold(poll.questions[0]))),
        Paragraph(replies.join_lines(lines)),
        Note(
            text(
                *(("Asked by ", replies.user(poll.author_ref), " · ") if poll.author_ref else ()),
                replies.counted(total, "vote"),
                " · closed" if not poll.is_open else " · one vote each, you can change it",
            )
        ),
    ]
    if poll.is_open:
        buttons = [
            Button(option[:75], PULSE_ASK_VOTE, f"{poll.id}:{n}")
            for n, option in enumerate(poll.options)
        ]
        blocks.append(Buttons(tuple(buttons)))
        blocks.append(
            Buttons((Button("Close poll", PULSE_ASK_CLOSE, str(poll.id), ButtonStyle.DANGER),))
        )
        blocks.append(
            Note(
                text(
                    f"Quick poll {poll.id} · /pulse vote {poll.id} OPTION · /pulse close {poll.id}"
                )
            )
        )
    else:
        blocks.append(Note(text(f"Quick poll {poll.id}")))
    return Reply(blocks=tuple(blocks), visibility=Visibility.CHANNEL)


def ask_vote(ctx: CommandContext, value: str, secret_key: str) -> Reply:
    poll_id, option = _split_value(value, 2)
    try:
        pulse.vote(
            session=ctx.session,
            workspace_id=ctx.workspace_id,
            poll_id=poll_id,
            question=0,
            value=option,
            user_ref=ctx.caller.user_ref,
            secret_key=secret_key,
            now=ctx.now,
        )
    except (PulseRefused, NotInAudience):  # a stale or forged option: as good as gone
        raise PollNotFound(poll_id) from None
    return Reply(outbox=(Outgoing(refresh_key=f"{OUTBOX_PREFIX}:{poll_id}"),))


def ask_close(ctx: CommandContext, value: str) -> Reply:
    (poll_id,) = _split_value(value, 1)
    poll = pulse.get_poll(session=ctx.session, workspace_id=ctx.workspace_id, poll_id=poll_id)
    # Admins too: a poll has no closing time, and its author may have left (forget-me).
    if poll.author_ref != ctx.caller.user_ref and not ctx.caller.has_admin_rights():
        raise NotAllowed("Only the person who asked, or an admin, can close this poll.")
    pulse.close(session=ctx.session, workspace_id=ctx.workspace_id, poll_id=poll_id, now=ctx.now)
    return Reply(outbox=(Outgoing(refresh_key=f"{OUTBOX_PREFIX}:{poll_id}"),))


def record_poll(ctx: CommandContext, key: str, posted: PostedMessage) -> None:
    (poll_id,) = _split_value(key.split(":", 1)[1], 1)
    pulse.record_message(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        poll_id=poll_id,
        channel_ref=posted.conversation_ref,
        message_ref=posted.message_ref,
    )


def render_poll(ctx: CommandContext, key: str) -> QueuedPost | None:
    """The queued post of a quick poll; None if it is gone or was posted already."""
    (poll_id,) = _split_value(key.split(":", 1)[1], 1)
    try:
        poll = pulse.get_poll(session=ctx.session, workspace_id=ctx.workspace_id, poll_id=poll_id)
    except PollNotFound:
        return None
    if poll.channel_ref is None or poll.message_ref is not None:
        return None
    counts = pulse.option_counts(
        session=ctx.session, workspace_id=ctx.workspace_id, poll_id=poll_id
    )
    return QueuedPost(
        conversation_ref=poll.channel_ref,
        reply=ask_message(poll, counts),
        author_ref=poll.author_ref,
        what="poll",
    )


def refresh_poll(ctx: CommandContext, key: str) -> tuple[PostedMessage, Reply] | None:
    (poll_id,) = _split_value(key.split(":", 1)[1], 1)
    try:
        poll = pulse.get_poll(session=ctx.session, workspace_id=ctx.workspace_id, poll_id=poll_id)
    except PollNotFound:
        return None
    if poll.channel_ref is None or poll.message_ref is None:
        return None
    counts = pulse.option_counts(
        session=ctx.session, workspace_id=ctx.workspace_id, poll_id=poll_id
    )
    return PostedMessage(poll.channel_ref, poll.message_ref), ask_message(poll, counts)


# -- typed forms of the buttons (the console, Teams) ---------------------------------


def _only_you_see(ctx: CommandContext, what: str) -> None:
    """Refuse an anonymous answer typed where others read it; nothing is saved."""
    if ctx.typed_where_others_see:
        raise NotAllowed(
            f"Everyone here can read what you type, so {what} was not saved. "
            "Type it in your chat with bridgebot, where only you see it."
        )


def _open_pulse(ctx: CommandContext) -> PollView:
    poll = pulse.open_weekly_poll(session=ctx.session, workspace_id=ctx.workspace_id)
    if poll is None:
        raise NotFound("No weekly pulse is open now; the next one comes by direct message.")
    return poll


def _example_answer(questions: int) -> str:
    """Answers to show as an example: `4 4 5` for three questions."""
    return " ".join(("4 4 5 3 4" if questions >= 3 else "4 5").split()[:questions]) or "4"


def parse_answers(
    typed: str, questions: int | list[int], *, asked_of_others: int = 0
) -> dict[int, int]:
    """`4 4 5` (a value for each question asked, in order) or `2=4 3=5` (chosen questions,
    by their numbers): question index -> value, every value on the 1 to 5 scale.

    `questions` is how many the pulse asks, or the numbers of those the person is asked
    (a mirrored pair is not asked of everyone: `asked_of_others` is the pulse's count).
    """
    numbers = list(range(1, questions + 1)) if isinstance(questions, int) else questions
    tokens = typed.split()
    if not tokens:
        raise Invalid("Give your answers, for example /pulse answer 4 4 5.", ANSWER_USAGE)
    paired = ["=" in token for token in tokens]
    if all(paired):
        pairs = [tuple(token.split("=", 1)) for token in tokens]
    elif not any(paired) and len(tokens) == len(numbers):
        pairs = [(str(n), token) for n, token in zip(numbers, tokens, strict=True)]
    else:
        raise Invalid(
            f"Give a value for each of the {len(numbers)} questions, in order "
            f"(/pulse answer {_example_answer(len(numbers))}), "
            f"or one question's as {numbers[min(1, len(numbers) - 1)]}=4.",
            ANSWER_USAGE,
        )
    chosen: dict[int, int] = {}
    for question_text, value_text in pairs:
        question, value = ascii_number(question_text), ascii_number(value_text)
        if question is not None and question not in numbers and 1 <= question <= asked_of_others:
            raise Invalid(
                f"Question {question} asks each of the two sides about the other; "
                "it is not asked of yours.",
                ANSWER_USAGE,
            )
        if question is None or question not in numbers:
            listed = (
                f"1 to {len(numbers)}"
                if numbers == list(range(1, len(numbers) + 1))
                else ", ".join(str(n) for n in numbers)
            )
            raise Invalid(f"The questions are numbered {listed}.", ANSWER_USAGE)
        if value is None or not 1 <= value <= len(pulse.SCALE):
            raise Invalid(
                "Answers go from 1 (strongly disagree) to 5 (strongly agree).", ANSWER_USAGE
            )
        if question - 1 in chosen:
            raise Invalid(f"Question {question} is answered twice.", ANSWER_USAGE)
        chosen[question - 1] = value
    return chosen


def answer_typed(ctx: CommandContext, typed: str, secret_key: str) -> Reply:
    """`/pulse answer 4 4 5`: the 1-5 buttons of the weekly pulse, all or none saved."""
    _only_you_see(ctx, "your answer")
    poll = _open_pulse(ctx)
    pulse.check_may_answer(  # not in its audience: refused before reading the answers
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        poll_id=poll.id,
        user_ref=ctx.caller.user_ref,
        now=ctx.now,
    )
    side = pulse_audience.frozen_side(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        poll_id=poll.id,
        user_ref=ctx.caller.user_ref,
    )
    asked = [index + 1 for index, _ in poll.statements_for(side)]
    for question, value in parse_answers(typed, asked, asked_of_others=len(poll.questions)).items():
        vote(ctx, f"{poll.id}:{question}:{value}", secret_key)
    mine = pulse.my_answers(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        poll_id=poll.id,
        user_ref=ctx.caller.user_ref,
        secret_key=secret_key,
    )
    scale = dict(pulse.SCALE)
    given = " · ".join(f"{n + 1}. {scale[value]}" for n, value in sorted(mine.items()))
    closes = f" until {poll.closes_at:%a %d %b %H:%M} UTC" if poll.closes_at else ""
    blocks: list[Block] = [
        Paragraph(text("Saved without your name: ", given, ".")),
        Note(text(f"You can change your answers{closes}: type /pulse answer again.")),
    ]
    missing = [str(n) for n in asked if n - 1 not in mine]
    if missing:
        blocks.append(
            Note(text(f"Still open: question {', '.join(missing)} (/pulse answer {missing[0]}=4)."))
        )
    return Reply(blocks=tuple(blocks))


def comment_typed(ctx: CommandContext, typed: str, secret_key: str) -> Reply:
    """`/pulse comment TEXT` saves the weekly pulse's anonymous comment; alone, it opens
    the comment form (where an empty comment removes one)."""
    poll = _open_pulse(ctx)
    if not typed.strip():
        return comment_form(ctx, str(poll.id))
    _only_you_see(ctx, "your comment")
    pulse.save_comment(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        poll_id=poll.id,
        user_ref=ctx.caller.user_ref,
        text=typed,
        secret_key=secret_key,
        now=ctx.now,
    )
    return replies.message("Thanks — your comment is saved without your name.")


def _quick_poll(ctx: CommandContext, poll_text: str) -> PollView:
    poll_id = ascii_number(poll_text.removeprefix("#"))
    if poll_id is None:
        raise Invalid("Give the poll's number, as its card shows it.", VOTE_USAGE)
    try:
        poll = pulse.get_poll(session=ctx.session, workspace_id=ctx.workspace_id, poll_id=poll_id)
    except PollNotFound:
        poll = None
    if poll is None or poll.kind != pulse.ADHOC:  # a weekly pulse is answered with /pulse answer
        raise NotFound(f"There is no quick poll {poll_id}; its number is on its card.")
    return poll


def vote_typed(ctx: CommandContext, typed: str, secret_key: str) -> Reply:
    """`/pulse vote POLL OPTION`: an option's button on a quick poll's card."""
    parts = typed.split()
    if len(parts) != 2:
        raise Invalid(
            "Give the poll's number and the option's, for example /pulse vote 3 2.", VOTE_USAGE
        )
    _only_you_see(ctx, "your vote")
    poll = _quick_poll(ctx, parts[0])
    option = ascii_number(parts[1])
    if option is None or not 1 <= option <= len(poll.options):
        raise Invalid(f"Quick poll {poll.id} has options 1 to {len(poll.options)}.", VOTE_USAGE)
    voted = ask_vote(ctx, f"{poll.id}:{option - 1}", secret_key)
    return Reply(
        blocks=(
            Paragraph(
                text(
                    "Your vote for “",
                    poll.options[option - 1],
                    "” counts; vote again to change it.",
                )
            ),
        ),
        outbox=voted.outbox,
    )


def close_typed(ctx: CommandContext, typed: str) -> Reply:
    """`/pulse close POLL`: the Close poll button."""
    poll = _quick_poll(ctx, typed.strip())
    closed = ask_close(ctx, str(poll.id))
    return Reply(
        blocks=(
            Paragraph(text(f"Quick poll {poll.id} is closed; its card shows the final count.")),
        ),
        outbox=closed.outbox,
    )
