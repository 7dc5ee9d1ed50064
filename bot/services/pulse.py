"""Pulse polls: anonymous answers, results per side and the perception gap.

Answers are stored with a keyed hash of (poll, person) so a person can change their
answer but nobody, admins included, can tell who answered what. A side's numbers are
shown only when at least the workspace's threshold (never below 3) of that side answered.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, func, literal_column, select, update
from sqlalchemy.orm import Session

from bot.db import insert_ignoring_conflicts, upsert
from bot.errors import Conflict, Invalid, NotAllowed, NotFound
from bot.models import (
    Person,
    PulseAnswer,
    PulseComment,
    PulsePoll,
    PulseRespondent,
    Side,
    WorkspaceSettings,
)
from bot.services import availability, pulse_audience, pulse_questions
from bot.services.voter_unlinking import untie_voters

DEFAULT_QUESTIONS = (
    "This week Marketing and IT worked together collaboratively.",
    "I understood what the other side needed from me.",
    "Working together improved our results this week.",
)
SCALE = (
    (1, "Strongly disagree"),
    (2, "Disagree"),
    (3, "Neutral"),
    (4, "Agree"),
    (5, "Strongly agree"),
)
MIN_THRESHOLD = 3
MAX_COMMENT = 1000
WEEKLY, ADHOC = "weekly", "adhoc"
logger = logging.getLogger(__name__)

SIDES = (Side.MARKETING.value, Side.IT.value, Side.OTHER.value)
# Who the weekly pulse asks (WorkspaceSettings.pulse_audience): the value, as shown.
ALL_SIDES, TWO_SIDES = "sides", "marketing_it"
PULSE_AUDIENCES = {ALL_SIDES: "Everyone with a side", TWO_SIDES: "Marketing and IT only"}
AUDIENCE_SIDES = {ALL_SIDES: SIDES, TWO_SIDES: SIDES[:2]}


class PollClosed(Conflict):
    pass


class PollNotFound(NotFound):
    """Deleted meanwhile, or another workspace's poll."""

    def __init__(self, poll_id: int) -> None:
        super().__init__("That poll no longer exists.")
        self.poll_id = poll_id


class PulseRefused(Invalid):
    """A question, an option or a comment the poll cannot take."""


class NotInAudience(NotAllowed):
    """A weekly pulse asked only the people who had a side when it opened."""

    def __init__(self, opened_at: datetime) -> None:
        super().__init__(
            f"This pulse was sent to the people who had a side when it opened on "
            f"{opened_at:%A %d %B}; you can answer the next one."
        )


def voter_hash(secret_key: str, workspace_id: str, poll_id: int, user_ref: str) -> str:
    """A keyed hash that only detects a second vote by the same person in the same poll
    while it is open; closing the poll replaces it with random values (voter_unlinking)."""
    message = f"pulse:{workspace_id}:{poll_id}:{user_ref}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()[:40]


@dataclass(frozen=True)
class PollView:
    id: int
    workspace_id: str
    kind: str
    questions: tuple[str, ...]
    options: tuple[str, ...]
    status: str
    opened_at: datetime
    closes_at: datetime | None
    closed_at: datetime | None
    invited: dict[str, int]
    author_ref: str | None
    channel_ref: str | None
    message_ref: str | None
    # A weekly pulse's question ids, and per question None or a mirrored pair's statement
    # for each side (Marketing and IT only answer a pair). Quick polls: empty.
    question_ids: tuple[str, ...] = ()
    mirrors: tuple[dict[str, str] | None, ...] = ()

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def mirror(self, question: int) -> dict[str, str] | None:
        return self.mirrors[question] if question < len(self.mirrors) else None

    def question_id(self, question: int) -> str:
        """The question's id; a pulse held before ids existed numbers its questions."""
        if question < len(self.question_ids):
            return self.question_ids[question]
        return f"question-{question + 1}"

    def statements_for(self, side: str | None) -> list[tuple[int, str]]:
        """(question index, statement) of what a person of `side` is asked, in order: a
        mirrored pair asks Marketing and IT each about the other, and nobody else."""
        asked = []
        for index, statement in enumerate(self.questions):
            mirror = self.mirror(index)
            if mirror is None:
                asked.append((index, statement))
            elif side in mirror:
                asked.append((index, mirror[side]))
        return asked


