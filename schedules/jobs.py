"""The per-minute tick: plan ahead, claim what is due exactly once, deliver, record."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy.exc import DBAPIError

from bot import replies
from bot.deps import Deps
from bot.metrics import DELIVERIES, REDELIVERIES
from bot.notify import DeliveryDeferred, DeliveryError, WorkspaceUninstalled
from bot.services import dedupe, occurrences
from bot.services.occurrences import ClaimedOccurrence
from schedules.batching import Batched

if TYPE_CHECKING:  # the scheduler runs this module's tick
    from schedules.scheduler import Planner, Scheduler

logger = logging.getLogger(__name__)

POST_KIND = "post"
# Deliveries under way at once. Most of them wait (for their conversation's turn, a
# Retry-After, or Slack's answer) and waiting costs nothing, so there are many; the
# notifier itself bounds how many requests are in flight (see bench.fanout).
DELIVERY_CONCURRENCY = 1024
MAX_ATTEMPTS = 5
# A failed delivery is tried again after this long (times the attempt number).
RETRY_BACKOFF = timedelta(seconds=30)
# A persistent kind (see Scheduler.add_delivery) keeps trying, at least this often.
MAX_RETRY_BACKOFF = timedelta(minutes=10)


@dataclass(frozen=True)
class TickReport:
    claimed: int
    sent: int
    failed: int
    missed: int
    deferred: int = 0  # put back for later (a busy conversation), no attempt counted
    undeliverable: int = 0  # the workspace cannot be reached (uninstalled): not retried


async def deliver_post(occurrence: ClaimedOccurrence, scheduler: Scheduler) -> None:
    """The built-in kind: post the payload's text to the payload's conversation."""
    reply = replies.message(occurrence.payload["text"], visibility=replies.Visibility.CHANNEL)
    await scheduler.notifier.post(
        occurrence.workspace_id, occurrence.payload["conversation_ref"], reply
    )


def register_builtin_deliveries(scheduler: Scheduler) -> None:
    scheduler.add_delivery(POST_KIND, deliver_post)
    scheduler.add_planner(dedupe.forget_old)


# Claim a few at a time so several instances share the work and a crash strands few.
CLAIM_BATCH = 128
# Stop claiming new work after this long, so the next minute's tick is not held up.
TICK_BUDGET_SECONDS = 50.0


async def run_tick(scheduler: Scheduler, now: datetime | None = None) -> TickReport:
    """One pass of the scheduler; safe to run on every instance at the same time.

    Workers deliver while a claimer keeps them fed in small batches. Deliveries may
    plan more deliveries due at once (a fan-out to each participant), so the pass
    repeats until a round finds nothing left to claim.
    """
    deps = scheduler.deps
    now = now or deps.clock()
    started = time.monotonic()
    for hook in scheduler.tick_started_hooks:
        hook()
    await asyncio.to_thread(_plan, deps, scheduler.planners, now)
    totals = {"claimed": 0, "sent": 0, "failed": 0, "missed": 0, "deferred": 0, "undeliverable": 0}
    recorder = _sent_recorder(deps)

    while time.monotonic() - started < TICK_BUDGET_SECONDS:
        claimed_before = totals["claimed"]
        await _deliver_round(scheduler, now, started, totals, recorder)
        if totals["claimed"] == claimed_before:
            break
    report = TickReport(**totals)
    if report.claimed or report.missed:
        logger.info("tick: %s", report)
    return report


async def _deliver_round(
    scheduler: Scheduler,
    now: datetime,
    started: float,
    totals: dict[str, int],
    recorder: SentRecorder,
) -> None:
    """Deliver everything claimable now with up to DELIVERY_CONCURRENCY workers.

    Workers start as claims bring work (a tick with nothing due starts one).
    """
    deps = scheduler.deps
    persistent_kinds = scheduler.persistent_kinds
    buffer: deque[ClaimedOccurrence] = deque()
    lock = asyncio.Lock()
    exhausted = False
    workers: list[asyncio.Task[None]] = []
    in_progress: set[int] = set()  # claimed by this round and not yet finished

    async def take() -> ClaimedOccurrence | None:
        nonlocal exhausted
        # Without the lock while there is work or none is left: through it, each
        # delivery cost a future and a hand-off through the event loop among a thousand
        # waiting workers, nearly half of a fan-out's CPU, sending aside.
        if buffer:
            return buffer.popleft()
        if exhausted:
            return None
        async with lock:
            if not buffer and not exhausted:
                if time.monotonic() - started >= TICK_BUDGET_SECONDS:
                    exhausted = True
                else:
                    # The lease runs from the claim, not from the start of a long tick.
                    lease = timedelta(seconds=deps.settings.bridgebot_claim_lease_seconds)
                    claim = await asyncio.to_thread(
                        _claim,
                        deps,
                        now,
                        lease + timedelta(seconds=time.monotonic() - started),
                        persistent_kinds,
                    )
                    totals["missed"] += claim.missed
                    totals["claimed"] += len(claim.claimed)
                    buffer.extend(claim.claimed)
                    in_progress.update(occurrence.id for occurrence in claim.claimed)
                    exhausted = not claim.claimed
                    for _ in range(min(len(claim.claimed), DELIVERY_CONCURRENCY - len(workers))):
                        workers.append(asyncio.create_task(worker()))
            return buffer.popleft() if buffer else None

    async def worker() -> None:
        while (occurrence := await take()) is not None:
            totals[await _deliver_one(scheduler, occurrence, recorder)] += 1
            in_progress.discard(occurrence.id)

    workers.append(asyncio.create_task(worker()))
    done = asyncio.Event()
    keeping = asyncio.create_task(_keep_leases(deps, now, started, in_progress, done))
    try:
        finished = 0
        while finished < len(workers):  # the list grows while its first ones run
            await workers[finished]
            finished += 1
    finally:
        done.set()
        for task in workers:
            task.cancel()
        await keeping


async def _keep_leases(
    deps: Deps, now: datetime, started: float, in_progress: set[int], done: asyncio.Event
) -> None:
    """Renew the leases of this round's claims in progress, three times a lease.

    A delivery may wait (for its conversation's turn, or on a slow Slack) longer than a
    lease; while this instance lives, no other takes it over and sends it again. If
    this instance dies, the renewals stop and its claims expire as before.
    """
    lease = timedelta(seconds=deps.settings.bridgebot_claim_lease_seconds)
    while True:
        try:
            await asyncio.wait_for(done.wait(), timeout=lease.total_seconds() / 3)
            return
        except TimeoutError:
            pass
        if in_progress:
            until = now + timedelta(seconds=time.monotonic() - started) + lease
            await asyncio.to_thread(_renew, deps, list(in_progress), until)


def _renew(deps: Deps, occurrence_ids: list[int], until: datetime) -> None:
    with deps.session_factory.begin() as session:
        occurrences.renew_leases(
            session=session,
            occurrence_ids=occurrence_ids,
            instance_id=deps.instance_id,
            until=until,
        )


def _plan(deps: Deps, planners: Sequence[Planner], now: datetime) -> None:
    with deps.session_factory.begin() as session:
        for planner in planners:
            planner(session, now)


def _claim(
    deps: Deps, now: datetime, lease: timedelta, persistent_kinds: frozenset[str]
) -> occurrences.ClaimResult:
    with deps.session_factory.begin() as session:
        return occurrences.claim_due(
            session=session,
            now=now,
            instance_id=deps.instance_id,
            grace=timedelta(minutes=deps.settings.bridgebot_grace_minutes),
            lease=lease,
            limit=CLAIM_BATCH,
            never_missed=persistent_kinds,
        )


# Records deliveries as sent: one transaction for all that finish meanwhile. Each
# delivery still waits for its own record, but a busy tick no longer queues one commit
# (and on SQLite one fsync under the write lock) per message.
SentRecorder = Batched[ClaimedOccurrence, None]
# A record that fails (the database dropped the connection mid-batch: nothing of the
# batch is written) is written again, this many times in all, after these waits: the
# messages are out, and a claim left unrecorded would be sent again once its lease ran
# out. The lease is kept renewed meanwhile.
RECORD_ATTEMPTS = 5
RECORD_RETRY_SECONDS = 0.2  # doubled after each failure: 0.2, 0.4, 0.8, 1.6 s


def _sent_recorder(deps: Deps) -> SentRecorder:
    return Batched(partial(_mark_sent, deps))


async def _deliver_one(
    scheduler: Scheduler, occurrence: ClaimedOccurrence, recorder: SentRecorder
) -> str:
    """Deliver and record one occurrence: "sent", "deferred", "undeliverable" or "failed"."""
    deps = scheduler.deps
    delivery = scheduler.delivery_for(occurrence.kind)
    if occurrence.attempt > 1:
        # The first attempt died or failed; this is the only way a duplicate can happen.
        REDELIVERIES.labels(kind=occurrence.kind).inc()
        logger.warning(
            "second attempt at delivery %s (%s, attempt %d)",
            occurrence.id,
            occurrence.kind,
            occurrence.attempt,
        )
    try:
        if delivery is None:
            raise LookupError(f"no delivery registered for kind {occurrence.kind!r}")
        await delivery(occurrence, scheduler)
    except DeliveryDeferred as exc:
        logger.info("delivery %s put off for %.0f s: %s", occurrence.id, exc.retry_after, exc)
        DELIVERIES.labels(kind=occurrence.kind, outcome="deferred").inc()
        retry_at = deps.clock() + timedelta(seconds=exc.retry_after)
        await asyncio.to_thread(_put_off, deps, occurrence, str(exc), retry_at)
        # Back on time, not at the next minute's tick.
        asyncio.get_running_loop().call_later(exc.retry_after, scheduler.wake)
        return "deferred"
    except WorkspaceUninstalled as exc:
        # No retry can reach a workspace that removed bridgebot; a reinstall lets the
        # next deliveries go.
        logger.warning("delivery %s (%s) not delivered: %s", occurrence.id, occurrence.kind, exc)
        DELIVERIES.labels(kind=occurrence.kind, outcome="undeliverable").inc()
        await asyncio.to_thread(_mark_undeliverable, deps, occurrence, f"not delivered: {exc}")
        return "undeliverable"
    except Exception as exc:  # noqa: BLE001 - any failure is recorded on the row and retried
        logger.exception("delivery %s (%s) failed", occurrence.id, occurrence.kind)
        DELIVERIES.labels(kind=occurrence.kind, outcome="failed").inc()
        persistent = occurrence.kind in scheduler.persistent_kinds
        await asyncio.to_thread(_release, deps, occurrence, repr(exc), exc, persistent=persistent)
        return "failed"
    # Record at once: the gap between the platform accepting and this write is the
    # only window in which a crash could cause a second delivery.
    await recorder.submit(occurrence)
    DELIVERIES.labels(kind=occurrence.kind, outcome="sent").inc()
    return "sent"


def _mark_sent(deps: Deps, batch: list[ClaimedOccurrence]) -> list[None]:
    for attempt in range(1, RECORD_ATTEMPTS + 1):
        try:
            with deps.session_factory.begin() as session:
                recorded = occurrences.mark_all_sent(
                    session=session,
                    occurrence_ids=[occurrence.id for occurrence in batch],
                    instance_id=deps.instance_id,
                    now=deps.clock(),
                )
            break
        except DBAPIError:
            if attempt == RECORD_ATTEMPTS:
                raise
            logger.warning(
                "recording %d sent deliveries failed (attempt %d); trying again",
                len(batch),
                attempt,
                exc_info=True,
            )
            time.sleep(RECORD_RETRY_SECONDS * 2 ** (attempt - 1))
    for occurrence in batch:
        if occurrence.id not in recorded:
            logger.warning("delivery %s was taken over by another instance", occurrence.id)
    return [None] * len(batch)


def _release(
    deps: Deps,
    occurrence: ClaimedOccurrence,
    error: str,
    exc: BaseException | None = None,
    *,
    persistent: bool = False,
) -> None:
    backoff = RETRY_BACKOFF * occurrence.attempt
    if persistent:
        # Retrying cannot fix a refusal (DeliveryError); anything else may pass in time.
        give_up = isinstance(exc, DeliveryError)
        backoff = min(backoff, MAX_RETRY_BACKOFF)
    else:
        give_up = occurrence.attempt >= MAX_ATTEMPTS
    with deps.session_factory.begin() as session:
        occurrences.release(
            session=session,
            occurrence_id=occurrence.id,
            instance_id=deps.instance_id,
            error=error,
            give_up=give_up,
            retry_at=deps.clock() + backoff,
        )


def _mark_undeliverable(deps: Deps, occurrence: ClaimedOccurrence, reason: str) -> None:
    with deps.session_factory.begin() as session:
        occurrences.mark_undeliverable(
            session=session,
            occurrence_id=occurrence.id,
            instance_id=deps.instance_id,
            reason=reason,
            now=deps.clock(),
        )


def _put_off(deps: Deps, occurrence: ClaimedOccurrence, reason: str, retry_at: datetime) -> None:
    with deps.session_factory.begin() as session:
        occurrences.release(
            session=session,
            occurrence_id=occurrence.id,
            instance_id=deps.instance_id,
            error=reason,
            give_up=False,
            retry_at=retry_at,
            count_attempt=False,
        )
