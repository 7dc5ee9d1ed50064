"""The dashboard's figures: a collaboration-health score per month and what it is made of.

Pulse figures come from bot.services.pulse's results, so a side hidden in the chat
results (fewer answers than the threshold) is hidden here too, and so is Everyone when it
could give a hidden side away; nothing here reads an answer or counts a side itself.
Nothing here names who answered, asked or looked something up.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import (
    BoardPost,
    ChallengeHelper,
    Occurrence,
    OccurrenceStatus,
    Person,
)
from bot.models import StandupAnswer as StandupAnswerRow
from bot.services import glossary_lookups, pairs, pulse, pulse_trends
from bot.services.standups import QUESTIONS_DM

TWO_SIDES = ("marketing", "it")
# A challenge resolved within a day scores 100 for speed, one taking this long or more 0.
SLOW_RESOLVE_DAYS = 30.0

# The score's parts, in the order the overview shows them, with how each becomes 0-100.
PARTS = {
    "gap": "Perception gap (100 minus the average gap in points)",
    "response": "Pulse response rate (average of both sides)",
    "standups": "Stand-up participation (average of both sides)",
    "help": "Challenges helped from the other side (% of challenges)",
    "resolve": f"Time to resolve (100 within a day, 0 at {SLOW_RESOLVE_DAYS:.0f} days)",
    "pairs": "Pairs that met (%)",
    "glossary": "Glossary lookups into the other side's terms (% of each side's lookups)",
}

# % of the pairs made from `since` to before `until` that met (None: no pairs), where
# bridgebot has bridge pairs.
PairFigures = Callable[[Session, str, datetime, datetime], float | None]


def pairs_that_met(
    session: Session, workspace_id: str, since: datetime, until: datetime
) -> float | None:
    """% of the bridge pairs made from `since` to before `until` that met (None: none made)."""
    share = pairs.figures(
        session=session, workspace_id=workspace_id, since=since, until=until
    ).share_met
    return None if share is None else round(100 * share, 1)


def month_of(value: datetime | date) -> str:
    return f"{value.year:04d}-{value.month:02d}"


def months_back(now: datetime, count: int) -> list[str]:
    """The last `count` months up to now's, oldest first."""
    year, month = now.year, now.month
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def first_day(month: str) -> date:
    return date(int(month[:4]), int(month[5:7]), 1)


def _start(month: str) -> datetime:
    return datetime.combine(first_day(month), time(), tzinfo=UTC)


def _next(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.fmean(present), 1) if present else None


# -- pulse ---------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionPoint:
    """One question in one pulse: % agree by side (None: hidden or no answers), the gap."""

    opened: date
    marketing: float | None
    it: float | None
    everyone: float | None  # None for a mirrored pair, where a total means nothing
    gap: float | None


@dataclass(frozen=True)
class QuestionSeries:
    """A question followed by its id across pulses (pulse_trends), oldest first."""

    question_id: str
    question: str
    pair: dict[str, str] | None  # a mirrored pair: the statement each side was asked
    points: list[QuestionPoint]


@dataclass(frozen=True)
class PulsePoint:
    opened: date
    response_rate: dict[str, float | None]
    respondents: dict[str, int]
    invited: dict[str, int]


@dataclass(frozen=True)
class PulseHistory:
    threshold: int
    points: list[PulsePoint]
    questions: list[QuestionSeries]
    latest_comments: list[str]
    latest_opened: date | None


def pulse_history(*, session: Session, workspace_id: str, since: datetime) -> PulseHistory:
    """The closed weekly pulses opened since `since`, as the chat results show them: each
    question's trend by its id (mirrored pairs side by side) and the response rates."""
    history = pulse_trends.closed_pulses(session=session, workspace_id=workspace_id, since=since)
    trends = pulse_trends.question_trends(
        session=session, workspace_id=workspace_id, history=history
    )
    latest = history[-1] if history else None
    return PulseHistory(
        threshold=latest.threshold if latest else pulse.threshold_for(session, workspace_id),
        points=[
            PulsePoint(
                opened=result.poll.opened_at.date(),
                response_rate={side: result.response_rate.get(side) for side in pulse.SIDES},
                respondents=dict(result.respondents_by_side),
                invited={side: result.poll.invited.get(side, 0) for side in pulse.SIDES},
            )
            for result in history
        ],
        questions=[
            QuestionSeries(
                question_id=trend.question_id,
                question=trend.question,
                pair=trend.pair,
                points=[
                    QuestionPoint(
                        opened=point.opened_at.date(),
                        marketing=point.agree_pct.get("marketing"),
                        it=point.agree_pct.get("it"),
                        everyone=point.agree_pct.get(pulse_trends.OVERALL),
                        gap=point.gap,
                    )
                    for point in trend.points
                ],
            )
            for trend in trends
        ],
        latest_comments=list(latest.comments) if latest else [],
        latest_opened=latest.poll.opened_at.date() if latest else None,
    )


