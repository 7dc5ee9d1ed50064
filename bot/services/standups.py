"""Joint stand-ups: schedules, skips, planning their deliveries, async answers and digests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, tuple_, update
from sqlalchemy.orm import Session

from bot.errors import Invalid, NotAllowed, NotFound
from bot.models import (
    Occurrence,
    OccurrenceStatus,
    Person,
    Side,
    Standup,
    StandupAnswer,
    StandupDigest,
    StandupSkip,
)
from bot.services import availability, occurrences
from bot.services.holiday_calendars import UnknownCalendar, parse_calendars
from bot.services.recurrence import (
    RecurrenceError,
    Weekly,
    check_timezone,
    format_weekdays,
    parse_time,
    parse_weekdays,
)
from bot.textinput import ascii_number, link_problem

DEFAULT_QUESTIONS = (
    "A win to share",
    "A challenge you face",
    "What you need from the other side",
)
MODES = ("meeting", "async")
MAX_QUESTIONS = 8
MAX_PARTICIPANTS = 200
# Plan deliveries this far ahead; re-plan when less than half of it is left.
PLANNING_HORIZON = timedelta(days=2)
# After an outage, deliveries are planned (and recorded as missed) this far back at most.
MAX_CATCH_UP = timedelta(days=14)
# A tick plans stand-ups this many at a time, soonest-ending plan first, and starts no
# batch that would end past PLANNING_BUDGET (the first batch always runs), so thousands
# of plans never make one slow tick. Plans merely running out within the day (thousands
# at once, if they were all made together) wait for the next minute's tick. Plans that
# have run out (new and changed stand-ups, or after an outage) may have something due
# now: while any are left, the tick is run again at once (after delivering what is due),
# so 10,000 stand-ups created together are planned over a few seconds of short ticks.
PLANNING_BATCH = 25
RAN_OUT_BATCH = 100  # plans that ran out are made in larger batches: fewer round trips
PLANNING_BUDGET = timedelta(milliseconds=100)

# Occurrence kinds. A fan-out kind expands at its due time into one row per person.
REMINDER_POST = "standup.reminder"
REMINDER_FANOUT = "standup.reminder.fanout"
REMINDER_DM = "standup.reminder.dm"
QUESTIONS_FANOUT = "standup.questions.fanout"
QUESTIONS_DM = "standup.questions.dm"
DIGEST = "standup.digest"
# A late answer or an edit after the digest: the digest's message is updated in place.
DIGEST_UPDATE = "standup.digest.update"
# The one reminder, before the digest, to those asked who have not answered yet.
NUDGE_FANOUT = "standup.nudge.fanout"
NUDGE_DM = "standup.nudge.dm"
KINDS = (
    REMINDER_POST,
    REMINDER_FANOUT,
    REMINDER_DM,
    QUESTIONS_FANOUT,
    QUESTIONS_DM,
    DIGEST,
    DIGEST_UPDATE,
    NUDGE_FANOUT,
    NUDGE_DM,
)
# How far back `open_round` looks for the round taking answers: answers are taken until
# the next run, which is at most a week away unless weeks are skipped.
ANSWERS_LOOK_BACK = timedelta(weeks=8)


class StandupNotFound(NotFound):
    """Deleted, or another workspace's; scheduled work for it is dropped."""


class StandupNotAllowed(NotAllowed):
    """Only its creator or an admin may change a stand-up; only an author shares an answer."""


class InvalidStandup(Invalid):
    """A draft's problems by field (a form), or a day or a state a command cannot use."""


class AnswerRefused(NotAllowed):
    """Answers once the next round has started, or from someone not taking part."""


MAX_DEADLINE_MINUTES = 24 * 60  # an async round takes answers for at most a day

# A stand-up looked up by its id (a button, a scheduled job) that is no longer there.
GONE = "That stand-up has been deleted."


@dataclass(frozen=True)
class StandupDraft:
    name: str
    channel_ref: str
    weekdays: str
    local_time: str
    timezone: str
    mode: str = "meeting"
    call_link: str = ""
    questions: str = "\n".join(DEFAULT_QUESTIONS)
    participants: str = ""
    both_sides: bool = False
    reminder_lead_minutes: str = "15"
    deadline_minutes: str = "120"
    holidays: str = ""  # holiday calendars, "GB, US-CA": no round on their holidays
    nudge_minutes: str = ""  # empty or "off": no nudge


@dataclass(frozen=True)
class StandupView:
    id: int
    number: int
    workspace_id: str
    name: str
    channel_ref: str
    weekly: Weekly
    mode: str
    call_link: str | None
    questions: tuple[str, ...]
    participants: tuple[str, ...]
    both_sides: bool
    reminder_lead: timedelta
    deadline: timedelta
    # The nudge goes this long before the digest; None: no nudge.
    nudge: timedelta | None
    paused: bool
    creator_ref: str | None
    calendar_token: str
    skipped: tuple[date, ...]
    created_at: datetime

    def next_start(self, now: datetime) -> tuple[date, datetime] | None:
        if self.paused:
            return None
        return self.weekly.next_after(now, self.skipped)


@dataclass(frozen=True)
class AnswerSheet:
    """Who answered what for one occurrence of an async stand-up, for the digest."""

    standup: StandupView
    local_date: date
    answers: list[tuple[str, Side | None, tuple[str, ...]]]  # user, side, answers
    missing: list[str]
    # Not asked (or asked, then away) and no answer: on time off, or on a holiday of their
    # own region; with "away" or the holiday's name, never more.
    away: tuple[tuple[str, str], ...] = ()
    # Who answered after the digest was due, and who changed their answers after it.
    late: frozenset[str] = frozenset()
    edited: frozenset[str] = frozenset()


