"""A command that only reads (a glossary lookup) is answered in Slack's acknowledgement:
one round trip, no inbox record, no response_url post; anything else keeps the inbox path."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.commands.glossary import only_reads
from bot.deps import Deps
from bot.models import InboxCommand
from tests.fake_slack import FakeSlack
from tests.idle import wait_until_idle
from tests.signing import slack_headers, slash_command_body


def rows(deps: Deps, model: type) -> int:
    with deps.session_factory() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def jargon(client: TestClient, fake: FakeSlack, text: str) -> tuple[int, bytes]:
    body = slash_command_body("/jargon", text, response_url=fake.response_url())
    response = client.post("/slack/events", content=body, headers=slack_headers(body))
    return response.status_code, response.content


def test_which_jargon_commands_only_read() -> None:
    for args in ("CAC", "customer acquisition cost", "", "help", "search churn", "random"):
        assert only_reads(args), args
    assert only_reads("explain our CAC rose")
    for args in ("add", "add Zorblax", "edit CAC", "delete CAC", "reset", "share CAC"):
        assert not only_reads(args), args


def test_a_lookup_is_answered_in_the_acknowledgement(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    fake_slack.add_user("U0ALICE")
    status, content = jargon(slack_http, fake_slack, "CAC")

    assert status == 200
    message = json.loads(content)
    assert message["response_type"] == "ephemeral"
    assert "Customer acquisition cost" in message["text"]
    assert any(block["type"] == "actions" for block in message["blocks"])  # Share, Edit
    wait_until_idle(slack_http)
    assert fake_slack.calls_to("response_url") == []
    assert rows(slack_deps, InboxCommand) == 0


def test_a_badly_typed_lookup_gets_its_usage_in_the_acknowledgement(
    slack_http: TestClient, fake_slack: FakeSlack
) -> None:
    fake_slack.add_user("U0ALICE")
    status, content = jargon(slack_http, fake_slack, "CAC\x07")
    assert status == 200
    assert b"/jargon TERM" in content
    wait_until_idle(slack_http)
    assert fake_slack.calls_to("response_url") == []


def test_a_command_that_changes_something_is_stored_and_answered_after_its_ack(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    fake_slack.add_user("U0ALICE")
    status, content = jargon(slack_http, fake_slack, "share CAC")
    assert (status, content) == (200, b"")
    reply = fake_slack.wait_for("response_url")[0].params
    assert reply["response_type"] == "in_channel"
    assert "Shared by @U0ALICE" in reply["text"]
    wait_until_idle(slack_http)
    assert rows(slack_deps, InboxCommand) == 1
