"""Sides synced from platform user groups: daily, and on demand with /bridge sync."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot import replies
from bot.deps import Deps
from bot.models import Side, WorkspaceSettings
from bot.notify import DeliveryError
from bot.services import occurrences, people
from bot.services.occurrences import ClaimedOccurrence
from schedules.scheduler import Scheduler

logger = logging.getLogger(__name__)

SYNC = "sides.sync"
DAILY_AT = time(3, 0)


def register(scheduler: Scheduler) -> None:
    scheduler.add_planner(plan_daily_sync)
    scheduler.add_delivery(SYNC, deliver_sync)


def plan_daily_sync(session: Session, now: datetime) -> None:
    """Plan tomorrow's 03:00 UTC sync for workspaces that named user groups."""
    due = datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), DAILY_AT, tzinfo=UTC)
    rows = session.execute(
        select(WorkspaceSettings.workspace_id).where(
            or_(
                WorkspaceSettings.usergroup_marketing.is_not(None),
                WorkspaceSettings.usergroup_it.is_not(None),
            )
        )
    ).scalars()
    for workspace_id in rows:
        occurrences.schedule(
            session=session, workspace_id=workspace_id, kind=SYNC, subject_ref="daily", due_at=due
        )


async def deliver_sync(occurrence: ClaimedOccurrence, scheduler: Scheduler) -> None:
    deps = scheduler.deps
    directory = scheduler.notifier
    group_members = getattr(directory, "group_members", None)
    requested_by = occurrence.payload.get("requested_by")

    def groups() -> dict[Side, str]:
        with deps.session_factory() as session:
            row = session.get(WorkspaceSettings, occurrence.workspace_id)
            if row is None:
                return {}
            found = {Side.MARKETING: row.usergroup_marketing, Side.IT: row.usergroup_it}
            return {side: ref for side, ref in found.items() if ref}

    wanted = await asyncio.to_thread(groups)
    if group_members is None:
        summary = "Side sync needs a chat platform with user groups (Slack)."
    else:
        members: dict[Side, set[str]] = {}
        try:
            for side, group in wanted.items():
                members[side] = set(await group_members(occurrence.workspace_id, group))
        except DeliveryError as exc:
            summary = f"Side sync failed: {exc}"
        else:
            summary = await asyncio.to_thread(_apply, deps, occurrence.workspace_id, members)
    logger.info("side sync for %s: %s", occurrence.workspace_id, summary)
    if requested_by:
        await scheduler.notifier.post(
            occurrence.workspace_id,
            requested_by,
            replies.message(summary, visibility=replies.Visibility.CHANNEL),
        )


def _apply(deps: Deps, workspace_id: str, members: dict[Side, set[str]]) -> str:
    """Set each member's side; someone in both groups is left as they are."""
    both = set.intersection(*members.values()) if len(members) > 1 else set()
    now = deps.clock()
    counts = {side: 0 for side in members}
    with deps.session_factory.begin() as session:
        for side, users in members.items():
            for user in sorted(users - both):
                people.set_side(
                    session=session,
                    workspace_id=workspace_id,
                    user_ref=user,
                    side=side,
                    source=people.SideSource.SYNC,
                    now=now,
                )
                counts[side] += 1
    parts = [f"{count} {side.value}" for side, count in counts.items()]
    note = f"; {len(both)} in both groups left unchanged" if both else ""
    return f"Sides synced from user groups: {', '.join(parts) or 'no groups set'}{note}."
