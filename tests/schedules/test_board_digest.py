"""The weekly board digest through the scheduler tick: when, what it says, and exactly once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from bot.deps import Deps, build_deps
from bot.models import Occurrence, Side, WorkspaceSettings
from bot.replies import Reply
from bot.services import board, people, workspaces
from schedules import Scheduler
from schedules import board as board_schedule
from schedules.jobs import TickReport, register_builtin_deliveries, run_tick
from tests.clock import Clock
from tests.conftest import empty_tables

WS = "T0DIGEST"  # New York: the default Friday 16:00 is 21:00 UTC in early March 2026
OTHER_WS = "T0UTCCO"  # UTC: Friday 16:00 is 16:00 UTC
QUIET_WS = "T0NOCHAN"  # no shared channel: no digest
SHARED, OTHER_SHARED = "C0SHARED", "C0OTHERSHARED"

FRIDAY_NY = datetime(2026, 3, 6, 21, 0, tzinfo=UTC)  # Friday 6 March 2026, 16:00 in New York
FRIDAY_UTC = datetime(2026, 3, 6, 16, 0, tzinfo=UTC)
MONDAY = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
DAY = timedelta(days=1)

ANN, MAX = "U0ANN", "U0MAX"  # marketing
IAN, IDA = "U0IAN", "U0IDA"  # IT


@dataclass(frozen=True)
class Sent:
    workspace_id: str
    conversation_ref: str
    reply: Reply


class RecordingNotifier:
    """Records every message the scheduler sends, as the chat platform would receive it."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []

    async def post(self, workspace_id: str, conversation_ref: str, reply: Reply) -> str | None:
        await asyncio.sleep(0)  # let a concurrent tick run, as a network call would
        self.sent.append(Sent(workspace_id, conversation_ref, reply))
        return f"msg-{len(self.sent)}"


@pytest.fixture
def deps(module_deps: Deps) -> Deps:
    """Empty tables; three workspaces, two with a shared channel; people on both sides."""
    with module_deps.session_factory.begin() as session:
        empty_tables(session)
        for workspace_id, zone in ((WS, "America/New_York"), (OTHER_WS, "UTC"), (QUIET_WS, "UTC")):
            workspaces.ensure_workspace(
                session=session, workspace_id=workspace_id, platform="slack", timezone=zone
            )
        workspaces.set_shared_channel(session=session, workspace_id=WS, channel_ref=SHARED)
        workspaces.set_shared_channel(
            session=session, workspace_id=OTHER_WS, channel_ref=OTHER_SHARED
        )
        for user, side in (
            (ANN, Side.MARKETING),
            (MAX, Side.MARKETING),
            (IAN, Side.IT),
            (IDA, Side.IT),
        ):
            people.set_side(session=session, workspace_id=WS, user_ref=user, side=side)
    module_deps.router.known_workspaces.clear()
    return module_deps


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


def digest_scheduler(deps: Deps, notifier: RecordingNotifier) -> Scheduler:
    """Plain posts and the board digest only; not started."""
    built = Scheduler(deps, notifier)
    register_builtin_deliveries(built)
    board_schedule.register(built)
    return built


@pytest.fixture
def scheduler(deps: Deps, notifier: RecordingNotifier) -> Scheduler:
    return digest_scheduler(deps, notifier)


def set_clock(deps: Deps, moment: datetime) -> None:
    assert isinstance(deps.clock, Clock)
    deps.clock.now = moment


def tick(scheduler: Scheduler, moment: datetime) -> TickReport:
    set_clock(scheduler.deps, moment)
    return asyncio.run(run_tick(scheduler, now=moment))


