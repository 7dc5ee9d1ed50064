"""Slash commands an instance acknowledged and never ran are run again by the scheduler,
once, however many instances tick; past Slack's 30 minutes their author is told instead."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select

from bot.deps import Deps, build_deps
from bot.models import InboxCommand, Person
from bot.replies import Reply
from bot.services import command_inbox
from handlers.slack import inbox_recovery
from handlers.slack.client import make_web_client
from handlers.slack.runtime import SlackRuntime
from schedules import Scheduler, run_tick
from tests.clock import Clock
from tests.fake_slack import FakeSlack

WS = "T0INBOX"
ALICE = "U0ALICE"
NOW = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)


class RecordingNotifier:
    """The direct messages the scheduler sends, as Slack would receive them."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Reply]] = []

    async def post(self, workspace_id: str, conversation_ref: str, reply: Reply) -> str | None:
        self.sent.append((workspace_id, conversation_ref, reply))
        return "ts"


@pytest.fixture
def stopped_clock(clock: Clock) -> Clock:
    clock.now = NOW
    return clock


def recovering_scheduler(deps: Deps, notifier: RecordingNotifier) -> Scheduler:
    """A scheduler with only the inbox's reruns, answering through the fake Slack."""
    scheduler = Scheduler(deps, notifier)
    client = make_web_client(deps.settings, token="xoxb-test-token")

    async def client_for(_: str) -> AsyncWebClient:
        return client

    inbox_recovery.register(scheduler, SlackRuntime(deps.settings), client_for)
    return scheduler


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def scheduler(slack_deps: Deps, stopped_clock: Clock, notifier: RecordingNotifier) -> Scheduler:
    return recovering_scheduler(slack_deps, notifier)


def acknowledged(deps: Deps, fake: FakeSlack, text: str, *, at: datetime, key: str = "k1") -> int:
    """A command stored as the handler stores it before its ack, and never run."""
    with deps.session_factory.begin() as session:
        stored = command_inbox.store(
            session=session,
            replay_key=f"signed:{key}",
            workspace_id=WS,
            user_ref=ALICE,
            user_name="alice",
            command="bridge",
            text=text,
            channel_ref="C0HERE",
            response_url=fake.response_url(key),
            now=at,
        )
    assert stored is not None
    return stored


def side_of(deps: Deps, user: str) -> str | None:
    with deps.session_factory() as session:
        return session.execute(
            select(Person.side).where(Person.workspace_id == WS, Person.user_ref == user)
        ).scalar_one_or_none()


def inbox_row(deps: Deps, command_id: int) -> InboxCommand:
    with deps.session_factory() as session:
        row = session.get(InboxCommand, command_id)
        assert row is not None
        return row


def answers(fake: FakeSlack) -> list[str]:
    return [str(call.params.get("text", "")) for call in fake.calls_to("response_url")]


def test_a_command_left_unfinished_is_run_again_once_and_answered(
    slack_deps: Deps, fake_slack: FakeSlack, scheduler: Scheduler, notifier: RecordingNotifier
) -> None:
    command_id = acknowledged(slack_deps, fake_slack, "side it", at=NOW - timedelta(minutes=5))

    asyncio.run(run_tick(scheduler, now=NOW))
    asyncio.run(run_tick(scheduler, now=NOW + timedelta(minutes=1)))

    assert side_of(slack_deps, ALICE) == "it"
    assert len(answers(fake_slack)) == 1
    assert "IT side" in answers(fake_slack)[0]
    row = inbox_row(slack_deps, command_id)
    assert (row.outcome, row.text, row.response_url) == ("done", None, None)
    assert notifier.sent == []


def test_a_command_within_the_lease_is_left_to_the_instance_running_it(
    slack_deps: Deps, fake_slack: FakeSlack, scheduler: Scheduler
) -> None:
    acknowledged(slack_deps, fake_slack, "side it", at=NOW - timedelta(seconds=10))

    asyncio.run(run_tick(scheduler, now=NOW))

    assert side_of(slack_deps, ALICE) is None
    assert answers(fake_slack) == []


def test_a_finished_command_is_never_run_again(
    slack_deps: Deps, fake_slack: FakeSlack, scheduler: Scheduler
) -> None:
    command_id = acknowledged(slack_deps, fake_slack, "side it", at=NOW - timedelta(minutes=5))
    with slack_deps.session_factory.begin() as session:
        assert command_inbox.finish(session=session, command_id=command_id, now=NOW)

    asyncio.run(run_tick(scheduler, now=NOW))

    assert side_of(slack_deps, ALICE) is None
    assert answers(fake_slack) == []


def test_a_command_past_its_answer_window_is_given_up_and_its_author_told(
    slack_deps: Deps, fake_slack: FakeSlack, scheduler: Scheduler, notifier: RecordingNotifier
) -> None:
    command_id = acknowledged(
        slack_deps, fake_slack, "side <it> & *more*", at=NOW - timedelta(minutes=31)
    )

    asyncio.run(run_tick(scheduler, now=NOW))
    asyncio.run(run_tick(scheduler, now=NOW + timedelta(minutes=1)))

    assert side_of(slack_deps, ALICE) is None
    assert answers(fake_slack) == []
    ((workspace, recipient, reply),) = notifier.sent
    assert (workspace, recipient) == (WS, ALICE)
    assert "/bridge side <it> & *more*" in reply.fallback
    assert "nothing was saved" in reply.fallback
    row = inbox_row(slack_deps, command_id)
    assert (row.outcome, row.text, row.response_url) == ("failed", None, None)


def test_two_instances_ticking_at_once_run_a_command_once(
    slack_deps: Deps, fake_slack: FakeSlack, scheduler: Scheduler, notifier: RecordingNotifier
) -> None:
    for n in range(5):
        fake_slack.add_user(f"U{n}")
    with slack_deps.session_factory.begin() as session:
        ids = [
            command_inbox.store(
                session=session,
                replay_key=f"signed:{n}",
                workspace_id=WS,
                user_ref=f"U{n}",
                user_name=None,
                command="bridge",
                text="side marketing",
                channel_ref=None,
                response_url=fake_slack.response_url(f"c{n}"),
                now=NOW - timedelta(minutes=5),
            )
            for n in range(5)
        ]
    second = build_deps(slack_deps.settings, upgrade_schema=False, clock=Clock(NOW))
    other = recovering_scheduler(second, notifier)
    try:

        async def both() -> None:
            await asyncio.gather(run_tick(scheduler, now=NOW), run_tick(other, now=NOW))

        asyncio.run(both())
    finally:
        second.engine.dispose()

    assert len(answers(fake_slack)) == 5  # one answer per command, not one per instance
    assert all(side_of(slack_deps, f"U{n}") == "marketing" for n in range(5))
    assert all(inbox_row(slack_deps, i).outcome == "done" for i in ids if i is not None)
