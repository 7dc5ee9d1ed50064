"""Deliveries of stand-up occurrences: reminders, async questions, digests."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, timedelta

from bot.commands.standup import digest_message, questions_message, reminder_message
from bot.deps import Deps
from bot.replies import Reply
from bot.services import standups, workspaces
from bot.services.occurrences import ClaimedOccurrence
from bot.services.standups import StandupNotFound, StandupView

logger = logging.getLogger(__name__)


def register(deps: Deps) -> None:
    """Teach the tick to plan stand-ups and deliver each of their kinds (once per deps)."""
    if standups.REMINDER_POST in deps.deliveries:
        return
    grace = timedelta(minutes=deps.settings.bridgebot_grace_minutes)
    deps.planners.append(
        lambda session, now: standups.plan_due(session=session, now=now, grace=grace)
    )
    deps.deliveries.update(
        {
            standups.REMINDER_POST: deliver_reminder_post,
            standups.REMINDER_FANOUT: deliver_fan_out,
            standups.QUESTIONS_FANOUT: deliver_fan_out,
            standups.REMINDER_DM: deliver_reminder_dm,
            standups.QUESTIONS_DM: deliver_questions_dm,
            standups.DIGEST: deliver_digest,
        }
    )


def _load(deps: Deps, occurrence: ClaimedOccurrence) -> StandupView | None:
    with deps.session_factory() as session:
        try:
            return standups.get_by_id(
                session=session,
                workspace_id=occurrence.workspace_id,
                standup_id=int(occurrence.payload["standup_id"]),
            )
        except StandupNotFound:
            return None


async def _post(
    deps: Deps, occurrence: ClaimedOccurrence, conversation_ref: str, reply: Reply
) -> None:
    if deps.notifier is None:
        raise RuntimeError("no notifier configured")
    await deps.notifier.post(occurrence.workspace_id, conversation_ref, reply)


async def _standup(deps: Deps, occurrence: ClaimedOccurrence) -> StandupView | None:
    view = await asyncio.to_thread(_load, deps, occurrence)
    if view is None:
        logger.info("stand-up of delivery %s was deleted; nothing to send", occurrence.id)
    return view


def _start(occurrence: ClaimedOccurrence) -> datetime:
    return datetime.fromisoformat(occurrence.payload["start"])


def _local_date(occurrence: ClaimedOccurrence) -> date:
    return date.fromisoformat(occurrence.payload["local_date"])


async def deliver_reminder_post(occurrence: ClaimedOccurrence, deps: Deps) -> None:
    if view := await _standup(deps, occurrence):
        await _post(
            deps,
            occurrence,
            view.channel_ref,
            reminder_message(view, _start(occurrence), direct=False),
        )


async def deliver_reminder_dm(occurrence: ClaimedOccurrence, deps: Deps) -> None:
    if view := await _standup(deps, occurrence):
        reply = reminder_message(view, _start(occurrence), direct=True)
        await _post(deps, occurrence, occurrence.recipient_ref, reply)


async def deliver_questions_dm(occurrence: ClaimedOccurrence, deps: Deps) -> None:
    if view := await _standup(deps, occurrence):
        reply = questions_message(view, _local_date(occurrence))
        await _post(deps, occurrence, occurrence.recipient_ref, reply)


async def deliver_fan_out(occurrence: ClaimedOccurrence, deps: Deps) -> None:
    """Plan one delivery per participant, due now; the same tick sends them."""

    def expand() -> int:
        with deps.session_factory.begin() as session:
            try:
                return standups.fan_out(
                    session=session,
                    workspace_id=occurrence.workspace_id,
                    kind=occurrence.kind,
                    due_at=occurrence.due_at,
                    payload=occurrence.payload,
                )
            except StandupNotFound:
                return 0

    count = await asyncio.to_thread(expand)
    logger.info("stand-up delivery %s fans out to %d people", occurrence.id, count)


async def deliver_digest(occurrence: ClaimedOccurrence, deps: Deps) -> None:
    def build() -> tuple[StandupView, Reply] | None:
        with deps.session_factory() as session:
            try:
                sheet = standups.answer_sheet(
                    session=session,
                    workspace_id=occurrence.workspace_id,
                    standup_id=int(occurrence.payload["standup_id"]),
                    local_date=_local_date(occurrence),
                )
            except StandupNotFound:
                return None
            labels = workspaces.get_workspace(
                session=session, workspace_id=occurrence.workspace_id
            ).labels
            return sheet.standup, digest_message(sheet, labels)

    built = await asyncio.to_thread(build)
    if built:
        view, reply = built
        await _post(deps, occurrence, view.channel_ref, reply)
