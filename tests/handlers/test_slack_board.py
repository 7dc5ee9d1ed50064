"""/win and /challenge over signed HTTP: the shared channel, escaping, buttons updating in place."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.deps import Deps
from bot.models import BoardPost, Occurrence, OccurrenceStatus
from bot.services.outbox import CHANNEL_POST
from tests.app_scheduler import app_scheduler
from tests.clock import Clock
from tests.conftest import SlackStart
from tests.fake_slack import Call, FakeSlack
from tests.idle import wait_until_idle
from tests.signing import block_actions_body, slack_headers, slash_command_body

# A Wednesday ahead of the real clock: the app's scheduler waits for it, so no digest or
# pulse interleaves with the messages under test (and it has no past minutes to replay).
NOW = datetime(2030, 3, 6, 12, 0, tzinfo=UTC)
SHARED = "C0SHARED"
ADMIN, ALICE, BOB, EVE = "U0ADA", "U0ALICE", "U0BOB", "U0EVE"
TYPED = "Thanks <!channel> and <@U123>, see <https://x|y> & <!here>"
RAW = ("<!channel>", "<@U123>", "<https://x|y>", "<!here>")
ESCAPED = ("&lt;!channel&gt;", "&lt;@U123&gt;", "&lt;https://x|y&gt;", "&lt;!here&gt;")


def permalink_for(channel: str, ts: str) -> str:
    return f"https://bridge.example/archives/{channel}/p{ts.replace('.', '')}"


@pytest.fixture
def fake(fake_slack: FakeSlack) -> FakeSlack:
    """The fake Slack, answering chat.getPermalink as Slack does, with people on both sides."""
    answer = fake_slack._answer

    def with_permalinks(call: Call) -> dict[str, Any]:
        if call.method == "chat.getPermalink":
            channel, ts = str(call.params["channel"]), str(call.params["message_ts"])
            return {"ok": True, "channel": channel, "permalink": permalink_for(channel, ts)}
        return answer(call)

    fake_slack._answer = with_permalinks  # type: ignore[method-assign]
    fake_slack.add_user(ADMIN, admin=True)
    for user in (ALICE, BOB, EVE):
        fake_slack.add_user(user)
    return fake_slack


@pytest.fixture
def slack_start(fake: FakeSlack) -> SlackStart:
    """The app starts at NOW, once `fake` has its people and permalinks."""
    return SlackStart(now=NOW)


def command(
    client: TestClient, fake: FakeSlack, name: str, text: str, user: str = ALICE
) -> dict[str, Any]:
    """Run a slash command and return its reply (on the acknowledgement or via response_url)."""
    before = len(fake.calls_to("response_url"))
    body = slash_command_body(name, text, response_url=fake.response_url(), user_id=user)
    response = client.post("/slack/events", content=body, headers=slack_headers(body))
    assert response.status_code == 200
    if response.content and response.json().get("text"):
        reply: dict[str, Any] = response.json()
        return reply
    return fake.wait_for("response_url", count=before + 1)[before].params


def click(
    client: TestClient, fake: FakeSlack, action_id: str, value: str, user: str, ts: str
) -> int:
    """Click a button on the message `ts`; returns how many response_url posts came before."""
    before = len(fake.calls_to("response_url"))
    body = block_actions_body(
        action_id, value, response_url=fake.response_url("click"), user_id=user,
        channel_id=SHARED, message_ts=ts,
    )  # fmt: skip
    assert (
        client.post("/slack/events", content=body, headers=slack_headers(body)).status_code == 200
    )
    return before


def answer_to(fake: FakeSlack, before: int) -> dict[str, Any]:
    """The private answer to a click (the first response_url post after `before`)."""
    return fake.wait_for("response_url", count=before + 1)[before].params


def blocks_of(params: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = params.get("blocks") or []
    return json.loads(blocks) if isinstance(blocks, str) else list(blocks)


def shown(params: dict[str, Any]) -> str:
    """Everything a person can see in a message: notification text and blocks."""
    return str(params.get("text", "")) + "\n" + json.dumps(blocks_of(params), ensure_ascii=False)


def button_labels(params: dict[str, Any]) -> list[str]:
    return [
        element["text"]["text"]
        for block in blocks_of(params)
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def posts(deps: Deps) -> list[BoardPost]:
    with deps.session_factory() as session:
        return list(session.execute(select(BoardPost).order_by(BoardPost.id)).scalars())


def recorded(deps: Deps, post_id: int) -> BoardPost:
    """The post once the bot has recorded its message (it does so after acknowledging)."""
    found: list[BoardPost] = []

    def done() -> bool:
        found[:] = [p for p in posts(deps) if p.id == post_id and p.permalink]
        return bool(found)

    wait_until(done)
    return found[0]


def set_up_workspace(slack_http: TestClient, fake: FakeSlack) -> None:
    reply = command(slack_http, fake, "/bridge", f"channel <#{SHARED}|marketing-it>", user=ADMIN)
    assert f"<#{SHARED}>" in shown(reply)
    command(slack_http, fake, "/bridge", "side marketing", user=ALICE)
    command(slack_http, fake, "/bridge", "side it", user=BOB)


def test_win_without_a_shared_channel_says_how_to_set_one_and_stores_nothing(
    slack_http: TestClient, fake: FakeSlack, slack_deps: Deps
) -> None:
    reply = command(slack_http, fake, "/win", "Launched the new pricing page")
    assert reply["response_type"] == "ephemeral"
    assert "no shared channel" in reply["text"]
    assert "/bridge channel #channel" in reply["text"]

    reply = command(slack_http, fake, "/challenge", "Campaign data arrives late")
    assert "/bridge channel" in reply["text"]
    wait_until_idle(slack_http)
    assert posts(slack_deps) == []
    assert fake.calls_to("chat.postMessage") == []


def test_ampersands_and_angle_brackets_are_stored_as_typed_and_posted_escaped_once(
    slack_http: TestClient, fake: FakeSlack, slack_deps: Deps
) -> None:
    set_up_workspace(slack_http, fake)

    # Slack sends &, < and > in command text as entities.
    command(slack_http, fake, "/win", "R&amp;D cut build times &lt;10 min&gt;")

    assert [p.text for p in posts(slack_deps)] == ["R&D cut build times <10 min>"]
    (posted,) = fake.wait_for("chat.postMessage")
    assert "R&amp;D cut build times &lt;10 min&gt;" in shown(posted.params)
    assert "&amp;amp;" not in shown(posted.params)


def test_a_win_the_bot_cannot_post_tells_the_author_how_to_fix_it(
    slack_http: TestClient, fake: FakeSlack, slack_deps: Deps
) -> None:
    set_up_workspace(slack_http, fake)
    fake.fail_next("chat.postMessage", status=200, error="not_in_channel")

    confirmation = command(slack_http, fake, "/win", "Launched the new pricing page")

    # Said before Slack answered, so it claims no more than that the win is on its way.
    assert "Posted" not in shown(confirmation)
    assert f"on its way to <#{SHARED}>" in shown(confirmation)
    # The refusal comes later, from the delivery: the author hears by direct message.
    told = fake.wait_for("chat.postMessage", count=2)[1]
    assert told.params["channel"] == ALICE
    assert f"bridgebot could not post your win in <#{SHARED}>" in shown(told.params)
    assert "/invite @bridgebot" in told.params["text"]
    # The delivery tells the author first, then records the refusal on its row.
    wait_until_idle(slack_http)
    assert [p.text for p in posts(slack_deps)] == ["Launched the new pricing page"]  # kept
    with slack_deps.session_factory() as session:
        failed = session.execute(
            select(Occurrence).where(Occurrence.kind == CHANNEL_POST)
        ).scalar_one()
    assert failed.status == OccurrenceStatus.FAILED.value  # recorded, never retried
    assert "not_in_channel" in str(failed.last_error)


def test_win_is_posted_escaped_and_celebrate_toggles_in_place(
    slack_http: TestClient, fake: FakeSlack, slack_deps: Deps
) -> None:
    set_up_workspace(slack_http, fake)

    too_long = command(slack_http, fake, "/win", "w" * 2001)
    assert too_long["response_type"] == "ephemeral"
    assert "2,001 characters" in too_long["text"] and "2,000" in too_long["text"]
    empty = command(slack_http, fake, "/win", "   ")
    assert "Write your win after the command" in empty["text"]
    assert posts(slack_deps) == []

    confirmation = command(slack_http, fake, "/win", TYPED)
    assert confirmation["response_type"] == "ephemeral"
    assert f"<#{SHARED}>" in shown(confirmation)
    (posted,) = fake.wait_for("chat.postMessage")
    assert posted.params["channel"] == SHARED
    message = shown(posted.params)
    for escaped in ESCAPED:
        assert escaped in message
    for raw in RAW:
        assert raw not in message
    assert f"<@{ALICE}>" in message  # the author, as a real mention
    assert "Marketing" in message
    assert button_labels(posted.params) == ["Celebrate"]
    for call in fake.calls_to("response_url"):
        assert "<!channel>" not in shown(call.params)

    (post,) = posts(slack_deps)
    assert post.text == TYPED  # stored as typed, escaped only when shown
    ts = str(recorded(slack_deps, post.id).message_ref)
    assert fake.calls_to("chat.getPermalink")[0].params["message_ts"] == ts

    click(slack_http, fake, "board_celebrate:0", str(post.id), BOB, ts)
    (first,) = fake.wait_for("chat.update")
    assert (first.params["channel"], first.params["ts"]) == (SHARED, ts)
    assert button_labels(first.params) == ["Celebrate (1)"]
    assert f"<@{BOB}>" in shown(first.params)
    for raw in RAW:
        assert raw not in shown(first.params)

    click(slack_http, fake, "board_celebrate:0", str(post.id), EVE, ts)
    assert button_labels(fake.wait_for("chat.update", count=2)[1].params) == ["Celebrate (2)"]

    click(slack_http, fake, "board_celebrate:0", str(post.id), BOB, ts)  # Bob takes it back
    third = fake.wait_for("chat.update", count=3)[2]
    assert button_labels(third.params) == ["Celebrate (1)"]
    assert f"<@{BOB}>" not in shown(third.params)

    click(slack_http, fake, "board_celebrate:0", str(post.id), EVE, ts)
    assert button_labels(fake.wait_for("chat.update", count=4)[3].params) == ["Celebrate"]
    assert len(fake.calls_to("chat.postMessage")) == 1  # updated in place, never reposted

    listed = command(slack_http, fake, "/win", "list")
    assert permalink_for(SHARED, ts) in shown(listed)
    assert "&lt;!channel&gt;" in shown(listed) and "<!channel>" not in shown(listed)


def test_challenge_help_and_resolve_update_in_place_and_tell_the_author(
    slack_http: TestClient, fake: FakeSlack, slack_deps: Deps
) -> None:
    set_up_workspace(slack_http, fake)
    command(slack_http, fake, "/challenge", "Campaign data arrives a day late")
    (posted,) = fake.wait_for("chat.postMessage")
    assert posted.params["channel"] == SHARED
    assert "Open" in shown(posted.params)
    assert button_labels(posted.params) == ["I can help", "Resolved"]
    (post,) = posts(slack_deps)
    ts = str(recorded(slack_deps, post.id).message_ref)

    helped = click(slack_http, fake, "board_help:0", str(post.id), BOB, ts)
    (update,) = fake.wait_for("chat.update")
    assert (update.params["channel"], update.params["ts"]) == (SHARED, ts)
    assert "In progress" in shown(update.params)
    assert f"<@{BOB}>" in shown(update.params) and "IT" in shown(update.params)
    dm = fake.wait_for("chat.postMessage", count=2)[1]
    assert dm.params["channel"] == ALICE
    assert f"<@{BOB}>" in shown(dm.params)
    assert "from IT can help" in dm.params["text"]
    thanks = answer_to(fake, helped)
    assert thanks["response_type"] == "ephemeral" and "will be told" in thanks["text"]

    listed = command(slack_http, fake, "/challenge", "list open")
    assert permalink_for(SHARED, ts) in shown(listed)
    assert "In progress" in listed["text"]

    # Eve neither wrote the challenge nor offered help.
    refused = click(slack_http, fake, "board_resolve:1", str(post.id), EVE, ts)
    refusal = answer_to(fake, refused)
    assert refusal["response_type"] == "ephemeral"
    assert "Only the author or someone helping" in refusal["text"]
    wait_until_idle(slack_http)
    assert len(fake.calls_to("chat.update")) == 1
    assert posts(slack_deps)[0].status == "in_progress"

    click(slack_http, fake, "board_resolve:1", str(post.id), ALICE, ts)
    resolved = fake.wait_for("chat.update", count=2)[1]
    assert "Resolved" in shown(resolved.params)
    assert button_labels(resolved.params) == []  # nothing left to click
    assert posts(slack_deps)[0].status == "resolved"

    empty = command(slack_http, fake, "/challenge", "list open")
    assert "No open challenges" in empty["text"]
    with slack_deps.session_factory() as session:
        assert session.execute(select(func.count()).select_from(BoardPost)).scalar_one() == 1


def shared_posts(fake: FakeSlack) -> list[Call]:
    return [c for c in fake.calls_to("chat.postMessage") if c.params["channel"] == SHARED]


def delivery_status(deps: Deps) -> str:
    with deps.session_factory() as session:
        return str(
            session.execute(
                select(Occurrence.status).where(Occurrence.kind == CHANNEL_POST)
            ).scalar_one()
        )


@pytest.mark.slow  # six real Retry-After waits
def test_six_rate_limits_in_a_row_delay_a_win_but_post_it_once(
    slack_http: TestClient, fake: FakeSlack, slack_deps: Deps
) -> None:
    set_up_workspace(slack_http, fake)
    fake.fail_next("chat.postMessage", status=429, retry_after=0, times=6)

    confirmation = command(slack_http, fake, "/win", "Shipped the partner portal")

    assert "Posted" not in shown(confirmation)
    assert f"on its way to <#{SHARED}>" in shown(confirmation)
    wait_until(lambda: delivery_status(slack_deps) == OccurrenceStatus.SENT.value)
    calls = shared_posts(fake)
    assert len(calls) == 7  # six answered 429, then the one that went through
    assert "Shipped the partner portal" in shown(calls[-1].params)
    (post,) = posts(slack_deps)
    assert recorded(slack_deps, post.id).message_ref is not None
    wait_until_idle(slack_http)
    assert len(shared_posts(fake)) == 7  # never posted a second time
    # Nobody was told it failed, nor that it was posted before it was.
    for call in fake.calls_to("response_url"):
        assert "could not post" not in shown(call.params)


@pytest.mark.slow  # the client's real retry backoff
def test_server_errors_past_the_clients_retries_delay_a_win_but_post_it_once(
    slack_http: TestClient, fake: FakeSlack, slack_deps: Deps, clock: Clock
) -> None:
    set_up_workspace(slack_http, fake)
    fake.fail_next("chat.postMessage", status=503, error="service_unavailable", times=4)

    command(slack_http, fake, "/win", "Closed the quarter early")
    # The client tries four times, then the delivery is put back for its next attempt.
    wait_until(lambda: len(shared_posts(fake)) == 4 and delivery_status(slack_deps) == "pending")
    wait_until_idle(slack_http)
    assert len(shared_posts(fake)) == 4

    clock.now = NOW + timedelta(seconds=31)  # past the backoff
    app_scheduler(slack_http).wake()
    wait_until(lambda: delivery_status(slack_deps) == OccurrenceStatus.SENT.value)
    calls = shared_posts(fake)
    assert len(calls) == 5
    assert "Closed the quarter early" in shown(calls[-1].params)
    assert [p.text for p in posts(slack_deps)] == ["Closed the quarter early"]
