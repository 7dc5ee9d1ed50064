"""The pulse's gap alert: told to admins when a question's perception gap widens, or when a
side stops answering.

When a weekly pulse closes, each question whose gap (Marketing's % agree minus IT's) is
wider, by at least the workspace's setting (15 points unless changed), than its average
over the previous three pulses that asked it, and each of the two sides whose response
rate fell below the set share, make one alert: a direct message to each admin who gets
alerts and, if chosen, a short post in the shared channel. It reads only what the results
show: a gap is there only when both sides have enough answers to be shown, so a hidden
side never sets one off, nor counts in the average. Each message goes once, through the
delivery table (one row per pulse and recipient).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.db import insert_ignoring_conflicts
from bot.errors import Invalid
from bot.models import PulseAlertRecipient, PulsePoll, Side, WorkspaceSettings
from bot.services import occurrences, pulse
from bot.services.pulse import PollResults, PollView

# Occurrence kind: one per closed pulse and recipient; recipient "" is the shared channel.
PULSE_ALERT = "pulse.alert"
CHANNEL = ""
AVERAGED_PULSES = 3
# How far back to look for the previous pulses that asked a question.
LOOK_BACK = 26
RATE_SIDES = (Side.MARKETING.value, Side.IT.value)
MAX_GAP_SETTING = 100


@dataclass(frozen=True)
class GapWidened:
    """A question whose gap is wider than its recent average by at least the setting."""

    number: int  # 1-based, as the results number it
    question_id: str
    question: str
    mirror: dict[str, str] | None
    gap: float
    average: float
    pulses: int  # previous pulses averaged (1 to 3)
    marketing_pct: float
    it_pct: float

    @property
    def widened_by(self) -> float:
        return round(abs(self.gap) - abs(self.average), 1)


@dataclass(frozen=True)
class RateFell:
    """A side whose response rate fell below the set share."""

    side: str
    rate: float
    respondents: int
    invited: int
    previous: float | None  # the previous pulse's rate, None if it asked none of them


@dataclass(frozen=True)
class Alert:
    poll: PollView
    gap_points: int
    rate_share: int
    gaps: tuple[GapWidened, ...]
    rates: tuple[RateFell, ...]

    def __bool__(self) -> bool:
        return bool(self.gaps or self.rates)


@dataclass(frozen=True)
class AlertSettings:
    gap_points: int
    rate_share: int  # percent; 0: never
    channel: bool
    recipients: tuple[str, ...]


def find(*, session: Session, workspace_id: str, poll_id: int) -> Alert:
    """What a closed weekly pulse alerts about; empty (falsy) if nothing, or not closed.

    Raises:
        PollNotFound: another workspace's poll, or none.
    """
    poll = pulse.get_poll(session=session, workspace_id=workspace_id, poll_id=poll_id)
    config = settings(session=session, workspace_id=workspace_id)
    empty = Alert(poll, config.gap_points, config.rate_share, (), ())
    if poll.kind != pulse.WEEKLY or poll.status != "closed":
        return empty
    earlier = (
        session.execute(
            select(PulsePoll.id)
            .where(
                PulsePoll.workspace_id == workspace_id,
                PulsePoll.kind == pulse.WEEKLY,
                PulsePoll.status == "closed",
                PulsePoll.opened_at < poll.opened_at,
            )
            .order_by(PulsePoll.opened_at.desc())
            .limit(LOOK_BACK)
        )
        .scalars()
        .all()
    )
    current, *previous = pulse.results_of(
        session=session, workspace_id=workspace_id, poll_ids=[poll.id, *earlier]
    )
    gaps = tuple(_widened(current, previous, config.gap_points))
    rates = tuple(_fell(current, previous[0] if previous else None, config.rate_share))
    return Alert(poll, config.gap_points, config.rate_share, gaps, rates)


def _widened(current: PollResults, previous: list[PollResults], points: int) -> list[GapWidened]:
    found = []
    for number, question in enumerate(current.questions, start=1):
        gap = question.gap
        if gap is None:  # a side is hidden: no alert on what nobody may see
            continue
        before = [
            earlier.gap
            for result in previous
            if (earlier := result.question(question.id)) is not None and earlier.gap is not None
        ][:AVERAGED_PULSES]
        if not before:
            continue
        average = round(sum(before) / len(before), 1)
        if abs(gap) - abs(average) >= points:
            marketing = question.by_side[Side.MARKETING.value].agree_pct
            it = question.by_side[Side.IT.value].agree_pct
            assert marketing is not None and it is not None  # the gap is shown
            found.append(
                GapWidened(
                    number,
                    question.id,
                    question.question,
                    question.mirror,
                    gap,
                    average,
                    len(before),
                    marketing,
                    it,
                )
            )
    return found


def _fell(current: PollResults, previous: PollResults | None, share: int) -> list[RateFell]:
    """Sides below `share` this pulse that were not below it the pulse before: a side
    that stays low is told once, when it falls, not every week."""
    if share <= 0:
        return []
    found = []
    for side in RATE_SIDES:
        rate = current.response_rate.get(side)
        if rate is None or rate >= share:
            continue
        before = previous.response_rate.get(side) if previous is not None else None
        if before is not None and before < share:
            continue
        found.append(
            RateFell(
                side,
                rate,
                current.respondents_by_side.get(side, 0),
                current.poll.invited.get(side, 0),
                before,
            )
        )
    return found


def plan(*, session: Session, workspace_id: str, poll_id: int, due_at: datetime) -> int:
    """Plan the alert of a pulse that just closed, if it has one: a delivery per admin who
    gets alerts, and one to the shared channel if chosen. Planning again (a retried
    close) plans nothing more. Returns the number of deliveries planned now."""
    alert = find(session=session, workspace_id=workspace_id, poll_id=poll_id)
    if not alert:
        return 0
    config = settings(session=session, workspace_id=workspace_id)
    recipients = list(config.recipients) + ([CHANNEL] if config.channel else [])
    return sum(
        occurrences.schedule(
            session=session,
            workspace_id=workspace_id,
            kind=PULSE_ALERT,
            subject_ref=f"pulse:{poll_id}",
            due_at=due_at,
            recipient_ref=recipient,
            # Only the poll: the message is made from its results when delivered, so no
            # question an admin typed is copied into the delivery table.
            payload={"poll_id": poll_id},
        )
        for recipient in recipients
    )


def settings(*, session: Session, workspace_id: str) -> AlertSettings:
    row = session.execute(
        select(
            WorkspaceSettings.pulse_alert_gap,
            WorkspaceSettings.pulse_alert_rate,
            WorkspaceSettings.pulse_alert_channel,
        ).where(WorkspaceSettings.workspace_id == workspace_id)
    ).one_or_none()
    gap, rate, channel = row if row is not None else (15, 30, False)
    recipients = session.execute(
        select(PulseAlertRecipient.user_ref)
        .where(PulseAlertRecipient.workspace_id == workspace_id)
        .order_by(PulseAlertRecipient.user_ref)
    ).scalars()
    return AlertSettings(gap, rate, channel, tuple(recipients))


def _row(session: Session, workspace_id: str) -> WorkspaceSettings:
    return session.execute(
        select(WorkspaceSettings).where(WorkspaceSettings.workspace_id == workspace_id)
    ).scalar_one()


def set_gap_points(*, session: Session, workspace_id: str, points: int) -> None:
    """Raises: Invalid: not 1 to 100 points."""
    if not 1 <= points <= MAX_GAP_SETTING:
        raise Invalid(f"The gap is a number of points from 1 to {MAX_GAP_SETTING}.")
    _row(session, workspace_id).pulse_alert_gap = points


def set_rate_share(*, session: Session, workspace_id: str, share: int) -> None:
    """Raises: Invalid: not 0 (never) to 99 percent."""
    if not 0 <= share <= 99:
        raise Invalid("The response rate is a share from 0 (never alert) to 99 percent.")
    _row(session, workspace_id).pulse_alert_rate = share


def set_channel(*, session: Session, workspace_id: str, on: bool) -> None:
    _row(session, workspace_id).pulse_alert_channel = on


def subscribe(*, session: Session, workspace_id: str, user_ref: str) -> bool:
    """The admin gets alerts by direct message; False if they did already."""
    return insert_ignoring_conflicts(
        session,
        PulseAlertRecipient,
        {"workspace_id": workspace_id, "user_ref": user_ref},
        ["workspace_id", "user_ref"],
    )


def unsubscribe(*, session: Session, workspace_id: str, user_ref: str) -> bool:
    """No more alerts by direct message; False if they got none."""
    gone = session.execute(
        delete(PulseAlertRecipient).where(
            PulseAlertRecipient.workspace_id == workspace_id,
            PulseAlertRecipient.user_ref == user_ref,
        )
    ).rowcount  # type: ignore[attr-defined]
    return bool(gone)
