"""Outbound pacing in Teams, on a test clock: Teams' limits per conversation and per
tenant, backoff on 429 with Retry-After honoured however long, put-offs back in the
delivery table, and no retry slept out while someone's request is held open."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from bot.deps import Deps
from bot.models import Occurrence, OccurrenceStatus
from bot.notify import DeliveryDeferred
from bot.replies import message
from handlers.server import create_web_app
from handlers.teams import store
from handlers.teams.app import TeamsOptions
from handlers.teams.pacing import (
    CONVERSATION_LIMITS,
    TENANT_LIMITS,
    TENANT_REFUSALS_IN_A_ROW,
    TeamsPacer,
    Windows,
)
from tests.app_scheduler import app_scheduler
from tests.teams.activities import TENANT_A, personal
from tests.teams.activities import message as activity
from tests.teams.conftest import ALICE, SHARED, TEAM_A, Teams, card_text, outgoing_token
from tests.teams.fake_connector import FakeConnector
from tests.teams.test_proactive import THU_0915, alices_standup_planned, tick


class VirtualTime:
    """A monotonic clock that moves only when a paced call sleeps: to the moment it
    booked. A sleep of `hold_from` seconds or more waits, for real, for `release()`."""

    def __init__(self, hold_from: float = float("inf")) -> None:
        self.now = 1000.0
        self.hold_from = hold_from
        self.held: list[float] = []
        self._released = False

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if seconds >= self.hold_from:
            self.held.append(seconds)
            while not self._released:
                await asyncio.sleep(0.01)
        self.now = max(self.now, self.now + seconds)
        await asyncio.sleep(0)

    def release(self) -> None:
        self._released = True


class RecordingPacer(TeamsPacer):
    """The pacer, noting every turn it hands out: (tenant, conversation, moment)."""

    def __init__(self, time_: VirtualTime) -> None:
        super().__init__(clock=time_.clock, sleep=time_.sleep, backoff_base=0.5)
        self.turns: list[tuple[str, str | None, float]] = []

    async def turn(self, tenant: str, conversation: str | None, *, longest_wait: float) -> float:
        at = await super().turn(tenant, conversation, longest_wait=longest_wait)
        self.turns.append((tenant, conversation, at))
        return at


@pytest.fixture
def virtual_time() -> VirtualTime:
    return VirtualTime(hold_from=5.0)


@pytest.fixture
def pacer(virtual_time: VirtualTime) -> RecordingPacer:
    return RecordingPacer(virtual_time)


@pytest.fixture
def paced(teams_deps: Deps, connector: FakeConnector, pacer: RecordingPacer) -> Iterator[Teams]:
    options = TeamsOptions(
        token=outgoing_token, dangerously_allow_unauthenticated_requests=True, pacer=pacer
    )
    with TestClient(create_web_app(teams_deps, teams_options=options)) as client:
        yield Teams(client, connector, teams_deps)


def within_limits(moments: list[float], limits: tuple[tuple[int, float], ...]) -> bool:
    """No `calls + 1` consecutive moments closer together than the window allows."""
    moments = sorted(moments)
    return all(
        moments[i + calls] - moments[i] >= seconds - 1e-6
        for calls, seconds in limits
        for i in range(len(moments) - calls)
    )


def post_all(teams: Teams, posts: list[tuple[str, str]]) -> list[Any]:
    """Send each (ref, text) as the scheduler does, all at once; results or exceptions."""
    notifier = app_scheduler(teams.client).notifier

    async def burst() -> list[Any]:
        return await asyncio.gather(
            *(notifier.post(TENANT_A, ref, message(text)) for ref, text in posts),
            return_exceptions=True,
        )

    assert teams.client.portal is not None
    results: list[Any] = teams.client.portal.call(burst)
    return results


def test_a_burst_to_one_channel_keeps_to_its_limits_and_puts_off_the_rest(
    paced: Teams, pacer: RecordingPacer
) -> None:
    paced.say("bridge side it", ALICE, SHARED)  # bridgebot knows the channel now
    pacer.turns.clear()
    before = len(paced.connector.sent(SHARED.channel_id))

    results = post_all(paced, [(SHARED.channel_id, f"news {n}") for n in range(80)])

    sent = [r for r in results if isinstance(r, str)]
    put_off = [r for r in results if isinstance(r, DeliveryDeferred)]
    assert len(sent) + len(put_off) == 80 and sent and put_off
    assert len(paced.connector.sent(SHARED.channel_id)) - before == len(sent)
    moments = [at for _, where, at in pacer.turns if where == SHARED.channel_id]
    assert len(moments) == len(sent)
    assert within_limits(moments, CONVERSATION_LIMITS)
    # Each message put off is to come back when its turn would have been, not at once.
    assert min(error.retry_after for error in put_off) > 10


def test_a_burst_across_a_tenant_keeps_to_fifty_a_second(
    paced: Teams, pacer: RecordingPacer, teams_deps: Deps
) -> None:
    paced.say("bridge side it", ALICE)  # the tenant's workspace exists now
    channels = [f"19:c{n:03d}@thread.tacv2" for n in range(150)]
    with teams_deps.session_factory.begin() as session:
        for channel_id in channels:
            store.remember(
                session=session, workspace_id=TENANT_A, ref=channel_id, kind=store.CHANNEL,
                service_url=paced.connector.service_url, tenant_id=TENANT_A,
                conversation_id=channel_id, team_id=TEAM_A, name=channel_id[3:7],
            )  # fmt: skip
    pacer.turns.clear()

    results = post_all(paced, [(channel_id, "the digest") for channel_id in channels])

    assert all(isinstance(result, str) for result in results), results
    assert {call.conversation for call in paced.connector.sent()} >= set(channels)
    moments = [at for tenant, _, at in pacer.turns if tenant == TENANT_A]
    assert len(moments) == 150
    assert within_limits(moments, TENANT_LIMITS)
    assert max(moments) - min(moments) >= 2  # 150 calls take three seconds at least


def test_429s_back_off_then_deliver_without_using_a_delivery_attempt(
    paced: Teams, pacer: RecordingPacer, teams_deps: Deps
) -> None:
    alices_standup_planned(paced, teams_deps)
    paced.connector.fail_next("send", status=429, times=2, conversation=SHARED.channel_id)
    paced.connector.fail_next("send", status=502, times=1, conversation=SHARED.channel_id)
    pacer.turns.clear()

    report = tick(paced, teams_deps, THU_0915)

    assert (report.failed, report.deferred) == (0, 0)
    attempts = [at for _, where, at in pacer.turns if where == SHARED.channel_id]
    assert len(attempts) == 4  # two 429s, a 502, then delivered
    gaps = [later - earlier for earlier, later in zip(attempts, attempts[1:], strict=False)]
    assert all(gap > 0 for gap in gaps)  # each retry waited its backoff


def test_a_long_retry_after_puts_the_message_off_for_that_long(
    paced: Teams, pacer: RecordingPacer, teams_deps: Deps
) -> None:
    alices_standup_planned(paced, teams_deps)
    paced.connector.fail_next("send", status=429, retry_after=120, conversation=SHARED.channel_id)
    calls_before = len(paced.connector.sent(SHARED.channel_id))

    report = tick(paced, teams_deps, THU_0915)

    assert (report.failed, report.deferred) == (0, 1)
    with teams_deps.session_factory() as session:
        row = session.execute(
            select(Occurrence).where(Occurrence.status == OccurrenceStatus.PENDING.value)
        ).scalar_one()
    assert row.lease_until is not None  # a pending row is not claimed again before this
    not_before = row.lease_until.replace(tzinfo=THU_0915.tzinfo)
    # Back in the delivery table for the whole two minutes, not 15 seconds.
    assert THU_0915 + timedelta(seconds=120) <= not_before <= THU_0915 + timedelta(seconds=135)
    assert row.attempts <= 1
    # Only the one refused call went to that channel; Alice's DM went out meanwhile.
    assert len(paced.connector.sent(SHARED.channel_id)) == calls_before + 1
    assert any(c.message_id for c in paced.connector.sent(personal(ALICE).conversation_id))
    # A second message to the channel is held back too, without a call to learn it.
    (held,) = post_all(paced, [(SHARED.channel_id, "another")])
    assert isinstance(held, DeliveryDeferred) and held.retry_after > 100
    assert len(paced.connector.sent(SHARED.channel_id)) == calls_before + 1


def test_an_answer_is_never_retried_while_the_persons_request_waits(
    paced: Teams, virtual_time: VirtualTime
) -> None:
    paced.say("bridge side it", ALICE)
    paced.connector.fail_next("send", status=429, retry_after=30)
    before = len(paced.connector.sent())

    # Teams gets its answer (200) with the reply refused once and its retry waiting.
    paced.post(activity(paced.connector.service_url, "jargon CAC", ALICE, personal(ALICE)))
    assert len(paced.connector.sent()) == before + 1
    assert [round(wait) for wait in virtual_time.held] == [30]
    # Her next command's answer waits behind the first, rather than overtaking it.
    paced.post(activity(paced.connector.service_url, "jargon API", ALICE, personal(ALICE)))
    assert len(paced.connector.sent()) == before + 1

    virtual_time.release()
    deadline = time.monotonic() + 10
    while len(paced.connector.sent()) < before + 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    first, second = paced.connector.sent()[before + 1 :]
    assert "Customer acquisition cost" in card_text(first.card)
    assert "A defined way for one piece of software" in card_text(second.card)


def test_several_429s_in_a_row_hold_the_whole_tenant_back_but_not_another() -> None:
    clock = VirtualTime()
    pacer = TeamsPacer(clock=clock.clock, sleep=clock.sleep)

    async def scenario() -> tuple[float, float, float]:
        for n in range(TENANT_REFUSALS_IN_A_ROW):
            await pacer.turn(TENANT_A, f"19:c{n}", longest_wait=1)
            pacer.refused(TENANT_A, f"19:c{n}", 0, retry_after=60)
        start = clock.now
        with pytest.raises(DeliveryDeferred) as held:
            await pacer.turn(TENANT_A, "19:untouched", longest_wait=10)
        elsewhere = await pacer.turn("another-tenant", "19:c0", longest_wait=10)
        return start, held.value.retry_after, elsewhere

    start, retry_after, elsewhere = asyncio.run(scenario())
    assert retry_after >= 59  # the tenant's own Retry-After, not a conversation's turn
    assert elsewhere == start  # another tenant goes at once


def test_one_429_holds_only_its_conversation() -> None:
    clock = VirtualTime()
    pacer = TeamsPacer(clock=clock.clock, sleep=clock.sleep)

    async def scenario() -> float:
        await pacer.turn(TENANT_A, "19:busy", longest_wait=1)
        pacer.refused(TENANT_A, "19:busy", 0, retry_after=60)
        with pytest.raises(DeliveryDeferred):
            await pacer.turn(TENANT_A, "19:busy", longest_wait=10)
        return await pacer.turn(TENANT_A, "19:quiet", longest_wait=10) - clock.now

    assert asyncio.run(scenario()) == 0


@given(st.lists(st.floats(min_value=0, max_value=5, allow_nan=False), max_size=120))
def test_bookings_made_in_any_order_keep_every_window(starts: list[float]) -> None:
    """Calls of many conversations book the tenant's windows out of order (one waiting
    for its conversation books later than one that came after it): all stay in limits."""
    windows = Windows(((3, 1.0), (5, 3.0)))
    for start in starts:
        at = windows.earliest(start)
        assert at >= start
        windows.book(at, now=0.0)
    assert within_limits(windows.times, windows.limits)
