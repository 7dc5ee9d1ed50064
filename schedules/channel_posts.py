"""Queued posts (wins, challenges, quick polls, notes to authors), delivered exactly once.

A command queues the post in the transaction that stores its item (bot/services/outbox.py);
the tick delivers it like any scheduled message: claimed by one instance, retried after
rate limits and server errors for as long as it takes, never recorded as missed. Where
the message went is recorded before the delivery counts as done, so an attempt after a
crash finds the item posted and does not post it again. If the platform refuses the post
for good, the delivery fails and its author is told by direct message why, and what to do.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.orm import Session

from bot.deps import Deps
from bot.notify import ConversationRefused
from bot.replies import PostedMessage, QueuedPost, Reply, Visibility, channel, message, text
from bot.router import CommandContext, delivery_context
from bot.services import occurrences
from bot.services.occurrences import ClaimedOccurrence
from bot.services.outbox import CHANNEL_POST, POST_REFUSED
from schedules.scheduler import Scheduler

logger = logging.getLogger(__name__)

# Longest message reference the items' columns hold (Teams ids can be longer).
MAX_MESSAGE_REF = 64


def register(scheduler: Scheduler) -> None:
    # A person's post: delivered however late, retried until it goes out or is refused.
    scheduler.add_delivery(CHANNEL_POST, deliver_channel_post, persistent=True)
    scheduler.add_delivery(POST_REFUSED, deliver_refusal_note)


async def deliver_channel_post(occurrence: ClaimedOccurrence, scheduler: Scheduler) -> None:
    """Post the queued item as it stands now and record where its message is."""
    deps = scheduler.deps
    key = occurrence.subject_ref
    queued = await asyncio.to_thread(_render, deps, occurrence.workspace_id, key)
    if queued is None:
        logger.info("queued post %s: nothing to post (gone, or posted already)", key)
        return
    notifier = scheduler.notifier
    try:
        message_ref = await notifier.post(
            occurrence.workspace_id, queued.conversation_ref, queued.reply
        )
    except ConversationRefused as exc:
        if queued.author_ref:
            await asyncio.to_thread(_queue_refusal_note, deps, occurrence, queued, exc.remedy)
            scheduler.wake()
        raise
    if not message_ref:
        return
    if len(message_ref) > MAX_MESSAGE_REF:
        logger.warning("message reference of %s too long to record; it will not update", key)
        return
    where = PostedMessage(queued.conversation_ref, message_ref)
    # Recorded at once: this write closes the only window in which a crash could post twice.
    await asyncio.to_thread(_record, deps, occurrence.workspace_id, key, where)
    permalink = getattr(notifier, "permalink", None)
    if permalink is not None:
        link = await permalink(occurrence.workspace_id, queued.conversation_ref, message_ref)
        if link:
            linked = PostedMessage(where.conversation_ref, where.message_ref, link)
            await asyncio.to_thread(_record, deps, occurrence.workspace_id, key, linked)


async def deliver_refusal_note(occurrence: ClaimedOccurrence, scheduler: Scheduler) -> None:
    """Tell the author that their post was refused, and what would let it through."""
    payload = occurrence.payload
    await scheduler.notifier.post(
        occurrence.workspace_id, occurrence.recipient_ref, refusal_note(**payload)
    )


def refusal_note(what: str, conversation_ref: str, remedy: str) -> Reply:
    return message(
        text(f"bridgebot could not post your {what} in ", channel(conversation_ref), f": {remedy}"),
        visibility=Visibility.CHANNEL,
    )


def _render(deps: Deps, workspace_id: str, key: str) -> QueuedPost | None:
    with deps.session_factory.begin() as session:
        return deps.router.render(_context(deps, session, workspace_id), key)


def _record(deps: Deps, workspace_id: str, key: str, where: PostedMessage) -> None:
    with deps.session_factory.begin() as session:
        deps.router.record(_context(deps, session, workspace_id), key, where)


def _context(deps: Deps, session: Session, workspace_id: str) -> CommandContext:
    return delivery_context(
        session=session,
        workspace_id=workspace_id,
        now=deps.clock(),
        default_timezone=deps.settings.bridgebot_timezone,
    )


def _queue_refusal_note(
    deps: Deps, occurrence: ClaimedOccurrence, queued: QueuedPost, remedy: str
) -> None:
    """Queued under the post's own due time, so a second attempt plans no second note."""
    assert queued.author_ref is not None
    with deps.session_factory.begin() as session:
        occurrences.schedule(
            session=session,
            workspace_id=occurrence.workspace_id,
            kind=POST_REFUSED,
            subject_ref=occurrence.subject_ref,
            due_at=occurrence.due_at,
            recipient_ref=queued.author_ref,
            payload={
                "what": queued.what,
                "conversation_ref": queued.conversation_ref,
                "remedy": remedy,
            },
        )