# -- stand-ups -----------------------------------------------------------------------


@dataclass(frozen=True)
class StandupMonth:
    month: str
    asked: dict[str, int]
    answered: dict[str, int]

    def rate(self, side: str) -> float | None:
        asked = self.asked.get(side, 0)
        if not asked:
            return None
        return round(min(100.0, 100 * self.answered.get(side, 0) / asked), 1)


def standup_months(*, session: Session, workspace_id: str, since: date) -> list[StandupMonth]:
    """Async stand-ups per month: questions sent and answers given, by the person's side."""
    asked: dict[str, dict[str, int]] = defaultdict(dict)
    for due, side, count in session.execute(
        select(Occurrence.due_at, Person.side, func.count())
        .join(
            Person,
            (Person.workspace_id == Occurrence.workspace_id)
            & (Person.user_ref == Occurrence.recipient_ref),
        )
        .where(
            Occurrence.workspace_id == workspace_id,
            Occurrence.kind == QUESTIONS_DM,
            Occurrence.status == OccurrenceStatus.SENT,
            Occurrence.due_at >= datetime.combine(since, time(), tzinfo=UTC),
        )
        .group_by(Occurrence.due_at, Person.side)
    ):
        cell = asked[month_of(due)]
        cell[side or "none"] = cell.get(side or "none", 0) + count
    answered: dict[str, dict[str, int]] = defaultdict(dict)
    for day, side, count in session.execute(
        select(StandupAnswerRow.local_date, Person.side, func.count())
        .join(
            Person,
            (Person.workspace_id == StandupAnswerRow.workspace_id)
            & (Person.user_ref == StandupAnswerRow.user_ref),
        )
        .where(StandupAnswerRow.workspace_id == workspace_id, StandupAnswerRow.local_date >= since)
        .group_by(StandupAnswerRow.local_date, Person.side)
    ):
        cell = answered[month_of(day)]
        cell[side or "none"] = cell.get(side or "none", 0) + count
    return [
        StandupMonth(month, asked.get(month, {}), answered.get(month, {}))
        for month in sorted(set(asked) | set(answered))
    ]


# -- board ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardMonth:
    month: str
    wins: dict[str, int]
    challenges: dict[str, int]
    helped_across: int  # challenges of the month helped by someone from the other side
    resolved: int
    median_resolve_days: float | None

    @property
    def challenge_total(self) -> int:
        return sum(self.challenges.values())

    @property
    def helped_across_pct(self) -> float | None:
        total = self.challenge_total
        return round(100 * self.helped_across / total, 1) if total else None


def board_months(*, session: Session, workspace_id: str, since: date) -> list[BoardMonth]:
    """Wins and challenges per month by the author's side; help across sides; resolving."""
    start = datetime.combine(since, time(), tzinfo=UTC)
    posts = session.execute(
        select(
            BoardPost.id,
            BoardPost.kind,
            BoardPost.author_side,
            BoardPost.created_at,
            BoardPost.resolved_at,
        ).where(BoardPost.workspace_id == workspace_id, BoardPost.created_at >= start)
    ).all()
    across = {
        post_id
        for post_id, author, helper in session.execute(
            select(ChallengeHelper.post_id, BoardPost.author_side, ChallengeHelper.helper_side)
            .join(BoardPost, BoardPost.id == ChallengeHelper.post_id)
            .where(BoardPost.workspace_id == workspace_id, BoardPost.created_at >= start)
        )
        if author in TWO_SIDES and helper in TWO_SIDES and author != helper
    }
    wins: dict[str, dict[str, int]] = defaultdict(dict)
    challenges: dict[str, dict[str, int]] = defaultdict(dict)
    helped: dict[str, int] = defaultdict(int)
    resolve_days: dict[str, list[float]] = defaultdict(list)
    for post_id, kind, side, created, resolved in posts:
        month = month_of(created)
        bucket = wins if kind == "win" else challenges
        bucket[month][side or "none"] = bucket[month].get(side or "none", 0) + 1
        if kind == "challenge" and post_id in across:
            helped[month] += 1
        if kind == "challenge" and resolved is not None:
            resolve_days[month_of(resolved)].append((resolved - created).total_seconds() / 86400)
    months = sorted(set(wins) | set(challenges) | set(resolve_days))
    return [
        BoardMonth(
            month=month,
            wins=wins.get(month, {}),
            challenges=challenges.get(month, {}),
            helped_across=helped.get(month, 0),
            resolved=len(resolve_days.get(month, [])),
            median_resolve_days=round(statistics.median(resolve_days[month]), 1)
            if resolve_days.get(month)
            else None,
        )
        for month in months
    ]


