"""Bridge pairs on the clock: each round, its introductions, its announcement and its
follow-ups, every one a row of the occurrence table.

The round's delivery makes the round (bot.services.pairs.run_round: once per slot) and
plans its messages in one transaction, each under a key derived from the round, not
from the clock: a round re-run, or taken over after a crash, plans the same rows again,
which the unique key ignores. Nobody is paired twice and no introduction goes twice.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.commands.pairs import follow_up, introduction
from bot.models import PairSettings, Workspace
from bot.replies import Paragraph, Reply, Visibility, bold, counted, text
from bot.router import delivery_context
from bot.services import occurrences, pairs, workspaces
from bot.services.occurrences import ClaimedOccurrence, PlannedDelivery
from bot.services.pairs import PairSchedule
from schedules.scheduler import Scheduler

logger = logging.getLogger(__name__)

ROUND = "pairs.round"
INTRO = "pairs.intro"
ANNOUNCE = "pairs.announce"
FOLLOW_UP = "pairs.followup"
# Platforms whose notifier opens a conversation with several people (Slack's group DM);
# elsewhere each person gets the introduction in their own chat with bridgebot.
GROUP_PLATFORMS = frozenset({"slack"})


@runtime_checkable
class GroupConversations(Protocol):
    async def open_group(self, workspace_id: str, user_refs: list[str]) -> str: ...


def register(scheduler: Scheduler) -> None:
    grace = timedelta(minutes=scheduler.deps.settings.bridgebot_grace_minutes)
    scheduler.add_planner(lambda session, now: plan_rounds(session, now, grace=grace))
    scheduler.add_delivery(ROUND, deliver_round)
    # A person waits for these: retried, never dropped as late.
    scheduler.add_delivery(INTRO, deliver_intro, persistent=True)
    scheduler.add_delivery(FOLLOW_UP, deliver_follow_up, persistent=True)
    scheduler.add_delivery(ANNOUNCE, deliver_announcement)


def _schedule(row: PairSettings, timezone: str) -> PairSchedule | None:
    if not row.enabled or row.anchor is None:
        return None
    return PairSchedule(row.every_weeks, row.weekday, row.local_time, timezone, row.anchor)


def plan_rounds(session: Session, now: datetime, grace: timedelta = timedelta(0)) -> None:
    """Plan each workspace's next round a day ahead (looking back `grace`, as digests do)."""
    rows = session.execute(select(PairSettings).where(PairSettings.enabled.is_(True))).scalars()
    for row in rows:
        timezone = workspaces.get_workspace(session=session, workspace_id=row.workspace_id).timezone
        schedule = _schedule(row, timezone)
        due = schedule.next_after(now - grace) if schedule else None
        if due is not None and due - now <= timedelta(days=1):
            occurrences.schedule(
                session=session,
                workspace_id=row.workspace_id,
                kind=ROUND,
                subject_ref="round",
                due_at=due,
            )


def make_round(session: Session, workspace_id: str, slot: datetime) -> pairs.RoundResult | None:
    """The round of `slot` and its planned messages, in the caller's transaction; None when
    rounds were switched off or moved since it was planned."""
    row = session.get(PairSettings, workspace_id)
    workspace = workspaces.get_workspace(session=session, workspace_id=workspace_id)
    schedule = _schedule(row, workspace.timezone) if row else None
    existing = pairs.find_round(session=session, workspace_id=workspace_id, slot=slot)
    if existing is None and (schedule is None or schedule.next_after(slot) != slot):
        logger.info("pairs round at %s dropped: rounds are off or moved", slot)
        return None
    result = pairs.run_round(session=session, workspace_id=workspace_id, slot=slot)
    platform = session.execute(
        select(Workspace.platform).where(Workspace.id == workspace_id)
    ).scalar_one()
    every = row.every_weeks if row else 2
    follow_up_at = slot + timedelta(weeks=every) - pairs.FOLLOW_UP_BEFORE
    planned: list[PlannedDelivery] = []
    for pair in result.pairs:
        subject = f"pair:{pair.id}"
        payload = {"pair_id": pair.id}
        if platform in GROUP_PLATFORMS:
            planned.append(PlannedDelivery(workspace_id, INTRO, subject, slot, "", payload))
        else:
            planned += [
                PlannedDelivery(workspace_id, INTRO, subject, slot, seat.user_ref, payload)
                for seat in pair.seats
            ]
        planned += [
            PlannedDelivery(workspace_id, FOLLOW_UP, subject, follow_up_at, seat.user_ref, payload)
            for seat in pair.seats
        ]
    if row is not None and row.channel_ref:
        planned.append(
            PlannedDelivery(
                workspace_id,
                ANNOUNCE,
                f"round:{result.round_id}",
                slot,
                "",
                {"round_id": result.round_id, "channel_ref": row.channel_ref},
            )
        )
    occurrences.schedule_many(session=session, deliveries=planned)
    return result


