"""Scheduled deliveries that happen exactly once, however many instances run.

A row's unique key (workspace, kind, subject, due time, recipient) means planning the
same delivery twice is harmless. Claiming is a compare-and-set on the row (guarded by
`FOR UPDATE SKIP LOCKED` on PostgreSQL, so instances never wait on each other), and a
claim is a lease: if its instance dies before recording the outcome, another instance
takes the row over once the lease runs out, and that second attempt is counted.

Claims and their outcomes are written with Core statements on the table: the session
holds no Occurrence objects to keep in step, and a fan-out claims and records thousands
of rows, where the ORM's bookkeeping per statement showed in the bot's CPU a message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, func, or_, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from bot.db import insert_ignoring_conflicts
from bot.models import Occurrence, OccurrenceStatus, utcnow

logger = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(minutes=2)
CLAIM_BATCH = 500
_KEY = ("workspace_id", "kind", "subject_ref", "due_at", "recipient_ref")
_TABLE = cast(Table, Occurrence.__table__)


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


@dataclass(frozen=True)
class PlannedDelivery:
    """One delivery for `schedule_many`: the arguments of `schedule` but the session."""

    workspace_id: str
    kind: str
    subject_ref: str
    due_at: datetime
    recipient_ref: str = ""
    payload: dict[str, Any] | None = None


def schedule_many(*, session: Session, deliveries: Sequence[PlannedDelivery]) -> list[bool]:
    """`schedule` for many deliveries, in a few statements; one result per delivery, in order.

    The same as calling `schedule` for each in turn: a delivery already planned is left
    alone (False), one planned and then cancelled is planned again (True).
    """
    if not deliveries:
        return []
    if session.get_bind().dialect.name == "postgresql":
        inserted = _insert_unnested(session, deliveries)
    else:
        inserted = _insert_rows(session, deliveries)
    results: list[bool] = []
    seen: set[tuple[str, str, str, datetime, str]] = set()
    for d in deliveries:
        key = (d.workspace_id, d.kind, d.subject_ref, d.due_at.astimezone(UTC), d.recipient_ref)
        if key in inserted and key not in seen:
            results.append(True)
        else:
            # Already there (or twice in this call): revive it if it was cancelled.
            results.append(
                schedule(
                    session=session,
                    workspace_id=d.workspace_id,
                    kind=d.kind,
                    subject_ref=d.subject_ref,
                    due_at=d.due_at,
                    recipient_ref=d.recipient_ref,
                    payload=d.payload,
                )
            )
        seen.add(key)
    return results


def _insert_rows(session: Session, deliveries: Sequence[PlannedDelivery]) -> set[tuple[Any, ...]]:
    """Insert what is not planned yet as multi-row INSERTs (insertmanyvalues); the keys
    of the rows inserted."""
    table = cast(Table, Occurrence.__table__)
    stmt = (
        sqlite.insert(table)
        .on_conflict_do_nothing(index_elements=list(_KEY))
        .returning(*(table.c[column] for column in _KEY))
    )
    rows = [
        {
            "workspace_id": d.workspace_id,
            "kind": d.kind,
            "subject_ref": d.subject_ref,
            "due_at": d.due_at,
            "recipient_ref": d.recipient_ref,
            "payload": d.payload or {},
            "status": OccurrenceStatus.PENDING.value,
            "attempts": 0,
        }
        for d in deliveries
    ]
    return {tuple(row) for row in session.execute(stmt, rows)}


# PostgreSQL takes each column as one array: a statement of the same few bytes however
# many rows, where a multi-row INSERT's text grows with them and psycopg parses it anew
# every time (a third of a fan-out's bookkeeping CPU went on that).
_INSERT_UNNESTED = text(
    "INSERT INTO occurrences"
    " (workspace_id, kind, subject_ref, due_at, recipient_ref, payload, status, attempts,"
    " created_at)"
    " SELECT w, k, s, d, r, CAST(p AS json), :status, 0, :created_at"
    " FROM unnest(CAST(:w AS varchar[]), CAST(:k AS varchar[]), CAST(:s AS varchar[]),"
    " CAST(:d AS timestamptz[]), CAST(:r AS varchar[]), CAST(:p AS text[]))"
    " AS planned (w, k, s, d, r, p)"
    " ON CONFLICT (workspace_id, kind, subject_ref, due_at, recipient_ref) DO NOTHING"
    " RETURNING workspace_id, kind, subject_ref, due_at, recipient_ref"
).columns(*(_TABLE.c[column] for column in _KEY))


def _insert_unnested(
    session: Session, deliveries: Sequence[PlannedDelivery]
) -> set[tuple[Any, ...]]:
    """Insert what is not planned yet, on PostgreSQL; the keys of the rows inserted."""
    if any(d.due_at.tzinfo is None for d in deliveries):
        # As the column type does on every other path: a naive time is not guessed at.
        raise ValueError("naive datetime given to the database; pass an aware one")
    params = {
        "w": [d.workspace_id for d in deliveries],
        "k": [d.kind for d in deliveries],
        "s": [d.subject_ref for d in deliveries],
        "d": [d.due_at.astimezone(UTC) for d in deliveries],
        "r": [d.recipient_ref for d in deliveries],
        "p": [json.dumps(d.payload or {}) for d in deliveries],
        "status": OccurrenceStatus.PENDING.value,
        "created_at": utcnow(),
    }
    return {tuple(row) for row in session.execute(_INSERT_UNNESTED, params)}


def claim_due(
    *,
    session: Session,
    now: datetime,
    instance_id: str,
    grace: timedelta,
    lease: timedelta = DEFAULT_LEASE,
    limit: int = CLAIM_BATCH,
    never_missed: Collection[str] = (),
) -> ClaimResult:
    """Claim due deliveries for this instance; those past the grace period become missed.

    A delivery is due when its time has come and it is pending, or claimed by an
    instance whose lease has run out. Nothing is ever sent late in a burst: a delivery
    more than `grace` past its time is recorded as missed instead, except for the
    `never_missed` kinds (a person's own post is still wanted late).
    """
    c = _TABLE.c
    late = [_claimable(now), c.due_at < now - grace]
    if never_missed:
        late.append(c.kind.not_in(list(never_missed)))
    missed = session.execute(
        update(_TABLE)
        .where(*late)
        .values(status=OccurrenceStatus.MISSED.value, finished_at=now, claimed_by=None)
    ).rowcount  # type: ignore[attr-defined]
    if missed:
        logger.warning("recorded %d scheduled deliveries as missed (past the grace period)", missed)

    # The oldest due first, rows another claimer holds skipped (PostgreSQL; SQLite's
    # write lock, taken when the transaction begins, lets one claimer in at a time).
    # Picked once, in a materialized CTE: as a subquery of the UPDATE, PostgreSQL may run
    # it again for each row it updates, and with SKIP LOCKED each run picks other rows,
    # so one claim took every due row instead of `limit`.
    candidates = (
        select(c.id)
        .where(_claimable(now))
        .order_by(c.due_at, c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("candidates")
        .prefix_with("MATERIALIZED")
    )
    # Compare-and-set on every candidate in the same statement: a row is won only if it
    # is still claimable as it is updated.
    won = session.execute(
        update(_TABLE)
        .where(c.id.in_(select(candidates.c.id)), _claimable(now))
        .values(
            status=OccurrenceStatus.CLAIMED.value,
            claimed_by=instance_id,
            lease_until=now + lease,
            attempts=c.attempts + 1,
        )
        .returning(
            c.id,
            c.workspace_id,
            c.kind,
            c.subject_ref,
            c.due_at,
            c.recipient_ref,
            c.payload,
            c.attempts,
        )
    ).all()
    claimed = [_claimed(row) for row in sorted(won, key=lambda row: (row.due_at, row.id))]
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
        .values(
            status=OccurrenceStatus.SENT.value, finished_at=now, lease_until=None, last_error=None
        )
    ).rowcount  # type: ignore[attr-defined]
    return bool(done)


def renew_leases(
    *, session: Session, occurrence_ids: Collection[int], instance_id: str, until: datetime
) -> int:
    """Extend this instance's claims still in progress to `until`; returns how many."""
    if not occurrence_ids:
        return 0
    renewed = session.execute(
        update(Occurrence)
        .where(
            Occurrence.id.in_(list(occurrence_ids)),
            Occurrence.status == OccurrenceStatus.CLAIMED.value,
            Occurrence.claimed_by == instance_id,
        )
        .values(lease_until=until)
        .execution_options(synchronize_session=False, preserve_rowcount=True)
    )
    return int(renewed.rowcount)  # type: ignore[attr-defined]


def mark_all_sent(
    *, session: Session, occurrence_ids: Collection[int], instance_id: str, now: datetime
) -> set[int]:
    """`mark_sent` for many deliveries in one statement; returns the ids it recorded.

    An id missing from the result had been taken over by another instance meanwhile.
    """
    if not occurrence_ids:
        return set()
    c = _TABLE.c
    done = session.execute(
        update(_TABLE)
        .where(
            c.id.in_(list(occurrence_ids)),
            c.status == OccurrenceStatus.CLAIMED.value,
            c.claimed_by == instance_id,
        )
        .values(
            status=OccurrenceStatus.SENT.value, finished_at=now, lease_until=None, last_error=None
        )
        .returning(c.id)
    ).scalars()
    return set(done)


def release(
    *,
    session: Session,
    occurrence_id: int,
    instance_id: str,
    error: str,
    give_up: bool,
    retry_at: datetime | None = None,
    count_attempt: bool = True,
) -> None:
    """A delivery attempt failed: pending again (not before `retry_at`), or failed for good.

    Without `count_attempt` (a delivery put off, not failed) the attempt is given back.
    """
    status = OccurrenceStatus.FAILED if give_up else OccurrenceStatus.PENDING
    attempts = Occurrence.attempts if count_attempt else Occurrence.attempts - 1
    session.execute(
        update(Occurrence)
        .where(Occurrence.id == occurrence_id, Occurrence.claimed_by == instance_id)
        .values(
            status=status.value,
            claimed_by=None,
            lease_until=retry_at,
            last_error=error[:2000],
            attempts=attempts,
        )
    )


def mark_undeliverable(
    *, session: Session, occurrence_id: int, instance_id: str, reason: str, now: datetime
) -> bool:
    """Record a claimed delivery as not delivered, for good (its workspace cannot be reached).

    Returns False if another instance had taken it over meanwhile.
    """
    done = session.execute(
        update(Occurrence)
        .where(
            Occurrence.id == occurrence_id,
            Occurrence.status == OccurrenceStatus.CLAIMED.value,
            Occurrence.claimed_by == instance_id,
        )
        .values(
            status=OccurrenceStatus.UNDELIVERABLE.value,
            finished_at=now,
            claimed_by=None,
            lease_until=None,
            last_error=reason[:2000],
        )
    ).rowcount  # type: ignore[attr-defined]
    return bool(done)


def cancel(
    *,
    session: Session,
    workspace_id: str,
    kind: str,
    subject_ref: str,
    due_at: datetime | None = None,
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
    ).rowcount  # type: ignore[attr-defined]


def _claimable(now: datetime) -> Any:
    # On a pending row lease_until means "retry not before" after a failed attempt.
    c = _TABLE.c
    return and_(
        c.due_at <= now,
        or_(
            and_(
                c.status == OccurrenceStatus.PENDING.value,
                or_(c.lease_until.is_(None), c.lease_until <= now),
            ),
            and_(c.status == OccurrenceStatus.CLAIMED.value, c.lease_until < now),
        ),
    )


def _claimed(row: Any) -> ClaimedOccurrence:
    """From an Occurrence, or a row of its columns."""
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


def next_due(*, session: Session, workspace_id: str, now: datetime) -> datetime | None:
    """When the workspace's next pending delivery may go (a retry's "not before" counts;
    a time at or before `now` means at once), or None: how far a simulated clock may
    jump in one step."""
    pending = (
        Occurrence.workspace_id == workspace_id,
        Occurrence.status == OccurrenceStatus.PENDING.value,
    )
    due = session.execute(
        select(func.min(Occurrence.due_at)).where(
            *pending, or_(Occurrence.lease_until.is_(None), Occurrence.lease_until <= now)
        )
    ).scalar_one_or_none()
    retry = session.execute(
        select(func.min(Occurrence.lease_until)).where(*pending, Occurrence.lease_until > now)
    ).scalar_one_or_none()
    found = [moment for moment in (due, retry) if moment is not None]
    return min(found) if found else None
