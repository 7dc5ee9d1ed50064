"""Asking Slack whether someone is an admin: with no transaction open, never before a form's
acknowledgement, remembered briefly; when Slack cannot say, bridgebot says so, not "only
admins can"."""

from __future__ import annotations

import asyncio
import threading
from unittest.mock import AsyncMock

import httpx
import pytest
from fastapi.testclient import TestClient
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select

from bot.commands.bridge import BRIDGE_SETTINGS_FORM
from bot.deps import Deps
from bot.models import WorkspaceSettings
from bot.services import workspaces
from bot.settings import Settings
from handlers.slack import request_scope
from handlers.slack.commands import handle_slash_command
from handlers.slack.replies import modal_metadata
from handlers.slack.runtime import ADMIN_CACHE_SECONDS, AdminDirectory, SlackRuntime
from tests.fake_slack import TEAM_ID, FakeSlack
from tests.handlers.test_slack_http import post_command
from tests.idle import wait_until_idle
from tests.signing import slack_headers, view_submission_body

COULD_NOT_CHECK = (
    "bridgebot could not check whether you are a workspace admin (Slack did not answer); "
    "please try again."
)


def shared_channel(deps: Deps) -> str | None:
    with deps.session_factory() as session:
        try:
            view = workspaces.get_workspace(session=session, workspace_id=TEAM_ID)
        except LookupError:  # the refused command was its first: nothing at all was kept
            return None
        return view.shared_channel_ref


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (200, "fatal_error"),
        (200, "ratelimited"),
        # The client retries a 503 with real backoff.
        pytest.param(503, "service_unavailable", marks=pytest.mark.slow),
    ],
)
def test_a_failed_admin_check_is_reported_as_such_and_changes_nothing(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps, status: int, error: str
) -> None:
    fake_slack.add_user("U0ADA", admin=True)
    fake_slack.fail_next("users.info", status=status, error=error, times=5)  # retries too

    post_command(slack_http, fake_slack, "/bridge", "channel <#C0SHARED|x>", user_id="U0ADA")

    reply = fake_slack.wait_for("response_url")[0].params
    assert reply["response_type"] == "ephemeral"
    assert COULD_NOT_CHECK in reply["text"]
    assert "Only workspace admins" not in reply["text"]
    assert shared_channel(slack_deps) is None