async def deliver_round(occurrence: ClaimedOccurrence, scheduler: Scheduler) -> None:
    """Make the round and plan its messages; the same tick sends those due now."""
    deps = scheduler.deps

    def work() -> None:
        with deps.session_factory.begin() as session:
            result = make_round(session, occurrence.workspace_id, occurrence.due_at)
        if result is not None:
            logger.info(
                "pairs round %s: %d pairs, %d sat out, %d unavailable%s",
                result.round_id,
                len(result.pairs),
                len(result.left_out),
                len(result.unavailable),
                "" if result.created else " (made before)",
            )

    await asyncio.to_thread(work)


async def deliver_intro(occurrence: ClaimedOccurrence, scheduler: Scheduler) -> None:
    """Introduce the pair: in a group DM where the platform has them, else to each person."""
    deps = scheduler.deps
    recipient = occurrence.recipient_ref or None

    def build() -> tuple[list[str], Reply] | None:
        with deps.session_factory() as session:
            pair = pairs.get_pair(
                session=session,
                workspace_id=occurrence.workspace_id,
                pair_id=int(occurrence.payload["pair_id"]),
            )
            if pair is None or len(pair.seats) < 2:
                return None  # someone asked to be forgotten meanwhile
            if recipient is not None and not pair.has(recipient):
                return None
            ctx = delivery_context(
                session=session,
                workspace_id=occurrence.workspace_id,
                now=deps.clock(),
                default_timezone=deps.settings.bridgebot_timezone,
            )
            people = [seat.user_ref for seat in pair.seats]
            return people, introduction(ctx, pair, recipient=recipient)

    built = await asyncio.to_thread(build)
    if built is None:
        return
    people, reply = built
    if recipient is not None:
        await scheduler.notifier.post(occurrence.workspace_id, recipient, reply)
        return
    notifier = scheduler.notifier
    if isinstance(notifier, GroupConversations):
        conversation = await notifier.open_group(occurrence.workspace_id, people)
        await notifier.post(occurrence.workspace_id, conversation, reply)
    else:  # a notifier with no group conversations: each person on their own
        for person in people:
            await notifier.post(occurrence.workspace_id, person, reply)


async def deliver_follow_up(occurrence: ClaimedOccurrence, scheduler: Scheduler) -> None:
    """Ask one person of a pair whether they met."""
    deps = scheduler.deps

    def build() -> Reply | None:
        with deps.session_factory() as session:
            pair = pairs.get_pair(
                session=session,
                workspace_id=occurrence.workspace_id,
                pair_id=int(occurrence.payload["pair_id"]),
            )
            if pair is None or not pair.has(occurrence.recipient_ref) or len(pair.seats) < 2:
                return None
            return follow_up(pair, occurrence.recipient_ref)

    reply = await asyncio.to_thread(build)
    if reply is not None:
        await scheduler.notifier.post(occurrence.workspace_id, occurrence.recipient_ref, reply)


async def deliver_announcement(occurrence: ClaimedOccurrence, scheduler: Scheduler) -> None:
    """A line in the announcement channel: how many pairs this round, never who."""
    deps = scheduler.deps

    def build() -> Reply:
        with deps.session_factory() as session:
            stored = pairs.round_counts(
                session=session,
                workspace_id=occurrence.workspace_id,
                round_id=int(occurrence.payload["round_id"]),
            )
        made, people = stored
        return Reply(
            blocks=(
                Paragraph(
                    text(
                        bold("Bridge pairs: "),
                        f"{counted(made, 'new pair')} of Marketing and IT this round "
                        f"({counted(people, 'person', 'people')}). Check your direct messages; "
                        "join the next round with /bridge pairs join.",
                    )
                ),
            ),
            visibility=Visibility.CHANNEL,
        )

    reply = await asyncio.to_thread(build)
    await scheduler.notifier.post(
        occurrence.workspace_id, str(occurrence.payload["channel_ref"]), reply
    )
