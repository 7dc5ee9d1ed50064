"""/bridge dashboard on Slack: a private link; Slack says who is an admin, which decides
what the session started by the link may see."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from bot.deps import Deps
from tests.fake_slack import FakeSlack
from tests.handlers.test_slack_http import post_command

LINK = re.compile(r"<http://127\.0\.0\.1:3000/dashboard/sign-in/([\w-]+)\|Open the dashboard>")


def link_for(client: TestClient, fake: FakeSlack, user: str, replies: int) -> str:
    assert post_command(client, fake, "/bridge", "dashboard", user_id=user) == 200
    reply = fake.wait_for("response_url", count=replies)[-1].params
    assert reply["response_type"] == "ephemeral"
    found = LINK.search(str(reply["blocks"]))
    assert found is not None, reply
    return found.group(1)


def test_slack_admins_see_every_page_and_members_the_shared_ones(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    fake_slack.add_user("U0ADA", admin=True)
    fake_slack.add_user("U0BOB")
    admin_token = link_for(slack_http, fake_slack, "U0ADA", 1)
    member_token = link_for(slack_http, fake_slack, "U0BOB", 2)
    member = TestClient(slack_http.app)

    slack_http.post("/dashboard/sign-in", data={"token": admin_token})
    member.post("/dashboard/sign-in", data={"token": member_token})

    assert slack_http.get("/dashboard/glossary").status_code == 200
    assert member.get("/dashboard/glossary").status_code == 403
    assert member.get("/dashboard/pulse").status_code == 200
    # Each link was used by its own session: neither works again.
    again = member.post("/dashboard/sign-in", data={"token": admin_token})
    assert again.status_code == 403