@dataclass(frozen=True)
class SideStats:
    respondents: int
    mean: float | None  # None when hidden (below the threshold) or no answers
    agree_pct: float | None
    shown: bool


@dataclass(frozen=True)
class QuestionResult:
    question: str
    by_side: dict[str, SideStats]
    overall: SideStats
    id: str = ""
    # A mirrored pair: what each side was asked (its Marketing row is Marketing's view of
    # IT, its IT row IT's view of Marketing; Everyone is not shown).
    mirror: dict[str, str] | None = None

    @property
    def gap(self) -> float | None:
        """Marketing's % agree minus IT's, in points; None unless both are shown."""
        marketing, it = self.by_side[Side.MARKETING.value], self.by_side[Side.IT.value]
        if marketing.agree_pct is None or it.agree_pct is None:
            return None
        return round(marketing.agree_pct - it.agree_pct, 1)


@dataclass(frozen=True)
class PollResults:
    poll: PollView
    threshold: int
    questions: list[QuestionResult]
    respondents_by_side: dict[str, int]
    response_rate: dict[str, float | None]
    # Only of sides whose numbers are shown, and empty unless at least `threshold` of them.
    comments: list[str] = field(default_factory=list)
    previous: PollResults | None = None

    def change(self, question: int, side: str) -> float | None:
        """Change in % agree since the previous pulse, in points, for the same question
        (by id): None if the previous pulse did not ask it or either figure is hidden."""
        if self.previous is None:
            return None
        current = self.questions[question]
        before_result = self.previous.question(current.id)
        if before_result is None:
            return None
        now = _stats(current, side).agree_pct
        before = _stats(before_result, side).agree_pct
        return None if now is None or before is None else round(now - before, 1)

    def question(self, question_id: str) -> QuestionResult | None:
        return next((q for q in self.questions if q.id == question_id), None)


def _stats(result: QuestionResult, side: str) -> SideStats:
    return result.overall if side == "overall" else result.by_side[side]


def threshold_for(session: Session, workspace_id: str) -> int:
    configured = session.execute(
        select(WorkspaceSettings.anonymity_threshold).where(
            WorkspaceSettings.workspace_id == workspace_id
        )
    ).scalar_one_or_none()
    return max(MIN_THRESHOLD, configured or MIN_THRESHOLD)


def audience(*, session: Session, workspace_id: str) -> list[tuple[str, str]]:
    """(user_ref, side) of everyone a weekly pulse goes to, as the workspace chose:
    everyone with a side, or Marketing and IT only."""
    chosen = session.execute(
        select(WorkspaceSettings.pulse_audience).where(
            WorkspaceSettings.workspace_id == workspace_id
        )
    ).scalar_one_or_none()
    rows = session.execute(
        select(Person.user_ref, Person.side)
        .where(
            Person.workspace_id == workspace_id,
            Person.side.in_(AUDIENCE_SIDES[chosen or ALL_SIDES]),
        )
        .order_by(Person.user_ref)
    ).all()
    return [(user, side) for user, side in rows if side]


