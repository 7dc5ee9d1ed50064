"""Structured logs: one line per Slack request, and never what people typed or answered."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from bot.deps import Deps
from bot.models import Side
from bot.services import people, pulse, workspaces
from handlers.slack.replies import modal_metadata
from tests.conftest import SlackStart
from tests.fake_slack import TEAM_ID, FakeSlack
from tests.signing import (
    block_actions_body,
    slack_headers,
    slash_command_body,
    view_submission_body,
)

# A Wednesday in the future: the app's own scheduler waits for it, so no tick interferes.
NOW = datetime(2030, 3, 6, 12, 0, tzinfo=UTC)
ADMIN, ALICE = "U0ADA", "U0ALICE"
REQUEST_LOGGER = "handlers.slack.request_metrics"
SECRETS = ("secret-launch-plan-xyz", "secret-side-qqq", "secret-comment-www")


@pytest.fixture
def slack_start() -> SlackStart:
    return SlackStart(now=NOW, admins=(ADMIN,), members=(ALICE,))


def open_pulse(deps: Deps) -> int:
    with deps.session_factory.begin() as session:
        workspaces.ensure_workspace(
            session=session, workspace_id=TEAM_ID, platform="slack", timezone="UTC"
        )
        people.set_side(session=session, workspace_id=TEAM_ID, user_ref=ALICE, side=Side.MARKETING)
        poll, _ = pulse.open_weekly(
            session=session, workspace_id=TEAM_ID, slot=NOW - timedelta(hours=1),
            now=NOW - timedelta(hours=1), open_for=timedelta(hours=48),
        )  # fmt: skip
    return poll.id


def post(client: TestClient, body: str) -> None:
    assert (
        client.post("/slack/events", content=body, headers=slack_headers(body)).status_code == 200
    )


def command(client: TestClient, fake: FakeSlack, name: str, text: str, user: str = ALICE) -> str:
    """Run a slash command; returns the text of its private reply."""
    before = len(fake.calls_to("response_url"))
    post(client, slash_command_body(name, text, response_url=fake.response_url(), user_id=user))
    return str(fake.wait_for("response_url", count=before + 1)[before].params["text"])


def everything_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Each record as an operator would see it: message, arguments and any traceback."""
    logged = []
    for record in caplog.records:
        parts = [record.getMessage(), repr(record.args)]
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
        parts.append(record.exc_text or "")
        logged.append("\n".join(parts))
    return logged


def test_one_line_per_request_and_no_typed_text_or_answers(
    slack_http: TestClient,
    fake_slack: FakeSlack,
    slack_deps: Deps,
    caplog: pytest.LogCaptureFixture,
) -> None:
    poll_id = open_pulse(slack_deps)
    caplog.set_level(logging.INFO)
    for ours in ("bot", "handlers", "schedules"):
        caplog.set_level(logging.DEBUG, logger=ours)

    shared = command(
        slack_http, fake_slack, "/bridge", "channel <#C0SHARED|marketing-it>", user=ADMIN
    )
    assert "#C0SHARED" in shared
    assert "on its way" in command(slack_http, fake_slack, "/win", f"we {SECRETS[0]} now")
    posted = fake_slack.wait_for("chat.postMessage")[0]
    assert SECRETS[0] in posted.params["text"]  # it really went through the bot
    assert "is not a side" in command(slack_http, fake_slack, "/bridge", f"side {SECRETS[1]}")

    vote_value = f"{poll_id}:0:4"  # "Agree" on the first question
    before = len(fake_slack.calls_to("response_url"))
    post(
        slack_http,
        block_actions_body("pulse_vote:3", vote_value, response_url=fake_slack.response_url("v")),
    )
    fake_slack.wait_for("response_url", count=before + 1)
    comment = view_submission_body(
        "pulse_comment_form",
        {"comment": SECRETS[2]},
        private_metadata=modal_metadata(str(poll_id), None),
    )
    post(slack_http, comment)
    fake_slack.wait_for("chat.postMessage", count=2)  # the thank-you, as a DM

    request_lines = [r.getMessage() for r in caplog.records if r.name == REQUEST_LOGGER]
    assert len(request_lines) == 5  # one per request, no more
    expected = [
        ("command", "/bridge"),
        ("command", "/win"),
        ("command", "/bridge"),
        ("block_actions", "pulse_vote"),
        ("view_submission", "pulse_comment_form"),
    ]
    for line, (kind, what) in zip(request_lines, expected, strict=True):
        assert f"kind={kind} " in line, line
        assert f"team={TEAM_ID} " in line, line
        assert f"what={what} " in line, line
        assert "status=200 " in line, line
        assert re.search(r"ack_ms=\d+\.\d", line), line

    vote_pattern = re.compile(rf"(?<!\d){re.escape(vote_value)}(?!\d)")
    for logged in everything_logged(caplog):
        for secret in SECRETS:
            assert secret not in logged, logged
        assert not vote_pattern.search(logged), logged
        # The clicked button's position is the answer (the 4th of 5 is "Agree").
        assert "pulse_vote:3" not in logged, logged
