"""The per-minute tick: plan ahead, claim what is due exactly once, deliver, record."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import replies
from bot.deps import Deps
from bot.metrics import DELIVERIES, REDELIVERIES
from bot.services import dedupe, occurrences
from bot.services.occurrences import ClaimedOccurrence

logger = logging.getLogger(__name__)

POST_KIND = "post"
# Deliveries attempted at once; the Slack client paces itself on 429s.
DELIVERY_CONCURRENCY = 8
MAX_ATTEMPTS = 5
# A failed delivery is tried again after this long (times the attempt number).
RETRY_BACKOFF = timedelta(seconds=30)


@dataclass(frozen=True)
class TickReport:
    claimed: int
    sent: int
    failed: int
    missed: int


async def deliver_post(occurrence: ClaimedOccurrence, deps: Deps) -> None:
    """The built-in kind: post the payload's text to the payload's conversation."""
    if deps.notifier is None:
        raise RuntimeError("no notifier configured")
    reply = replies.message(occurrence.payload["text"], visibility=replies.Visibility.CHANNEL)
    await deps.notifier.post(occurrence.workspace_id, occurrence.payload["conversation_ref"], reply)


def register_builtin_deliveries(deps: Deps) -> None:
    if POST_KIND not in deps.deliveries:
        deps.deliveries[POST_KIND] = deliver_post
        deps.planners.append(dedupe.forget_old)


# A delivery may plan more deliveries due at once (a fan-out to each participant);
# the tick claims again this many times so those go out in the same minute.
MAX_ROUNDS = 5


async def run_tick(deps: Deps, now: datetime | None = None) -> TickReport:
    """One pass of the scheduler; safe to run on every instance at the same time."""
    now = now or deps.clock()
    limiter = asyncio.Semaphore(DELIVERY_CONCURRENCY)

    async def deliver(occurrence: ClaimedOccurrence) -> bool:
        async with limiter:
            return await _deliver_one(deps, occurrence)

    claimed = sent = failed = missed = 0
    for round_number in range(MAX_ROUNDS):
        claim = await asyncio.to_thread(_plan_and_claim, deps, now, round_number == 0)
        results = await asyncio.gather(*(deliver(o) for o in claim.claimed))
        claimed += len(results)
        sent += sum(results)
        failed += len(results) - sum(results)
        missed += claim.missed
        if not claim.claimed:
            break
    report = TickReport(claimed=claimed, sent=sent, failed=failed, missed=missed)
    if report.claimed or report.missed:
        logger.info("tick: %s", report)
    return report


def _plan_and_claim(deps: Deps, now: datetime, plan: bool) -> occurrences.ClaimResult:
    if plan:
        with deps.session_factory.begin() as session:
            for planner in deps.planners:
                planner(session, now)
    with deps.session_factory.begin() as session:
        return occurrences.claim_due(
            session=session,
            now=now,
            instance_id=deps.instance_id,
            grace=timedelta(minutes=deps.settings.bridgebot_grace_minutes),
        )


async def _deliver_one(deps: Deps, occurrence: ClaimedOccurrence) -> bool:
    delivery = deps.deliveries.get(occurrence.kind)
    if occurrence.attempt > 1:
        # The first attempt died or failed; this is the only way a duplicate can happen.
        REDELIVERIES.labels(kind=occurrence.kind).inc()
        logger.warning(
            "second attempt at delivery %s (%s, attempt %d)",
            occurrence.id, occurrence.kind, occurrence.attempt,
        )
    try:
        if delivery is None:
            raise LookupError(f"no delivery registered for kind {occurrence.kind!r}")
        await delivery(occurrence, deps)
    except Exception as exc:  # noqa: BLE001 - any failure is recorded on the row and retried
        logger.exception("delivery %s (%s) failed", occurrence.id, occurrence.kind)
        DELIVERIES.labels(kind=occurrence.kind, outcome="failed").inc()
        await asyncio.to_thread(_release, deps, occurrence, repr(exc))
        return False
    # Record at once: the gap between the platform accepting and this write is the
    # only window in which a crash could cause a second delivery.
    await asyncio.to_thread(_mark_sent, deps, occurrence)
    DELIVERIES.labels(kind=occurrence.kind, outcome="sent").inc()
    return True


def _mark_sent(deps: Deps, occurrence: ClaimedOccurrence) -> None:
    with deps.session_factory.begin() as session:
        recorded = occurrences.mark_sent(
            session=session,
            occurrence_id=occurrence.id,
            instance_id=deps.instance_id,
            now=deps.clock(),
        )
    if not recorded:
        logger.warning("delivery %s was taken over by another instance", occurrence.id)


def _release(deps: Deps, occurrence: ClaimedOccurrence, error: str) -> None:
    with deps.session_factory.begin() as session:
        occurrences.release(
            session=session,
            occurrence_id=occurrence.id,
            instance_id=deps.instance_id,
            error=error,
            give_up=occurrence.attempt >= MAX_ATTEMPTS,
            retry_at=deps.clock() + RETRY_BACKOFF * occurrence.attempt,
        )
