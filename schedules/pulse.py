"""The weekly pulse: opened on schedule, one DM per person, results posted at close."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from bot.commands.pulse import (
    PULSE_CLOSE,
    PULSE_DM,
    PULSE_OPEN,
    alert_message,
    open_and_plan,
    question_message,
    results_message,
)
from bot.models import Person, WorkspaceSettings
from bot.replies import Reply
from bot.services import (
    availability,
    occurrences,
    pulse,
    pulse_alerts,
    pulse_audience,
    workspaces,
)
from bot.services.occurrences import ClaimedOccurrence
from bot.services.recurrence import Weekly
from bot.services.workspaces import WorkspaceView
from schedules.scheduler import Scheduler

logger = logging.getLogger(__name__)

TREND_WEEKS = 12


def register(scheduler: Scheduler) -> None:
    grace = timedelta(minutes=scheduler.deps.settings.bridgebot_grace_minutes)
    scheduler.add_planner(lambda session, now: plan_pulses(session, now, grace=grace))
    scheduler.add_planner(lambda session, now: close_overdue(session, now, grace=grace))
    scheduler.add_delivery(PULSE_OPEN, deliver_open)
    scheduler.add_delivery(PULSE_DM, deliver_dm)
    scheduler.add_delivery(PULSE_CLOSE, deliver_close)
    # An alert planned for a pulse closed while the bot was down is still wanted late.
    scheduler.add_delivery(pulse_alerts.PULSE_ALERT, deliver_alert, persistent=True)


def close_overdue(session: Session, now: datetime, *, grace: timedelta) -> None:
    """Close the pulses whose closing time passed while the bot was down; their gap
    alert is planned as a close on time would have planned it."""
    for workspace_id, poll_id in pulse.close_overdue(session=session, before=now - grace):
        poll = pulse.get_poll(session=session, workspace_id=workspace_id, poll_id=poll_id)
        assert poll.closed_at is not None
        pulse_alerts.plan(
            session=session, workspace_id=workspace_id, poll_id=poll_id, due_at=poll.closed_at
        )


def pulse_schedule(settings: WorkspaceSettings) -> Weekly:
    return Weekly((settings.pulse_weekday,), settings.pulse_time, settings.timezone)


def still_scheduled(settings: WorkspaceSettings | None, slot: datetime) -> bool:
    """False once an admin turned the pulse off or moved it after `slot` was planned."""
    if settings is None or not settings.pulse_enabled:
        return False
    found = pulse_schedule(settings).next_after(slot)
    return found is not None and found[1] == slot


def plan_pulses(session: Session, now: datetime, grace: timedelta = timedelta(0)) -> None:
    """Plan the next weekly pulse, within the coming day, of workspaces with people to ask.

    Looking back `grace` plans a pulse whose time passed while the bot was down, so it
    still opens within the grace period (planning is idempotent).
    """
    in_audience = or_(
        Person.side.in_(pulse.AUDIENCE_SIDES[pulse.TWO_SIDES]),
        and_(WorkspaceSettings.pulse_audience != pulse.TWO_SIDES, Person.side.is_not(None)),
    )
    has_audience = (
        select(Person.id)
        .where(Person.workspace_id == WorkspaceSettings.workspace_id, in_audience)
        .exists()
    )
    rows = session.execute(
        select(WorkspaceSettings).where(WorkspaceSettings.pulse_enabled.is_(True), has_audience)
    ).scalars()
    for settings in rows:
        found = pulse_schedule(settings).next_after(now - grace)
        if found and found[1] - now <= timedelta(days=1):
            occurrences.schedule(
                session=session,
                workspace_id=settings.workspace_id,
                kind=PULSE_OPEN,
                subject_ref="weekly",
                due_at=found[1],
            )


async def deliver_open(occurrence: ClaimedOccurrence, scheduler: Scheduler) -> None:
    """Open the pulse for this slot; its DMs are planned due now and go out this tick."""
    deps = scheduler.deps

    def open_poll() -> None:
        with deps.session_factory.begin() as session:
            settings = session.get(WorkspaceSettings, occurrence.workspace_id)
            if not still_scheduled(settings, occurrence.due_at):
                # Turned off or moved since it was planned: the new slot has its own row.
                logger.info("weekly pulse at %s dropped: the schedule changed", occurrence.due_at)
                return
            assert settings is not None
            running = pulse.open_weekly_poll(session=session, workspace_id=occurrence.workspace_id)
            if (
                running is not None
                and running.closes_at is not None
                and running.closes_at > occurrence.due_at
                and running.opened_at < occurrence.due_at
            ):
                # An admin started one with /pulse now; people are not asked twice.
                logger.info("weekly pulse skipped: poll %s is still open", running.id)
                return
            # A late opening (within the grace period) still closes on schedule, from
            # the slot; its DMs are due now, with the whole grace period for retries.
            open_and_plan(
                session,
                occurrence.workspace_id,
                slot=occurrence.due_at,
                now=max(deps.clock(), occurrence.due_at),
                hours=settings.pulse_open_hours,  # as set now, not when it was planned
            )

    await asyncio.to_thread(open_poll)


async def deliver_dm(occurrence: ClaimedOccurrence, scheduler: Scheduler) -> None:
    deps = scheduler.deps

    def build() -> Reply | None:
        with deps.session_factory() as session:
            try:
                poll = pulse.get_poll(
                    session=session,
                    workspace_id=occurrence.workspace_id,
                    poll_id=int(occurrence.payload["poll_id"]),
                )
            except pulse.PollNotFound:
                return None
            if not poll.is_open:
                return None
            if availability.unavailable_at(
                session=session,
                workspace_id=occurrence.workspace_id,
                user_refs=[occurrence.recipient_ref],
                moment=deps.clock(),
            ):
                return None  # gone on time off since the pulse opened: no pulse DM then
            side = pulse_audience.frozen_side(
                session=session,
                workspace_id=occurrence.workspace_id,
                poll_id=poll.id,
                user_ref=occurrence.recipient_ref,
            )
            if not poll.statements_for(side):
                return None  # a pulse of mirrored pairs asks nothing of their side
            return question_message(poll, {}, side)

    reply = await asyncio.to_thread(build)
    if reply is not None:
        await scheduler.notifier.post(occurrence.workspace_id, occurrence.recipient_ref, reply)


async def deliver_close(occurrence: ClaimedOccurrence, scheduler: Scheduler) -> None:
    """Close the poll and post the results (table and trend chart) to the shared channel."""
    deps = scheduler.deps

    def close() -> tuple[WorkspaceView, Reply] | None:
        with deps.session_factory.begin() as session:
            poll_id = int(occurrence.payload["poll_id"])
            closed = pulse.close(
                session=session,
                workspace_id=occurrence.workspace_id,
                poll_id=poll_id,
                now=deps.clock(),
            )
            # In the closing transaction, and keyed by the time it closed: a retried close
            # plans no second alert.
            assert closed.closed_at is not None
            pulse_alerts.plan(
                session=session,
                workspace_id=occurrence.workspace_id,
                poll_id=poll_id,
                due_at=closed.closed_at,
            )
            workspace = workspaces.get_workspace(
                session=session, workspace_id=occurrence.workspace_id
            )
            if not workspace.shared_channel_ref:
                return None
            results = pulse.results(
                session=session, workspace_id=occurrence.workspace_id, poll_id=poll_id
            )
            history = pulse.trend(
                session=session, workspace_id=occurrence.workspace_id, weeks=TREND_WEEKS
            )
            return workspace, results_message(results, history, workspace)

    built = await asyncio.to_thread(close)
    if built is not None:
        workspace, reply = built
        assert workspace.shared_channel_ref is not None
        await scheduler.notifier.post(occurrence.workspace_id, workspace.shared_channel_ref, reply)


async def deliver_alert(occurrence: ClaimedOccurrence, scheduler: Scheduler) -> None:
    """The gap alert of a closed pulse: in full to an admin, in short to the shared channel
    (recipient ""). Made from the pulse's results as they show now."""
    deps = scheduler.deps
    to_channel = occurrence.recipient_ref == pulse_alerts.CHANNEL

    def build() -> tuple[str, Reply] | None:
        with deps.session_factory() as session:
            try:
                alert = pulse_alerts.find(
                    session=session,
                    workspace_id=occurrence.workspace_id,
                    poll_id=int(occurrence.payload["poll_id"]),
                )
            except pulse.PollNotFound:
                return None
            workspace = workspaces.get_workspace(
                session=session, workspace_id=occurrence.workspace_id
            )
            config = pulse_alerts.settings(session=session, workspace_id=occurrence.workspace_id)
            if to_channel:
                if not (config.channel and workspace.shared_channel_ref):
                    return None  # turned off, or no channel, since it was planned
                where = workspace.shared_channel_ref
            elif occurrence.recipient_ref in config.recipients:
                where = occurrence.recipient_ref
            else:
                return None  # stopped their alerts (or forgotten) since it was planned
            if not alert:
                return None
            return where, alert_message(alert, workspace, short=to_channel)

    built = await asyncio.to_thread(build)
    if built is not None:
        where, reply = built
        await scheduler.notifier.post(occurrence.workspace_id, where, reply)
