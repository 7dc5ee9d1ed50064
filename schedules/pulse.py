"""The weekly pulse: opened on schedule, one DM per person, results posted at close."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.commands.pulse import (
    PULSE_CLOSE,
    PULSE_DM,
    PULSE_OPEN,
    open_and_plan,
    question_message,
    results_message,
)
from bot.deps import Deps
from bot.models import Person, WorkspaceSettings
from bot.replies import Reply
from bot.services import occurrences, pulse, workspaces
from bot.services.occurrences import ClaimedOccurrence
from bot.services.recurrence import Weekly
from bot.services.workspaces import WorkspaceView

logger = logging.getLogger(__name__)

TREND_WEEKS = 12


def register(deps: Deps) -> None:
    if PULSE_OPEN in deps.deliveries:
        return
    deps.planners.append(plan_pulses)
    deps.deliveries.update(
        {PULSE_OPEN: deliver_open, PULSE_DM: deliver_dm, PULSE_CLOSE: deliver_close}
    )


def plan_pulses(session: Session, now: datetime) -> None:
    """Plan the next weekly pulse, within the coming day, of workspaces with people to ask."""
    has_audience = (
        select(Person.id)
        .where(Person.workspace_id == WorkspaceSettings.workspace_id, Person.side.is_not(None))
        .exists()
    )
    rows = session.execute(
        select(WorkspaceSettings).where(WorkspaceSettings.pulse_enabled.is_(True), has_audience)
    ).scalars()
    for settings in rows:
        weekly = Weekly((settings.pulse_weekday,), settings.pulse_time, settings.timezone)
        found = weekly.next_after(now)
        if found and found[1] - now <= timedelta(days=1):
            occurrences.schedule(
                session=session,
                workspace_id=settings.workspace_id,
                kind=PULSE_OPEN,
                subject_ref="weekly",
                due_at=found[1],
                payload={"hours": settings.pulse_open_hours},
            )


async def deliver_open(occurrence: ClaimedOccurrence, deps: Deps) -> None:
    """Open the pulse for this slot; its DMs are planned due now and go out this tick."""

    def open_poll() -> None:
        with deps.session_factory.begin() as session:
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
            # The slot's own time, not the clock: a late opening (within the grace
            # period) still closes on schedule and its DMs count as due.
            open_and_plan(
                session,
                occurrence.workspace_id,
                slot=occurrence.due_at,
                now=occurrence.due_at,
                hours=int(occurrence.payload.get("hours", 48)),
            )

    await asyncio.to_thread(open_poll)


async def deliver_dm(occurrence: ClaimedOccurrence, deps: Deps) -> None:
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
    if reply is not None and deps.notifier is not None:
        await deps.notifier.post(occurrence.workspace_id, occurrence.recipient_ref, reply)


async def deliver_close(occurrence: ClaimedOccurrence, deps: Deps) -> None:
    """Close the poll and post the results (table and trend chart) to the shared channel."""

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
    if built is not None and deps.notifier is not None:
        workspace, reply = built
        assert workspace.shared_channel_ref is not None
        await deps.notifier.post(occurrence.workspace_id, workspace.shared_channel_ref, reply)
