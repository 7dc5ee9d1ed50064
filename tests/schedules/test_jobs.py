"""The scheduler tick: due messages go out exactly once, failures are retried, late ones missed."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot.db import make_engine, make_session_factory
from bot.deps import Deps
from bot.metrics import REGISTRY
from bot.models import Occurrence, OccurrenceStatus
from bot.notify import DeliveryDeferred
from bot.replies import Reply, Visibility
from bot.services import occurrences, workspaces
from schedules import Scheduler, create_scheduler, jobs
from schedules.jobs import MAX_ATTEMPTS, POST_KIND, register_builtin_deliveries, run_tick

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class RecordingNotifier:
    """Records every post; fails the next `failures` posts first, like a Slack outage."""

    def __init__(self, failures: int = 0) -> None:
        self.posts: list[tuple[str, str, Reply]] = []
        self.failures = failures

    async def post(self, workspace_id: str, conversation_ref: str, reply: Reply) -> str | None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("Slack is down")
        self.posts.append((workspace_id, conversation_ref, reply))
        return f"msg-{len(self.posts)}"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    """The deps' clock (see tests/conftest.py), moved by hand."""
    return Clock(NOW)


@pytest.fixture
def notifier(deps: Deps) -> RecordingNotifier:
    with deps.session_factory.begin() as session:
        workspaces.ensure_workspace(
            session=session, workspace_id="T1", platform="slack", timezone="UTC"
        )
    return RecordingNotifier()


def builtin_scheduler(deps: Deps, notifier: RecordingNotifier) -> Scheduler:
    """A scheduler (not started) that delivers plain posts only."""
    built = Scheduler(deps, notifier)
    register_builtin_deliveries(built)
    return built


@pytest.fixture
def scheduler(deps: Deps, notifier: RecordingNotifier) -> Scheduler:
    return builtin_scheduler(deps, notifier)


def _schedule_post(
    deps: Deps, due_at: datetime, *, kind: str = POST_KIND, subject_ref: str = "announcement:1"
) -> None:
    with deps.session_factory.begin() as session:
        occurrences.schedule(
            session=session,
            workspace_id="T1",
            kind=kind,
            subject_ref=subject_ref,
            due_at=due_at,
            payload={"conversation_ref": "C1", "text": "hello <!channel>"},
        )


def _only_row(deps: Deps) -> Occurrence:
    with deps.session_factory() as session:
        return session.execute(select(Occurrence)).scalar_one()


def _tick(scheduler: Scheduler, now: datetime | None = None) -> tuple[int, int, int, int]:
    report = asyncio.run(run_tick(scheduler, now))
    return report.claimed, report.sent, report.failed, report.missed