def open_weekly(
    *, session: Session, workspace_id: str, slot: datetime, now: datetime, open_for: timedelta
) -> tuple[PollView, list[str]]:
    """Open the weekly pulse for `slot` (idempotent) and return it with the people to ask.

    The audience and each member's side are frozen as it opens: only they may answer,
    under that side, and `invited` counts them. Opening again returns the frozen audience.
    Its questions are those chosen now (pulse_questions), in the side labels of now.
    """
    questions = pulse_questions.chosen(
        session=session, workspace_id=workspace_id, labels=_side_labels(session, workspace_id)
    )
    people = audience(session=session, workspace_id=workspace_id)
    if all(question.mirrored for question in questions):
        # Only Marketing and IT answer a mirrored pair: nobody else is asked at all.
        people = [(user, side) for user, side in people if side in pulse_questions.MIRROR_SIDES]
    # Someone on time off or on a holiday of their region when it opens is asked on their
    # first day back, if that day begins before it closes (it then stays open a day more
    # for them); someone away the whole time is not asked, nor counted in response rates.
    closes_at = slot + open_for
    asked = availability.ask_times(
        session=session,
        workspace_id=workspace_id,
        user_refs=[user for user, _ in people],
        opens=now,
        local_time=_pulse_time(session, workspace_id),
    )
    people = [(user, side) for user, side in people if _back_before(asked[user], closes_at)]
    closes_at = availability.pulse_closing(
        slot, closes_at, [when.ask_at for user, _ in people if (when := asked[user]) is not None]
    )
    invited: dict[str, int] = {}
    for _, side in people:
        invited[side] = invited.get(side, 0) + 1
    created = insert_ignoring_conflicts(
        session,
        PulsePoll,
        {
            "workspace_id": workspace_id,
            "kind": WEEKLY,
            "slot": slot,
            "questions": [question.statement for question in questions],
            "question_ids": [question.id for question in questions],
            "mirrors": [question.mirror for question in questions],
            "options": [],
            "status": "open",
            "opened_at": now,
            "closes_at": closes_at,  # a late opening still closes on schedule
            "invited": invited,
        },
        ["workspace_id", "slot"],
        # Written into the SQL, not bound: PostgreSQL matches ON CONFLICT to the partial
        # index by its predicate, which a generic plan (a statement prepared and run
        # often on one pooled connection) cannot do with a parameter in it.
        conflict_where=PulsePoll.kind == literal_column(f"'{WEEKLY}'"),
    )
    row = session.execute(
        select(PulsePoll).where(
            PulsePoll.workspace_id == workspace_id, PulsePoll.kind == WEEKLY, PulsePoll.slot == slot
        )
    ).scalar_one()
    if created:
        pulse_audience.freeze(
            session=session, workspace_id=workspace_id, poll_id=row.id, people=people
        )
    else:
        people = pulse_audience.members(session=session, workspace_id=workspace_id, poll_id=row.id)
    return _view(row), [user for user, _ in people]


def invitations(
    *, session: Session, workspace_id: str, poll: PollView, people: list[str]
) -> dict[str, datetime]:
    """When each person the weekly pulse asks gets its DM: when it opened, or, for someone
    away then, at the pulse's time of day on their first day back, where they are.

    Counted from the opening, not from the caller's clock, so a retried opening plans the
    very same DMs (the delivery table keeps one of each).
    """
    assert poll.closes_at is not None
    times = availability.ask_times(
        session=session,
        workspace_id=workspace_id,
        user_refs=people,
        opens=poll.opened_at,
        local_time=_pulse_time(session, workspace_id),
    )
    # Back after it closes (their time off grew since it opened): asked as it opened.
    return {
        user: when.ask_at if when is not None and when.ask_at < poll.closes_at else poll.opened_at
        for user, when in times.items()
    }


def _back_before(invitation: availability.Invitation | None, closes_at: datetime) -> bool:
    return invitation is not None and invitation.back < closes_at


def _pulse_time(session: Session, workspace_id: str) -> time:
    """The weekly pulse's time of day: people back from time off are asked then, locally."""
    found = session.execute(
        select(WorkspaceSettings.pulse_time).where(WorkspaceSettings.workspace_id == workspace_id)
    ).scalar_one_or_none()
    return found or time(10, 0)


def _side_labels(session: Session, workspace_id: str) -> dict[str, str]:
    row = session.execute(
        select(WorkspaceSettings.label_marketing, WorkspaceSettings.label_it).where(
            WorkspaceSettings.workspace_id == workspace_id
        )
    ).one_or_none()
    marketing, it = row if row is not None else ("Marketing", "IT")
    return {Side.MARKETING.value: marketing, Side.IT.value: it}


