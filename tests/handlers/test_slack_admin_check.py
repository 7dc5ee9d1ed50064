"""When Slack cannot say whether someone is an admin, bridgebot says so, not "only admins can"."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from bot.deps import Deps
from bot.services import workspaces
from handlers.slack import common
from tests.fake_slack import TEAM_ID, FakeSlack
from tests.handlers.test_slack_http import post_command

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
    monkeypatch.setattr(common, "ADMIN_CHECK_SECONDS", 0.2)
    fake_slack.add_user("U0ADA", admin=True)
    fake_slack.latency = 0.6

    post_command(slack_http, fake_slack, "/bridge", "channel <#C0SHARED|x>", user_id="U0ADA")

    assert COULD_NOT_CHECK in fake_slack.wait_for("response_url")[0].params["text"]
    assert shared_channel(slack_deps) is None
