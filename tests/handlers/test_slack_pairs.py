"""Bridge pairs on Slack over signed HTTP: joining from App Home, the introduction in a
group DM opened with conversations.open, its Suggest a time button, and a block kept
private."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.deps import Deps
from bot.models import Side
from bot.services import glossary, pairs, people, workspaces
from schedules.jobs import run_tick
from tests.app_scheduler import app_scheduler
from tests.conftest import SlackStart
from tests.fake_slack import TEAM_ID, FakeSlack
from tests.handlers.test_slack_home import click, open_home, view_of, wait_for_publishes
from tests.signing import block_actions_body, slack_headers, slash_command_body

NOW = datetime(2030, 3, 4, 12, 0, tzinfo=UTC)  # a Monday
ROUND = datetime(2030, 3, 5, 10, 0, tzinfo=UTC)  # Tuesday 10:00 UTC
ADMIN, MIA, IAN = "U0ADMIN", "U0MIA", "U0IAN"


@pytest.fixture
def slack_start() -> SlackStart:
    return SlackStart(now=NOW, admins=(ADMIN,), members=(MIA, IAN))


def seed(deps: Deps) -> None:
    with deps.session_factory.begin() as session:
        workspaces.ensure_workspace(
            session=session, workspace_id=TEAM_ID, platform="slack", timezone="UTC"
        )
        glossary.seed_starter(session=session, workspace_id=TEAM_ID, now=NOW)
        people.set_side(session=session, workspace_id=TEAM_ID, user_ref=MIA, side=Side.MARKETING)
        people.set_side(session=session, workspace_id=TEAM_ID, user_ref=IAN, side=Side.IT)
        people.set_side(session=session, workspace_id=TEAM_ID, user_ref=ADMIN, side=Side.IT)
        pairs.save_settings(
            session=session, workspace_id=TEAM_ID, enabled=True, every_weeks=1, weekday=1,
            local_time=time(10, 0), channel_ref=None, now=NOW,
        )  # fmt: skip


def bridge(client: TestClient, fake: FakeSlack, text: str, user: str) -> dict[str, Any]:
    before = len(fake.calls_to("response_url"))
    body = slash_command_body("/bridge", text, response_url=fake.response_url(), user_id=user)
    assert (
        client.post("/slack/events", content=body, headers=slack_headers(body)).status_code == 200
    )
    return fake.wait_for("response_url", count=before + 1)[before].params


def test_joining_from_app_home_and_an_introduction_in_a_group_dm(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    seed(slack_deps)
    open_home(slack_http, MIA, "Ev0PAIRS0001")
    home = view_of(wait_for_publishes(fake_slack, MIA, 1))
    join = next(
        element
        for block in home["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["text"]["text"] == "Join bridge pairs"
    )
    assert click(slack_http, join["action_id"], join.get("value", ""), MIA, "222.1.a") == 200
    joined = json.dumps(view_of(wait_for_publishes(fake_slack, MIA, 2)))
    assert "You take part. Next round: Tuesday 05 March at 10:00 (UTC)." in joined
    assert "Leave bridge pairs" in joined

    assert "You're in" in bridge(slack_http, fake_slack, "pairs join", IAN)["text"]
    blocked = bridge(slack_http, fake_slack, f"pairs block <@{ADMIN}|boss>", IAN)["text"]
    assert "never be paired with @U0ADMIN" in blocked

    assert slack_http.portal is not None
    scheduler = app_scheduler(slack_http)
    slack_http.portal.call(run_tick, scheduler, NOW + timedelta(hours=1))
    slack_http.portal.call(run_tick, scheduler, ROUND)

    (opened,) = fake_slack.wait_for("conversations.open")
    assert sorted(opened.params["users"].split(",")) == sorted([MIA, IAN])
    intro = next(
        call
        for call in fake_slack.wait_for("chat.postMessage")
        if call.params["channel"] == f"D{opened.params['users'].split(',')[0]}"
    )
    blocks = intro.params["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    # The names are mentions, which Slack shows as each person's name.
    meet = json.dumps(blocks)
    assert "<@U0MIA> (Marketing)" in meet and "<@U0IAN> (IT)" in meet
    assert "Conversation starters" in intro.params["text"]
    suggest = next(
        element
        for block in blocks
        if block["type"] == "actions"
        for element in block["elements"]
        if element["text"]["text"] == "Suggest a time"
    )
    before = len(fake_slack.calls_to("response_url"))
    body = block_actions_body(
        suggest["action_id"], suggest["value"], user_id=IAN,
        response_url=fake_slack.response_url("suggest"),
    )  # fmt: skip
    assert (
        slack_http.post("/slack/events", content=body, headers=slack_headers(body)).status_code
        == 200
    )
    answer = fake_slack.wait_for("response_url", count=before + 1)[before].params
    assert "The next working hour for all of you" in answer["text"]
    # Nobody but Ian learns of his block, not even in the group DM.
    assert "U0ADMIN" not in intro.params["text"]