def a_week_on_the_board(deps: Deps) -> None:
    """Posts made during the week (and before it), with celebrations and helpers."""

    with deps.session_factory.begin() as s:

        def post(kind: str, author: str, text: str, now: datetime, ws: str = WS) -> int:
            return board.create_post(
                session=s, workspace_id=ws, kind=kind, author_ref=author, text=text,
                channel_ref=SHARED, now=now,
            ).id  # fmt: skip

        def helps(post_id: int, helper: str, now: datetime) -> None:
            board.offer_help(
                session=s, workspace_id=WS, post_id=post_id, helper_ref=helper, now=now
            )

        top = post("win", IAN, "Checkout is twice as fast", MONDAY)
        runner_up = post("win", ANN, "Launch email beat its target", MONDAY + DAY)
        post("win", MAX, "Webinar signups doubled", MONDAY + 2 * DAY)
        for fan in (ANN, MAX, IDA):
            board.toggle_celebration(
                session=s, workspace_id=WS, post_id=top, user_ref=fan, now=MONDAY
            )
        board.toggle_celebration(
            session=s, workspace_id=WS, post_id=runner_up, user_ref=IAN, now=MONDAY
        )

        needs_it = post("challenge", ANN, "Campaign data arrives a day late", MONDAY)
        needs_mk = post("challenge", IAN, "Nobody reads our release notes", MONDAY + DAY)
        within_it = post("challenge", IDA, "Flaky build agents", MONDAY + DAY)
        helps(needs_it, IAN, MONDAY + DAY)
        helps(needs_mk, MAX, MONDAY + 2 * DAY)
        helps(within_it, IAN, MONDAY + 2 * DAY)  # same side: not "across"

        post("challenge", MAX, "Brand assets scattered over five drives", FRIDAY_NY - 12 * DAY)
        old_done = post("challenge", IDA, "VPN drops every hour", FRIDAY_NY - 9 * DAY)
        board.resolve(session=s, workspace_id=WS, post_id=old_done, user_ref=IDA, now=MONDAY)

        post("win", ANN, "A win in another company", MONDAY, OTHER_WS)
        post("win", ANN, "A win with nowhere to go", MONDAY, QUIET_WS)


def digest_text(sent: Sent) -> str:
    return sent.reply.fallback