def test_the_next_try_asks_slack_again_and_succeeds(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    fake_slack.add_user("U0ADA", admin=True)
    fake_slack.fail_next("users.info", status=200, error="fatal_error")
    post_command(slack_http, fake_slack, "/bridge", "channel <#C0SHARED|x>", user_id="U0ADA")
    assert COULD_NOT_CHECK in fake_slack.wait_for("response_url")[0].params["text"]

    post_command(slack_http, fake_slack, "/bridge", "channel <#C0SHARED|x>", user_id="U0ADA")
    assert "<#C0SHARED>" in str(fake_slack.wait_for("response_url", count=2)[1].params["blocks"])
    assert shared_channel(slack_deps) == "C0SHARED"  # the failure was not remembered


def test_slack_answering_too_slowly_is_a_failed_check_too(
    slack_http: TestClient,
    fake_slack: FakeSlack,
    slack_deps: Deps,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(request_scope, "ADMIN_CHECK_SECONDS", 0.2)
    fake_slack.add_user("U0ADA", admin=True)
    fake_slack.latency = 0.6

    post_command(slack_http, fake_slack, "/bridge", "channel <#C0SHARED|x>", user_id="U0ADA")

    assert COULD_NOT_CHECK in fake_slack.wait_for("response_url")[0].params["text"]
    assert shared_channel(slack_deps) is None


# -- no Slack call inside a transaction, and none before a form's acknowledgement -----------


def run_slash_command(deps: Deps, fake: FakeSlack, text: str, *, user: str) -> None:
    """Run `/bridge text` through the listener itself, with no scheduler beside it: every
    database connection in use is the command's."""
    body = {
        "command": "/bridge", "text": text, "team_id": TEAM_ID, "user_id": user,
        "channel_id": "C0HERE", "response_url": fake.response_url(),
    }  # fmt: skip
    client = AsyncWebClient(token="xoxb-test-token", base_url=fake.api_url)
    asyncio.run(
        handle_slash_command(
            ack=AsyncMock(),
            body=body,
            respond=AsyncMock(),
            client=client,
            request=AsyncBoltRequest(body="", headers={}),  # unsigned: no replay check
            deps=deps,
            runtime=SlackRuntime(deps.settings),
        )
    )


def test_slack_is_asked_who_is_an_admin_with_no_database_transaction_open(
    fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    """On SQLite an open transaction holds the write lock: everyone's commands would wait
    for Slack's answer."""
    fake_slack.add_user("U0ADA", admin=True)
    connections_in_use: list[int] = []
    fake_slack.while_answering["users.info"] = lambda _: connections_in_use.append(
        slack_deps.engine.pool.checkedout()  # type: ignore[attr-defined]
    )

    # The workspace's first command: it is created in the same transaction.
    run_slash_command(slack_deps, fake_slack, "channel <#C0SHARED|x>", user="U0ADA")
    assert connections_in_use == [0]
    assert "<#C0SHARED>" in str(fake_slack.wait_for("response_url")[0].params["blocks"])
    assert shared_channel(slack_deps) == "C0SHARED"

    fake_slack.add_user("U0BEN")
    run_slash_command(slack_deps, fake_slack, "side it", user="U0BEN")
    assert "IT" in fake_slack.wait_for("response_url", count=2)[1].params["text"]
    assert len(fake_slack.calls_to("users.info")) == 1  # choosing one's side asks nobody


SETTINGS_FORM = {
    "timezone": "Europe/Berlin",
    "label_marketing": "Marketing",
    "label_it": "IT",
    "label_other": "Everyone else",
    "anonymity_threshold": "5",
}


def submit_settings(client: TestClient, user: str) -> httpx.Response:
    body = view_submission_body(
        BRIDGE_SETTINGS_FORM, SETTINGS_FORM, private_metadata=modal_metadata("", "C0HERE"),
        user_id=user,
    )  # fmt: skip
    return client.post("/slack/events", content=body, headers=slack_headers(body))


def stored_threshold(deps: Deps) -> int | None:
    with deps.session_factory() as session:
        return session.execute(select(WorkspaceSettings.anonymity_threshold)).scalar()


def test_a_form_asks_slack_only_after_its_acknowledgement_and_keeps_what_was_typed(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    """Slack waits three seconds for a form's acknowledgement; a slow users.info before it
    would lose the submission. The form stays open instead, and the next submit saves."""
    fake_slack.add_user("U0ADA", admin=True)
    acknowledged = threading.Event()
    asked_after_the_ack: list[bool] = []
    fake_slack.while_answering["users.info"] = lambda _: asked_after_the_ack.append(
        acknowledged.wait(timeout=5)
    )

    first = submit_settings(slack_http, "U0ADA")
    acknowledged.set()

    assert first.json()["response_action"] == "errors"
    assert "checking with Slack whether you are a workspace admin" in first.text
    assert stored_threshold(slack_deps) is None  # nothing saved yet
    wait_until_idle(slack_http)  # Slack has answered

    second = submit_settings(slack_http, "U0ADA")
    assert not second.content  # an empty ack: the modal closes
    assert stored_threshold(slack_deps) == 5
    assert asked_after_the_ack == [True]  # asked once, after the ack; then remembered


def test_a_form_whose_admin_check_fails_says_so_privately(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    fake_slack.add_user("U0ADA", admin=True)
    fake_slack.fail_next("users.info", status=200, error="fatal_error")

    response = submit_settings(slack_http, "U0ADA")

    assert "checking with Slack" in response.text
    told = fake_slack.wait_for("chat.postEphemeral")[0].params
    assert (told["channel"], told["user"]) == ("C0HERE", "U0ADA")
    assert COULD_NOT_CHECK in told["text"]
    assert stored_threshold(slack_deps) is None


def test_admin_answers_are_kept_five_minutes_for_a_bounded_number_of_people(
    fake_slack: FakeSlack, slack_settings: Settings
) -> None:
    for user in ("U0ANN", "U0BEN", "U0CAT"):
        fake_slack.add_user(user, admin=user == "U0ANN")
    now = [0.0]
    directory = AdminDirectory(slack_settings, timer=lambda: now[0], maxsize=2)
    client = AsyncWebClient(token="xoxb-test-token", base_url=fake_slack.api_url)

    def ask(user: str) -> bool:
        return asyncio.run(directory.is_admin(client, TEAM_ID, user))

    assert [ask("U0ANN"), ask("U0ANN"), ask("U0BEN")] == [True, True, False]
    assert len(fake_slack.calls_to("users.info")) == 2  # the second question was answered here

    ask("U0CAT")  # a third person: the answer used longest ago makes room
    assert directory.known(TEAM_ID, "U0ANN") is None
    assert directory.known(TEAM_ID, "U0BEN") is False

    now[0] += ADMIN_CACHE_SECONDS
    assert directory.known(TEAM_ID, "U0BEN") is None  # rights change: asked again later
    assert ask("U0BEN") is False
    assert len(fake_slack.calls_to("users.info")) == 4
