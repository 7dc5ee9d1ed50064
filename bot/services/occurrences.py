"""Scheduled deliveries that happen exactly once, however many instances run.

A row's unique key (workspace, kind, subject, due time, recipient) means planning the
same delivery twice is harmless. Claiming is a compare-and-set on the row (guarded by
`FOR UPDATE SKIP LOCKED` on PostgreSQL, so instances never wait on each other), and a
claim is a lease: if its instance dies before recording the outcome, another instance
takes the row over once the lease runs out, and that second attempt is counted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from bot.db import insert_ignoring_conflicts
from bot.models import Occurrence, OccurrenceStatus

logger = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(minutes=2)
CLAIM_BATCH = 500


@dataclass(frozen=True)
class ClaimedOccurrence:
    """A due delivery this instance now owns until `lease_until`."""

    id: int
    workspace_id: str
    kind: str
    subject_ref: str
    due_at: datetime
    recipient_ref: str
    payload: dict[str, Any]
    attempt: int


@dataclass(frozen=True)
class ClaimResult:
    claimed: list[ClaimedOccurrence]
    missed: int


def schedule(
    *,
    session: Session,
    workspace_id: str,
    kind: str,
    subject_ref: str,
    due_at: datetime,
    recipient_ref: str = "",
    payload: dict[str, Any] | None = None,
) -> bool:
    """Plan one delivery; returns False if it was already planned (by anyone).

    A delivery that was planned and then cancelled (a paused stand-up resumed) is
    planned again; one already sent or missed is left alone.

    Args:
        due_at: an aware datetime; stored in UTC.
    """
    inserted = insert_ignoring_conflicts(
        session,
        Occurrence,
        {
            "workspace_id": workspace_id,
            "kind": kind,
            "subject_ref": subject_ref,
            "due_at": due_at,
            "recipient_ref": recipient_ref,
            "payload": payload or {},
            "status": OccurrenceStatus.PENDING.value,
            "attempts": 0,
        },
        ["workspace_id", "kind", "subject_ref", "due_at", "recipient_ref"],
    )
    if inserted:
        return True
    revived = session.execute(
        update(Occurrence)
        .where(
            Occurrence.workspace_id == workspace_id,
            Occurrence.kind == kind,
            Occurrence.subject_ref == subject_ref,
            Occurrence.due_at == due_at,
            Occurrence.recipient_ref == recipient_ref,
            Occurrence.status == OccurrenceStatus.CANCELLED.value,
        )
        .values(status=OccurrenceStatus.PENDING.value, payload=payload or {}, last_error=None)
    ).rowcount  # type: ignore[attr-defined]
    return bool(revived)


def claim_due(
    *,
    session: Session,
    now: datetime,
    instance_id: str,
    grace: timedelta,
    lease: timedelta = DEFAULT_LEASE,
    limit: int = CLAIM_BATCH,
) -> ClaimResult:
    """Claim due deliveries for this instance; those past the grace period become missed.

    A delivery is due when its time has come and it is pending, or claimed by an
    instance whose lease has run out. Nothing is ever sent late in a burst: a delivery
    more than `grace` past its time is recorded as missed instead.
    """
    missed = session.execute(
        update(Occurrence)
        .where(_claimable(now), Occurrence.due_at < now - grace)
        .values(status=OccurrenceStatus.MISSED.value, finished_at=now, claimed_by=None)
    ).rowcount  # type: ignore[attr-defined]
    if missed:
        logger.warning("recorded %d scheduled deliveries as missed (past the grace period)", missed)

    candidates = session.execute(
        select(Occurrence.id, Occurrence.attempts)
        .where(_claimable(now))
        .order_by(Occurrence.due_at, Occurrence.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()

    claimed: list[ClaimedOccurrence] = []
    for occurrence_id, attempts in candidates:
        # Compare-and-set: on SQLite (no row locks) a concurrent claimer may have won.
        won = session.execute(
            update(Occurrence)
            .where(
                Occurrence.id == occurrence_id,
                Occurrence.attempts == attempts,
                _claimable(now),
            )
            .values(
                status=OccurrenceStatus.CLAIMED.value,
                claimed_by=instance_id,
                lease_until=now + lease,
                attempts=attempts + 1,
            )
        ).rowcount  # type: ignore[attr-defined]
        if won:
            row = session.get(Occurrence, occurrence_id, populate_existing=True)
            assert row is not None
            claimed.append(_claimed(row))
    session.flush()
    return ClaimResult(claimed=claimed, missed=missed)


def mark_sent(*, session: Session, occurrence_id: int, instance_id: str, now: datetime) -> bool:
    """Record a delivery as done; False if another instance had taken it over meanwhile."""
    done = session.execute(
        update(Occurrence)
        .where(
            Occurrence.id == occurrence_id,
            Occurrence.status == OccurrenceStatus.CLAIMED.value,
            Occurrence.claimed_by == instance_id,
        )
        .values(status=OccurrenceStatus.SENT.value, finished_at=now, lease_until=None, last_error=None)
    ).rowcount  # type: ignore[attr-defined]
    return bool(done)


def release(
    *,
    session: Session,
    occurrence_id: int,
    instance_id: str,
    error: str,
    give_up: bool,
    retry_at: datetime | None = None,
) -> None:
    """A delivery attempt failed: pending again (not before `retry_at`), or failed for good."""
    status = OccurrenceStatus.FAILED if give_up else OccurrenceStatus.PENDING
    session.execute(
        update(Occurrence)
        .where(Occurrence.id == occurrence_id, Occurrence.claimed_by == instance_id)
        .values(status=status.value, claimed_by=None, lease_until=retry_at, last_error=error[:2000])
    )


def cancel(
    *, session: Session, workspace_id: str, kind: str, subject_ref: str, due_at: datetime | None = None
) -> int:
    """Cancel pending deliveries of one subject (a skipped date, a deleted stand-up)."""
    conditions = [
        Occurrence.workspace_id == workspace_id,
        Occurrence.kind == kind,
        Occurrence.subject_ref == subject_ref,
        Occurrence.status == OccurrenceStatus.PENDING.value,
    ]
    if due_at is not None:
        conditions.append(Occurrence.due_at == due_at)
    return session.execute(
        update(Occurrence).where(*conditions).values(status=OccurrenceStatus.CANCELLED.value)
    ).rowcount  # type: ignore[attr-defined,no-any-return]


def _claimable(now: datetime) -> Any:
    # On a pending row lease_until means "retry not before" after a failed attempt.
    return and_(
        Occurrence.due_at <= now,
        or_(
            and_(
                Occurrence.status == OccurrenceStatus.PENDING.value,
                or_(Occurrence.lease_until.is_(None), Occurrence.lease_until <= now),
            ),
            and_(
                Occurrence.status == OccurrenceStatus.CLAIMED.value,
                Occurrence.lease_until < now,
            ),
        ),
    )


def _claimed(row: Occurrence) -> ClaimedOccurrence:
    return ClaimedOccurrence(
        id=row.id,
        workspace_id=row.workspace_id,
        kind=row.kind,
        subject_ref=row.subject_ref,
        due_at=row.due_at,
        recipient_ref=row.recipient_ref,
        payload=dict(row.payload or {}),
        attempt=row.attempts,
    )