# -- overview ------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthHealth:
    month: str
    score: float | None
    parts: dict[str, float | None]  # each 0-100, None when there is nothing to measure
    gap: float | None  # average absolute perception gap, points
    response: dict[str, float | None]
    standups: dict[str, float | None]
    challenges: int
    helped_across: int
    median_resolve_days: float | None
    pairs_met: float | None
    lookups_into_other: dict[str, int]
    lookups: dict[str, int]


@dataclass(frozen=True)
class Overview:
    months: list[MonthHealth]
    pairs_available: bool
    threshold: int
    pulse: PulseHistory
    notes: list[str] = field(default_factory=list)

    @property
    def latest(self) -> MonthHealth | None:
        return self.months[-1] if self.months else None


def overview(
    *,
    session: Session,
    workspace_id: str,
    now: datetime,
    months: int = 12,
    pair_figures: PairFigures | None = None,
) -> Overview:
    """The collaboration-health score for each of the last `months` months and its parts."""
    labels = months_back(now, months)
    since = first_day(labels[0])
    history = pulse_history(session=session, workspace_id=workspace_id, since=_start(labels[0]))
    by_month: dict[str, list[PulsePoint]] = defaultdict(list)
    for point in history.points:
        by_month[month_of(point.opened)].append(point)
    gaps_by_month: dict[str, list[float]] = defaultdict(list)
    for series in history.questions:
        for question in series.points:
            if question.gap is not None:
                gaps_by_month[month_of(question.opened)].append(abs(question.gap))
    standups = {
        m.month: m for m in standup_months(session=session, workspace_id=workspace_id, since=since)
    }
    board = {
        m.month: m for m in board_months(session=session, workspace_id=workspace_id, since=since)
    }
    crossings = glossary_lookups.cross_side_by_month(
        session=session, workspace_id=workspace_id, since=since
    )
    into: dict[str, dict[str, int]] = defaultdict(dict)
    total: dict[str, dict[str, int]] = defaultdict(dict)
    for crossing in crossings:
        into[crossing.month][crossing.side] = crossing.into_other_side
        total[crossing.month][crossing.side] = crossing.all_lookups
    met = (
        {
            month: pair_figures(session, workspace_id, _start(month), _start(next_month))
            for month, next_month in zip(labels, labels[1:] + [_next(labels[-1])], strict=True)
        }
        if pair_figures is not None
        else {}
    )
    rows = []
    for month in labels:
        points = by_month.get(month, [])
        gaps = gaps_by_month.get(month, [])
        gap = round(statistics.fmean(gaps), 1) if gaps else None
        response = {side: _mean(p.response_rate.get(side) for p in points) for side in TWO_SIDES}
        standup = standups.get(month)
        standup_rates = {side: standup.rate(side) if standup else None for side in TWO_SIDES}
        board_month = board.get(month)
        resolve = board_month.median_resolve_days if board_month else None
        glossary_share = [
            100 * into[month].get(side, 0) / total[month][side]
            for side in TWO_SIDES
            if total[month].get(side)
        ]
        parts: dict[str, float | None] = {
            "gap": None if gap is None else max(0.0, 100 - gap),
            "response": _mean(response.values()),
            "standups": _mean(standup_rates.values()),
            "help": board_month.helped_across_pct if board_month else None,
            "resolve": None
            if resolve is None
            else round(max(0.0, 100 * (1 - max(0.0, resolve - 1) / (SLOW_RESOLVE_DAYS - 1))), 1),
            "pairs": met.get(month) if pair_figures is not None else None,
            "glossary": _mean(glossary_share),
        }
        rows.append(
            MonthHealth(
                month=month,
                score=_mean(parts.values()),
                parts=parts,
                gap=gap,
                response=response,
                standups=standup_rates,
                challenges=board_month.challenge_total if board_month else 0,
                helped_across=board_month.helped_across if board_month else 0,
                median_resolve_days=resolve,
                pairs_met=met.get(month),
                lookups_into_other={side: into[month].get(side, 0) for side in TWO_SIDES},
                lookups={side: total[month].get(side, 0) for side in TWO_SIDES},
            )
        )
    return Overview(
        months=rows,
        pairs_available=pair_figures is not None,
        threshold=history.threshold,
        pulse=history,
    )


def glossary_since(now: datetime, days: int = 90) -> date:
    return (now - timedelta(days=days)).date()
