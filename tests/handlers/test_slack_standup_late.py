"""Late answers and edits over signed HTTP: the digest's Slack message is updated with
chat.update (escaped, the answer marked late), through a 429 and a deleted message, and
the thanks' Edit button opens the answers again."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from bot.commands.standup import STANDUP_ANSWER
from bot.deps import Deps
from bot.models import Occurrence, StandupDigest
from bot.notify import DeliveryError, MessageGone, WorkspaceUninstalled
from bot.replies import message
from bot.services import standups, workspaces
from bot.services.standups import StandupDraft, StandupView
from bot.settings import Settings
from handlers.slack.notifier import SlackNotifier, StillRateLimited
from tests.app_scheduler import app_scheduler
from tests.clock import Clock
from tests.conftest import SlackStart
from tests.fake_slack import TEAM_ID, Call, FakeSlack
from tests.signing import block_actions_body, modal_submission_body, slack_headers

# A Monday ahead of the real clock: the app's scheduler waits for the test to move it.
NOW = datetime(2030, 3, 4, 8, 0, tzinfo=UTC)
START, DIGEST_AT = NOW + timedelta(hours=1), NOW + timedelta(hours=2)  # 09:00, 10:00 UTC
ALICE, BOB = "U0ALICE", "U0BOB"
CHANNEL = "C0STAND"


@pytest.fixture
def slack_start() -> SlackStart:
    return SlackStart(now=NOW, members=(ALICE, BOB))


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def blocks_text(params: dict[str, Any]) -> str:
    """Everything a person sees in a message: its notification text and its blocks."""
    blocks = params.get("blocks") or []
    listed = json.loads(blocks) if isinstance(blocks, str) else blocks
    return str(params.get("text", "")) + "\n" + json.dumps(listed, ensure_ascii=False)


def posts_to(fake: FakeSlack, channel: str) -> list[Call]:
    return [c for c in fake.calls_to("chat.postMessage") if c.params.get("channel") == channel]


def move_to(client: TestClient, clock: Clock, moment: datetime) -> None:
    clock.now = moment
    app_scheduler(client).wake()


def create_standup(deps: Deps) -> StandupView:
    with deps.session_factory.begin() as session:
        workspaces.ensure_workspace(
            session=session, workspace_id=TEAM_ID, platform="slack", timezone="UTC"
        )
        return standups.create(
            session=session,
            workspace_id=TEAM_ID,
            draft=StandupDraft(
                name="Joint",
                channel_ref=CHANNEL,
                weekdays="mon,wed",
                local_time="09:00",
                timezone="UTC",
                mode="async",
                participants=f"{ALICE},{BOB}",
                deadline_minutes="60",
            ),
            creator_ref=ALICE,
            now=NOW,
            secret_key=deps.secret_key,
        )


def answer(client: TestClient, fake: FakeSlack, user: str, value: str, text: str) -> str:
    """Click Answer (or Edit answers), fill the first question, submit; the thanks' text."""
    opened_before = len(fake.calls_to("views.open"))
    thanks_before = len(fake.calls_to("chat.postEphemeral"))
    click = block_actions_body(
        STANDUP_ANSWER, value, response_url=fake.response_url("click"), user_id=user,
        channel_id=f"D{user}",
    )  # fmt: skip
    assert client.post("/slack/events", content=click, headers=slack_headers(click)).status_code
    view = fake.wait_for("views.open", count=opened_before + 1)[opened_before].params["view"]
    submission = modal_submission_body(view, {"q0": text}, user_id=user)
    response = client.post("/slack/events", content=submission, headers=slack_headers(submission))
    assert response.status_code == 200 and "errors" not in (response.text or "")
    thanks = fake.wait_for("chat.postEphemeral", count=thanks_before + 1)[thanks_before]
    return blocks_text(thanks.params)


def digest_ts(deps: Deps) -> str:
    with deps.session_factory() as session:
        return session.execute(select(StandupDigest.message_ref)).scalar_one()


