"""/pulse questions and /pulse alerts over signed HTTP: admins only, typed text escaped,
a forged click on the other side's statement of a mirrored pair counts nothing."""

from __future__ import annotations

import json
from datetime import timedelta

from fastapi.testclient import TestClient

from bot.deps import Deps
from bot.models import Side
from bot.services import people
from tests.fake_slack import TEAM_ID, FakeSlack
from tests.handlers.test_slack_pulse import NOW, answers, click, command, open_pulse, seed

ADMIN = "U0ADMIN"


def test_an_admins_own_question_is_posted_escaped_and_others_cannot_change_questions(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    fake_slack.add_user(ADMIN, admin=True)
    fake_slack.add_user("U0ALICE")
    seed(slack_deps)

    command(slack_http, fake_slack, "questions add same-goals", user_id="U0ALICE")
    (refused,) = fake_slack.wait_for("response_url")
    assert "Only workspace admins can choose the pulse's questions." in refused.params["text"]

    command(
        slack_http,
        fake_slack,
        "questions custom <!channel> is <@U0BOB> happy with our launches?",
        user_id=ADMIN,
    )
    saved = fake_slack.wait_for("response_url", count=2)[1].params
    assert "Your question is saved as custom-1 and asked from the next pulse." in saved["text"]
    assert "&lt;!channel&gt; is &lt;@U0BOB&gt; happy" in saved["text"]
    assert "<!channel>" not in str(saved) and "<@U0BOB>" not in str(saved)
    assert "You now get the pulse's gap alert by direct message" in saved["text"]

    command(slack_http, fake_slack, "alerts gap 20", user_id=ADMIN)
    alerts = fake_slack.wait_for("response_url", count=3)[2].params
    assert "Alert when a gap widens by 20 points or more." in alerts["text"]


def test_a_forged_click_on_the_other_sides_half_of_a_pair_saves_nothing(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    fake_slack.add_user(ADMIN, admin=True)
    fake_slack.add_user("U0OTHER")
    seed(slack_deps)
    with slack_deps.session_factory.begin() as session:
        people.set_side(session=session, workspace_id=TEAM_ID, user_ref="U0OTHER", side=Side.OTHER)
    command(
        slack_http, fake_slack, "questions set understands-our-needs worked-together", user_id=ADMIN
    )
    fake_slack.wait_for("response_url")
    poll_id = open_pulse(slack_deps, NOW - timedelta(hours=1))

    click(slack_http, fake_slack, "pulse_vote:4", f"{poll_id}:0:5", user_id="U0OTHER")
    refused = fake_slack.wait_for("response_url", count=2)[1].params
    assert "about the other; not yours" in refused["text"]
    assert answers(slack_deps) == []
    click(slack_http, fake_slack, "pulse_vote:3", f"{poll_id}:1:4", user_id="U0OTHER")
    fake_slack.wait_for("response_url", count=3)
    assert answers(slack_deps) == [(1, 4)]


def test_choose_opens_a_modal_with_a_list_per_question(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    fake_slack.add_user(ADMIN, admin=True)
    seed(slack_deps)
    command(slack_http, fake_slack, "questions choose", user_id=ADMIN, trigger_id="trig-1")
    (opened,) = fake_slack.wait_for("views.open")
    view = opened.params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    selects = [block["element"] for block in view["blocks"] if block["type"] == "input"]
    assert [s["type"] for s in selects] == ["static_select"] * 5
    assert selects[0]["initial_option"]["value"] == "worked-together"
    assert all(len(o["text"]["text"]) <= 75 for s in selects for o in s["options"])
