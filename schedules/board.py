"""The weekly board digest: planned per workspace, delivered once through the occurrence table."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.commands.board import digest_message
from bot.commands.pairs import program_figures, with_figures
from bot.models import WorkspaceSettings
from bot.replies import Reply
from bot.services import board, occurrences, workspaces
from bot.services.occurrences import ClaimedOccurrence
from bot.services.recurrence import Weekly
from schedules.scheduler import Scheduler

logger = logging.getLogger(__name__)

DIGEST = "board.digest"


def register(scheduler: Scheduler) -> None:
    grace = timedelta(minutes=scheduler.deps.settings.bridgebot_grace_minutes)
    scheduler.add_planner(lambda session, now: plan_digests(session, now, grace=grace))
    scheduler.add_delivery(DIGEST, deliver_digest)


def digest_schedule(settings: WorkspaceSettings) -> Weekly:
    return Weekly(
        (settings.digest_weekday,), settings.digest_time or time(16, 0), settings.timezone
    )


def next_digest(settings: WorkspaceSettings, now: datetime) -> datetime | None:
    found = digest_schedule(settings).next_after(now)
    return found[1] if found else None


def digest_before(settings: WorkspaceSettings, moment: datetime) -> datetime:
    """The digest time a week before `moment` in local time (167 or 169 hours across a
    clock change), where the week a digest reports on starts."""
    earlier = digest_schedule(settings).between(moment - timedelta(days=8), moment)
    return earlier[-1][1] if earlier else moment - timedelta(days=7)


def plan_digests(session: Session, now: datetime, grace: timedelta = timedelta(0)) -> None:
    """Plan each workspace's next digest (only where a shared channel is set).

    Looking back `grace` plans a digest whose time passed while the bot was down, so it
    is still sent within the grace period (planning is idempotent: a sent one stays sent).
    """
    rows = session.execute(
        select(WorkspaceSettings).where(WorkspaceSettings.shared_channel_ref.is_not(None))
    ).scalars()
    for settings in rows:
        due = next_digest(settings, now - grace)
        if due is not None and due - now <= timedelta(days=1):
            occurrences.schedule(
                session=session,
                workspace_id=settings.workspace_id,
                kind=DIGEST,
                subject_ref="week",
                due_at=due,
            )


async def deliver_digest(occurrence: ClaimedOccurrence, scheduler: Scheduler) -> None:
    deps = scheduler.deps

    def build() -> tuple[str, Reply] | None:
        with deps.session_factory() as session:
            workspace = workspaces.get_workspace(
                session=session, workspace_id=occurrence.workspace_id
            )
            settings = session.get(WorkspaceSettings, occurrence.workspace_id)
            if not workspace.shared_channel_ref or settings is None:
                return None
            if next_digest(settings, occurrence.due_at) != occurrence.due_at:
                # An admin moved the digest after this one was planned; the new time
                # is planned on its own, so this one would be a second digest.
                logger.info("digest at %s dropped: the schedule changed", occurrence.due_at)
                return None
            numbers = board.week_numbers(
                session=session,
                workspace_id=occurrence.workspace_id,
                start=digest_before(settings, occurrence.due_at),
                end=occurrence.due_at,
            )
            figures = program_figures(session, occurrence.workspace_id, until=occurrence.due_at)
            return workspace.shared_channel_ref, with_figures(
                digest_message(numbers, workspace), figures
            )

    built = await asyncio.to_thread(build)
    if built is None:
        return
    channel, reply = built
    await scheduler.notifier.post(occurrence.workspace_id, channel, reply)
