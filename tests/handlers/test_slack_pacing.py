"""Scheduled messages are spaced per conversation as Slack allows, without holding up others."""

from __future__ import annotations

import asyncio
import itertools

import aiohttp
import pytest
from pydantic import SecretStr

from bot.notify import DeliveryDeferred
from bot.replies import message
from bot.settings import Settings
from handlers.slack import notifier, pacing
from handlers.slack.notifier import SlackNotifier
from handlers.slack.pacing import ConversationBusy
from tests.fake_slack import TEAM_ID, Call, FakeSlack

INTERVAL = 0.3  # seconds between messages in one conversation, shortened for the test


@pytest.fixture(autouse=True)
def quick_pace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pacing, "SECONDS_BETWEEN_MESSAGES", INTERVAL)


def post_all(fake_slack: FakeSlack, posts: list[tuple[str, str]]) -> list[object]:
    """Post (conversation, text) pairs at once through one notifier; results or errors."""
    settings = Settings(
        _env_file=None,
        database_url="sqlite://",
        slack_bot_token=SecretStr("xoxb-test"),
        slack_signing_secret=SecretStr("test-secret"),
        slack_api_url=fake_slack.api_url,
    )

    async def tokens(_workspace: str) -> str:
        return "xoxb-test"

    async def run() -> list[object]:
        async with aiohttp.ClientSession() as session:
            notifier = SlackNotifier(settings, tokens, session)
            return await asyncio.gather(
                *(notifier.post(TEAM_ID, where, message(text)) for where, text in posts),
                return_exceptions=True,
            )

    return asyncio.run(run())


def at(call: Call) -> float:
    return call.at


def arrivals(fake_slack: FakeSlack, channel: str) -> list[float]:
    return [c.at for c in fake_slack.calls_to("chat.postMessage") if c.params["channel"] == channel]


def test_messages_to_one_channel_are_spaced_and_others_are_not_held_up(
    fake_slack: FakeSlack,
) -> None:
    results = post_all(
        fake_slack, [("C0BUSY", "one"), ("C0BUSY", "two"), ("C0BUSY", "three"), ("C0CALM", "x")]
    )

    assert not [r for r in results if isinstance(r, Exception)]
    busy = arrivals(fake_slack, "C0BUSY")
    assert len(busy) == 3
    assert all(later - earlier >= INTERVAL * 0.95 for earlier, later in itertools.pairwise(busy))
    # The other channel's message went out at once, not after the busy channel's queue.
    assert arrivals(fake_slack, "C0CALM")[0] < busy[1]


def test_a_rate_limited_message_waits_out_retry_after_and_keeps_the_pace(
    fake_slack: FakeSlack,
) -> None:
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=1)

    results = post_all(fake_slack, [("C0BUSY", "one"), ("C0BUSY", "two")])

    assert not [r for r in results if isinstance(r, Exception)]
    busy = arrivals(fake_slack, "C0BUSY")
    assert len(busy) == 3  # the refused one, then both
    assert busy[1] - busy[0] >= 0.95  # nothing more in that channel before Retry-After
    assert busy[2] - busy[1] >= INTERVAL * 0.95
    texts = [c.params["text"] for c in fake_slack.calls_to("chat.postMessage")]
    assert sorted(texts[1:]) == ["one", "two"]


def test_a_conversation_booked_too_far_ahead_hands_the_message_back(
    fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pacing, "LONGEST_WAIT_SECONDS", INTERVAL * 1.5)

    results = post_all(fake_slack, [("C0BUSY", str(n)) for n in range(4)])

    sent = [r for r in results if not isinstance(r, Exception)]
    busy = [r for r in results if isinstance(r, ConversationBusy)]
    # Turns at 0 and 0.3 s are within 0.45 s; the next would be at 0.6 s, so the rest
    # go back to the scheduler (an ordinary failure: it tries them again later).
    assert (len(sent), len(busy)) == (2, 2)
    assert all(isinstance(error, DeliveryDeferred) and error.retry_after > 0 for error in busy)
    assert len(arrivals(fake_slack, "C0BUSY")) == 2


def test_a_message_slack_keeps_refusing_with_429_is_put_off_not_failed(
    fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notifier, "RATE_LIMITED_ATTEMPTS", 2)
    fake_slack.fail_next("chat.postMessage", status=429, times=2, retry_after=1)

    [result] = post_all(fake_slack, [("C0BUSY", "one")])

    # Handed back to the scheduler as a deferral (no attempt counted), not an error
    # that would use up the delivery's attempts and end in "failed".
    assert isinstance(result, DeliveryDeferred)
    assert result.retry_after >= 1
    assert len(arrivals(fake_slack, "C0BUSY")) == 2