def _parse(draft: StandupDraft) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    name = draft.name.strip()
    if not name:
        errors["name"] = "Give the stand-up a name."
    elif len(name) > 80:
        errors["name"] = "Keep the name under 80 characters."
    values["name"] = name
    if not draft.channel_ref.strip():
        errors["channel"] = "Choose the channel where it happens."
    values["channel_ref"] = draft.channel_ref.strip()
    for field, parse in (
        ("weekdays", parse_weekdays),
        ("time", parse_time),
        ("timezone", check_timezone),
    ):
        raw = {"weekdays": draft.weekdays, "time": draft.local_time, "timezone": draft.timezone}[
            field
        ]
        try:
            values[field] = parse(raw)
        except RecurrenceError as exc:
            errors[field] = str(exc)
    mode = draft.mode.strip().lower()
    if mode not in MODES:
        errors["mode"] = "Mode is meeting (a live call) or async (answers by DM)."
    values["mode"] = mode
    link = draft.call_link.strip()
    problem = link_problem(link) if link else None
    if problem:
        errors["call_link"] = problem
    elif len(link) > 500:
        errors["call_link"] = "That link is too long."
    values["call_link"] = link or None
    questions = [q.strip() for q in draft.questions.splitlines() if q.strip()]
    if not questions:
        questions = list(DEFAULT_QUESTIONS)
    if len(questions) > MAX_QUESTIONS:
        errors["questions"] = f"At most {MAX_QUESTIONS} questions, one per line."
    elif any(len(q) > 200 for q in questions):
        errors["questions"] = "Keep each question under 200 characters."
    values["questions"] = questions
    people = [p.strip() for p in draft.participants.split(",") if p.strip()]
    if len(people) > MAX_PARTICIPANTS:
        errors["participants"] = f"At most {MAX_PARTICIPANTS} people."
    if not people and not draft.both_sides:
        errors["participants"] = "Choose people, or “everyone on both sides”."
    values["participants"] = list(dict.fromkeys(people))
    values["both_sides"] = draft.both_sides
    for field, raw, upper in (
        ("reminder_lead", draft.reminder_lead_minutes, 24 * 60),
        ("deadline", draft.deadline_minutes, MAX_DEADLINE_MINUTES),
    ):
        minutes = ascii_number(raw.strip() or "0")
        if minutes is None:
            errors[field] = "Write a number of minutes, such as 15."
            continue
        if not 0 <= minutes <= upper:
            errors[field] = f"Between 0 and {upper} minutes."
        values[field] = minutes
    if mode == "async" and values.get("deadline") == 0:
        errors["deadline"] = "Give people some minutes to answer."
    try:
        values["holidays"] = parse_calendars(draft.holidays)
    except UnknownCalendar as exc:
        errors["holidays"] = str(exc)
    nudge, problem = parse_nudge(draft.nudge_minutes, mode=mode, deadline=values.get("deadline"))
    if problem:
        errors["nudge"] = problem
    values["nudge"] = nudge
    return values, errors


def parse_nudge(raw: str, *, mode: str, deadline: int | None) -> tuple[int | None, str | None]:
    """The nudge's minutes before the digest (None: no nudge) and the problem with `raw`.

    Empty, "off", "no" or "0" mean no nudge. A nudge goes between the start and the
    digest, so it is fewer minutes than the time to answer, and only async rounds have one.
    """
    text = raw.strip().lower()
    if text in {"", "off", "no", "none", "0"}:
        return None, None
    minutes = ascii_number(text.removesuffix("minutes").removesuffix("min").strip())
    if minutes is None:
        return None, "Write a number of minutes before the digest, such as 30, or off."
    if mode != "async":
        return None, "Only async stand-ups nudge: a live call has no digest to answer before."
    if deadline is not None and not 0 < minutes < deadline:
        return None, (
            f"Between 1 and {max(deadline - 1, 1)} minutes: the nudge goes after the questions "
            f"and before the digest, {deadline} minutes after the start."
        )
    return minutes, None


def draft_problems(draft: StandupDraft) -> dict[str, str]:
    """What `create` would refuse in the draft, by field; empty when it can be created."""
    return _parse(draft)[1]


