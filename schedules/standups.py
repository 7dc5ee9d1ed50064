"""Deliveries of stand-up occurrences: reminders, async questions, digests."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import date, datetime
from functools import partial

from bot.commands.standup import (
    digest_message,
    nudge_message,
    questions_message,
    reminder_message,
)
from bot.deps import Deps
from bot.notify import DeliveryDeferred, MessageGone
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
    # A late answer or an edit must reach the digest however long Slack or Teams refuse.
    scheduler.add_delivery(standups.DIGEST_UPDATE, deliver_digest_update, persistent=True)
    scheduler.add_delivery(standups.NUDGE_FANOUT, fan_out)
    scheduler.add_delivery(standups.NUDGE_DM, partial(deliver_nudge_dm, views=views))


ViewKey = tuple[str, int, datetime]  # workspace, stand-up id, due time


class RecentStandups:
    """Stand-ups as read in this tick, by due time: one read serves a whole fan-out.

    Every participant's message of a fan-out is about the same stand-up and due at the
    same time; a pause or edit cancels what has not been claimed yet, so reading the
    stand-up once per tick and due time sends nothing a fresh read would not. Reads
    that miss at the same moment go to the database together. The message built from
    a read is the same for every participant, so it is built once too (`reply`).
    """

    def __init__(self, deps: Deps) -> None:
        self._views: dict[ViewKey, StandupView | None] = {}
        self._replies: dict[tuple[ViewKey, str, str, str], Reply] = {}
        self._reads: Batched[tuple[str, int], StandupView | None] = Batched(
            partial(_read_standups, deps)
        )

    def clear(self) -> None:
        self._views.clear()
        self._replies.clear()

    def reply(
        self, occurrence: ClaimedOccurrence, view: StandupView, build: Callable[[], Reply]
    ) -> Reply:
        """The message `build` makes for this delivery's kind and round, built once a tick.

        `build` may use only the stand-up as read (`view`) and the payload's round.
        """
        payload = occurrence.payload
        key = (
            _view_key(occurrence),
            occurrence.kind,
            str(payload.get("start", "")),
            str(payload.get("local_date", "")),
        )
        found = self._replies.get(key)
        if found is None or self._views.get(key[0]) is not view:
            found = self._replies[key] = build()
        return found

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
        reply = views.reply(
            occurrence,
            view,
            lambda: reminder_message(
                view, _start(occurrence), direct=True, due_at=occurrence.due_at
            ),
        )
        await _post(scheduler, occurrence, occurrence.recipient_ref, reply)


async def deliver_questions_dm(
    occurrence: ClaimedOccurrence, scheduler: Scheduler, *, views: RecentStandups
) -> None:
    if view := await views.get(occurrence):
        reply = views.reply(
            occurrence, view, lambda: questions_message(view, _local_date(occurrence))
        )
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


def _build_digest(deps: Deps, occurrence: ClaimedOccurrence) -> tuple[StandupView, Reply] | None:
    """The round's digest as its answers stand now (None: the stand-up was deleted)."""
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


def _record_digest(
    deps: Deps, occurrence: ClaimedOccurrence, channel_ref: str, message_ref: str
) -> None:
    with deps.session_factory.begin() as session:
        standups.record_digest(
            session=session,
            workspace_id=occurrence.workspace_id,
            standup_id=int(occurrence.payload["standup_id"]),
            local_date=_local_date(occurrence),
            channel_ref=channel_ref,
            message_ref=message_ref,
            now=deps.clock(),
        )


async def _post_digest(
    scheduler: Scheduler, occurrence: ClaimedOccurrence, view: StandupView, reply: Reply
) -> None:
    """Post the digest and record where it went, before the delivery counts as done: a
    late answer or an edit then updates that message."""
    message_ref = await scheduler.notifier.post(occurrence.workspace_id, view.channel_ref, reply)
    if message_ref:
        await asyncio.to_thread(
            _record_digest, scheduler.deps, occurrence, view.channel_ref, message_ref
        )


async def deliver_digest(occurrence: ClaimedOccurrence, scheduler: Scheduler) -> None:
    built = await asyncio.to_thread(_build_digest, scheduler.deps, occurrence)
    if built:
        await _post_digest(scheduler, occurrence, *built)


# A late answer that comes while its digest is being sent waits this long for its record.
DIGEST_NOT_POSTED_YET = 30.0


async def deliver_digest_update(occurrence: ClaimedOccurrence, scheduler: Scheduler) -> None:
    """Update the round's digest message with its answers as they stand now.

    A digest still to be posted puts the update off; one that never will be (missed
    while bridgebot was down) has nothing to update. A digest message someone deleted
    is posted again, and the new one updated from then on. Any other failure (a 429,
    Slack or Teams down) is retried by the scheduler until it goes through.
    """
    deps = scheduler.deps
    workspace_id, local_date = occurrence.workspace_id, _local_date(occurrence)
    standup_id = int(occurrence.payload["standup_id"])

    def where() -> standups.PostedDigest | bool:
        with deps.session_factory() as session:
            posted = standups.posted_digest(
                session=session,
                workspace_id=workspace_id,
                standup_id=standup_id,
                local_date=local_date,
            )
            return posted or standups.digest_coming(
                session=session,
                workspace_id=workspace_id,
                standup_id=standup_id,
                local_date=local_date,
            )

    posted = await asyncio.to_thread(where)
    if posted is True:
        raise DeliveryDeferred("the digest is not posted yet", DIGEST_NOT_POSTED_YET)
    if not isinstance(posted, standups.PostedDigest):
        logger.info("digest update %s: the digest was never posted", occurrence.id)
        return
    built = await asyncio.to_thread(_build_digest, deps, occurrence)
    if built is None:
        return
    view, reply = built
    update = getattr(scheduler.notifier, "update", None)
    try:
        if update is None:
            raise MessageGone("this notifier cannot update a message")
        await update(occurrence.workspace_id, posted.channel_ref, posted.message_ref, reply)
    except MessageGone as exc:
        if not await asyncio.to_thread(_still_open, deps, view, local_date):
            # A digest of a round long over (forget-me updates it) is not brought back.
            logger.info("digest of %s is gone (%s); its round is over", view.id, exc)
            return
        logger.info("digest of %s is gone (%s); posting it again", occurrence.subject_ref, exc)
        await _post_digest(scheduler, occurrence, view, reply)


def _still_open(deps: Deps, view: StandupView, local_date: date) -> bool:
    """Whether the round still takes answers (its next round has not started)."""
    with deps.session_factory() as session:
        window = standups.answer_window(session=session, view=view, local_date=local_date)
    return window is not None and deps.clock() < window.closes


async def deliver_nudge_dm(
    occurrence: ClaimedOccurrence, scheduler: Scheduler, *, views: RecentStandups
) -> None:
    """The one reminder before the digest; nothing if the person has answered meanwhile."""
    view = await views.get(occurrence)
    if view is None:
        return
    deps = scheduler.deps

    def answered() -> bool:
        with deps.session_factory() as session:
            return standups.has_answered(
                session=session,
                workspace_id=occurrence.workspace_id,
                standup_id=view.id,
                local_date=_local_date(occurrence),
                user_ref=occurrence.recipient_ref,
            )

    if await asyncio.to_thread(answered):
        return
    digest_at = _start(occurrence) + view.deadline
    reply = nudge_message(view, _local_date(occurrence), digest_at)
    await _post(scheduler, occurrence, occurrence.recipient_ref, reply)
