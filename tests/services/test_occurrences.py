"""Scheduled deliveries: planned once, claimed once, missed rather than sent late."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session, sessionmaker

from bot import migrate
from bot.db import make_engine, make_session_factory
from bot.deps import Deps
from bot.models import Occurrence, OccurrenceStatus
from bot.services import occurrences, workspaces
from bot.services.occurrences import ClaimResult

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
GRACE = timedelta(minutes=30)
LEASE = timedelta(minutes=2)


@pytest.fixture
def factory(deps: Deps) -> sessionmaker[Session]:
    with deps.session_factory.begin() as session:
        workspaces.ensure_workspace(
            session=session, workspace_id="T1", platform="slack", timezone="UTC"
        )
    return deps.session_factory


def _schedule(
    factory: sessionmaker[Session],
    due_at: datetime,
    *,
    subject_ref: str = "standup:1",
    kind: str = "reminder",
    recipient_ref: str = "",
) -> bool:
    with factory.begin() as session:
        return occurrences.schedule(
            session=session,
            workspace_id="T1",
            kind=kind,
            subject_ref=subject_ref,
            due_at=due_at,
            recipient_ref=recipient_ref,
            payload={"text": "hi"},
        )


def _claim(
    factory: sessionmaker[Session], now: datetime, instance_id: str, limit: int = 500
) -> ClaimResult:
    with factory.begin() as session:
        return occurrences.claim_due(
            session=session, now=now, instance_id=instance_id, grace=GRACE, lease=LEASE, limit=limit
        )


def _row(factory: sessionmaker[Session], occurrence_id: int) -> Occurrence:
    with factory() as session:
        row = session.get(Occurrence, occurrence_id)
        assert row is not None
        return row


def _only_row(factory: sessionmaker[Session]) -> Occurrence:
    with factory() as session:
        return session.execute(select(Occurrence)).scalar_one()


def test_schedule_is_idempotent_on_the_unique_key(factory: sessionmaker[Session]) -> None:
    due = NOW + timedelta(hours=1)
    assert _schedule(factory, due) is True
    assert _schedule(factory, due) is False
    # The same instant in another time zone is the same delivery.
    assert _schedule(factory, due.astimezone(ZoneInfo("America/New_York"))) is False

    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Occurrence)) == 1

    # Any other part of the key makes it another delivery.
    assert _schedule(factory, due, recipient_ref="U1") is True
    assert _schedule(factory, due, subject_ref="standup:2") is True
    assert _schedule(factory, due, kind="digest") is True
    assert _schedule(factory, due + timedelta(days=1)) is True
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Occurrence)) == 5


ODD_TEXT = 'Grüße, “quoted” & <b> \\ {"json": 1}'


def test_schedule_many_plans_each_delivery_once_with_its_payload(
    factory: sessionmaker[Session],
) -> None:
    due = NOW + timedelta(hours=1)

    def plan(
        recipient: str, *, at: datetime = due, text: str = "hi"
    ) -> occurrences.PlannedDelivery:
        return occurrences.PlannedDelivery(
            workspace_id="T1",
            kind="reminder_dm",
            subject_ref="standup:1",
            due_at=at,
            recipient_ref=recipient,
            payload={"text": text, "standup_id": 1},
        )

    with factory.begin() as session:
        first = occurrences.schedule_many(
            session=session,
            deliveries=[plan("U1"), plan("U2"), plan("U1")],
        )
    assert first == [True, True, False]  # the same delivery twice in one call: once
    with factory.begin() as session:
        occurrences.cancel(
            session=session, workspace_id="T1", kind="reminder_dm", subject_ref="standup:1"
        )
    new_york = due.astimezone(ZoneInfo("America/New_York"))
    with factory.begin() as session:
        again = occurrences.schedule_many(
            session=session,
            deliveries=[plan("U2", at=new_york), plan("U3", text=ODD_TEXT), plan("U1")],
        )
    # Cancelled ones are planned again (U1, U2: the same instant in another zone), and
    # a new one added; none twice.
    assert again == [True, True, True]

    with factory() as session:
        rows = session.scalars(select(Occurrence).order_by(Occurrence.recipient_ref)).all()
    assert [(row.recipient_ref, row.status) for row in rows] == [
        ("U1", OccurrenceStatus.PENDING),
        ("U2", OccurrenceStatus.PENDING),
        ("U3", OccurrenceStatus.PENDING),
    ]
    assert all(row.due_at == due and row.due_at.tzinfo is not None for row in rows)
    assert rows[2].payload == {"text": ODD_TEXT, "standup_id": 1}
    assert rows[2].attempts == 0 and rows[2].created_at is not None


def test_schedule_many_refuses_a_naive_time_and_plans_nothing(
    factory: sessionmaker[Session],
) -> None:
    naive = occurrences.PlannedDelivery(
        workspace_id="T1", kind="reminder_dm", subject_ref="standup:1", due_at=datetime(2026, 3, 2)
    )
    with pytest.raises((ValueError, StatementError), match="naive datetime"):
        with factory.begin() as session:
            occurrences.schedule_many(session=session, deliveries=[naive])
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Occurrence)) == 0


def test_a_sent_delivery_is_not_planned_again(factory: sessionmaker[Session]) -> None:
    _schedule(factory, NOW)
    [claimed] = _claim(factory, NOW, "a").claimed
    with factory.begin() as session:
        occurrences.mark_sent(session=session, occurrence_id=claimed.id, instance_id="a", now=NOW)

    assert _schedule(factory, NOW) is False
    assert _only_row(factory).status == OccurrenceStatus.SENT
    assert _claim(factory, NOW + timedelta(minutes=1), "a").claimed == []


def test_a_due_delivery_is_claimed_once(factory: sessionmaker[Session]) -> None:
    _schedule(factory, NOW - timedelta(minutes=1))

    first = _claim(factory, NOW, "instance-a")
    second = _claim(factory, NOW, "instance-b")

    assert len(first.claimed) == 1
    claimed = first.claimed[0]
    assert claimed.attempt == 1
    assert claimed.kind == "reminder"
    assert claimed.payload == {"text": "hi"}
    assert claimed.due_at == NOW - timedelta(minutes=1)
    assert second.claimed == []
    row = _row(factory, claimed.id)
    assert row.status == OccurrenceStatus.CLAIMED
    assert row.claimed_by == "instance-a"
    assert row.lease_until == NOW + LEASE


def test_a_future_delivery_is_not_claimed(factory: sessionmaker[Session]) -> None:
    _schedule(factory, NOW + timedelta(seconds=1))

    assert _claim(factory, NOW, "a").claimed == []
    assert _only_row(factory).status == OccurrenceStatus.PENDING
    assert len(_claim(factory, NOW + timedelta(seconds=1), "a").claimed) == 1


def test_a_delivery_past_the_grace_period_is_missed_not_sent(
    factory: sessionmaker[Session],
) -> None:
    _schedule(factory, NOW - GRACE - timedelta(seconds=1), subject_ref="too-late")
    _schedule(factory, NOW - GRACE, subject_ref="just-in-time")

    result = _claim(factory, NOW, "a")

    assert [c.subject_ref for c in result.claimed] == ["just-in-time"]
    assert result.missed == 1
    with factory() as session:
        late = session.execute(
            select(Occurrence).where(Occurrence.subject_ref == "too-late")
        ).scalar_one()
    assert late.status == OccurrenceStatus.MISSED
    assert late.finished_at == NOW
    # Never picked up later either.
    assert _claim(factory, NOW + timedelta(minutes=5), "b").claimed == []


def test_an_expired_lease_is_taken_over_as_a_second_attempt(
    factory: sessionmaker[Session],
) -> None:
    _schedule(factory, NOW)
    [first] = _claim(factory, NOW, "instance-a").claimed  # ...and instance-a dies

    # While the lease runs, nobody else takes it.
    assert _claim(factory, NOW + LEASE - timedelta(seconds=1), "instance-b").claimed == []
    [second] = _claim(factory, NOW + LEASE + timedelta(seconds=1), "instance-b").claimed

    assert second.id == first.id
    assert second.attempt == 2
    row = _row(factory, first.id)
    assert row.claimed_by == "instance-b"
    assert row.attempts == 2


def test_an_instance_that_lost_its_claim_cannot_record_the_outcome(
    factory: sessionmaker[Session],
) -> None:
    _schedule(factory, NOW)
    [claimed] = _claim(factory, NOW, "instance-a").claimed
    _claim(factory, NOW + LEASE + timedelta(seconds=1), "instance-b")

    with factory.begin() as session:
        by_a = occurrences.mark_sent(
            session=session, occurrence_id=claimed.id, instance_id="instance-a", now=NOW
        )
    assert by_a is False
    # Nor can it give the delivery up on the new owner's behalf.
    with factory.begin() as session:
        occurrences.release(
            session=session,
            occurrence_id=claimed.id,
            instance_id="instance-a",
            error="timeout",
            give_up=True,
        )
    row = _row(factory, claimed.id)
    assert row.status == OccurrenceStatus.CLAIMED
    assert row.claimed_by == "instance-b"

    later = NOW + timedelta(minutes=3)
    with factory.begin() as session:
        by_b = occurrences.mark_sent(
            session=session, occurrence_id=claimed.id, instance_id="instance-b", now=later
        )
    assert by_b is True
    row = _row(factory, claimed.id)
    assert row.status == OccurrenceStatus.SENT
    assert row.finished_at == later
    assert row.lease_until is None


def test_release_makes_a_delivery_pending_again_after_retry_at(
    factory: sessionmaker[Session],
) -> None:
    _schedule(factory, NOW)
    [claimed] = _claim(factory, NOW, "a").claimed
    retry_at = NOW + timedelta(seconds=30)

    with factory.begin() as session:
        occurrences.release(
            session=session,
            occurrence_id=claimed.id,
            instance_id="a",
            error="Slack said 500",
            give_up=False,
            retry_at=retry_at,
        )

    row = _row(factory, claimed.id)
    assert row.status == OccurrenceStatus.PENDING
    assert row.claimed_by is None
    assert row.last_error == "Slack said 500"
    assert _claim(factory, retry_at - timedelta(seconds=1), "b").claimed == []
    [again] = _claim(factory, retry_at, "b").claimed
    assert again.attempt == 2


def test_release_with_give_up_fails_the_delivery_for_good(
    factory: sessionmaker[Session],
) -> None:
    _schedule(factory, NOW)
    [claimed] = _claim(factory, NOW, "a").claimed

    with factory.begin() as session:
        occurrences.release(
            session=session,
            occurrence_id=claimed.id,
            instance_id="a",
            error="x" * 5000,
            give_up=True,
        )

    row = _row(factory, claimed.id)
    assert row.status == OccurrenceStatus.FAILED
    assert row.last_error == "x" * 2000
    assert _claim(factory, NOW + timedelta(minutes=5), "b").claimed == []


def test_cancel_stops_pending_deliveries(factory: sessionmaker[Session]) -> None:
    monday, tuesday = NOW, NOW + timedelta(days=1)
    _schedule(factory, monday)
    _schedule(factory, tuesday)
    _schedule(factory, tuesday, subject_ref="standup:2")

    with factory.begin() as session:
        one = occurrences.cancel(
            session=session,
            workspace_id="T1",
            kind="reminder",
            subject_ref="standup:1",
            due_at=monday,
        )
    assert one == 1
    assert _claim(factory, monday, "a").claimed == []

    with factory.begin() as session:
        rest = occurrences.cancel(
            session=session, workspace_id="T1", kind="reminder", subject_ref="standup:1"
        )
    assert rest == 1
    assert [c.subject_ref for c in _claim(factory, tuesday, "a").claimed] == ["standup:2"]

    # A claimed delivery is under way: cancelling does not touch it.
    with factory.begin() as session:
        assert (
            occurrences.cancel(
                session=session, workspace_id="T1", kind="reminder", subject_ref="standup:2"
            )
            == 0
        )

    # A cancelled delivery planned again (a resumed stand-up) is pending once more.
    assert _schedule(factory, tuesday) is True
    assert [c.subject_ref for c in _claim(factory, tuesday, "a").claimed] == ["standup:1"]


def schedule_due_reminders(session: Session, count: int) -> None:
    """`count` reminders of workspace T1, due a minute ago."""
    workspaces.ensure_workspace(
        session=session, workspace_id="T1", platform="slack", timezone="UTC"
    )
    for n in range(count):
        occurrences.schedule(
            session=session,
            workspace_id="T1",
            kind="reminder",
            subject_ref=f"standup:{n}",
            due_at=NOW - timedelta(minutes=1),
        )


def test_two_instances_claiming_at_once_claim_each_delivery_exactly_once(
    deps: Deps, database_url: str
) -> None:
    total, batch = 200, 20
    with deps.session_factory.begin() as session:
        schedule_due_reminders(session, total)

    engines = [make_engine(database_url), make_engine(database_url)]
    for engine in engines:
        engine.connect().close()  # connected before the start line, so both really race
    start = threading.Barrier(len(engines))
    claims: dict[str, list[int]] = {"instance-0": [], "instance-1": []}
    errors: list[BaseException] = []

    def claimer(instance_id: str, factory: sessionmaker[Session]) -> None:
        try:
            start.wait(timeout=10)
            while True:
                with factory.begin() as session:
                    result = occurrences.claim_due(
                        session=session, now=NOW, instance_id=instance_id, grace=GRACE, limit=batch
                    )
                if not result.claimed:
                    return
                claims[instance_id].extend(c.id for c in result.claimed)
        except BaseException as exc:  # reported on the main thread
            errors.append(exc)

    threads = [
        threading.Thread(target=claimer, args=(instance_id, make_session_factory(engine)))
        for instance_id, engine in zip(claims, engines, strict=True)
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        for engine in engines:
            engine.dispose()

    assert not errors, errors
    everything = claims["instance-0"] + claims["instance-1"]
    duplicates = [i for i, n in Counter(everything).items() if n > 1]
    assert duplicates == []
    assert len(everything) == total
    with deps.session_factory() as session:
        rows = session.execute(select(Occurrence.claimed_by, Occurrence.attempts)).all()
    assert {attempts for _, attempts in rows} == {1}
    by_instance = Counter(claimed_by for claimed_by, _ in rows)
    assert by_instance == {i: len(ids) for i, ids in claims.items() if ids}


def test_a_claim_skips_the_rows_another_open_claim_holds_without_waiting(
    pg_database_url: str,
) -> None:
    # Row locks are skipped, not waited on (SKIP LOCKED): while one instance's claim is
    # still uncommitted, another claims the other due rows at once. (Which of two racing
    # instances gets how many is up to the timing, so this holds one claim open instead.)
    first = make_session_factory(make_engine(pg_database_url))
    migrate.upgrade(first.kw["bind"])
    second = make_session_factory(make_engine(pg_database_url))
    with first.begin() as session:
        schedule_due_reminders(session, 40)
    try:
        with first.begin() as holding:
            held = occurrences.claim_due(
                session=holding, now=NOW, instance_id="first", grace=GRACE, limit=20
            )
            with second.begin() as session:
                # Waiting on the first's locks would fail here instead of hanging.
                session.execute(text("SET LOCAL lock_timeout = '2s'"))
                other = occurrences.claim_due(
                    session=session, now=NOW, instance_id="second", grace=GRACE, limit=40
                )
        assert len(held.claimed) == len(other.claimed) == 20
        assert {c.id for c in held.claimed}.isdisjoint(c.id for c in other.claimed)
    finally:
        for factory in (first, second):
            factory.kw["bind"].dispose()
