"""/pulse over signed HTTP: votes in DMs, quick polls in channels, charts and CSV as files."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import matplotlib.image
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.deps import Deps
from bot.models import PulseAnswer, PulseComment, PulsePoll, Side
from bot.services import people, pulse, workspaces
from tests.conftest import SlackStart
from tests.fake_slack import TEAM_ID, Call, FakeSlack, Upload
from tests.idle import wait_until_idle
from tests.signing import (
    block_actions_body,
    slack_headers,
    slash_command_body,
    view_submission_body,
)

# A Wednesday, in the future: the app's scheduler waits for it, so no tick runs during a test
# (a clock in the past would make it work through every minute it "missed").
NOW = datetime(2030, 3, 6, 12, 0, tzinfo=UTC)
MARKETING = ["U0ALICE", "U0MK1", "U0MK2", "U0MK3"]
IT = ["U0BOB", "U0IT1", "U0IT2"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def slack_start() -> SlackStart:
    """The app starts at NOW, so no scheduled delivery interferes."""
    return SlackStart(now=NOW)


def seed(deps: Deps, workspace_id: str = TEAM_ID) -> None:
    with deps.session_factory.begin() as session:
        workspaces.ensure_workspace(
            session=session, workspace_id=workspace_id, platform="slack", timezone="UTC"
        )
        for side, users in ((Side.MARKETING, MARKETING), (Side.IT, IT)):
            for user in users:
                people.set_side(
                    session=session, workspace_id=workspace_id, user_ref=user, side=side
                )


def open_pulse(deps: Deps, slot: datetime = NOW - timedelta(hours=1)) -> int:
    with deps.session_factory.begin() as session:
        poll, _ = pulse.open_weekly(
            session=session,
            workspace_id=TEAM_ID,
            slot=slot,
            now=slot,
            open_for=timedelta(hours=48),
        )
    return poll.id


def closed_pulse(deps: Deps, slot: datetime, answers: dict[str, int]) -> int:
    """A weekly pulse in which each person gave the same answer to all three questions.

    Opened, answered and closed in one transaction: its closing time has passed, so the
    app's tick, running meanwhile, would close it between the opening and the answers.
    """
    with deps.session_factory.begin() as session:
        poll, _ = pulse.open_weekly(
            session=session, workspace_id=TEAM_ID, slot=slot, now=slot, open_for=timedelta(hours=48)
        )
        poll_id = poll.id
        for user, value in answers.items():
            for question in range(3):
                pulse.vote(
                    session=session,
                    workspace_id=TEAM_ID,
                    poll_id=poll_id,
                    question=question,
                    value=value,
                    user_ref=user,
                    secret_key=deps.secret_key,
                    now=slot + timedelta(hours=1),
                )
        pulse.close(
            session=session, workspace_id=TEAM_ID, poll_id=poll_id, now=slot + timedelta(hours=48)
        )
    return poll_id


def command(client: TestClient, fake: FakeSlack, text: str, **kwargs: Any) -> None:
    body = slash_command_body("/pulse", text, response_url=fake.response_url(), **kwargs)
    response = client.post("/slack/events", content=body, headers=slack_headers(body))
    assert response.status_code == 200


def click(client: TestClient, fake: FakeSlack, action_id: str, value: str, **kwargs: Any) -> None:
    body = block_actions_body(action_id, value, response_url=fake.response_url("click"), **kwargs)
    response = client.post("/slack/events", content=body, headers=slack_headers(body))
    assert response.status_code == 200


def blocks_text(call: Call) -> str:
    return json.dumps(call.params.get("blocks"), ensure_ascii=False)


def buttons(call: Call) -> list[dict[str, Any]]:
    blocks = call.params["blocks"]
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def answers(deps: Deps) -> list[tuple[int, int]]:
    with deps.session_factory() as session:
        rows = session.execute(select(PulseAnswer.question, PulseAnswer.value)).all()
    return sorted((question, value) for question, value in rows)


def wait_until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def uploaded(fake: FakeSlack, count: int = 1) -> list[Upload]:
    fake.wait_for("files.completeUploadExternal", count=count)
    return fake.completed_uploads()


# -- the weekly pulse DM -------------------------------------------------------------------


def test_a_vote_click_marks_the_choice_and_a_second_click_replaces_it(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    fake_slack.add_user("U0ALICE")
    seed(slack_deps)
    poll_id = open_pulse(slack_deps)

    click(slack_http, fake_slack, "pulse_vote:3", f"{poll_id}:0:4")  # "Agree" on question 1
    reply = fake_slack.wait_for("response_url")[0].params
    assert reply["replace_original"] is True
    first_scale = [b["text"]["text"] for b in buttons(fake_slack.calls_to("response_url")[0])][:5]
    assert first_scale == ["Strongly disagree", "Disagree", "Neutral", "✓ Agree", "Strongly agree"]
    assert blocks_text(fake_slack.calls_to("response_url")[0]).count("✓") == 1
    assert "You answered 1 of 3" in reply["text"]
    assert answers(slack_deps) == [(0, 4)]

    click(slack_http, fake_slack, "pulse_vote:1", f"{poll_id}:0:2")  # changed to "Disagree"
    second = fake_slack.wait_for("response_url", count=2)[1]
    assert [b["text"]["text"] for b in buttons(second)][:5] == [
        "Strongly disagree",
        "✓ Disagree",
        "Neutral",
        "Agree",
        "Strongly agree",
    ]
    assert answers(slack_deps) == [(0, 2)]


def test_a_vote_after_the_pulse_closed_is_refused_politely(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    fake_slack.add_user("U0ALICE")
    seed(slack_deps)
    poll_id = closed_pulse(slack_deps, NOW - timedelta(days=3), {})

    click(slack_http, fake_slack, "pulse_vote:4", f"{poll_id}:1:5")
    reply = fake_slack.wait_for("response_url")[0].params
    assert reply["response_type"] == "ephemeral"
    assert reply.get("replace_original") is not True  # the DM itself stays as it was
    assert "This poll closed" in reply["text"]
    assert "thank you all the same" in reply["text"]
    assert answers(slack_deps) == []


def test_a_click_from_another_workspace_counts_no_vote(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    """The bot token serves its own workspace only: a click from another one is dropped."""
    seed(slack_deps)
    poll_id = open_pulse(slack_deps)

    click(slack_http, fake_slack, "pulse_vote:4", f"{poll_id}:0:5", team_id="T0ELSEWHERE")
    wait_until_idle(slack_http)  # a vote would be counted after the acknowledgement
    assert answers(slack_deps) == []
    assert fake_slack.calls_to("response_url") == []


def test_add_a_comment_opens_a_modal_and_saves_the_comment_without_a_name(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    fake_slack.add_user("U0ALICE")
    seed(slack_deps)
    poll_id = open_pulse(slack_deps)

    click(slack_http, fake_slack, "pulse_comment:0", str(poll_id))
    view = fake_slack.wait_for("views.open")[0].params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["callback_id"] == "pulse_comment_form"

    body = view_submission_body(
        "pulse_comment_form",
        {"comment": "Shared sprint demo helped a lot"},
        private_metadata=view["private_metadata"],
    )
    response = slack_http.post("/slack/events", content=body, headers=slack_headers(body))
    assert response.status_code == 200
    assert "errors" not in response.text
    with slack_deps.session_factory() as session:
        stored = session.execute(select(PulseComment)).scalar_one()
    assert stored.text == "Shared sprint demo helped a lot"
    assert stored.side == "marketing"
    assert "U0ALICE" not in repr([getattr(stored, c.key) for c in PulseComment.__table__.c])


# -- quick polls -----------------------------------------------------------------------------


def test_pulse_ask_with_bad_syntax_gets_the_usage_line(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    fake_slack.add_user("U0ALICE")
    command(slack_http, fake_slack, "ask Lunch on Friday?")
    command(slack_http, fake_slack, "ask Lunch on Friday? | Pizza")
    replies = [call.params for call in fake_slack.wait_for("response_url", count=2)]

    for reply in replies:
        assert reply["response_type"] == "ephemeral"
        assert "Usage: /pulse ask QUESTION | OPTION | OPTION (2 to 10 options)" in reply["text"]
    # Each command is answered on its own, in whichever order the answers arrive.
    texts = " ".join(reply["text"] for reply in replies)
    assert "Separate the question and the options with |." in texts
    assert "A quick poll needs 2 to 10 options; this has 1." in texts
    with slack_deps.session_factory() as session:
        assert session.execute(select(PulsePoll)).first() is None
    assert fake_slack.calls_to("chat.postMessage") == []


def test_a_quick_poll_counts_votes_live_and_only_its_author_closes_it(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    for user in ("U0ALICE", "U0BOB", "U0CAROL"):
        fake_slack.add_user(user)
    command(slack_http, fake_slack, "ask Which day for the joint demo? | Tuesday | Wednesday")

    posted = fake_slack.wait_for("chat.postMessage")[0]
    assert posted.params["channel"] == "C0GENERAL"
    assert "Which day for the joint demo?" in blocks_text(posted)
    assert "0 votes" in posted.params["text"]
    assert [(b["text"]["text"], b["action_id"]) for b in buttons(posted)] == [
        ("Tuesday", "pulse_ask_vote:0"),
        ("Wednesday", "pulse_ask_vote:1"),
        ("Close poll", "pulse_ask_close:0"),
    ]
    values = [b["value"] for b in buttons(posted)]

    def message_ref() -> str | None:
        with slack_deps.session_factory() as session:
            return session.execute(select(PulsePoll.message_ref)).scalar_one()

    wait_until(lambda: message_ref() is not None)  # where the poll was posted is recorded
    ts = message_ref()
    assert ts is not None
    where = {"channel_id": "C0GENERAL", "message_ts": ts}
    click(slack_http, fake_slack, "pulse_ask_vote:1", values[1], user_id="U0BOB", **where)
    update = fake_slack.wait_for("chat.update")[0].params
    assert (update["channel"], update["ts"]) == ("C0GENERAL", ts)
    assert "· 1 vote ·" in update["text"]
    assert "1 (100%) Wednesday" in update["text"]
    assert "0 (0%) Tuesday" in update["text"]

    click(slack_http, fake_slack, "pulse_ask_vote:0", values[0], user_id="U0CAROL", **where)
    click(
        slack_http, fake_slack, "pulse_ask_vote:0", values[0], user_id="U0BOB", **where
    )  # changed
    third = fake_slack.wait_for("chat.update", count=3)[2].params
    assert "2 (100%) Tuesday" in third["text"]
    assert "2 votes" in third["text"]

    click(slack_http, fake_slack, "pulse_ask_close:0", values[2], user_id="U0BOB", **where)
    refusal = fake_slack.wait_for("response_url")[0].params
    assert refusal["response_type"] == "ephemeral"
    assert "Only the person who asked, or an admin, can close this poll." in refusal["text"]
    with slack_deps.session_factory() as session:
        assert session.execute(select(PulsePoll.status)).scalar_one() == "open"

    click(slack_http, fake_slack, "pulse_ask_close:0", values[2], user_id="U0ALICE", **where)
    closed = fake_slack.wait_for("chat.update", count=4)[3]
    assert "closed" in closed.params["text"]
    assert buttons(closed) == []
    with slack_deps.session_factory() as session:
        assert session.execute(select(PulsePoll.status)).scalar_one() == "closed"


def test_two_quick_polls_asked_in_the_same_instant_are_both_stored_and_posted(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    """The app's clock is fixed, so both polls open at the very same `now`."""
    for user in ("U0ALICE", "U0BOB"):
        fake_slack.add_user(user)
    command(slack_http, fake_slack, "ask Lunch on Friday? | Pizza | Sushi", user_id="U0ALICE")
    command(slack_http, fake_slack, "ask Demo day? | Tuesday | Wednesday", user_id="U0BOB")

    posted = fake_slack.wait_for("chat.postMessage", count=2)
    questions = ("Lunch on Friday?", "Demo day?")
    assert sorted(q for call in posted for q in questions if q in blocks_text(call)) == sorted(
        questions
    )
    with slack_deps.session_factory() as session:
        polls = session.execute(select(PulsePoll.author_ref, PulsePoll.opened_at)).all()
    assert sorted(polls) == [("U0ALICE", NOW), ("U0BOB", NOW)]
    # Neither author was told that something went wrong.
    replies = " ".join(call.params.get("text", "") for call in fake_slack.calls_to("response_url"))
    assert "went wrong" not in replies