def create_adhoc(
    *,
    session: Session,
    workspace_id: str,
    question: str,
    options: list[str],
    author_ref: str,
    channel_ref: str,
    now: datetime,
) -> PollView:
    """A quick poll in a channel: 2 to 10 options, one changeable vote per person.

    Unlike the weekly pulse it freezes no audience: it is open to whoever can see it in
    the channel, and its results are totals only, never by side.
    """
    question = question.strip()
    cleaned = [o.strip() for o in options if o.strip()]
    if not question:
        raise PulseRefused("Write the question before the first |.")
    if len(question) > 300:
        raise PulseRefused("Keep the question under 300 characters.")
    if not 2 <= len(cleaned) <= 10:
        raise PulseRefused(f"A quick poll needs 2 to 10 options; this has {len(cleaned)}.")
    if any(len(o) > 75 for o in cleaned):
        raise PulseRefused("Keep each option to 75 characters at most.")
    if len({o.casefold() for o in cleaned}) != len(cleaned):
        raise PulseRefused("Two options are the same.")
    poll = PulsePoll(
        workspace_id=workspace_id,
        kind=ADHOC,
        slot=now,
        questions=[question],
        options=cleaned,
        status="open",
        opened_at=now,
        author_ref=author_ref,
        channel_ref=channel_ref,
        invited={},
    )
    session.add(poll)
    session.flush()
    return _view(poll)


def get_poll(*, session: Session, workspace_id: str, poll_id: int) -> PollView:
    row = session.execute(
        select(PulsePoll).where(PulsePoll.workspace_id == workspace_id, PulsePoll.id == poll_id)
    ).scalar_one_or_none()
    if row is None:
        raise PollNotFound(poll_id)
    return _view(row)


def record_message(
    *, session: Session, workspace_id: str, poll_id: int, channel_ref: str, message_ref: str
) -> None:
    session.execute(
        update(PulsePoll)
        .where(PulsePoll.workspace_id == workspace_id, PulsePoll.id == poll_id)
        .values(channel_ref=channel_ref, message_ref=message_ref)
    )


def vote(
    *,
    session: Session,
    workspace_id: str,
    poll_id: int,
    question: int,
    value: int,
    user_ref: str,
    secret_key: str,
    now: datetime,
) -> PollView:
    """Record or change one answer; returns the poll.

    Raises:
        PollClosed: after the poll closed (or past its closing time).
        NotInAudience: a weekly pulse that did not ask the person when it opened.
        PulseRefused: a value or question that does not exist.
    """
    poll = get_poll(session=session, workspace_id=workspace_id, poll_id=poll_id)
    _check_open(poll, now)
    side = _answering_side(session, poll, user_ref)
    if not 0 <= question < len(poll.questions):
        raise PulseRefused("That question is not part of this poll.")
    mirror = poll.mirror(question)
    if mirror is not None and side not in mirror:
        raise PulseRefused("That question asks each of the two sides about the other; not yours.")
    valid = range(len(poll.options)) if poll.kind == ADHOC else range(1, 6)
    if value not in valid:
        raise PulseRefused("That answer is not on the scale.")
    voter = voter_hash(secret_key, workspace_id, poll_id, user_ref)
    # The first answer makes the person a respondent (counted once, by the same hash).
    insert_ignoring_conflicts(
        session,
        PulseRespondent,
        {"workspace_id": workspace_id, "poll_id": poll_id, "voter_hash": voter, "side": side},
        ["poll_id", "voter_hash"],
    )
    upsert(
        session,
        PulseAnswer,
        {
            "workspace_id": workspace_id,
            "poll_id": poll_id,
            "voter_hash": voter,
            "side": side,
            "question": question,
            "value": value,
            "updated_at": now,
        },
        ["poll_id", "voter_hash", "question"],
        ["value", "updated_at"],
    )
    return poll


