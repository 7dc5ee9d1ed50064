"""Each pulse question's figures over time, followed by its id: for the dashboard and any
other reader of trends.

Everything here is what the chat results show, under the same anonymity rules: a side's
% agree is None when fewer than the threshold of that side answered (a hidden side stays
hidden), the gap is None unless both sides are shown, Everyone is None whenever a side
that answered is hidden (and for a mirrored pair, where it means nothing). Nothing says
who answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import PulsePoll
from bot.services import pulse
from bot.services.pulse import PollResults

SIDES = pulse.SIDES  # marketing, it, other
OVERALL = "overall"


@dataclass(frozen=True)
class QuestionPoint:
    """One question in one closed pulse."""

    poll_id: int
    opened_at: datetime
    number: int  # 1-based, its place in that pulse
    question: str  # as asked (a mirrored pair: its title)
    # side -> the statement that side was asked; for a plain question every side's is
    # `question`; a mirrored pair has Marketing's and IT's only.
    asked: dict[str, str]
    agree_pct: dict[str, float | None]  # marketing, it, other, overall; None: hidden or none
    mean: dict[str, float | None]
    gap: float | None  # Marketing's % agree minus IT's, in points; None unless both shown
    # Respondents to the pulse over those it asked, per side, in percent (None: it asked
    # nobody of that side). The same for every question of the pulse.
    response_rate: dict[str, float | None]


@dataclass(frozen=True)
class QuestionTrend:
    """A question across the pulses that asked it, oldest first."""

    question_id: str
    question: str  # as the latest pulse that asked it put it
    mirrored: bool
    # A mirrored pair: what each side was last asked ({"marketing": "IT understands what
    # Marketing needs.", "it": "Marketing understands what IT needs."}); else None.
    pair: dict[str, str] | None
    points: tuple[QuestionPoint, ...]


@dataclass(frozen=True)
class PulseRates:
    """One closed pulse's response rate per side, and how many it asked."""

    poll_id: int
    opened_at: datetime
    response_rate: dict[str, float | None]
    invited: dict[str, int]


def closed_pulses(
    *,
    session: Session,
    workspace_id: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[PollResults]:
    """Results of the workspace's closed weekly pulses opened in [since, until), oldest
    first, read in a few queries however many there are (two years of weekly pulses)."""
    query = select(PulsePoll.id).where(
        PulsePoll.workspace_id == workspace_id,
        PulsePoll.kind == pulse.WEEKLY,
        PulsePoll.status == "closed",
    )
    if since is not None:
        query = query.where(PulsePoll.opened_at >= since)
    if until is not None:
        query = query.where(PulsePoll.opened_at < until)
    ids = list(session.execute(query.order_by(PulsePoll.opened_at, PulsePoll.id)).scalars())
    return pulse.results_of(session=session, workspace_id=workspace_id, poll_ids=ids)


def question_trends(
    *,
    session: Session,
    workspace_id: str,
    since: datetime | None = None,
    until: datetime | None = None,
    history: list[PollResults] | None = None,
) -> list[QuestionTrend]:
    """Every question asked by the closed weekly pulses opened in [since, until), each
    with its figures per pulse, in the order the questions were first asked.

    Args:
        history: `closed_pulses` already read, to read them once for several views.
    """
    if history is None:
        history = closed_pulses(
            session=session, workspace_id=workspace_id, since=since, until=until
        )
    points: dict[str, list[QuestionPoint]] = {}
    latest: dict[str, pulse.QuestionResult] = {}
    for result in history:
        for number, question in enumerate(result.questions, start=1):
            points.setdefault(question.id, []).append(_point(result, number, question))
            latest[question.id] = question
    trends = []
    for question_id, found in points.items():
        mirror = latest[question_id].mirror
        trends.append(
            QuestionTrend(
                question_id=question_id,
                question=latest[question_id].question,
                mirrored=mirror is not None,
                pair=dict(mirror) if mirror is not None else None,
                points=tuple(found),
            )
        )
    return trends


def response_rates(
    *,
    session: Session,
    workspace_id: str,
    since: datetime | None = None,
    until: datetime | None = None,
    history: list[PollResults] | None = None,
) -> list[PulseRates]:
    """Each closed weekly pulse's response rate per side, oldest first."""
    if history is None:
        history = closed_pulses(
            session=session, workspace_id=workspace_id, since=since, until=until
        )
    return [
        PulseRates(
            result.poll.id,
            result.poll.opened_at,
            dict(result.response_rate),
            {side: result.poll.invited.get(side, 0) for side in SIDES},
        )
        for result in history
    ]


def _point(result: PollResults, number: int, question: pulse.QuestionResult) -> QuestionPoint:
    stats = {**question.by_side, OVERALL: question.overall}
    asked = dict(question.mirror) if question.mirror else dict.fromkeys(SIDES, question.question)
    return QuestionPoint(
        poll_id=result.poll.id,
        opened_at=result.poll.opened_at,
        number=number,
        question=question.question,
        asked=asked,
        agree_pct={side: value.agree_pct for side, value in stats.items()},
        mean={side: value.mean for side, value in stats.items()},
        gap=question.gap,
        response_rate=dict(result.response_rate),
    )
