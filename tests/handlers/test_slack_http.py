"""End to end over HTTP: signed requests into the FastAPI app, replies caught by the fake Slack."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.deps import Deps
from bot.models import Person, Workspace
from tests.fake_slack import FakeSlack
from tests.signing import slack_headers, slash_command_body


def post_command(
    client: TestClient, fake: FakeSlack, command: str, text: str, **kwargs: object
) -> int:
    body = slash_command_body(command, text, response_url=fake.response_url(), **kwargs)  # type: ignore[arg-type]
    return client.post("/slack/events", content=body, headers=slack_headers(body)).status_code


def count_rows(deps: Deps, model: type) -> int:
    with deps.session_factory() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_bridge_side_persists_and_replies_privately(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    fake_slack.add_user("U0ALICE")
    assert post_command(slack_http, fake_slack, "/bridge", "side marketing") == 200

    reply = fake_slack.wait_for("response_url")[0].params
    assert reply["response_type"] == "ephemeral"
    assert "Marketing" in reply["text"]
    with slack_deps.session_factory() as session:
        person = session.execute(select(Person)).scalar_one()
    assert (person.workspace_id, person.user_ref, person.side) == ("T0BRIDGE", "U0ALICE", "marketing")


def test_bad_signature_is_refused_and_changes_nothing(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    body = slash_command_body("/bridge", "side it", response_url=fake_slack.response_url())
    headers = slack_headers(body, secret="not-the-signing-secret")
    assert slack_http.post("/slack/events", content=body, headers=headers).status_code == 401
    time.sleep(0.3)
    assert count_rows(slack_deps, Person) == 0
    assert count_rows(slack_deps, Workspace) == 0
    assert fake_slack.calls_to("response_url") == []


def test_stale_signature_is_refused(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    body = slash_command_body("/bridge", "side it", response_url=fake_slack.response_url())
    headers = slack_headers(body, timestamp=int(time.time()) - 10 * 60)
    assert slack_http.post("/slack/events", content=body, headers=headers).status_code == 401
    assert count_rows(slack_deps, Person) == 0