def check_may_answer(
    *, session: Session, workspace_id: str, poll_id: int, user_ref: str, now: datetime
) -> PollView:
    """The poll, if the person may answer or comment on it now (before showing a form).

    Raises:
        PollNotFound, PollClosed, NotInAudience: as `vote` would.
    """
    poll = get_poll(session=session, workspace_id=workspace_id, poll_id=poll_id)
    _check_open(poll, now)
    _answering_side(session, poll, user_ref)
    return poll


def _answering_side(session: Session, poll: PollView, user_ref: str) -> str | None:
    """The side an answer counts under: a weekly pulse's, frozen when it opened (only its
    audience may answer); a quick poll's, the person's side now (it shows totals only)."""
    if poll.kind != WEEKLY:
        return session.execute(
            select(Person.side).where(
                Person.workspace_id == poll.workspace_id, Person.user_ref == user_ref
            )
        ).scalar_one_or_none()
    side = pulse_audience.frozen_side(
        session=session, workspace_id=poll.workspace_id, poll_id=poll.id, user_ref=user_ref
    )
    if side is None:
        raise NotInAudience(poll.opened_at)
    return side


def _check_open(poll: PollView, now: datetime) -> None:
    if not poll.is_open or (poll.closes_at is not None and now >= poll.closes_at):
        when = (
            f" on {poll.closed_at or poll.closes_at:%A %d %B at %H:%M} UTC"
            if (poll.closed_at or poll.closes_at)
            else ""
        )
        raise PollClosed(f"This poll closed{when}; thank you all the same.")


def my_answers(
    *, session: Session, workspace_id: str, poll_id: int, user_ref: str, secret_key: str
) -> dict[int, int]:
    """The caller's own answers (found through the hash), to show their choices."""
    voter = voter_hash(secret_key, workspace_id, poll_id, user_ref)
    rows = session.execute(
        select(PulseAnswer.question, PulseAnswer.value).where(
            PulseAnswer.workspace_id == workspace_id,
            PulseAnswer.poll_id == poll_id,
            PulseAnswer.voter_hash == voter,
        )
    ).all()
    return {question: value for question, value in rows}


def save_comment(
    *,
    session: Session,
    workspace_id: str,
    poll_id: int,
    user_ref: str,
    text: str,
    secret_key: str,
    now: datetime,
) -> None:
    poll = get_poll(session=session, workspace_id=workspace_id, poll_id=poll_id)
    _check_open(poll, now)
    side = _answering_side(session, poll, user_ref)
    text = text.strip()
    if len(text) > MAX_COMMENT:
        raise PulseRefused(f"Keep the comment under {MAX_COMMENT:,} characters.")
    voter = voter_hash(secret_key, workspace_id, poll_id, user_ref)
    session.execute(
        delete(PulseComment).where(
            PulseComment.poll_id == poll_id, PulseComment.voter_hash == voter
        )
    )
    if text:
        session.add(
            PulseComment(
                workspace_id=workspace_id,
                poll_id=poll_id,
                voter_hash=voter,
                side=side,
                text=text,
                updated_at=now,
            )
        )


def close(*, session: Session, workspace_id: str, poll_id: int, now: datetime) -> PollView:
    """Close a poll (idempotent) and untie its answers from the keyed hash, in the same
    transaction: its results need no link to anyone any more."""
    closed = session.execute(
        update(PulsePoll)
        .where(
            PulsePoll.workspace_id == workspace_id,
            PulsePoll.id == poll_id,
            PulsePoll.status == "open",
        )
        .values(status="closed", closed_at=now)
        .returning(PulsePoll.id)
    ).all()
    if closed:
        untie_voters(session=session, workspace_id=workspace_id, poll_id=poll_id)
        write_tallies(session, [poll_id])
    return get_poll(session=session, workspace_id=workspace_id, poll_id=poll_id)


