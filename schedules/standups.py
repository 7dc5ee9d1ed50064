"""Deliveries of stand-up occurrences: reminders, async questions, digests."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime
from functools import partial

from bot.commands.standup import digest_message, questions_message, reminder_message
from bot.deps import Deps
from bot.replies import Reply
from bot.services import standups, workspaces
from bot.services.occurrences import ClaimedOccurrence
from bot.services.standups import StandupNotFound, StandupView
from schedules.batching import Batched
from schedules.scheduler import Scheduler

logger = logging.getLogger(__name__)


def register(scheduler: Scheduler) -> None:
    """Teach the tick to plan stand-ups and deliver each of their kinds."""
    deps = scheduler.deps
    scheduler.add_planner(
        # Plans that have run out and did not fit in this tick's budget: tick again at once.
        lambda session, now: standups.plan_due(session=session, now=now, behind=scheduler.wake)
    )
    views = RecentStandups(deps)
    scheduler.on_tick_started(views.clear)
    fan_out = partial(
        deliver_fan_out, expansions=Batched(partial(_expand_fan_outs, deps)), views=views
    )
    scheduler.add_delivery(standups.REMINDER_POST, partial(deliver_reminder_post, views=views))
    scheduler.add_delivery(standups.REMINDER_FANOUT, fan_out)
    scheduler.add_delivery(standups.QUESTIONS_FANOUT, fan_out)
    scheduler.add_delivery(standups.REMINDER_DM, partial(deliver_reminder_dm, views=views))
    scheduler.add_delivery(standups.QUESTIONS_DM, partial(deliver_questions_dm, views=views))
    scheduler.add_delivery(standups.DIGEST, deliver_digest)


ViewKey = tuple[str, int, datetime]  # workspace, stand-up id, due time


class RecentStandups:
    """Stand-ups as read in this tick, by due time: one read serves a whole fan-out.

    Every participant's message of a fan-out is about the same stand-up and due at the
    same time; a pause or edit cancels what has not been claimed yet, so reading the
    stand-up once per tick and due time sends nothing a fresh read would not. Reads
    that miss at the same moment go to the database together.
    """

    def __init__(self, deps: Deps) -> None:
        self._views: dict[ViewKey, StandupView | None] = {}
        self._reads: Batched[tuple[str, int], StandupView | None] = Batched(
            partial(_read_standups, deps)
        )

    def clear(self) -> None:
        self._views.clear()

    def remember(self, key: ViewKey, view: StandupView | None) -> None:
        self._views.setdefault(key, view)

    async def get(self, occurrence: ClaimedOccurrence) -> StandupView | None:
        key = _view_key(occurrence)
        if key in self._views:
            view = self._views[key]
        else:
            view = await self._reads.submit(key[:2])
            self.remember(key, view)
        if view is None:
            logger.info("stand-up of delivery %s was deleted; nothing to send", occurrence.id)
        return view


def _view_key(occurrence: ClaimedOccurrence) -> ViewKey:
    return (occurrence.workspace_id, int(occurrence.payload["standup_id"]), occurrence.due_at)


def _read_standups(deps: Deps, keys: list[tuple[str, int]]) -> list[StandupView | None]:
    with deps.session_factory() as session:
        found = standups.get_many(session=session, keys=keys)
    return [found.get(key) for key in keys]


def _expand_fan_outs(
    deps: Deps, batch: list[ClaimedOccurrence]
) -> list[tuple[StandupView | None, int]]:
    requests = [
        standups.FanOut(
            workspace_id=o.workspace_id, kind=o.kind, due_at=o.due_at, payload=o.payload
        )
        for o in batch
    ]
    with deps.session_factory.begin() as session:
        return standups.fan_out_many(session=session, fan_outs=requests)


async def _post(
    scheduler: Scheduler, occurrence: ClaimedOccurrence, conversation_ref: str, reply: Reply
) -> None:
    await scheduler.notifier.post(occurrence.workspace_id, conversation_ref, reply)


def _start(occurrence: ClaimedOccurrence) -> datetime:
    return datetime.fromisoformat(occurrence.payload["start"])


def _local_date(occurrence: ClaimedOccurrence) -> date:
    return date.fromisoformat(occurrence.payload["local_date"])


async def deliver_reminder_post(
    occurrence: ClaimedOccurrence, scheduler: Scheduler, *, views: RecentStandups
) -> None:
    if view := await views.get(occurrence):
        await _post(
            scheduler,
            occurrence,
            view.channel_ref,
            reminder_message(view, _start(occurrence), direct=False, due_at=occurrence.due_at),
        )


async def deliver_reminder_dm(
    occurrence: ClaimedOccurrence, scheduler: Scheduler, *, views: RecentStandups
) -> None:
    if view := await views.get(occurrence):
        reply = reminder_message(view, _start(occurrence), direct=True, due_at=occurrence.due_at)
        await _post(scheduler, occurrence, occurrence.recipient_ref, reply)


async def deliver_questions_dm(
    occurrence: ClaimedOccurrence, scheduler: Scheduler, *, views: RecentStandups
) -> None:
    if view := await views.get(occurrence):
        reply = questions_message(view, _local_date(occurrence))
        await _post(scheduler, occurrence, occurrence.recipient_ref, reply)


async def deliver_fan_out(
    occurrence: ClaimedOccurrence,
    scheduler: Scheduler,
    *,
    expansions: Batched[ClaimedOccurrence, tuple[StandupView | None, int]],
    views: RecentStandups,
) -> None:
    """Plan one delivery per participant, due now; the same tick sends them.

    Fan-outs claimed together are expanded in one transaction; the stand-up read for
    it serves the messages that follow.
    """
    view, count = await expansions.submit(occurrence)
    views.remember(_view_key(occurrence), view)
    logger.info("stand-up delivery %s fans out to %d people", occurrence.id, count)


async def deliver_digest(occurrence: ClaimedOccurrence, scheduler: Scheduler) -> None:
    deps = scheduler.deps

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
        await _post(scheduler, occurrence, view.channel_ref, reply)
