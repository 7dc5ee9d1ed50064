"""Side switching over signed HTTP: a pulse's audience and sides are frozen when it opens,
a person's own side changes are limited, and admins see how many sides changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.deps import Deps
from bot.models import PulseAnswer, PulseComment, Side
from bot.services import people, pulse, workspaces
from tests.conftest import SlackStart
from tests.fake_slack import TEAM_ID, FakeSlack
from tests.signing import block_actions_body, slack_headers, slash_command_body

# A Wednesday in the future: the app's own scheduler waits for it, so no tick interferes.
NOW = datetime(2030, 3, 6, 12, 0, tzinfo=UTC)
ADMIN = "U0ADA"
MARKETING = ["U0MK1", "U0MK2", "U0MK3", "U0MK4", "U0MK5"]
LONE_IT = "U0IT1"
STRANGER, LATE = "U0STRANGER", "U0LATE"


@pytest.fixture
def slack_start() -> SlackStart:
    return SlackStart(now=NOW, admins=(ADMIN,), members=(*MARKETING, LONE_IT, STRANGER, LATE))


def seed_and_open(deps: Deps) -> int:
    """Five marketers and one IT person; a pulse that opened an hour ago."""
    with deps.session_factory.begin() as session:
        workspaces.ensure_workspace(
            session=session, workspace_id=TEAM_ID, platform="slack", timezone="UTC"
        )
        for user in MARKETING:
            people.set_side(
                session=session, workspace_id=TEAM_ID, user_ref=user, side=Side.MARKETING
            )
        people.set_side(session=session, workspace_id=TEAM_ID, user_ref=LONE_IT, side=Side.IT)
        poll, _ = pulse.open_weekly(
            session=session, workspace_id=TEAM_ID, slot=NOW - timedelta(hours=1),
            now=NOW - timedelta(hours=1), open_for=timedelta(hours=48),
        )  # fmt: skip
    return poll.id


def replied(fake: FakeSlack, before: int) -> dict[str, Any]:
    return fake.wait_for("response_url", count=before + 1)[before].params


def slash(client: TestClient, fake: FakeSlack, command: str, text: str, user: str) -> str:
    """Run a slash command as `user`; the text of the private reply."""
    before = len(fake.calls_to("response_url"))
    body = slash_command_body(command, text, response_url=fake.response_url(), user_id=user)
    assert (
        client.post("/slack/events", content=body, headers=slack_headers(body)).status_code == 200
    )
    return str(replied(fake, before)["text"])


def click(client: TestClient, fake: FakeSlack, action_id: str, value: str, user: str) -> str:
    """Click a button as `user`; the text of the reply."""
    before = len(fake.calls_to("response_url"))
    body = block_actions_body(
        action_id, value, response_url=fake.response_url("click"), user_id=user
    )
    assert (
        client.post("/slack/events", content=body, headers=slack_headers(body)).status_code == 200
    )
    return str(replied(fake, before)["text"])


def stored(deps: Deps, model: type[PulseAnswer] | type[PulseComment]) -> list[object]:
    with deps.session_factory() as session:
        return list(session.execute(select(model)).scalars())


def test_marketers_who_switch_to_it_mid_pulse_still_count_as_marketing(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    poll_id = seed_and_open(slack_deps)
    for user in MARKETING[:2]:
        reply = slash(slack_http, fake_slack, "/bridge", "side it", user)
        assert "Done: you are on the IT side." in reply
        assert "The pulse open now still counts your answers as Marketing" in reply
    for user in (*MARKETING, LONE_IT):
        for question in range(3):
            answer = click(slack_http, fake_slack, "pulse_vote:0", f"{poll_id}:{question}:1", user)
            assert "You answered" in answer
    with slack_deps.session_factory.begin() as session:
        pulse.close(
            session=session, workspace_id=TEAM_ID, poll_id=poll_id, now=NOW + timedelta(hours=1)
        )

    shown = slash(slack_http, fake_slack, "/pulse", "", ADMIN)
    # The lone IT answer stays hidden: the switchers' answers count as Marketing.
    assert shown.count("hidden: fewer than 3 answers") == 3
    assert "n=3" not in shown and "n=5" in shown
    assert "Response rate: Marketing 5/5 (100%) · IT 1/1 (100%)" in shown
    assert "Admins only: 2 side changes while it was open (pulse of 06 Mar)" in shown

    assert "side change" not in slash(slack_http, fake_slack, "/pulse", "", MARKETING[2])


def test_someone_the_pulse_did_not_ask_is_told_so_and_nothing_is_stored(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    poll_id = seed_and_open(slack_deps)
    refusal = (
        "This pulse was sent to the people who had a side when it opened on Wednesday 06 March; "
        "you can answer the next one."
    )

    assert refusal in click(slack_http, fake_slack, "pulse_vote:4", f"{poll_id}:0:5", STRANGER)
    assert refusal in click(slack_http, fake_slack, "pulse_comment:0", str(poll_id), STRANGER)
    assert fake_slack.calls_to("views.open") == []  # refused before typing a comment

    # Choosing a side after the pulse opened makes a person part of the next one only.
    assert "Done: you are on the IT side." in slash(
        slack_http, fake_slack, "/bridge", "side it", LATE
    )
    assert refusal in click(slack_http, fake_slack, "pulse_vote:4", f"{poll_id}:0:5", LATE)
    assert stored(slack_deps, PulseAnswer) == [] and stored(slack_deps, PulseComment) == []


def test_your_own_side_changes_once_in_30_days_and_an_admin_is_not_limited(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    seed_and_open(slack_deps)
    alice = MARKETING[0]
    assert "Done: you are on the IT side." in slash(
        slack_http, fake_slack, "/bridge", "side it", alice
    )

    refused = slash(slack_http, fake_slack, "/bridge", "side marketing", alice)
    assert refused == (
        "You changed your side on 06 March; you can change it again from "
        "Friday 05 April 2030 at 12:00 UTC."
    )
    assert slash(slack_http, fake_slack, "/bridge", "side", alice) == "You are on the IT side."

    for side in ("it", "marketing", "other"):  # identical requests would be replays
        assert "Done: you are on the" in slash(
            slack_http, fake_slack, "/bridge", f"side {side}", ADMIN
        )
