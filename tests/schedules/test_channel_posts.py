"""Wins, challenges and quick polls go through the delivery table: stored and queued in one
transaction, retried until they are posted, posted once, and refused posts told to the author."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.deps import Deps
from bot.models import BoardPost, Occurrence, OccurrenceStatus, PulsePoll
from bot.notify import ConversationRefused
from bot.replies import Reply
from bot.router import Caller, RequestScope, run_action, run_command
from bot.services import occurrences
from bot.services.outbox import CHANNEL_POST, POST_REFUSED
from schedules import Scheduler
from schedules.channel_posts import register
from schedules.jobs import MAX_ATTEMPTS, TickReport, register_builtin_deliveries, run_tick

WS = "T0OUTBOX"
SHARED = "C0SHARED"
ALICE, BOB = "U0ALICE", "U0BOB"
NOW = datetime(2030, 3, 6, 12, 0, tzinfo=UTC)


class FlakyNotifier:
    """Records posts; fails the next `failures` with a server error, or refuses them all."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, Reply]] = []
        self.failures = 0
        self.refusal: ConversationRefused | None = None

    async def post(self, workspace_id: str, conversation_ref: str, reply: Reply) -> str | None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("Slack answered 503")
        if self.refusal is not None and conversation_ref == SHARED:
            raise self.refusal
        self.posts.append((conversation_ref, reply))
        return f"1700000000.{len(self.posts):06d}"

    async def permalink(self, workspace_id: str, conversation_ref: str, message_ref: str) -> str:
        return f"https://bridge.example/archives/{conversation_ref}/p{message_ref}"

    def texts(self, conversation_ref: str) -> list[str]:
        return [reply.fallback for where, reply in self.posts if where == conversation_ref]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    """The deps' clock (see tests/conftest.py), moved by each tick."""
    return Clock(NOW)


@pytest.fixture
def notifier(deps: Deps) -> FlakyNotifier:
    run(deps, ALICE, "/bridge channel #" + SHARED, admin=True)
    run(deps, BOB, "/bridge side it")
    return FlakyNotifier()


@pytest.fixture
def scheduler(deps: Deps, notifier: FlakyNotifier) -> Scheduler:
    """Queued posts and plain posts only, through the flaky notifier; not started."""
    built = Scheduler(deps, notifier)
    register_builtin_deliveries(built)
    register(built)
    return built


def unit(deps: Deps, user: str, *, admin: bool = False) -> RequestScope:
    return RequestScope(
        session_factory=deps.session_factory,
        router=deps.router,
        caller=Caller(workspace_id=WS, user_ref=user, platform="slack", is_admin=admin),
        now=deps.clock(),
        default_timezone="UTC",
        channel_ref=SHARED,
        resolve_channel=lambda value: value.strip().lstrip("#") or None,
    )


def run(deps: Deps, user: str, line: str, *, admin: bool = False) -> Reply:
    name, _, args = line.lstrip("/").partition(" ")
    return run_command(unit(deps, user, admin=admin), name, args)


def tick(scheduler: Scheduler, after: timedelta = timedelta(0)) -> TickReport:
    clock = scheduler.deps.clock
    assert isinstance(clock, Clock)
    clock.now += after
    return asyncio.run(run_tick(scheduler, now=clock.now))


def deliveries(deps: Deps, kind: str = CHANNEL_POST) -> list[Occurrence]:
    with deps.session_factory() as session:
        return list(
            session.execute(
                select(Occurrence).where(Occurrence.kind == kind).order_by(Occurrence.id)
            ).scalars()
        )


def the_post(deps: Deps) -> BoardPost:
    with deps.session_factory() as session:
        return session.execute(select(BoardPost)).scalar_one()


def test_a_win_is_stored_and_queued_together_and_posted_once(
    deps: Deps, notifier: FlakyNotifier, scheduler: Scheduler
) -> None:
    reply = run(deps, BOB, "/win Cut the build to 4 minutes")

    assert reply.wake_scheduler  # goes out at once, not at the next minute
    assert "on its way" in reply.fallback and "Posted" not in reply.fallback
    (queued,) = deliveries(deps)
    assert (queued.subject_ref, queued.status) == (f"board:{the_post(deps).id}", "pending")
    assert notifier.posts == []  # nothing is posted inside the command

    assert tick(scheduler).sent == 1
    post = the_post(deps)
    assert notifier.texts(SHARED) == [
        f"Win from @U0BOB (IT)\nCut the build to 4 minutes\nNo. {post.id} · /win celebrate {post.id}",
    ]
    assert post.message_ref == "1700000000.000001"  # its buttons can update it
    assert post.permalink == "https://bridge.example/archives/C0SHARED/p1700000000.000001"
    assert tick(scheduler, timedelta(minutes=5)).claimed == 0
    assert len(notifier.posts) == 1