def test_a_late_answer_and_edits_update_the_digest_through_a_429_and_a_deleted_message(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps, clock: Clock
) -> None:
    view = create_standup(slack_deps)
    value = f"{view.id}:{START.date().isoformat()}"
    move_to(slack_http, clock, NOW)  # plans the round
    move_to(slack_http, clock, START)
    wait_until(
        lambda: len(posts_to(fake_slack, ALICE)) == 2 and len(posts_to(fake_slack, BOB)) == 2
    )
    thanks = answer(slack_http, fake_slack, ALICE, value, "Shipped the spring campaign")
    assert "you can change them until the next round starts, Wed 06 Mar 09:00 (UTC)" in thanks
    assert "Edit answers" in thanks

    move_to(slack_http, clock, DIGEST_AT)
    wait_until(lambda: any("Didn" in blocks_text(c.params) for c in posts_to(fake_slack, CHANNEL)))
    (digest,) = [c for c in posts_to(fake_slack, CHANNEL) if "Didn" in blocks_text(c.params)]
    assert f"<@{BOB}>" in blocks_text(digest.params)  # Bob did not answer
    wait_until(lambda: len(fake_slack.calls) > 0 and bool(_digest_recorded(slack_deps)))
    first_ts = digest_ts(slack_deps)

    # Bob answers late; Slack answers chat.update with 429 first: the update waits it out.
    fake_slack.fail_next("chat.update", status=429, retry_after=1)
    clock.now = DIGEST_AT + timedelta(minutes=30)
    late = answer(slack_http, fake_slack, BOB, value, "Fixed <!channel> & the build")
    assert "now shows your answers, marked as late" in late
    fake_slack.wait_for("chat.update", count=1)
    wait_until(lambda: put_off_until(slack_deps) is not None)
    retry_at = put_off_until(slack_deps)
    assert retry_at == DIGEST_AT + timedelta(minutes=30, seconds=1)  # Slack's Retry-After
    move_to(slack_http, clock, retry_at)
    updated = fake_slack.wait_for("chat.update", count=2)[1].params
    assert (updated["channel"], updated["ts"]) == (CHANNEL, first_ts)
    shown = blocks_text(updated)
    assert f"<@{BOB}> (late)" in shown
    assert "Fixed &lt;!channel&gt; &amp; the build" in shown and "<!channel>" not in shown
    assert "Didn" not in shown  # everyone answered now
    assert len([c for c in posts_to(fake_slack, CHANNEL) if "Joint" in blocks_text(c.params)]) == 2

    # Alice edits with the Edit button, but someone deleted the digest: it is posted again.
    fake_slack.fail_next("chat.update", status=200, error="message_not_found")
    clock.now = DIGEST_AT + timedelta(hours=1)
    edited = answer(slack_http, fake_slack, ALICE, value, "Shipped the spring and summer campaigns")
    assert "marked as edited after the digest" in edited
    wait_until(lambda: digest_ts(slack_deps) != first_ts)
    again = posts_to(fake_slack, CHANNEL)[-1].params
    assert f"<@{ALICE}> (edited after the digest)" in blocks_text(again)
    assert "spring and summer" in blocks_text(again) and f"<@{BOB}> (late)" in blocks_text(again)

    # The round closes when Wednesday's starts: a click on the old button says so.
    clock.now = START + timedelta(days=2)
    before = len(fake_slack.calls_to("response_url"))
    click = block_actions_body(
        STANDUP_ANSWER, value, response_url=fake_slack.response_url("click"), user_id=BOB,
        channel_id=f"D{BOB}",
    )  # fmt: skip
    slack_http.post("/slack/events", content=click, headers=slack_headers(click))
    refusal = fake_slack.wait_for("response_url", count=before + 1)[before].params
    assert "closed when its next round started (Wed 06 Mar 09:00 UTC)" in blocks_text(refusal)


def put_off_until(deps: Deps) -> datetime | None:
    """When the pending digest update may be tried again (None: not put off)."""
    with deps.session_factory() as session:
        return session.execute(
            select(Occurrence.lease_until).where(
                Occurrence.kind == standups.DIGEST_UPDATE, Occurrence.status == "pending"
            )
        ).scalar_one_or_none()


def _digest_recorded(deps: Deps) -> bool:
    with deps.session_factory() as session:
        return session.execute(select(StandupDigest.id)).first() is not None


def test_no_update_is_lost_when_the_digest_is_answered_late_at_once(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps, clock: Clock
) -> None:
    """Nothing queued is dropped: every digest update ends sent, whatever came first."""
    view = create_standup(slack_deps)
    value = f"{view.id}:{START.date().isoformat()}"
    move_to(slack_http, clock, NOW)
    move_to(slack_http, clock, START)
    wait_until(lambda: len(posts_to(fake_slack, BOB)) == 2)
    move_to(slack_http, clock, DIGEST_AT)
    wait_until(lambda: _digest_recorded(slack_deps))
    for n in range(3):
        clock.now = DIGEST_AT + timedelta(minutes=n + 1)
        answer(slack_http, fake_slack, BOB, value, f"Answer {n}")

    def all_sent() -> bool:
        with slack_deps.session_factory() as session:
            states = session.execute(
                select(Occurrence.status).where(Occurrence.kind == standups.DIGEST_UPDATE)
            ).scalars()
            return set(states) == {"sent"}

    wait_until(all_sent)
    last = fake_slack.calls_to("chat.update")[-1].params
    assert "Answer 2" in blocks_text(last)


@pytest.mark.parametrize(
    ("status", "error", "raised"),
    [
        (429, "ratelimited", StillRateLimited),  # put off until Retry-After, no attempt spent
        (200, "message_not_found", MessageGone),  # posted again while its round is open
        (200, "invalid_blocks", DeliveryError),  # refused for good: not retried for ever
        (200, "token_revoked", WorkspaceUninstalled),
    ],
)
def test_what_each_chat_update_refusal_means_to_the_scheduler(
    fake_slack: FakeSlack, status: int, error: str, raised: type[Exception]
) -> None:
    settings = Settings(
        _env_file=None,
        database_url="sqlite://",
        slack_bot_token=SecretStr("xoxb-test"),
        slack_signing_secret=SecretStr("test-secret"),
        slack_api_url=fake_slack.api_url,
    )
    fake_slack.fail_next("chat.update", status=status, error=error, retry_after=3)

    async def tokens(_workspace: str) -> str:
        return "xoxb-test"

    async def update() -> None:
        async with aiohttp.ClientSession() as http:
            notifier = SlackNotifier(settings, tokens, http)
            await notifier.update(TEAM_ID, CHANNEL, "1700000000.000100", message("Joint"))

    with pytest.raises(raised) as caught:
        asyncio.run(update())
    assert len(fake_slack.calls_to("chat.update")) == 1  # the scheduler decides what next
    if isinstance(caught.value, StillRateLimited):
        assert caught.value.retry_after == 3