def test_the_digest_goes_once_at_friday_16_workspace_time_with_the_weeks_numbers(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    a_week_on_the_board(deps)

    tick(scheduler, FRIDAY_NY - 2 * DAY)  # Wednesday: too early to plan
    tick(scheduler, FRIDAY_NY - DAY + timedelta(minutes=5))  # Thursday: planned, not due
    tick(scheduler, FRIDAY_UTC)  # 11:00 in New York; the UTC workspace's digest is due
    assert [(s.workspace_id, s.conversation_ref) for s in notifier.sent] == [
        (OTHER_WS, OTHER_SHARED)
    ]
    other = digest_text(notifier.sent[0])
    assert "Wins: 1 (Marketing 0 · IT 0 · Other 0 · no side 1)" in other
    assert "Checkout" not in other and "Campaign data" not in other
    notifier.sent.clear()

    tick(scheduler, FRIDAY_NY - timedelta(minutes=1))
    assert notifier.sent == []

    report = tick(scheduler, FRIDAY_NY)
    assert report.sent == 1 and report.failed == 0
    (digest,) = notifier.sent
    assert (digest.workspace_id, digest.conversation_ref) == (WS, SHARED)
    text = digest_text(digest)
    assert text.startswith("The board's week: Fri 27 Feb – Fri 06 Mar 2026")
    assert "Wins: 3 (Marketing 2 · IT 1 · Other 0)" in text
    assert "Challenges: 3 (Marketing 1 · IT 2 · Other 0)" in text
    assert "Helped across sides: 2 challenges" in text
    top_wins = "Most celebrated:\n3 🎉 @U0IAN: Checkout is twice as fast\n1 🎉 @U0ANN: Launch email"
    assert top_wins in text
    assert "Webinar signups" not in text  # no celebrations, not a top win
    assert "Still open after a week" in text
    assert "Brand assets scattered over five drives" in text
    assert "VPN drops" not in text  # resolved
    assert "another company" not in text and "nowhere to go" not in text

    tick(scheduler, FRIDAY_NY)
    tick(scheduler, FRIDAY_NY + timedelta(minutes=1))
    tick(scheduler, FRIDAY_NY + DAY)
    assert len(notifier.sent) == 1


def test_a_second_instance_on_the_same_database_sends_nothing_more(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    a_week_on_the_board(deps)
    second = build_deps(deps.settings, upgrade_schema=False, clock=Clock())
    second_notifier = RecordingNotifier()
    other = digest_scheduler(second, second_notifier)
    try:
        tick(scheduler, FRIDAY_NY - DAY + timedelta(minutes=1))
        tick(other, FRIDAY_NY - DAY + timedelta(minutes=2))

        async def both() -> None:
            await asyncio.gather(run_tick(scheduler, now=FRIDAY_NY), run_tick(other, now=FRIDAY_NY))

        set_clock(deps, FRIDAY_NY)
        set_clock(second, FRIDAY_NY)
        asyncio.run(both())
        tick(other, FRIDAY_NY + timedelta(minutes=1))
        tick(scheduler, FRIDAY_NY + timedelta(minutes=1))
    finally:
        second.engine.dispose()

    to_shared = [s for s in notifier.sent + second_notifier.sent if s.conversation_ref == SHARED]
    assert len(to_shared) == 1
    assert "Helped across sides: 2 challenges" in digest_text(to_shared[0])
    with deps.session_factory() as session:
        statuses = (
            session.execute(
                select(Occurrence.status).where(
                    Occurrence.workspace_id == WS, Occurrence.kind == board_schedule.DIGEST
                )
            )
            .scalars()
            .all()
        )
    assert statuses == ["sent"]


def test_a_bot_back_within_the_grace_period_still_sends_the_digest_once(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    """Down from Wednesday until five minutes after the digest was due."""
    a_week_on_the_board(deps)
    tick(scheduler, FRIDAY_NY - 2 * DAY)
    tick(scheduler, FRIDAY_NY + timedelta(minutes=5))
    tick(scheduler, FRIDAY_NY + timedelta(minutes=6))
    assert [s.conversation_ref for s in notifier.sent if s.workspace_id == WS] == [SHARED]


def test_a_digest_long_overdue_is_not_sent_late(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    a_week_on_the_board(deps)
    tick(scheduler, FRIDAY_NY - 2 * DAY)
    tick(scheduler, FRIDAY_NY + timedelta(hours=3))  # back long after the grace period
    assert [s for s in notifier.sent if s.workspace_id == WS] == []


def test_an_admins_digest_day_and_time_are_honoured(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    with deps.session_factory.begin() as session:
        row = session.get(WorkspaceSettings, WS)
        assert row is not None
        row.digest_weekday, row.digest_time = 0, time(9, 30)  # Monday 09:30 New York
    monday_ny = datetime(2026, 3, 9, 13, 30, tzinfo=UTC)  # EDT from 8 March: UTC-4
    tick(scheduler, FRIDAY_NY)
    tick(scheduler, monday_ny - timedelta(hours=12))
    assert [s for s in notifier.sent if s.workspace_id == WS] == []
    tick(scheduler, monday_ny)
    assert [s.conversation_ref for s in notifier.sent if s.workspace_id == WS] == [SHARED]


def test_moving_the_digest_after_it_was_planned_sends_one_digest_at_the_new_time(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    tick(scheduler, FRIDAY_NY - DAY + timedelta(minutes=5))  # Friday 16:00 is planned
    with deps.session_factory.begin() as session:
        row = session.get(WorkspaceSettings, WS)
        assert row is not None
        row.digest_time = time(18, 0)

    def digests() -> list[Sent]:
        return [s for s in notifier.sent if s.workspace_id == WS]

    tick(scheduler, FRIDAY_NY)
    assert digests() == []  # the old time
    tick(scheduler, FRIDAY_NY + timedelta(hours=2))
    tick(scheduler, FRIDAY_NY + timedelta(hours=3))
    assert len(digests()) == 1


def test_across_a_clock_change_the_digest_counts_each_post_in_one_week_only(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    """New York's clocks go forward on 8 March: from Friday 16:00 EST to Friday 16:00 EDT
    is 167 hours, not 168."""
    next_friday = datetime(2026, 3, 13, 20, 0, tzinfo=UTC)  # 16:00 EDT
    with deps.session_factory.begin() as session:
        board.create_post(
            session=session, workspace_id=WS, kind="win", author_ref=ANN,
            text="Posted half an hour before the first digest", channel_ref=SHARED,
            now=FRIDAY_NY - timedelta(minutes=30),
        )  # fmt: skip
    for digest_time in (FRIDAY_NY, next_friday):
        tick(scheduler, digest_time - timedelta(hours=2))
        tick(scheduler, digest_time)

    first, second = (digest_text(s) for s in notifier.sent if s.workspace_id == WS)
    assert "Wins: 1 (Marketing 1" in first
    assert "Wins: 0" in second