@pytest.mark.slow  # waits out the real limit
def test_at_the_workspace_posting_limit_the_whole_workspace_waits(
    fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """429s for most conversations at once are the workspace's limit: stop asking."""
    monkeypatch.setattr(notifier, "MAX_IN_FLIGHT", 4)
    fake_slack.latency = 0.02
    fake_slack.fill_posting_limit(1.5)

    results = post_all(fake_slack, [(f"C0{n:03d}", f"hello {n}") for n in range(40)])

    assert not [r for r in results if isinstance(r, Exception)]
    posts = fake_slack.calls_to("chat.postMessage")
    delivered = {c.params["channel"] for c in posts[-40:]}
    assert len(delivered) == 40  # every conversation got its message in the end
    # Without the hold, each of the 40 would be refused at least once in those 1.5 s;
    # held after five refusals in a row, it only probes when a Retry-After is over.
    refused = len(posts) - 40
    assert refused <= 16, refused


def test_a_workspace_posts_no_more_than_its_limit_in_any_window(
    fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slack's workspace-wide posting limit (600 a minute), shrunk to 4 a second: ten
    messages to ten conversations go out four, four and two, each group a window after
    the one before, and Slack is never asked more than it allows (no 429)."""
    monkeypatch.setattr(pacing, "WORKSPACE_MESSAGES_PER_MINUTE", 4)
    monkeypatch.setattr(pacing, "WORKSPACE_WINDOW_SECONDS", 1.0)

    results = post_all(fake_slack, [(f"C0{n:03d}", f"message {n}") for n in range(10)])

    assert not [r for r in results if isinstance(r, Exception)]
    sent = sorted(c.at for c in fake_slack.calls_to("chat.postMessage"))
    assert len(sent) == 10  # each once: nothing was refused and tried again
    assert all(later - earlier >= 1.0 for earlier, later in zip(sent, sent[4:], strict=False))
    assert sent[-1] - sent[0] < 3.0  # and no slower than the limit asks


def test_stray_429s_hold_back_their_conversation_only() -> None:
    pacer = pacing.ConversationPacer()
    for n in range(100):  # one answer in ten a 429, as any busy minute may bring
        pacer.answered(TEAM_ID, f"C{n}", retry_after=1.0 if n % 10 == 0 else None)
    assert not pacer.workspace_held(TEAM_ID)

    for n in range(100):  # then nearly every answer is one: the workspace's limit
        pacer.answered(TEAM_ID, f"D{n}", retry_after=2.0)
    assert pacer.workspace_held(TEAM_ID)
    assert not pacer.workspace_held("T0OTHER")


def test_messages_waiting_for_the_workspaces_minute_go_in_turn_each_woken_once(
    fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sixteen messages, four a window: they go in the order they came, and a message in
    line is not woken each time an answer leaves the window (a herd of wake-ups per
    answer cost a 1,200-message fan-out more CPU than its sending)."""
    monkeypatch.setattr(pacing, "WORKSPACE_MESSAGES_PER_MINUTE", 4)
    monkeypatch.setattr(pacing, "WORKSPACE_WINDOW_SECONDS", 0.5)
    looks = 0
    take_room = pacing.ConversationPacer._take_room

    def counted(pacer: pacing.ConversationPacer, workspace_id: str) -> bool:
        nonlocal looks
        looks += 1
        return take_room(pacer, workspace_id)

    monkeypatch.setattr(pacing.ConversationPacer, "_take_room", counted)

    results = post_all(fake_slack, [(f"C0{n:03d}", f"message {n}") for n in range(16)])

    assert not [r for r in results if isinstance(r, Exception)]
    texts = [c.params["text"] for c in sorted(fake_slack.calls_to("chat.postMessage"), key=at)]
    # Four at a time (in any order among themselves), a window after the four before.
    windows = [set(texts[first : first + 4]) for first in range(0, 16, 4)]
    assert windows == [{f"message {n}" for n in range(w * 4, w * 4 + 4)} for w in range(4)]
    # Each message looks once on arrival and once when its turn may have come (the first
    # in line may look again while the earliest answers are still on their way); every
    # waiting message looking at every answer would be over a hundred looks.
    assert looks <= 2 * 16 + 8, looks


def test_room_a_refused_message_gives_back_goes_to_the_next_in_line_at_once() -> None:
    """Two a window of two seconds: one answered, one on its way, a third waiting in
    line for the answer to leave the window. Slack refuses the one on its way: the third
    goes at once, not seconds later when the window moves (the refused one's room would
    otherwise stay unused, and a fan-out's last messages wait a whole extra minute)."""
    pacer = pacing.ConversationPacer(workspace_per_minute=2)

    async def scenario() -> float:
        await pacer.workspace_turn(TEAM_ID)
        await pacer.workspace_turn(TEAM_ID)
        pacer.answered(TEAM_ID, "C0ONE")
        began = asyncio.get_running_loop().time()
        third = asyncio.create_task(pacer.workspace_turn(TEAM_ID))
        await asyncio.sleep(0.1)
        assert not third.done()  # no room: two this window
        pacer.answered(TEAM_ID, "C0TWO", retry_after=1.0)
        await asyncio.wait_for(third, timeout=5)
        return asyncio.get_running_loop().time() - began

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pacing, "WORKSPACE_WINDOW_SECONDS", 2.0)
        waited = asyncio.run(scenario())
    assert waited < 0.5, waited