# -- results, chart and export ----------------------------------------------------------------


def two_closed_pulses(deps: Deps) -> None:
    marketing = dict(zip(MARKETING, (5, 4, 2, 4), strict=True))
    closed_pulse(deps, NOW - timedelta(days=9), marketing | {"U0BOB": 5, "U0IT1": 4})
    closed_pulse(deps, NOW - timedelta(days=2), marketing | dict(zip(IT, (5, 5, 4), strict=True)))


def test_pulse_shows_the_latest_results_with_the_gap(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    fake_slack.add_user("U0ALICE")
    seed(slack_deps)
    two_closed_pulses(slack_deps)

    command(slack_http, fake_slack, "")
    reply = fake_slack.wait_for("response_url")[0].params
    assert reply["response_type"] == "ephemeral"
    assert "Pulse of 04 Mar 2030" in reply["text"]
    assert "-25 points (Marketing minus IT)" in reply["text"]
    assert "Response rate: Marketing 4/4 (100%) · IT 3/3 (100%)" in reply["text"]


def test_pulse_results_uploads_a_png_chart_with_the_table(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    fake_slack.add_user("U0ALICE")
    seed(slack_deps)
    two_closed_pulses(slack_deps)

    command(slack_http, fake_slack, "results 4")
    reply = fake_slack.wait_for("response_url")[0].params
    assert "Pulse trend: % agree by side, last 2 pulses" in reply["text"]
    # IT had too few answers that week, and Everyone less Marketing would be IT alone.
    assert "25 Feb: Marketing 75% · IT – · Everyone –" in reply["text"]
    assert "04 Mar: Marketing 75% · IT 100% · Everyone 86%" in reply["text"]

    (chart,) = uploaded(fake_slack)
    assert chart.filename == "pulse-trend.png"
    assert chart.channel == "DU0ALICE"  # the caller's DM: ephemeral replies carry no files
    assert chart.content.startswith(PNG_SIGNATURE)
    height, width, _ = matplotlib.image.imread(io.BytesIO(chart.content), format="png").shape
    assert width > 300 and height > 150


def test_pulse_results_rejects_a_bad_number_of_weeks(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    fake_slack.add_user("U0ALICE")
    command(slack_http, fake_slack, "results lots")
    reply = fake_slack.wait_for("response_url")[0].params
    assert "WEEKS is a number from 1 to 52." in reply["text"]
    assert "Usage:" in reply["text"]
    assert fake_slack.calls_to("files.getUploadURLExternal") == []


def test_pulse_export_uploads_a_csv_of_aggregates_only(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    fake_slack.add_user("U0ALICE")
    seed(slack_deps)
    two_closed_pulses(slack_deps)

    command(slack_http, fake_slack, "export")
    (export,) = uploaded(fake_slack)
    assert export.filename == "pulse-results.csv"
    content = export.content.decode()
    rows = list(csv.DictReader(io.StringIO(content)))
    assert list(rows[0]) == [
        "pulse_opened",
        "question",
        "side",
        "respondents",
        "mean",
        "agree_pct",
        "gap_points",
        "question_id",
        "statement_asked",
    ]
    assert len(rows) == 2 * 3 * 4  # pulses x questions x (marketing, IT, other, overall)
    cells = {(r["pulse_opened"], r["question"], r["side"]): r for r in rows}
    first_question = pulse.DEFAULT_QUESTIONS[0]
    latest = {
        side: cells[("2030-03-04", first_question, side)]
        for side in ("marketing", "it", "other", "overall")
    }
    assert (latest["marketing"]["respondents"], latest["marketing"]["mean"]) == ("4", "3.75")
    assert latest["marketing"]["agree_pct"] == "75.0"
    assert (latest["it"]["respondents"], latest["it"]["agree_pct"]) == ("3", "100.0")
    assert latest["overall"]["gap_points"] == "-25.0"
    earlier = cells[("2030-02-25", first_question, "it")]  # two IT answers: hidden
    assert (earlier["respondents"], earlier["mean"], earlier["agree_pct"]) == ("<3", "", "")
    assert cells[("2030-02-25", first_question, "overall")]["gap_points"] == ""

    with slack_deps.session_factory() as session:
        hashes = set(session.execute(select(PulseAnswer.voter_hash)).scalars())
    for secret in [*MARKETING, *IT, *hashes]:
        assert secret not in content