def close_overdue(*, session: Session, before: datetime) -> list[tuple[str, int]]:
    """Close weekly pulses whose closing time passed while the bot was down (past the
    grace period, so their close was recorded as missed): they must not stay open.
    Their answers are untied from the keyed hash as `close` does. Returns the
    (workspace, poll) of each pulse closed."""
    closed = session.execute(
        update(PulsePoll)
        .where(
            PulsePoll.kind == WEEKLY,
            PulsePoll.status == "open",
            PulsePoll.closes_at < before,
        )
        .values(status="closed", closed_at=PulsePoll.closes_at)
        .returning(PulsePoll.workspace_id, PulsePoll.id)
    ).all()
    for workspace_id, poll_id in closed:
        untie_voters(session=session, workspace_id=workspace_id, poll_id=poll_id)
    write_tallies(session, [poll_id for _, poll_id in closed])
    if closed:
        logger.warning(
            "closed %d pulse(s) whose closing time passed while the bot was down", len(closed)
        )
    return [(workspace_id, poll_id) for workspace_id, poll_id in closed]


def _count_answers(
    session: Session, poll_ids: list[int]
) -> tuple[dict[int, list[list[Any]]], dict[int, dict[str, int]]]:
    """Per poll: [question, side, value, count] of its answers, and respondents by side
    (side None: "none"). Each read from one index (index-only on PostgreSQL)."""
    answers: dict[int, list[list[Any]]] = {poll_id: [] for poll_id in poll_ids}
    respondents: dict[int, dict[str, int]] = {poll_id: {} for poll_id in poll_ids}
    if not poll_ids:
        return answers, respondents
    for poll_id, question, side, value, count in session.execute(
        select(
            PulseAnswer.poll_id,
            PulseAnswer.question,
            PulseAnswer.side,
            PulseAnswer.value,
            func.count(),
        )
        .where(PulseAnswer.poll_id.in_(poll_ids))
        .group_by(PulseAnswer.poll_id, PulseAnswer.question, PulseAnswer.side, PulseAnswer.value)
    ):
        answers[poll_id].append([question, side, value, int(count)])
    for poll_id, side, count in session.execute(
        select(PulseRespondent.poll_id, PulseRespondent.side, func.count())
        .where(PulseRespondent.poll_id.in_(poll_ids))
        .group_by(PulseRespondent.poll_id, PulseRespondent.side)
    ):
        respondents[poll_id][side or "none"] = int(count)
    return answers, respondents


def write_tallies(session: Session, poll_ids: list[int]) -> None:
    """Keep the counts of polls that just closed on their rows: no answer of a closed poll
    changes any more (votes are refused; forget-me unties, never removes, its answers).
    Also for loading answers in bulk (the benchmarks), after the polls closed."""
    answers, respondents = _count_answers(session, poll_ids)
    for poll_id in poll_ids:
        session.execute(
            update(PulsePoll)
            .where(PulsePoll.id == poll_id)
            .values(tally={"answers": answers[poll_id], "respondents": respondents[poll_id]})
        )


def option_counts(*, session: Session, workspace_id: str, poll_id: int) -> list[int]:
    """Votes per option of an ad-hoc poll (totals only)."""
    poll = get_poll(session=session, workspace_id=workspace_id, poll_id=poll_id)
    counts = [0] * len(poll.options)
    for value, count in session.execute(
        select(PulseAnswer.value, func.count())
        .where(PulseAnswer.workspace_id == workspace_id, PulseAnswer.poll_id == poll_id)
        .group_by(PulseAnswer.value)
    ):
        if 0 <= value < len(counts):
            counts[value] = count
    return counts