def test_a_due_post_is_delivered_once(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    _schedule_post(deps, NOW)

    assert _tick(scheduler, NOW) == (1, 1, 0, 0)
    assert _tick(scheduler, NOW) == (0, 0, 0, 0)
    assert _tick(scheduler, NOW + timedelta(minutes=10)) == (0, 0, 0, 0)

    [(workspace_id, conversation_ref, reply)] = notifier.posts
    assert (workspace_id, conversation_ref) == ("T1", "C1")
    assert reply.visibility is Visibility.CHANNEL
    # The text stays literal; the Slack renderer escapes it so <!channel> pings nobody.
    assert reply.fallback == "hello <!channel>"
    row = _only_row(deps)
    assert row.status == OccurrenceStatus.SENT
    assert row.attempts == 1
    assert row.finished_at == NOW


def test_a_record_that_fails_mid_batch_is_written_again_and_nothing_is_sent_twice(
    deps: Deps,
    notifier: RecordingNotifier,
    clock: Clock,
    scheduler: Scheduler,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The database drops the connection while a batch of sent records is being written:
    its transaction is lost whole, the batch is written again, and once the claims' lease
    is over no tick sends any of those messages a second time."""
    with deps.session_factory.begin() as session:
        for n in range(20):
            occurrences.schedule(
                session=session,
                workspace_id="T1",
                kind=POST_KIND,
                subject_ref=f"announcement:{n}",
                due_at=NOW,
                payload={"conversation_ref": f"C{n}", "text": f"post {n}"},
            )
    write = occurrences.mark_all_sent
    failed_batches: list[int] = []

    def connection_lost_after_the_update(**kwargs: Any) -> set[int]:
        recorded = write(**kwargs)  # written in the transaction, which then dies
        if not failed_batches:
            failed_batches.append(len(recorded))
            raise OperationalError("COMMIT", {}, ConnectionError("server closed the connection"))
        return recorded

    monkeypatch.setattr(occurrences, "mark_all_sent", connection_lost_after_the_update)
    monkeypatch.setattr(jobs, "RECORD_RETRY_SECONDS", 0.01)
    redeliveries_before = _redeliveries()

    assert _tick(scheduler, NOW) == (20, 20, 0, 0)
    assert failed_batches and failed_batches[0] >= 1
    clock.now = NOW + timedelta(seconds=deps.settings.bridgebot_claim_lease_seconds + 60)
    assert _tick(scheduler) == (0, 0, 0, 0)

    texts = Counter(reply.fallback for _, _, reply in notifier.posts)
    assert len(notifier.posts) == 20 and set(texts.values()) == {1}
    with deps.session_factory() as session:
        rows = session.execute(select(Occurrence.status, Occurrence.attempts)).all()
    assert Counter(status for status, _ in rows) == {OccurrenceStatus.SENT: 20}
    assert {attempts for _, attempts in rows} == {1}
    assert _redeliveries() == redeliveries_before


def test_a_post_not_yet_due_waits_for_its_time(
    deps: Deps, notifier: RecordingNotifier, clock: Clock, scheduler: Scheduler
) -> None:
    _schedule_post(deps, NOW + timedelta(minutes=1))

    assert _tick(scheduler) == (0, 0, 0, 0)
    clock.now = NOW + timedelta(minutes=1)
    assert _tick(scheduler) == (1, 1, 0, 0)
    assert len(notifier.posts) == 1


def test_two_instances_ticking_at_once_post_each_message_once(
    deps: Deps, notifier: RecordingNotifier, database_url: str, scheduler: Scheduler
) -> None:
    for n in range(30):
        _schedule_post(deps, NOW, subject_ref=f"announcement:{n}")
    other_engine = make_engine(database_url)
    other = dataclasses.replace(
        deps,
        engine=other_engine,
        session_factory=make_session_factory(other_engine),
        instance_id="other-instance",
    )

    async def both() -> None:
        await asyncio.gather(
            run_tick(scheduler, NOW), run_tick(builtin_scheduler(other, notifier), NOW)
        )

    try:
        asyncio.run(both())
    finally:
        other_engine.dispose()

    assert len(notifier.posts) == 30
    with deps.session_factory() as session:
        statuses = session.execute(select(Occurrence.status)).scalars().all()
    assert set(statuses) == {OccurrenceStatus.SENT}


def test_a_failed_post_stays_pending_and_a_later_tick_delivers_it(
    deps: Deps, notifier: RecordingNotifier, clock: Clock, scheduler: Scheduler
) -> None:
    notifier.failures = 1
    _schedule_post(deps, NOW)
    redeliveries_before = _redeliveries()

    assert _tick(scheduler) == (1, 0, 1, 0)
    row = _only_row(deps)
    assert row.status == OccurrenceStatus.PENDING
    assert row.attempts == 1
    assert row.last_error is not None and "Slack is down" in row.last_error
    assert notifier.posts == []

    # Not hammered again in the same minute: there is a back-off.
    assert _tick(scheduler) == (0, 0, 0, 0)

    clock.now = NOW + timedelta(minutes=1)
    assert _tick(scheduler) == (1, 1, 0, 0)
    assert len(notifier.posts) == 1
    row = _only_row(deps)
    assert row.status == OccurrenceStatus.SENT
    assert row.attempts == 2
    assert row.last_error is None
    # The second attempt is counted: the only way a duplicate could ever happen.
    assert _redeliveries() == redeliveries_before + 1


def test_a_post_put_off_by_a_busy_conversation_goes_later_without_using_an_attempt(
    deps: Deps, notifier: RecordingNotifier, clock: Clock, scheduler: Scheduler
) -> None:
    put_offs = MAX_ATTEMPTS + 1  # more than failures would be allowed

    async def busy_then_free(workspace_id: str, conversation_ref: str, reply: Reply) -> str:
        nonlocal put_offs
        if put_offs:
            put_offs -= 1
            raise DeliveryDeferred("C1 is busy", retry_after=40)
        notifier.posts.append((workspace_id, conversation_ref, reply))
        return "msg-1"

    notifier.post = busy_then_free  # type: ignore[method-assign]
    _schedule_post(deps, NOW)
    redeliveries_before = _redeliveries()

    for _ in range(MAX_ATTEMPTS + 1):
        report = asyncio.run(run_tick(scheduler, clock.now))
        assert (report.claimed, report.deferred, report.sent, report.failed) == (1, 1, 0, 0)
        row = _only_row(deps)
        assert (row.status, row.attempts) == (OccurrenceStatus.PENDING, 0)
        assert _tick(scheduler, clock.now + timedelta(seconds=39)) == (0, 0, 0, 0)  # not yet
        clock.now += timedelta(seconds=40)

    assert _tick(scheduler, clock.now) == (1, 1, 0, 0)
    row = _only_row(deps)
    assert (row.status, row.attempts) == (OccurrenceStatus.SENT, 1)
    assert len(notifier.posts) == 1
    assert _redeliveries() == redeliveries_before  # putting off is no second attempt


class WakeRecorder(Scheduler):
    """A scheduler that notes when it is woken instead of running the tick."""

    def __init__(self, deps: Deps, notifier: RecordingNotifier) -> None:
        super().__init__(deps, notifier)
        self.woken: list[float] = []
        register_builtin_deliveries(self)

    def wake(self) -> None:
        self.woken.append(time.monotonic())


def test_a_put_off_post_wakes_the_scheduler_when_its_time_comes(
    deps: Deps, notifier: RecordingNotifier
) -> None:
    async def busy(workspace_id: str, conversation_ref: str, reply: Reply) -> str:
        raise DeliveryDeferred("C1 is busy", retry_after=0.3)

    notifier.post = busy  # type: ignore[method-assign]
    scheduler = WakeRecorder(deps, notifier)
    _schedule_post(deps, NOW)

    async def tick_and_wait() -> float:
        started = time.monotonic()
        await run_tick(scheduler, NOW)
        await asyncio.sleep(0.6)
        return started

    started = asyncio.run(tick_and_wait())
    # Woken once, and not before the time the conversation gave.
    assert len(scheduler.woken) == 1 and scheduler.woken[0] - started >= 0.3


def test_a_delivery_of_an_unknown_kind_is_recorded_not_lost(
    deps: Deps, notifier: RecordingNotifier, clock: Clock, scheduler: Scheduler
) -> None:
    _schedule_post(deps, NOW, kind="no-such-kind")

    assert _tick(scheduler) == (1, 0, 1, 0)
    row = _only_row(deps)
    assert row.status == OccurrenceStatus.PENDING
    assert row.attempts == 1
    assert row.last_error is not None and "no-such-kind" in row.last_error

    # Retried with a back-off until the attempts run out, then recorded as failed.
    for minute in range(1, MAX_ATTEMPTS):
        clock.now = NOW + timedelta(minutes=minute * 3)
        assert _tick(scheduler) == (1, 0, 1, 0)
    row = _only_row(deps)
    assert row.status == OccurrenceStatus.FAILED
    assert row.attempts == MAX_ATTEMPTS
    clock.now = NOW + timedelta(minutes=20)
    assert _tick(scheduler) == (0, 0, 0, 0)
    assert notifier.posts == []


def test_a_post_missed_beyond_the_grace_period_is_never_sent(
    deps: Deps, notifier: RecordingNotifier, clock: Clock, scheduler: Scheduler
) -> None:
    grace = timedelta(minutes=deps.settings.bridgebot_grace_minutes)
    _schedule_post(deps, NOW - grace - timedelta(minutes=1), subject_ref="while-down")
    _schedule_post(deps, NOW - grace + timedelta(minutes=1), subject_ref="within-grace")

    assert _tick(scheduler) == (1, 1, 0, 1)
    clock.now = NOW + timedelta(hours=1)
    assert _tick(scheduler) == (0, 0, 0, 0)

    assert len(notifier.posts) == 1
    with deps.session_factory() as session:
        missed = session.execute(
            select(Occurrence).where(Occurrence.subject_ref == "while-down")
        ).scalar_one()
    assert missed.status == OccurrenceStatus.MISSED
    assert missed.attempts == 0


def test_scheduler_registers_the_tick(deps: Deps) -> None:
    scheduler = create_scheduler(deps, RecordingNotifier())
    assert scheduler.delivery_for(POST_KIND) is not None

    async def start_paused() -> tuple[list[str], bool]:
        scheduler.start(paused=True)
        try:
            tick = scheduler.get_job("occurrence-tick")
            return [job.id for job in scheduler.get_jobs()], tick is not None and tick.coalesce
        finally:
            scheduler.shutdown(wait=False)

    job_ids, coalesced = asyncio.run(start_paused())
    assert "occurrence-tick" in job_ids
    # Ticks missed while busy run once, not in a burst.
    assert coalesced
    assert not scheduler.running


def _redeliveries() -> float:
    value = REGISTRY.get_sample_value("bridgebot_scheduled_redeliveries_total", {"kind": POST_KIND})
    return value or 0.0
