"""Past capacity, a slash command is refused at its acknowledgement ("bridgebot is busy")
instead of queued behind answers already running late; the lag is simulated with a clock."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any
from unittest.mock import AsyncMock, Mock

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.deps import Deps
from bot.metrics import REGISTRY
from bot.models import InboxCommand, Person
from handlers.slack.background import (
    BUSY_AFTER_SECONDS,
    LOOP_SAMPLES,
    PACE_MIN_ANSWERS,
    WORK_AFTER_ACKS_AT_ONCE,
    AnswerLag,
    BackgroundWork,
)
from handlers.slack.commands import handle_slash_command
from handlers.slack.request_metrics import ShedLog
from handlers.slack.runtime import SlackRuntime
from tests.fake_slack import FakeSlack
from tests.idle import wait_until_idle
from tests.signing import slack_headers, slash_command_body

BUSY = "bridgebot is busy, try again in a moment: your command was not run."


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def shed_count() -> float:
    value = REGISTRY.get_sample_value(
        "bridgebot_requests_shed_total", {"platform": "slack", "kind": "command"}
    )
    return value or 0.0


def rows(deps: Deps, model: type) -> int:
    with deps.session_factory() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def answered(lag: AnswerLag, ticks: Ticks, count: int, *, over: float) -> None:
    """`count` requests answered evenly over the last `over` seconds."""
    for _ in range(count):
        token = lag.begin()
        ticks.now += over / count
        lag.end(token)


def test_an_idle_server_is_not_busy() -> None:
    ticks = Ticks()
    lag = AnswerLag(timer=ticks)
    assert (lag.foreseen(), lag.busy()) == (0.0, False)


def test_work_queued_longer_than_a_second_makes_it_busy() -> None:
    ticks = Ticks()
    lag = AnswerLag(timer=ticks)
    first = lag.begin()
    for _ in range(WORK_AFTER_ACKS_AT_ONCE - 1):  # all slots taken: a new one would queue
        lag.begin()
    ticks.now += 0.9
    assert not lag.busy()
    ticks.now += 0.2
    assert lag.busy()
    lag.end(first)  # the queue moves
    assert not lag.busy()


def test_one_slow_request_delays_nobody_else() -> None:
    ticks = Ticks()
    lag = AnswerLag(timer=ticks)
    lag.begin()  # waiting on Slack, say, for three seconds
    lag.begin()
    ticks.now += 3.0
    assert (lag.foreseen(), lag.busy()) == (0.0, False)


def test_a_queue_longer_than_a_second_of_answers_makes_it_busy() -> None:
    ticks = Ticks()
    lag = AnswerLag(timer=ticks)
    answered(lag, ticks, 100, over=0.5)  # a pace of 200 answers a second
    for _ in range(150):
        lag.begin()
    # 151 answers ahead at 200 a second: 0.755 s, though none has waited yet.
    assert lag.foreseen() == pytest.approx(151 / 200, rel=0.02)
    assert not lag.busy()
    for _ in range(100):
        lag.begin()
    assert lag.foreseen() == pytest.approx(251 / 200, rel=0.02)
    assert lag.busy()


def test_the_pace_is_read_from_the_last_second_only() -> None:
    ticks = Ticks()
    lag = AnswerLag(timer=ticks)
    answered(lag, ticks, 400, over=1.0)
    for _ in range(300):
        lag.begin()
    assert not lag.busy()  # 301 ahead at 400 a second
    ticks.now += 1.5  # no answer since: the queue is stuck, and older than the budget
    assert lag.foreseen() > BUSY_AFTER_SECONDS
    assert lag.busy()


def test_an_event_loop_running_behind_makes_it_busy() -> None:
    lag = AnswerLag(timer=Ticks())
    for _ in range(LOOP_SAMPLES):
        lag.note_loop_delay(0.4)
    assert (lag.foreseen(), lag.busy()) == (0.4, False)
    for _ in range(LOOP_SAMPLES):
        lag.note_loop_delay(1.2)  # what is ready keeps waiting over a second to run
    assert lag.busy()
    lag.note_loop_delay(0.0)  # it caught up
    assert (lag.loop_delay, lag.busy()) == (0.0, False)


def test_one_stall_of_the_event_loop_is_not_a_queue() -> None:
    lag = AnswerLag(timer=Ticks())
    lag.note_loop_delay(0.0)
    lag.note_loop_delay(0.0)
    lag.note_loop_delay(2.5)  # a start-up's index build held everything once
    assert (lag.loop_delay, lag.busy()) == (0.0, False)


def test_the_event_loop_delay_is_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    lag = AnswerLag()
    noted: list[float] = []
    monkeypatch.setattr(lag, "note_loop_delay", noted.append)

    async def stall_the_loop() -> None:
        watch = asyncio.create_task(lag.watch_loop(every=0.01))
        await asyncio.sleep(0)  # the watch starts its first sleep
        time.sleep(0.3)  # work that holds the loop: nothing else runs meanwhile
        await asyncio.sleep(0.05)  # the watch wakes, late, and notes by how much
        watch.cancel()

    asyncio.run(stall_the_loop())
    assert max(noted) >= 0.25


def test_a_request_that_waited_half_the_budget_to_be_read_makes_it_busy() -> None:
    lag = AnswerLag(BUSY_AFTER_SECONDS, timer=Ticks())
    # Nothing under way inside the server: only how long the request itself waited counts.
    assert not lag.busy(waited=0.4 * BUSY_AFTER_SECONDS)
    assert lag.busy(waited=0.6 * BUSY_AFTER_SECONDS)


def test_too_few_answers_tell_no_pace() -> None:
    ticks = Ticks()
    lag = AnswerLag(timer=ticks)
    answered(lag, ticks, PACE_MIN_ANSWERS - 1, over=1.0)  # a pace of 19 a second
    for _ in range(100):
        lag.begin()
    # A burst after a quiet spell: nothing has waited yet, so nothing is refused.
    assert not lag.busy()


def test_a_busy_server_refuses_a_command_at_its_ack_and_stores_nothing(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    fake_slack.add_user("U0ALICE")
    ticks = Ticks()
    background: BackgroundWork = slack_http.app.state.background  # type: ignore[attr-defined]
    background.lag = lag = AnswerLag(timer=ticks)
    # As much work as runs at once, started 1.5 s ago and still under way.
    stuck = [lag.begin() for _ in range(WORK_AFTER_ACKS_AT_ONCE)]
    ticks.now += 1.5
    before = shed_count()

    body = slash_command_body("/bridge", "side it", response_url=fake_slack.response_url())
    response = slack_http.post("/slack/events", content=body, headers=slack_headers(body))

    assert response.status_code == 200
    assert response.json() == {"response_type": "ephemeral", "text": BUSY}
    assert shed_count() == before + 1
    wait_until_idle(slack_http)
    assert rows(slack_deps, InboxCommand) == 0  # refused, not stored to be dropped later
    assert rows(slack_deps, Person) == 0
    assert fake_slack.calls_to("response_url") == []
    metrics = slack_http.get("/metrics").text
    assert 'bridgebot_requests_shed_total{kind="command",platform="slack"}' in metrics

    # Once the work behind has caught up, the same command is run and answered.
    for token in stuck:
        lag.end(token)
    body = slash_command_body("/bridge", "side it", response_url=fake_slack.response_url())
    response = slack_http.post("/slack/events", content=body, headers=slack_headers(body))
    assert (response.status_code, response.content) == (200, b"")
    reply = fake_slack.wait_for("response_url")[0].params
    assert "IT" in reply["text"]
    assert shed_count() == before + 1
    assert rows(slack_deps, Person) == 1


def test_over_socket_mode_a_busy_server_acks_with_the_busy_reply(slack_deps: Deps) -> None:
    ticks = Ticks()
    runtime = SlackRuntime(slack_deps.settings)
    runtime.background.lag = lag = AnswerLag(timer=ticks, parallel=1)
    lag.begin()  # one slot, taken for 2 s: a new command would wait behind it
    ticks.now += 2.0
    ack = AsyncMock()
    before = shed_count()
    body: dict[str, Any] = {
        "team_id": "T0BRIDGE",
        "user_id": "U0ALICE",
        "command": "/jargon",
        "text": "CAC",
        "response_url": "https://hooks.slack.example/commands/1",
    }
    over_the_socket = Mock(mode="socket_mode")
    asyncio.run(
        handle_slash_command(
            ack, body, AsyncMock(), Mock(), over_the_socket, deps=slack_deps, runtime=runtime
        )
    )
    ack.assert_awaited_once_with(text=BUSY, response_type="ephemeral")
    assert shed_count() == before + 1
    assert rows(slack_deps, InboxCommand) == 0


def test_shedding_is_logged_once_every_ten_seconds_with_how_many(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ticks = Ticks()
    log = ShedLog(timer=ticks)
    with caplog.at_level(logging.WARNING, logger="handlers.slack.request_metrics"):
        for _ in range(50):
            log.note()
            ticks.now += 0.1
        ticks.now += 6.0
        log.note()
    lines = [record.getMessage() for record in caplog.records]
    assert lines == [
        "answers are running more than a second behind: 1 slash command(s) refused "
        "with 'bridgebot is busy' since the last such line",
        "answers are running more than a second behind: 50 slash command(s) refused "
        "with 'bridgebot is busy' since the last such line",
    ]