def calendar_token(secret_key: str, workspace_id: str, number: int, created_at: datetime) -> str:
    """An unguessable, stable token for the stand-up's calendar URL, keyed by the secret."""
    message = f"calendar:{workspace_id}:{number}:{created_at.isoformat()}".encode()
    digest = hmac.new(secret_key.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def create(
    *,
    session: Session,
    workspace_id: str,
    draft: StandupDraft,
    creator_ref: str,
    now: datetime,
    secret_key: str,
) -> StandupView:
    """Create a stand-up; its deliveries are planned on the next tick.

    Raises:
        InvalidStandup: with a message per field.
    """
    values, errors = _parse(draft)
    if errors:
        raise InvalidStandup(field_errors=errors)
    number = (
        session.execute(
            select(func.max(Standup.number)).where(Standup.workspace_id == workspace_id)
        ).scalar_one_or_none()
        or 0
    ) + 1
    row = Standup(
        workspace_id=workspace_id,
        number=number,
        name=values["name"],
        channel_ref=values["channel_ref"],
        weekdays=format_weekdays(values["weekdays"]),
        local_time=values["time"],
        timezone=values["timezone"],
        mode=values["mode"],
        call_link=values["call_link"],
        questions=values["questions"],
        participants=values["participants"],
        both_sides=values["both_sides"],
        reminder_lead_minutes=values["reminder_lead"],
        deadline_minutes=values["deadline"],
        holiday_calendars=list(values["holidays"]),
        nudge_minutes=values["nudge"],
        creator_ref=creator_ref,
        calendar_token=calendar_token(secret_key, workspace_id, number, now),
        created_at=now,
        updated_at=now,
        planned_until=now,  # the first tick plans from the moment of creation
    )
    session.add(row)
    session.flush()
    return _view(session, row)


def _row(session: Session, workspace_id: str, number: int, gone: str | None = None) -> Standup:
    row = session.execute(
        select(Standup).where(Standup.workspace_id == workspace_id, Standup.number == number)
    ).scalar_one_or_none()
    if row is None:
        raise StandupNotFound(gone or f"There is no stand-up {number}. /standup list shows them.")
    return row


def get(*, session: Session, workspace_id: str, number: int) -> StandupView:
    return _view(session, _row(session, workspace_id, number))


def get_by_id(*, session: Session, workspace_id: str, standup_id: int) -> StandupView:
    row = session.execute(
        select(Standup).where(Standup.workspace_id == workspace_id, Standup.id == standup_id)
    ).scalar_one_or_none()
    if row is None:
        raise StandupNotFound(GONE)
    return _view(session, row)


def get_by_calendar_token(*, session: Session, token: str) -> StandupView | None:
    row = session.execute(
        select(Standup).where(Standup.calendar_token == token)
    ).scalar_one_or_none()
    return _view(session, row) if row else None


def list_standups(*, session: Session, workspace_id: str) -> list[StandupView]:
    rows = session.execute(
        select(Standup).where(Standup.workspace_id == workspace_id).order_by(Standup.number)
    ).scalars()
    return [_view(session, row) for row in rows]


def may_change(
    row: Standup | StandupView, user_ref: str, is_admin: bool, verb: str = "change"
) -> None:
    """Refuse anyone but its creator or an admin (StandupNotAllowed, saying who may `verb` it)."""
    if not is_admin and row.creator_ref != user_ref:
        raise StandupNotAllowed(
            f"Only the person who created this stand-up or an admin can {verb} it."
        )


def _replan(session: Session, row: Standup, now: datetime) -> None:
    """Forget planned deliveries that have not happened; the next tick plans from `now`.

    Planning from the moment of the change, not from whenever a tick gets to it, means
    a stand-up that waits a few ticks for its turn (thousands changed at once) still
    gets what fell due meanwhile: sent within the grace period, else recorded as missed.
    A round already under way keeps its deliveries: its digest still posts the answers.
    """
    _cancel_pending(session, row, starting_from=now)
    row.planned_until = now


def _cancel_pending(
    session: Session,
    row: Standup,
    local_date: date | None = None,
    starting_from: datetime | None = None,
) -> None:
    """Cancel the deliveries not yet made: of one day's round, or of rounds starting from
    `starting_from` on. An update of a posted digest is never cancelled: it carries
    answers already given."""
    conditions = [
        Occurrence.workspace_id == row.workspace_id,
        Occurrence.subject_ref == _subject(row.id),
        Occurrence.kind.in_([kind for kind in KINDS if kind != DIGEST_UPDATE]),
        Occurrence.status == OccurrenceStatus.PENDING.value,
    ]
    if local_date is not None:
        conditions.append(Occurrence.payload["local_date"].as_string() == local_date.isoformat())
    if starting_from is not None:
        # A handful of rows (two days planned): JSON holds the start as text, read here.
        pending = session.execute(select(Occurrence.id, Occurrence.payload).where(*conditions))
        upcoming = [
            occurrence_id
            for occurrence_id, payload in pending
            if datetime.fromisoformat(payload["start"]) >= starting_from
        ]
        conditions.append(Occurrence.id.in_(upcoming))
    session.execute(
        update(Occurrence).where(*conditions).values(status=OccurrenceStatus.CANCELLED.value)
    )


def set_paused(
    *,
    session: Session,
    workspace_id: str,
    number: int,
    paused: bool,
    user_ref: str,
    is_admin: bool,
    now: datetime,
) -> StandupView:
    row = _row(session, workspace_id, number)
    may_change(row, user_ref, is_admin)
    if row.paused != paused:  # resuming a running stand-up changes nothing
        row.paused = paused
        _replan(session, row, now)
        session.flush()
    return _view(session, row)


def set_holiday_calendars(
    *,
    session: Session,
    workspace_id: str,
    number: int,
    calendars: str,
    user_ref: str,
    is_admin: bool,
    now: datetime,
) -> StandupView:
    """Name the stand-up's holiday calendars ("GB, US-CA"; "none" for none). Rounds not
    yet under way are planned again: a new holiday's deliveries are cancelled, those of a
    day no longer a holiday come back, none twice.

    Raises:
        InvalidStandup: a calendar code unknown (the message lists the valid ones).
    """
    row = _row(session, workspace_id, number)
    may_change(row, user_ref, is_admin)
    try:
        codes = list(parse_calendars(calendars))
    except UnknownCalendar as exc:
        raise InvalidStandup(str(exc)) from None
    if codes != list(row.holiday_calendars or ()):
        row.holiday_calendars = codes
        _replan(session, row, now)
        session.flush()
    return _view(session, row)


def delete_standup(
    *, session: Session, workspace_id: str, number: int, user_ref: str, is_admin: bool
) -> str:
    row = _row(session, workspace_id, number, gone="That stand-up was already deleted.")
    may_change(row, user_ref, is_admin, "delete")
    # Every delivery row goes too, not only those pending: a later stand-up given the
    # same id (SQLite reuses the highest) must not inherit its digests and deadlines.
    session.execute(
        delete(Occurrence).where(
            Occurrence.workspace_id == row.workspace_id,
            Occurrence.subject_ref == _subject(row.id),
            Occurrence.kind.in_(KINDS),
        )
    )
    name = row.name
    session.delete(row)
    session.flush()
    return name


def skip(
    *,
    session: Session,
    workspace_id: str,
    number: int,
    local_date: date,
    user_ref: str,
    is_admin: bool,
    now: datetime,
) -> StandupView:
    """Cancel one occurrence (a holiday).

    Raises:
        InvalidStandup: the date is past or not one of the stand-up's days.
    """
    row = _row(session, workspace_id, number)
    may_change(row, user_ref, is_admin)
    view = _view(session, row)
    if local_date.weekday() not in view.weekly.weekdays:
        raise InvalidStandup(f"{row.name} does not meet on {local_date:%A %d %B}.")
    if holiday := view.weekly.holiday_on(local_date):
        raise InvalidStandup(
            f"{row.name} does not run on {local_date:%A %d %B} anyway: it is {holiday}."
        )
    if view.weekly.start_on(local_date) < now:
        raise InvalidStandup(f"{local_date.isoformat()} has already started or passed.")
    if local_date in view.skipped:
        # Already off (or taken by /standup now, whose round is that day's: it goes on).
        return view
    session.add(StandupSkip(workspace_id=workspace_id, standup_id=row.id, local_date=local_date))
    # Only that day: an occurrence under way (answers coming in) keeps its digest.
    _cancel_pending(session, row, local_date)
    session.flush()
    return _view(session, row)


def run_now(
    *,
    session: Session,
    workspace_id: str,
    number: int,
    user_ref: str,
    is_admin: bool,
    now: datetime,
) -> tuple[StandupView, date]:
    """Hold today's round now, in the stand-up's time zone; later days are left alone.

    If today is one of its days and the usual time is still ahead, that round is the one
    held now (skipped at its usual time). A round already under way today goes on, and
    running it again holds another round of today's answers.
    """
    row = _row(session, workspace_id, number)
    may_change(row, user_ref, is_admin)
    if row.paused:
        # A paused stand-up sends nothing; running it would contradict the pause.
        raise InvalidStandup(
            f"{row.name} is paused: resume it first with /standup resume {number}."
        )
    view = _view(session, row)
    local_date = now.astimezone(view.weekly.zone).date()
    if local_date.weekday() in view.weekly.weekdays and view.weekly.start_on(local_date) > now:
        if local_date not in view.skipped:
            session.add(
                StandupSkip(workspace_id=workspace_id, standup_id=row.id, local_date=local_date)
            )
        # Today's usual round, not yet started; a round already under way goes on.
        _cancel_pending(session, row, local_date, starting_from=now)
        session.flush()
        view = _view(session, row)
    _plan_occurrence(session, view, local_date, start=now, not_before=now, lead=timedelta(0))
    return view, local_date


def plan_due(
    *,
    session: Session,
    now: datetime,
    budget: timedelta | None = None,
    behind: Callable[[], None] | None = None,
) -> int:
    """Plan the deliveries of stand-ups whose plan runs out soon; returns how many planned.

    Only stand-ups behind their horizon are read, so a tick stays cheap with thousands.
    Batches go soonest-ending plan first: at least one, and more while `budget`
    (PLANNING_BUDGET by default) lasts.
    When the budget stops it with plans that have run out still waiting (something of
    theirs may be due now), `behind` is called: the scheduler then ticks again at once.
    """
    seconds = (PLANNING_BUDGET if budget is None else budget).total_seconds()
    started = last = time.monotonic()
    total = 0
    size = PLANNING_BATCH
    while batch := _plan_batch(session, now, size):
        total += len(batch)
        # Plans come soonest-ending first: past the last batch's end, none has run out.
        ran_out = _ran_out(batch[-1], now)
        size = RAN_OUT_BATCH if ran_out else PLANNING_BATCH
        # Another batch only if it should end within the budget, at the pace the last
        # went (per stand-up: the next batch may be larger).
        finished = time.monotonic()
        if finished - started + (finished - last) / len(batch) * size > seconds:
            if ran_out and behind is not None and _any_ran_out(session, now):
                behind()
            break
        last = finished
    return total


def _any_ran_out(session: Session, now: datetime) -> bool:
    """Whether a stand-up that is not paused has a plan that has run out."""
    return (
        session.execute(
            select(Standup.id)
            .where(
                Standup.paused.is_(False),
                or_(Standup.planned_until.is_(None), Standup.planned_until <= now),
            )
            .limit(1)
        ).first()
        is not None
    )


def _ran_out(planned_until: datetime | None, now: datetime) -> bool:
    return planned_until is None or planned_until <= now


def _plan_batch(session: Session, now: datetime, size: int) -> list[datetime | None]:
    """Plan the next `size` stand-ups due for it; the ends their plans had."""
    threshold = now + PLANNING_HORIZON / 2
    rows = (
        session.execute(
            select(Standup)
            .where(
                Standup.paused.is_(False),
                or_(Standup.planned_until.is_(None), Standup.planned_until < threshold),
            )
            # The plans that end soonest first: new and changed stand-ups plan from the
            # moment of the change, so they come before those merely running out.
            .order_by(Standup.planned_until.asc().nulls_first(), Standup.id)
            .limit(size)
        )
        .scalars()
        .all()
    )
    until = now + PLANNING_HORIZON
    skipped = _skips(session, [row.id for row in rows])
    planned: list[occurrences.PlannedDelivery] = []
    ends: list[datetime | None] = []
    for row in rows:
        view = _view(session, row, skipped.get(row.id, ()))
        # A plan starts where the last stopped (or at the creation or change), even
        # after an outage longer than the horizon: what is past the grace period is
        # then claimed as missed (recorded, never sent late), the rest is sent. A row
        # without a start (inserted by hand) is planned from now.
        if row.planned_until is None:
            window = not_before = now
        else:
            window = not_before = max(row.planned_until, now - MAX_CATCH_UP)
        # Reminders go `lead` ahead: a start just past this plan's end has its reminders
        # in this plan (the next one starts at its end and takes nothing due before).
        reach = until + view.reminder_lead
        rounds = view.weekly.between(window, reach, view.skipped)
        reminded = _reminded(session, view, _late_for_reminder(rounds, not_before, view))
        for local_date, instant in rounds:
            deliveries = _planned(
                view,
                local_date,
                start=instant,
                not_before=not_before,
                lead=view.reminder_lead,
                remind_late=local_date not in reminded,
            )
            if instant >= until:
                deliveries = [d for d in deliveries if d.due_at < until]
            planned += deliveries
        ends.append(row.planned_until)
        row.planned_until = until
    occurrences.schedule_many(session=session, deliveries=planned)
    session.flush()
    return ends


def _subject(standup_id: int) -> str:
    return f"standup:{standup_id}"


def _late_for_reminder(
    rounds: Sequence[tuple[date, datetime]], not_before: datetime, view: StandupView
) -> list[date]:
    """The rounds that start after `not_before` with less than the reminder lead left."""
    return [day for day, start in rounds if start - view.reminder_lead < not_before <= start]


def _reminded(session: Session, view: StandupView, local_dates: list[date]) -> set[date]:
    """Which of these rounds already have a channel reminder (sent or planned)."""
    if not local_dates:
        return set()
    local_date = Occurrence.payload["local_date"].as_string()
    found = session.execute(
        select(local_date).where(
            Occurrence.workspace_id == view.workspace_id,
            Occurrence.subject_ref == _subject(view.id),
            Occurrence.kind == REMINDER_POST,
            Occurrence.status != OccurrenceStatus.CANCELLED.value,
            local_date.in_([day.isoformat() for day in local_dates]),
        )
    ).scalars()
    return {date.fromisoformat(day) for day in found}


def _planned(
    view: StandupView,
    local_date: date,
    *,
    start: datetime,
    not_before: datetime,
    lead: timedelta,
    remind_late: bool = True,
) -> list[occurrences.PlannedDelivery]:
    """One occurrence's deliveries that are not already behind `not_before`.

    The channel reminder and the reminder DMs go `lead` before the start; an async
    stand-up also sends its questions at the start and its digest at the deadline.
    A round planned with less than `lead` left (just created or resumed) is reminded
    at once rather than not at all, unless `remind_late` is off (it already was).
    """
    payload = {
        "standup_id": view.id,
        "local_date": local_date.isoformat(),
        "start": start.isoformat(),
    }
    reminder = start - lead
    if remind_late and reminder < not_before <= start:
        reminder = not_before
    planned = [(REMINDER_POST, reminder), (REMINDER_FANOUT, reminder)]
    if view.mode == "async":
        planned += [(QUESTIONS_FANOUT, start), (DIGEST, start + view.deadline)]
        if view.nudge:
            planned.append((NUDGE_FANOUT, start + view.deadline - view.nudge))
    return [
        occurrences.PlannedDelivery(
            workspace_id=view.workspace_id,
            kind=kind,
            subject_ref=_subject(view.id),
            due_at=due,
            payload=payload,
        )
        for kind, due in planned
        if due >= not_before
    ]


def _plan_occurrence(
    session: Session,
    view: StandupView,
    local_date: date,
    *,
    start: datetime,
    not_before: datetime,
    lead: timedelta,
) -> None:
    """Schedule one occurrence's deliveries that are not already behind `not_before`."""
    occurrences.schedule_many(
        session=session,
        deliveries=_planned(view, local_date, start=start, not_before=not_before, lead=lead),
    )


def get_many(
    *, session: Session, keys: Sequence[tuple[str, int]]
) -> dict[tuple[str, int], StandupView]:
    """Stand-ups by (workspace, id), read together; those deleted are left out."""
    if not keys:
        return {}
    rows = session.execute(
        select(Standup).where(tuple_(Standup.workspace_id, Standup.id).in_(list(set(keys))))
    ).scalars()
    found = list(rows)
    skipped = _skips(session, [row.id for row in found])
    return {
        (row.workspace_id, row.id): _view(session, row, skipped.get(row.id, ())) for row in found
    }


@dataclass(frozen=True)
class FanOut:
    """A fan-out delivery to expand: one delivery per participant, due at the same time."""

    workspace_id: str
    kind: str
    due_at: datetime
    payload: dict[str, Any]

    @property
    def standup_key(self) -> tuple[str, int]:
        return (self.workspace_id, int(self.payload["standup_id"]))


def fan_out_many(
    *, session: Session, fan_outs: Sequence[FanOut]
) -> list[tuple[StandupView | None, int]]:
    """Expand many fan-outs at once: for each, the stand-up (None if deleted) and how
    many deliveries it expands to. Expanding twice plans nothing new."""
    views = get_many(session=session, keys=[f.standup_key for f in fan_outs])
    planned: list[occurrences.PlannedDelivery] = []
    results: list[tuple[StandupView | None, int]] = []
    # Nobody on time off or on a holiday of their own region that day is asked or
    # reminded, while the round goes on for the others.
    available = _available_people(session, fan_outs, views)
    for f, people in zip(fan_outs, available, strict=True):
        view = views.get(f.standup_key)
        if view is not None and f.kind == NUDGE_FANOUT:
            people = to_nudge(session=session, view=view, payload=f.payload, moment=f.due_at)
        target = FAN_OUT_TARGETS[f.kind]
        planned += [
            occurrences.PlannedDelivery(
                workspace_id=f.workspace_id,
                kind=target,
                subject_ref=_subject(f.standup_key[1]),
                due_at=f.due_at,
                recipient_ref=user_ref,
                payload=f.payload,
            )
            for user_ref in people
        ]
        results.append((view, len(people)))
    occurrences.schedule_many(session=session, deliveries=planned)
    return results


def _available_people(
    session: Session,
    fan_outs: Sequence[FanOut],
    views: dict[tuple[str, int], StandupView],
) -> list[list[str]]:
    """For each fan-out, its stand-up's people who are not away at its round's start:
    read together for each workspace, so a tick expanding many rounds stays a few queries."""
    asks: dict[str, list[tuple[int, list[str], datetime]]] = {}
    for index, f in enumerate(fan_outs):
        view = views.get(f.standup_key)
        if view is not None:
            start = view.weekly.start_on(date.fromisoformat(f.payload["local_date"]))
            people = participants(session=session, view=view)
            asks.setdefault(f.workspace_id, []).append((index, people, start))
    available: list[list[str]] = [[] for _ in fan_outs]
    for workspace_id, of_workspace in asks.items():
        found = availability.unavailable_at_each(
            session=session,
            workspace_id=workspace_id,
            asks=[(people, start) for _, people, start in of_workspace],
        )
        for (index, people, _), away in zip(of_workspace, found, strict=True):
            available[index] = [person for person in people if person not in away]
    return available


FAN_OUT_TARGETS = {
    REMINDER_FANOUT: REMINDER_DM,
    QUESTIONS_FANOUT: QUESTIONS_DM,
    NUDGE_FANOUT: NUDGE_DM,
}


def to_nudge(
    *, session: Session, view: StandupView, payload: dict[str, Any], moment: datetime
) -> list[str]:
    """Who the round's nudge goes to: those its questions reached who have not answered,
    have not been nudged this round already (the nudge's time may have changed), and
    are neither away nor on a holiday of their own where they are at `moment`."""
    day = str(payload["local_date"])
    of_round = (
        Occurrence.workspace_id == view.workspace_id,
        Occurrence.subject_ref == _subject(view.id),
        Occurrence.payload["local_date"].as_string() == day,
    )
    asked = session.execute(
        select(Occurrence.recipient_ref)
        .where(
            *of_round,
            Occurrence.kind == QUESTIONS_DM,
            Occurrence.status == OccurrenceStatus.SENT.value,
        )
        .order_by(Occurrence.recipient_ref)
    ).scalars()
    nudged = set(
        session.execute(
            select(Occurrence.recipient_ref).where(
                *of_round,
                Occurrence.kind == NUDGE_DM,
                Occurrence.status != OccurrenceStatus.CANCELLED.value,
            )
        ).scalars()
    )
    answered = set(
        session.execute(
            select(StandupAnswer.user_ref).where(
                StandupAnswer.workspace_id == view.workspace_id,
                StandupAnswer.standup_id == view.id,
                StandupAnswer.local_date == date.fromisoformat(day),
            )
        ).scalars()
    )
    waiting = [p for p in dict.fromkeys(asked) if p not in answered and p not in nudged]
    away = availability.unavailable_at(
        session=session, workspace_id=view.workspace_id, user_refs=waiting, moment=moment
    )
    return [person for person in waiting if person not in away]


def set_nudge(
    *,
    session: Session,
    workspace_id: str,
    number: int,
    minutes: str,
    user_ref: str,
    is_admin: bool,
    now: datetime,
) -> StandupView:
    """Set (or turn off, with "off") the nudge before the digest, and plan it again.

    The nudges not yet sent are cancelled, the round under way's too, and planned at the
    new time; someone a round already nudged is not nudged again that round.

    Raises:
        InvalidStandup: a meeting, or minutes that do not fall between start and digest.
    """
    row = _row(session, workspace_id, number)
    may_change(row, user_ref, is_admin)
    value, problem = parse_nudge(minutes, mode=row.mode, deadline=row.deadline_minutes)
    if problem:
        raise InvalidStandup(problem)
    if row.nudge_minutes == value:
        return _view(session, row)
    row.nudge_minutes = value
    subject = (Occurrence.workspace_id == workspace_id, Occurrence.subject_ref == _subject(row.id))
    session.execute(
        update(Occurrence)
        .where(
            *subject,
            Occurrence.kind == NUDGE_FANOUT,
            Occurrence.status == OccurrenceStatus.PENDING.value,
        )
        .values(status=OccurrenceStatus.CANCELLED.value)
    )
    _replan(session, row, now)  # later rounds: planned again by the next tick
    session.flush()
    view = _view(session, row)
    if view.nudge is None or view.paused:
        return view
    # Rounds under way (questions out, digest ahead): the nudge at its new time.
    under_way = session.execute(
        select(Occurrence.due_at, Occurrence.payload).where(
            *subject,
            Occurrence.kind == DIGEST,
            Occurrence.status == OccurrenceStatus.PENDING.value,
            Occurrence.due_at > now,
        )
    ).all()
    nudges = [
        occurrences.PlannedDelivery(
            workspace_id=workspace_id,
            kind=NUDGE_FANOUT,
            subject_ref=_subject(row.id),
            due_at=due_at - view.nudge,
            payload=dict(payload),
        )
        for due_at, payload in under_way
        if datetime.fromisoformat(payload["start"]) <= now <= due_at - view.nudge
    ]
    occurrences.schedule_many(session=session, deliveries=nudges)
    return view


def fan_out(
    *, session: Session, workspace_id: str, kind: str, due_at: datetime, payload: dict[str, Any]
) -> int:
    """Expand a fan-out delivery into one per participant, due at the same time."""
    request = FanOut(workspace_id=workspace_id, kind=kind, due_at=due_at, payload=payload)
    view, count = fan_out_many(session=session, fan_outs=[request])[0]
    if view is None:
        raise StandupNotFound(GONE)
    return count


def participants(*, session: Session, view: StandupView) -> list[str]:
    """The chosen people, plus everyone on the Marketing or IT side when "both sides"."""
    people = list(view.participants)
    if view.both_sides:
        sided = session.execute(
            select(Person.user_ref)
            .where(
                Person.workspace_id == view.workspace_id, Person.side.in_([Side.MARKETING, Side.IT])
            )
            .order_by(Person.user_ref)
        ).scalars()
        people += [p for p in sided if p not in people]
    return people


def save_answers(
    *,
    session: Session,
    workspace_id: str,
    standup_id: int,
    local_date: date,
    user_ref: str,
    answers: list[str],
    now: datetime,
) -> StandupAnswer:
    """Store (or replace) a person's answers until the stand-up's next round starts.

    An answer or an edit once the digest is due queues an update of the digest's message
    (DIGEST_UPDATE), in this transaction: it is noted there as late, and never lost.

    Raises:
        AnswerRefused: once the next round has started, or from someone not asked.
    """
    view = get_by_id(session=session, workspace_id=workspace_id, standup_id=standup_id)
    window = check_may_answer(
        session=session, view=view, local_date=local_date, user_ref=user_ref, now=now
    )
    if now >= window.deadline:
        queue_digest_update(session=session, view=view, local_date=local_date, now=now)
    shareable = {
        str(i): role
        for i, question in enumerate(view.questions)
        if (role := question_role(question)) and i < len(answers) and answers[i]
    }
    row = session.execute(
        select(StandupAnswer).where(
            StandupAnswer.standup_id == standup_id,
            StandupAnswer.local_date == local_date,
            StandupAnswer.user_ref == user_ref,
        )
    ).scalar_one_or_none()
    if row is None:
        row = StandupAnswer(
            workspace_id=workspace_id,
            standup_id=standup_id,
            local_date=local_date,
            user_ref=user_ref,
            answers=answers,
            shareable=shareable,
            shared=[],
            created_at=now,
            updated_at=now,
        )
        session.add(row)
    else:
        row.answers = answers
        row.shareable = shareable
        row.updated_at = now
    session.flush()
    return row


@dataclass(frozen=True)
class AnswerWindow:
    """When a round takes answers: on time until its digest, late until the next run."""

    start: datetime
    deadline: datetime  # the digest
    closes: datetime  # the next round's start

    def is_late(self, moment: datetime) -> bool:
        return moment >= self.deadline


def answer_window(*, session: Session, view: StandupView, local_date: date) -> AnswerWindow | None:
    """The round's window (None: the stand-up holds no async round that day).

    It closes when the next round starts: the next of the stand-up's days (a skipped day
    is no round), or a round run with /standup now before it, whichever comes first.
    """
    deadline = _deadline(session, view, local_date)
    if deadline is None:
        return None
    day = local_date.isoformat()
    subject = (
        Occurrence.workspace_id == view.workspace_id,
        Occurrence.subject_ref == _subject(view.id),
    )
    round_start = Occurrence.payload["local_date"].as_string()
    start = session.execute(
        select(func.max(Occurrence.due_at)).where(
            *subject,
            Occurrence.kind == QUESTIONS_FANOUT,
            Occurrence.status != OccurrenceStatus.CANCELLED.value,
            round_start == day,
        )
    ).scalar_one_or_none() or (deadline - view.deadline)
    run_sooner = session.execute(
        select(func.min(Occurrence.due_at)).where(
            *subject,
            Occurrence.kind == QUESTIONS_FANOUT,
            Occurrence.status != OccurrenceStatus.CANCELLED.value,
            Occurrence.due_at > start,
            round_start != day,
        )
    ).scalar_one_or_none()
    usual = view.weekly.next_after(start + timedelta(seconds=1), (*view.skipped, local_date))
    found = [moment for moment in (run_sooner, usual[1] if usual else None) if moment]
    # A stand-up with no day ahead (every one skipped for a year) keeps a week for late answers.
    closes = min(found) if found else deadline + timedelta(weeks=1)
    return AnswerWindow(start=start, deadline=deadline, closes=max(closes, deadline))


def check_may_answer(
    *, session: Session, view: StandupView, local_date: date, user_ref: str, now: datetime
) -> AnswerWindow:
    """Refuse (AnswerRefused) answers once the next round has started, or from someone
    the round did not ask; checked again when they are saved. Returns the round's window."""
    window = answer_window(session=session, view=view, local_date=local_date)
    if window is None:
        raise AnswerRefused(f"{view.name} has no async round on {local_date:%A %d %B}.")
    if now >= window.closes:
        raise AnswerRefused(
            f"Answers to {view.name} for {local_date:%A %d %B} closed when its next round "
            f"started ({_local(view, window.closes)}). "
            f"/standup answer {view.number} answers the round taking answers now."
        )
    if user_ref not in participants(session=session, view=view) and not _was_asked(
        session, view, local_date, user_ref
    ):
        raise AnswerRefused(
            f"You were not asked to take part in {view.name} on {local_date:%A %d %B}."
        )
    return window


def _local(view: StandupView, moment: datetime) -> str:
    return f"{moment.astimezone(view.weekly.zone):%a %d %b %H:%M} {view.weekly.timezone}"


def open_round(*, session: Session, view: StandupView, now: datetime) -> date | None:
    """The async round answered now: the latest whose questions have gone out, until the
    next round starts (None when no round is taking answers)."""
    local_date = Occurrence.payload["local_date"].as_string()
    started = (
        select(local_date)
        .where(
            Occurrence.workspace_id == view.workspace_id,
            Occurrence.subject_ref == _subject(view.id),
            Occurrence.kind == QUESTIONS_FANOUT,
            Occurrence.status != OccurrenceStatus.CANCELLED.value,
            Occurrence.due_at <= now,
            Occurrence.due_at > now - ANSWERS_LOOK_BACK,
        )
        .order_by(Occurrence.due_at.desc())
        .limit(1)
    )
    latest = session.execute(started).scalar_one_or_none()
    if latest is None:
        return None
    window = answer_window(session=session, view=view, local_date=date.fromisoformat(latest))
    if window is None or now >= window.closes:
        return None
    return date.fromisoformat(latest)


def queue_digest_update(
    *, session: Session, view: StandupView, local_date: date, now: datetime
) -> None:
    """Queue an update of the round's digest message, due now.

    One still waiting to go (a retry too) is enough: it renders the answers as they stand
    when it goes out. One being sent may have read them before this change, so another is
    queued; if an update already has this very time (a clock that stands still, as in the
    console), the new one takes the microsecond before: its key stays unique.
    """
    subject = _subject(view.id)
    waiting = session.execute(
        select(Occurrence.id).where(
            Occurrence.workspace_id == view.workspace_id,
            Occurrence.subject_ref == subject,
            Occurrence.kind == DIGEST_UPDATE,
            Occurrence.status == OccurrenceStatus.PENDING.value,
            Occurrence.payload["local_date"].as_string() == local_date.isoformat(),
        )
    ).first()
    if waiting is not None:
        return
    due = now
    for _ in range(1000):
        if occurrences.schedule(
            session=session,
            workspace_id=view.workspace_id,
            kind=DIGEST_UPDATE,
            subject_ref=subject,
            due_at=due,
            payload={
                "standup_id": view.id,
                "local_date": local_date.isoformat(),
                "start": now.isoformat(),
            },
        ):
            return
        due -= timedelta(microseconds=1)
    raise RuntimeError(f"no free time to queue an update of {subject}'s digest")


def record_digest(
    *,
    session: Session,
    workspace_id: str,
    standup_id: int,
    local_date: date,
    channel_ref: str,
    message_ref: str,
    now: datetime,
) -> None:
    """Remember where the round's digest went (a round run again that day: its latest)."""
    row = session.execute(
        select(StandupDigest).where(
            StandupDigest.workspace_id == workspace_id,
            StandupDigest.standup_id == standup_id,
            StandupDigest.local_date == local_date,
        )
    ).scalar_one_or_none()
    if row is None:
        session.add(
            StandupDigest(
                workspace_id=workspace_id,
                standup_id=standup_id,
                local_date=local_date,
                channel_ref=channel_ref,
                message_ref=message_ref,
                posted_at=now,
            )
        )
    else:
        row.channel_ref, row.message_ref, row.posted_at = channel_ref, message_ref, now
    session.flush()


@dataclass(frozen=True)
class PostedDigest:
    channel_ref: str
    message_ref: str


def posted_digest(
    *, session: Session, workspace_id: str, standup_id: int, local_date: date
) -> PostedDigest | None:
    """Where the round's digest message is; None if it has not been posted."""
    row = session.execute(
        select(StandupDigest.channel_ref, StandupDigest.message_ref).where(
            StandupDigest.workspace_id == workspace_id,
            StandupDigest.standup_id == standup_id,
            StandupDigest.local_date == local_date,
        )
    ).first()
    return PostedDigest(row.channel_ref, row.message_ref) if row is not None else None


def digest_coming(
    *, session: Session, workspace_id: str, standup_id: int, local_date: date
) -> bool:
    """Whether the round's digest is still to be posted (due, or being sent); False once
    it never will be (missed, refused, or not planned)."""
    coming = session.execute(
        select(Occurrence.id).where(
            Occurrence.workspace_id == workspace_id,
            Occurrence.subject_ref == _subject(standup_id),
            Occurrence.kind == DIGEST,
            Occurrence.status.in_([OccurrenceStatus.PENDING.value, OccurrenceStatus.CLAIMED.value]),
            Occurrence.payload["local_date"].as_string() == local_date.isoformat(),
        )
    ).first()
    return coming is not None


def has_answered(
    *, session: Session, workspace_id: str, standup_id: int, local_date: date, user_ref: str
) -> bool:
    return (
        session.execute(
            select(StandupAnswer.id).where(
                StandupAnswer.workspace_id == workspace_id,
                StandupAnswer.standup_id == standup_id,
                StandupAnswer.local_date == local_date,
                StandupAnswer.user_ref == user_ref,
            )
        ).first()
        is not None
    )


def latest_answer(
    *, session: Session, workspace_id: str, standup_id: int, user_ref: str
) -> StandupAnswer | None:
    """A person's most recent answers to a stand-up (the round they last answered)."""
    return session.execute(
        select(StandupAnswer)
        .where(
            StandupAnswer.workspace_id == workspace_id,
            StandupAnswer.standup_id == standup_id,
            StandupAnswer.user_ref == user_ref,
        )
        .order_by(StandupAnswer.local_date.desc())
        .limit(1)
    ).scalar_one_or_none()


def get_answers(
    *, session: Session, workspace_id: str, standup_id: int, local_date: date, user_ref: str
) -> list[str]:
    row = session.execute(
        select(StandupAnswer.answers).where(
            StandupAnswer.workspace_id == workspace_id,
            StandupAnswer.standup_id == standup_id,
            StandupAnswer.local_date == local_date,
            StandupAnswer.user_ref == user_ref,
        )
    ).scalar_one_or_none()
    return list(row or [])


def mark_shared(
    *, session: Session, workspace_id: str, answer_id: int, index: int, user_ref: str
) -> tuple[str, str]:
    """Flag an answer to be shared as a win or challenge by its author; returns (role, text)."""
    row = session.execute(
        select(StandupAnswer).where(
            StandupAnswer.workspace_id == workspace_id, StandupAnswer.id == answer_id
        )
    ).scalar_one_or_none()
    if row is None or row.user_ref != user_ref:
        raise StandupNotAllowed("Only the person who wrote an answer can share it.")
    role = (row.shareable or {}).get(str(index))
    if role is None:
        raise AnswerRefused("That answer cannot be shared.")
    if index not in row.shared:
        # Sharing is not editing: updated_at (an edit after the digest) stays as it was.
        session.execute(
            update(StandupAnswer)
            .where(StandupAnswer.id == row.id)
            .values(shared=[*row.shared, index], updated_at=StandupAnswer.updated_at)
            .execution_options(synchronize_session=False)
        )
        session.refresh(row)
    return role, row.answers[index]


def question_role(question: str) -> str | None:
    """Whether answers to a question can become a win or a challenge."""
    lowered = question.lower()
    if "win" in lowered.split() or lowered.startswith("a win"):
        return "win"
    if "challenge" in lowered:
        return "challenge"
    return None


def _was_asked(session: Session, view: StandupView, local_date: date, user_ref: str) -> bool:
    """Whether the questions went to the person that day (they may have changed side since)."""
    asked = session.execute(
        select(Occurrence.id).where(
            Occurrence.workspace_id == view.workspace_id,
            Occurrence.subject_ref == _subject(view.id),
            Occurrence.kind == QUESTIONS_DM,
            Occurrence.recipient_ref == user_ref,
            Occurrence.status == OccurrenceStatus.SENT.value,
            Occurrence.payload["local_date"].as_string() == local_date.isoformat(),
        )
    ).first()
    return asked is not None


def _deadline(session: Session, view: StandupView, local_date: date) -> datetime | None:
    """The day's last digest: a round run again with /standup now takes answers until its own."""
    return session.execute(
        select(func.max(Occurrence.due_at)).where(
            Occurrence.workspace_id == view.workspace_id,
            Occurrence.subject_ref == _subject(view.id),
            Occurrence.kind == DIGEST,
            Occurrence.status != OccurrenceStatus.CANCELLED.value,
            Occurrence.payload["local_date"].as_string() == local_date.isoformat(),
        )
    ).scalar_one_or_none()


def answer_sheet(
    *, session: Session, workspace_id: str, standup_id: int, local_date: date
) -> AnswerSheet:
    """Answers grouped with each person's side, and who was asked but did not answer."""
    view = get_by_id(session=session, workspace_id=workspace_id, standup_id=standup_id)
    rows = session.execute(
        select(
            StandupAnswer.user_ref,
            StandupAnswer.answers,
            Person.side,
            StandupAnswer.created_at,
            StandupAnswer.updated_at,
        )
        .join(
            Person,
            (Person.workspace_id == StandupAnswer.workspace_id)
            & (Person.user_ref == StandupAnswer.user_ref),
            isouter=True,
        )
        .where(
            StandupAnswer.workspace_id == workspace_id,
            StandupAnswer.standup_id == standup_id,
            StandupAnswer.local_date == local_date,
        )
        .order_by(StandupAnswer.created_at)
    ).all()
    answered = {row.user_ref for row in rows}
    deadline = _deadline(session, view, local_date)
    late = {row.user_ref for row in rows if deadline is not None and row.created_at >= deadline}
    edited = {
        row.user_ref
        for row in rows
        if deadline is not None
        and row.user_ref not in late
        and row.updated_at >= deadline
        and row.updated_at > row.created_at
    }
    asked = session.execute(
        select(Occurrence.recipient_ref)
        .where(
            Occurrence.workspace_id == workspace_id,
            Occurrence.subject_ref == _subject(standup_id),
            Occurrence.kind == QUESTIONS_DM,
            Occurrence.payload["local_date"].as_string() == local_date.isoformat(),
        )
        .order_by(Occurrence.recipient_ref)
    ).scalars()
    missing, away = _absent(session, view, local_date, asked, answered)
    return AnswerSheet(
        standup=view,
        local_date=local_date,
        away=away,
        answers=[
            (row.user_ref, Side(row.side) if row.side else None, tuple(row.answers)) for row in rows
        ],
        missing=missing,
        late=frozenset(late),
        edited=frozenset(edited),
    )


def _absent(
    session: Session,
    view: StandupView,
    local_date: date,
    asked: Iterable[str],
    answered: Collection[str],
) -> tuple[list[str], tuple[tuple[str, str], ...]]:
    """Of those asked and of today's participants, who did not answer: as (missing, away).

    Away are those on time off or a holiday of their own region at the round's start,
    whether they were left out of the questions or went away after them.
    """
    asked = list(dict.fromkeys(asked))
    candidates = [
        person
        for person in dict.fromkeys([*asked, *participants(session=session, view=view)])
        if person not in answered
    ]
    why = availability.unavailable_at(
        session=session,
        workspace_id=view.workspace_id,
        user_refs=candidates,
        moment=view.weekly.start_on(local_date),
    )
    missing = [person for person in asked if person not in answered and person not in why]
    away = tuple((person, why[person].label) for person in candidates if person in why)
    return missing, away


def _skips(session: Session, standup_ids: list[int]) -> dict[int, tuple[date, ...]]:
    """The skipped dates of many stand-ups in one query, in date order."""
    skipped: dict[int, list[date]] = {}
    if standup_ids:
        rows = session.execute(
            select(StandupSkip.standup_id, StandupSkip.local_date)
            .where(StandupSkip.standup_id.in_(standup_ids))
            .order_by(StandupSkip.local_date)
        )
        for standup_id, local_date in rows:
            skipped.setdefault(standup_id, []).append(local_date)
    return {standup_id: tuple(dates) for standup_id, dates in skipped.items()}


def _view(session: Session, row: Standup, skipped: tuple[date, ...] | None = None) -> StandupView:
    if skipped is None:
        skipped = tuple(
            session.execute(
                select(StandupSkip.local_date)
                .where(StandupSkip.standup_id == row.id)
                .order_by(StandupSkip.local_date)
            ).scalars()
        )
    return StandupView(
        id=row.id,
        number=row.number,
        workspace_id=row.workspace_id,
        name=row.name,
        channel_ref=row.channel_ref,
        weekly=Weekly(
            parse_weekdays(row.weekdays),
            row.local_time,
            row.timezone,
            tuple(row.holiday_calendars or ()),
        ),
        mode=row.mode,
        call_link=row.call_link,
        questions=tuple(row.questions),
        participants=tuple(row.participants or ()),
        both_sides=row.both_sides,
        reminder_lead=timedelta(minutes=row.reminder_lead_minutes),
        deadline=timedelta(minutes=row.deadline_minutes),
        nudge=timedelta(minutes=row.nudge_minutes) if row.nudge_minutes else None,
        paused=row.paused,
        creator_ref=row.creator_ref,
        calendar_token=row.calendar_token,
        skipped=skipped,
        created_at=row.created_at,
    )
