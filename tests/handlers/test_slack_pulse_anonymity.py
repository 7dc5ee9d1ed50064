"""What a Slack user sees of a pulse where one side is hidden: no figure gives it away.

Threshold 3; Marketing 3 answers (shown), IT 1 (hidden), Other 2 (hidden). With Everyone
shown, the two Other people, knowing their own answers, could work out the lone IT answer.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from bot.deps import Deps
from bot.models import Side
from bot.services import people, pulse, workspaces
from tests.conftest import SlackStart
from tests.fake_slack import TEAM_ID, FakeSlack
from tests.handlers.test_slack_pulse import NOW, click, command, uploaded
from tests.signing import slack_headers, view_submission_body

MARKETING = ["U0ALICE", "U0MK1", "U0MK2"]
LONE_IT = "U0BOB"
OTHER = ["U0OT1", "U0OT2"]
ANSWERS = {"U0ALICE": 4, "U0MK1": 4, "U0MK2": 4, LONE_IT: 1, "U0OT1": 5, "U0OT2": 2}
SLOT = NOW - timedelta(days=2)


@pytest.fixture
def slack_start() -> SlackStart:
    """The app starts at NOW, so no scheduled delivery interferes."""
    return SlackStart(now=NOW)


def open_scenario_pulse(deps: Deps) -> int:
    """The people on their sides and an open pulse they all answered (every question)."""
    with deps.session_factory.begin() as session:
        workspaces.ensure_workspace(
            session=session, workspace_id=TEAM_ID, platform="slack", timezone="UTC"
        )
        sides = {**dict.fromkeys(MARKETING, Side.MARKETING), LONE_IT: Side.IT}
        for user, side in (sides | dict.fromkeys(OTHER, Side.OTHER)).items():
            people.set_side(session=session, workspace_id=TEAM_ID, user_ref=user, side=side)
        poll, _ = pulse.open_weekly(
            session=session, workspace_id=TEAM_ID, slot=SLOT, now=SLOT, open_for=timedelta(days=3)
        )
        for user, value in ANSWERS.items():
            for question in range(3):
                pulse.vote(
                    session=session, workspace_id=TEAM_ID, poll_id=poll.id, question=question,
                    value=value, user_ref=user, secret_key=deps.secret_key,
                    now=SLOT + timedelta(hours=1),
                )  # fmt: skip
    return poll.id


def submit_comment(
    client: TestClient, fake: FakeSlack, poll_id: int, user: str, words: str
) -> None:
    """The person clicks "Add a comment" in their pulse DM and saves the modal."""
    calls = len(fake.calls_to("views.open"))
    click(client, fake, "pulse_comment:0", str(poll_id), user_id=user)
    view = fake.wait_for("views.open", count=calls + 1)[calls].params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    body = view_submission_body(
        "pulse_comment_form",
        {"comment": words},
        private_metadata=view["private_metadata"],
        user_id=user,
    )
    response = client.post("/slack/events", content=body, headers=slack_headers(body))
    assert response.status_code == 200 and "errors" not in response.text


def close_pulse(deps: Deps, poll_id: int) -> None:
    with deps.session_factory.begin() as session:
        pulse.close(session=session, workspace_id=TEAM_ID, poll_id=poll_id, now=NOW)


def test_pulse_shows_everyone_as_hidden_and_not_the_lone_it_comment(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    for user in ANSWERS:
        fake_slack.add_user(user)
    poll_id = open_scenario_pulse(slack_deps)
    for user in MARKETING:
        submit_comment(slack_http, fake_slack, poll_id, user, f"Marketing view {user[-1]}")
    submit_comment(slack_http, fake_slack, poll_id, LONE_IT, "Only IT here: nobody read my ticket")
    close_pulse(slack_deps, poll_id)

    command(slack_http, fake_slack, "", user_id="U0OT1")  # one of the two who know their answers
    shown = fake_slack.wait_for("response_url")[0].params["text"]
    assert "100% agree · mean 4.0 · n=3" in shown  # Marketing
    assert shown.count("hidden: a side that answered has fewer than 3 answers") == 3
    assert "n=6" not in shown and "mean 3.3" not in shown  # Everyone: 20 / 6
    assert "Marketing view 1" in shown
    assert "nobody read my ticket" not in shown


def test_pulse_results_and_export_leave_everyone_out_while_it_is_hidden(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    fake_slack.add_user("U0OT1")
    close_pulse(slack_deps, open_scenario_pulse(slack_deps))

    command(slack_http, fake_slack, "results", user_id="U0OT1")
    table = fake_slack.wait_for("response_url")[0].params["text"]
    assert "04 Mar: Marketing 100% · IT – · Everyone –" in table
    uploaded(fake_slack)  # the chart

    command(slack_http, fake_slack, "export", user_id="U0OT1")
    (_, export) = uploaded(fake_slack, count=2)
    rows = list(csv.DictReader(io.StringIO(export.content.decode())))
    everyone = [row for row in rows if row["side"] == "overall"]
    assert len(everyone) == 3
    for row in everyone:
        assert (row["respondents"], row["mean"], row["agree_pct"]) == ("hidden", "", "")