def results(
    *, session: Session, workspace_id: str, poll_id: int, with_previous: bool = True
) -> PollResults:
    """Per question and side: respondents, mean, % agree (4-5), gap; response rates; comments."""
    poll = get_poll(session=session, workspace_id=workspace_id, poll_id=poll_id)
    (found,) = results_of(session=session, workspace_id=workspace_id, poll_ids=[poll.id])
    if not (with_previous and poll.kind == WEEKLY):
        return found
    before = session.execute(
        select(PulsePoll.id)
        .where(
            PulsePoll.workspace_id == workspace_id,
            PulsePoll.kind == WEEKLY,
            PulsePoll.opened_at < poll.opened_at,
            PulsePoll.status == "closed",
        )
        .order_by(PulsePoll.opened_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    if before is None:
        return found
    (previous,) = results_of(session=session, workspace_id=workspace_id, poll_ids=[before])
    return replace(found, previous=previous)


def results_of(*, session: Session, workspace_id: str, poll_ids: list[int]) -> list[PollResults]:
    """`results` (without the previous pulse) of many polls of the workspace at once, in
    the order given; ids of other workspaces' polls, or of none, are left out.

    A few queries whatever the number of polls, each read from one index (an index-only
    scan on PostgreSQL): a pulse with a million answers stays under 300 ms, and two
    years of weekly pulses are read together (see bench/pulse.py).
    """
    rows = session.execute(
        select(PulsePoll).where(PulsePoll.workspace_id == workspace_id, PulsePoll.id.in_(poll_ids))
    ).scalars()
    polls, rows_tally = {}, {}
    for row in rows:
        polls[row.id] = _view(row)
        rows_tally[row.id] = row.tally if row.status == "closed" else None
    ids = [poll_id for poll_id in poll_ids if poll_id in polls]
    if not ids:
        return []
    threshold = threshold_for(session, workspace_id)
    # A closed poll's counts were kept on its row as it closed; the others' are counted
    # now. The polls are this workspace's (checked above), so those queries select by
    # poll alone.
    untallied = [poll_id for poll_id in ids if rows_tally.get(poll_id) is None]
    counted, respondents = _count_answers(session, untallied)
    for poll_id in ids:
        tally = rows_tally.get(poll_id)
        if tally is not None:
            counted[poll_id] = tally["answers"]
            respondents[poll_id] = dict(tally["respondents"])
    # Counts per (question, side, value) only; the mean and % agree follow.
    totals: dict[int, dict[tuple[int, str], list[int]]] = {poll_id: {} for poll_id in ids}
    for poll_id in ids:
        for question, side, value, count in counted[poll_id]:
            cell = totals[poll_id].setdefault((question, side or "none"), [0, 0, 0])
            cell[0] += count  # answers, sum of values, agreeing
            cell[1] += value * count
            cell[2] += count if value >= 4 else 0
    comments: dict[int, list[tuple[str, str]]] = {poll_id: [] for poll_id in ids}
    for poll_id, side, comment in session.execute(
        select(PulseComment.poll_id, PulseComment.side, PulseComment.text)
        .where(PulseComment.workspace_id == workspace_id, PulseComment.poll_id.in_(ids))
        .order_by(PulseComment.text)  # by text, not time: order must not reveal who wrote what
    ):
        comments[poll_id].append((side or "none", comment))
    return [
        _poll_results(
            polls[poll_id], threshold, totals[poll_id], respondents[poll_id], comments[poll_id]
        )
        for poll_id in ids
    ]


def _poll_results(
    poll: PollView,
    threshold: int,
    totals: dict[tuple[int, str], list[int]],
    respondents: dict[str, int],
    comments: list[tuple[str, str]],
) -> PollResults:
    cells = {
        key: (count, total / count, agreeing) for key, (count, total, agreeing) in totals.items()
    }
    questions = [
        _question_result(text, index, cells, threshold, poll)
        for index, text in enumerate(poll.questions)
    ]
    rates: dict[str, float | None] = {}
    for side in SIDES:
        invited = poll.invited.get(side, 0)
        rates[side] = round(100 * respondents.get(side, 0) / invited, 1) if invited else None
    # A side's comments only where its numbers are shown: the lone comment of a hidden
    # side would give away what its few people think, however the comment is worded.
    shown_sides = {side for (_, side), (count, _, _) in cells.items() if count >= threshold}
    shown_comments = [comment for side, comment in comments if side in shown_sides]
    return PollResults(
        poll=poll,
        threshold=threshold,
        questions=questions,
        respondents_by_side={side: respondents.get(side, 0) for side in SIDES},
        response_rate=rates,
        comments=shown_comments if len(shown_comments) >= threshold else [],
    )


def _question_result(
    text: str,
    index: int,
    cells: dict[tuple[int, str], tuple[int, float, int]],
    threshold: int,
    poll: PollView,
) -> QuestionResult:
    by_side = {side: _side_stats(cells.get((index, side)), threshold) for side in SIDES}
    groups = [cell for (q, _), cell in cells.items() if q == index]
    count = sum(c for c, _, _ in groups)
    question_id, mirror = poll.question_id(index), poll.mirror(index)
    if mirror is not None:
        # Each side answered a different statement: a total of the two means nothing.
        return QuestionResult(
            text, by_side, SideStats(count, None, None, False), question_id, dict(mirror)
        )
    # Everyone is shown only when every side that answered is shown itself, so it adds
    # nothing to difference: with a side hidden, Everyone less the sides shown, less the
    # answers the people of the other hidden sides know as their own, could isolate the
    # hidden side's few answers. (Answers of no side count as one more side.)
    if any(c < threshold for c, _, _ in groups):
        return QuestionResult(text, by_side, SideStats(count, None, None, False), question_id)
    combined = (
        (count, sum(c * m for c, m, _ in groups) / count, sum(a for _, _, a in groups))
        if count
        else None
    )
    return QuestionResult(text, by_side, _side_stats(combined, threshold), question_id)


def _side_stats(cell: tuple[int, float, int] | None, threshold: int) -> SideStats:
    if cell is None:
        return SideStats(0, None, None, False)
    count, mean, agreeing = cell
    if count < threshold:
        return SideStats(count, None, None, False)
    return SideStats(count, round(mean, 2), round(100 * agreeing / count, 1), True)


def latest_weekly(
    *, session: Session, workspace_id: str, closed_only: bool = True
) -> PollView | None:
    query = select(PulsePoll).where(
        PulsePoll.workspace_id == workspace_id, PulsePoll.kind == WEEKLY
    )
    if closed_only:
        query = query.where(PulsePoll.status == "closed")
    row = session.execute(query.order_by(PulsePoll.opened_at.desc()).limit(1)).scalar_one_or_none()
    return _view(row) if row else None


def open_weekly_poll(*, session: Session, workspace_id: str) -> PollView | None:
    row = session.execute(
        select(PulsePoll)
        .where(
            PulsePoll.workspace_id == workspace_id,
            PulsePoll.kind == WEEKLY,
            PulsePoll.status == "open",
        )
        .order_by(PulsePoll.opened_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    return _view(row) if row else None


def trend(*, session: Session, workspace_id: str, weeks: int) -> list[PollResults]:
    """Results of the last `weeks` closed weekly pulses, oldest first."""
    ids = (
        session.execute(
            select(PulsePoll.id)
            .where(
                PulsePoll.workspace_id == workspace_id,
                PulsePoll.kind == WEEKLY,
                PulsePoll.status == "closed",
            )
            .order_by(PulsePoll.opened_at.desc())
            .limit(weeks)
        )
        .scalars()
        .all()
    )
    return results_of(session=session, workspace_id=workspace_id, poll_ids=list(reversed(ids)))


def respondent_count(*, session: Session, workspace_id: str, poll_id: int) -> int:
    return session.execute(
        select(func.count()).where(
            PulseRespondent.workspace_id == workspace_id, PulseRespondent.poll_id == poll_id
        )
    ).scalar_one()


def _view(row: PulsePoll) -> PollView:
    return PollView(
        id=row.id,
        workspace_id=row.workspace_id,
        kind=row.kind,
        questions=tuple(row.questions),
        options=tuple(row.options or ()),
        status=row.status,
        opened_at=row.opened_at,
        closes_at=row.closes_at,
        closed_at=row.closed_at,
        invited=dict(row.invited or {}),
        author_ref=row.author_ref,
        channel_ref=row.channel_ref,
        message_ref=row.message_ref,
        question_ids=tuple(row.question_ids or ()),
        mirrors=tuple(row.mirrors or ()),
    )