def test_a_refused_command_queues_nothing(deps: Deps, notifier: FlakyNotifier) -> None:
    assert run(deps, BOB, "/win " + "w" * 2001).is_error
    assert run(deps, BOB, "/pulse ask Lunch? | Pizza").is_error
    assert deliveries(deps) == []


def test_server_errors_beyond_the_usual_attempts_still_post_it_once(
    deps: Deps, notifier: FlakyNotifier, scheduler: Scheduler
) -> None:
    run(deps, BOB, "/challenge Lead data arrives a day late")
    notifier.failures = MAX_ATTEMPTS + 2
    for _ in range(MAX_ATTEMPTS + 2):
        report = tick(scheduler, timedelta(minutes=11))  # past any backoff
        assert report.failed == 1
        assert deliveries(deps)[0].status == OccurrenceStatus.PENDING.value
    # An hour past the grace period too: a person's post is still wanted.
    report = tick(scheduler, timedelta(minutes=11))
    assert (report.sent, report.missed) == (1, 0)
    assert notifier.texts(SHARED)[0].startswith("Challenge from @U0BOB (IT) · Open")
    assert len(notifier.posts) == 1
    assert deliveries(deps)[0].status == OccurrenceStatus.SENT.value


def test_a_retry_after_a_crash_past_the_post_does_not_post_again(
    deps: Deps, notifier: FlakyNotifier, scheduler: Scheduler
) -> None:
    """The instance posted and recorded the message, then died before the delivery was
    marked done; another instance takes the delivery over once its lease runs out."""
    run(deps, BOB, "/win Shipped the dashboard")
    with deps.session_factory.begin() as session:
        (claimed,) = occurrences.claim_due(
            session=session, now=NOW, instance_id="dead", grace=timedelta(minutes=30)
        ).claimed
    deliver = scheduler.delivery_for(CHANNEL_POST)
    assert deliver is not None

    async def deliver_once() -> None:
        await deliver(claimed, scheduler)

    asyncio.run(deliver_once())  # posted; then the crash
    assert len(notifier.posts) == 1

    report = tick(scheduler, timedelta(minutes=3))  # the lease has run out
    assert (report.claimed, report.sent) == (1, 1)
    assert len(notifier.posts) == 1
    assert deliveries(deps)[0].status == OccurrenceStatus.SENT.value


def test_a_quick_poll_goes_through_the_table_and_its_votes_update_it(
    deps: Deps, notifier: FlakyNotifier, scheduler: Scheduler
) -> None:
    reply = run(deps, BOB, "/pulse ask Demo day? | Tuesday | Wednesday")
    assert reply.wake_scheduler and not reply.is_error
    notifier.failures = 1
    assert tick(scheduler).failed == 1
    assert tick(scheduler, timedelta(seconds=31)).sent == 1
    assert "Demo day?" in notifier.texts(SHARED)[0]
    with deps.session_factory() as session:
        poll = session.execute(select(PulsePoll)).scalar_one()
    assert (poll.channel_ref, poll.message_ref) == (SHARED, "1700000000.000001")
    voted = run_action(unit(deps, ALICE), "pulse_ask_vote", f"{poll.id}:1")
    assert [out.refresh_key for out in voted.outbox] == [f"pulse:{poll.id}"]


def test_a_refused_post_fails_at_once_and_its_author_is_told_by_dm(
    deps: Deps, notifier: FlakyNotifier, scheduler: Scheduler
) -> None:
    notifier.refusal = ConversationRefused(
        "Slack refused the message: not_in_channel",
        "it is not a member of that channel. Invite it there with /invite @bridgebot.",
    )
    run(deps, BOB, "/win Launched the pricing page")

    report = tick(scheduler)
    assert report.failed == 1
    (post,) = deliveries(deps)
    assert (post.status, post.attempts) == (OccurrenceStatus.FAILED.value, 1)
    assert "not_in_channel" in str(post.last_error)
    assert notifier.texts(BOB) == [
        "bridgebot could not post your win in #C0SHARED: it is not a member of that "
        "channel. Invite it there with /invite @bridgebot."
    ]
    assert [d.status for d in deliveries(deps, POST_REFUSED)] == [OccurrenceStatus.SENT.value]
    assert tick(scheduler, timedelta(hours=1)).claimed == 0  # neither is tried again
    assert len(notifier.posts) == 1


def test_an_offer_of_help_reaches_the_author_through_the_table(
    deps: Deps, notifier: FlakyNotifier, scheduler: Scheduler
) -> None:
    run(deps, ALICE, "/challenge Campaign data arrives late")
    tick(scheduler)
    post = the_post(deps)
    thanks = run_action(unit(deps, BOB), "board_help", str(post.id))
    assert "will be told" in thanks.fallback and thanks.wake_scheduler
    notifier.failures = 1  # the first try fails; the note is not lost
    tick(scheduler)
    tick(scheduler, timedelta(seconds=31))
    assert notifier.texts(ALICE) == [
        "@U0BOB from IT can help with your challenge:\nCampaign data arrives late"
    ]
