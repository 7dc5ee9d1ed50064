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
    open_and_plan,
    question_message,
    results_message,
)
from bot.models import Person, WorkspaceSettings
from bot.replies import Reply
from bot.services import occurrences, pulse, workspaces
from bot.services.occurrences import ClaimedOccurrence
from bot.services.recurrence import Weekly
from bot.services.workspaces import WorkspaceView
from schedules.scheduler import Scheduler

logger = logging.getLogger(__name__)

TREND_WEEKS = 12


def register(scheduler: Scheduler) -> None:
    grace = timedelta(minutes=scheduler.deps.settings.bridgebot_grace_minutes)
    scheduler.add_planner(lambda session, now: plan_pulses(session, now, grace=grace))
    scheduler.add_planner(
        lambda session, now: pulse.close_overdue(session=session, before=now - grace)
    )
    scheduler.add_delivery(PULSE_OPEN, deliver_open)
    scheduler.add_delivery(PULSE_DM, deliver_dm)
    scheduler.add_delivery(PULSE_CLOSE, deliver_close)


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
            return question_message(poll, {}) if poll.is_open else None

    reply = await asyncio.to_thread(build)
    if reply is not None:
        await scheduler.notifier.post(occurrence.workspace_id, occurrence.recipient_ref, reply)


async def deliver_close(occurrence: ClaimedOccurrence, scheduler: Scheduler) -> None:
    """Close the poll and post the results (table and trend chart) to the shared channel."""
    deps = scheduler.deps

    def close() -> tuple[WorkspaceView, Reply] | None:
        with deps.session_factory.begin() as session:
            poll_id = int(occurrence.payload["poll_id"])
            pulse.close(
                session=session,
                workspace_id=occurrence.workspace_id,
                poll_id=poll_id,
                now=deps.clock(),
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
