"""/standup over signed HTTP: the create modal, inline validation, management, the .ics."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, time

from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlalchemy import func, select

from bot.deps import Deps
from bot.models import Standup
from bot.services import standups, workspaces
from bot.services.standups import StandupDraft, StandupView
from tests.fake_slack import TEAM_ID, FakeSlack
from tests.signing import modal_submission_body, slack_headers, slash_command_body


def post_command(
    client: TestClient, fake: FakeSlack, text: str, *, user_id: str = "U0ALICE"
) -> str:
    """Run `/standup text`; returns the command's trigger_id."""
    trigger_id = f"{uuid.uuid4().int % 10**12}.42.abcd"
    body = slash_command_body(
        "/standup", text, response_url=fake.response_url(), user_id=user_id, trigger_id=trigger_id
    )
    response = client.post("/slack/events", content=body, headers=slack_headers(body))
    assert response.status_code == 200
    return trigger_id


def reply_text(fake: FakeSlack, count: int) -> str:
    """The text of the `count`-th reply to a slash command (waiting for it)."""
    reply = fake.wait_for("response_url", count=count)[count - 1].params
    assert reply["response_type"] == "ephemeral"
    return str(reply["text"])


def stored(deps: Deps) -> list[Standup]:
    with deps.session_factory() as session:
        return list(session.execute(select(Standup)).scalars())


def create_standup(deps: Deps, creator: str = "U0ALICE") -> StandupView:
    with deps.session_factory.begin() as session:
        workspaces.ensure_workspace(
            session=session, workspace_id=TEAM_ID, platform="slack", timezone="UTC"
        )
        return standups.create(
            session=session,
            workspace_id=TEAM_ID,
            draft=StandupDraft(
                name="Weekly sync",
                channel_ref="C0STAND",
                weekdays="tue,thu",
                local_time="10:00",
                timezone="Europe/London",
                participants="U0ALICE,U0BOB",
            ),
            creator_ref=creator,
            now=datetime.now(UTC),
            secret_key=deps.secret_key,
        )


def test_create_modal_shows_errors_inline_then_creates_the_stand_up(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    fake_slack.add_user("U0ALICE")
    trigger_id = post_command(slack_http, fake_slack, "")

    (opened,) = fake_slack.wait_for("views.open")
    assert opened.params["trigger_id"] == trigger_id
    view = opened.params["view"]
    assert view["callback_id"] == "standup_create_form"
    elements = {block["block_id"]: block["element"] for block in view["blocks"]}
    assert {name: element["type"] for name, element in elements.items()} == {
        "name": "plain_text_input",
        "channel": "conversations_select",
        "weekdays": "multi_static_select",
        "time": "timepicker",
        "timezone": "plain_text_input",
        "mode": "static_select",
        "call_link": "plain_text_input",
        "questions": "plain_text_input",
        "audience": "static_select",
        "participants": "multi_users_select",
        "lead": "plain_text_input",
        "deadline": "plain_text_input",
        "holidays": "plain_text_input",
        "nudge": "plain_text_input",
    }
    assert elements["channel"]["initial_conversation"] == "C0GENERAL"  # where it was typed
    assert [o["value"] for o in elements["weekdays"]["options"]][:2] == ["mon", "tue"]
    assert fake_slack.calls_to("response_url") == []  # the modal is the answer

    # A bad time zone, no weekdays, nobody chosen and a bad lead: errors under each field.
    bad = modal_submission_body(
        view,
        {
            "name": "Joint stand-up",
            "weekdays": [],
            "timezone": "Mars/Olympus_Mons",
            "audience": "chosen",
            "participants": [],
            "lead": "-5",
        },
    )
    response = slack_http.post("/slack/events", content=bad, headers=slack_headers(bad))
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"weekdays", "timezone", "participants", "lead"}
    assert "Mars/Olympus_Mons" in answer["errors"]["timezone"]
    assert stored(slack_deps) == []

    good = modal_submission_body(
        view,
        {
            "name": "Joint stand-up",
            "channel": "C0STAND",
            "weekdays": ["mon", "wed"],
            "time": "09:30",
            "timezone": "Europe/London",
            "mode": "async",
            "audience": "chosen",
            "participants": ["U0ALICE", "U0BOB"],
            "lead": "10",
            "deadline": "60",
        },
    )
    response = slack_http.post("/slack/events", content=good, headers=slack_headers(good))
    assert response.status_code == 200
    assert "errors" not in (response.text or "")

    (confirmation,) = fake_slack.wait_for("chat.postEphemeral")
    assert (confirmation.params["channel"], confirmation.params["user"]) == (
        "C0GENERAL",
        "U0ALICE",
    )
    assert "Created stand-up 1: Joint stand-up" in confirmation.params["text"]
    (row,) = stored(slack_deps)
    assert (row.workspace_id, row.number, row.name, row.channel_ref) == (
        TEAM_ID,
        1,
        "Joint stand-up",
        "C0STAND",
    )
    assert (row.weekdays, row.local_time, row.timezone, row.mode) == (
        "mon,wed",
        time(9, 30),
        "Europe/London",
        "async",
    )
    assert (row.participants, row.both_sides, row.creator_ref) == (
        ["U0ALICE", "U0BOB"],
        False,
        "U0ALICE",
    )
    assert (row.reminder_lead_minutes, row.deadline_minutes) == (10, 60)
    assert row.questions == list(standups.DEFAULT_QUESTIONS)

    post_command(slack_http, fake_slack, "list")
    listing = reply_text(fake_slack, 1)
    assert "1. Joint stand-up" in listing
    assert "Mon, Wed at 09:30 (Europe/London) · async · 2 people" in listing


def test_only_the_creator_or_an_admin_can_change_a_stand_up(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    for user, admin in (("U0ALICE", False), ("U0BOB", False), ("U0ADA", True)):
        fake_slack.add_user(user, admin=admin)
    create_standup(slack_deps, creator="U0ALICE")

    post_command(slack_http, fake_slack, "pause 1", user_id="U0BOB")
    assert "Only the person who created this stand-up or an admin" in reply_text(fake_slack, 1)
    post_command(slack_http, fake_slack, "delete 1", user_id="U0BOB")
    assert "Only the person who created this stand-up or an admin" in reply_text(fake_slack, 2)
    assert [row.paused for row in stored(slack_deps)] == [False]

    post_command(slack_http, fake_slack, "pause 1", user_id="U0ADA")
    assert "Paused Weekly sync" in reply_text(fake_slack, 3)
    assert [row.paused for row in stored(slack_deps)] == [True]

    post_command(slack_http, fake_slack, "resume 1", user_id="U0ALICE")
    assert "Resumed Weekly sync" in reply_text(fake_slack, 4)
    assert [row.paused for row in stored(slack_deps)] == [False]

    post_command(slack_http, fake_slack, "pause 7", user_id="U0ALICE")
    assert "There is no stand-up 7" in reply_text(fake_slack, 5)
    post_command(slack_http, fake_slack, "skip 1 someday", user_id="U0ALICE")
    assert "not a date" in reply_text(fake_slack, 6)
    with slack_deps.session_factory() as session:
        assert session.execute(select(func.count()).select_from(Standup)).scalar_one() == 1


def test_calendar_uploads_the_ics_to_the_callers_dm_and_gives_a_subscribe_url(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    fake_slack.add_user("U0ALICE")
    view = create_standup(slack_deps)
    post_command(slack_http, fake_slack, "calendar 1")

    text = reply_text(fake_slack, 1)
    found = re.search(r"https?://[^\s|>]+/calendar/([\w-]+)\.ics", text)
    assert found is not None, text
    assert found.group(1) == view.calendar_token

    fake_slack.wait_for("files.completeUploadExternal")
    (opened,) = fake_slack.calls_to("conversations.open")
    assert opened.params["users"] == "U0ALICE"
    (upload,) = fake_slack.completed_uploads()
    assert upload.filename == "standup-1.ics"
    assert upload.channel == "DU0ALICE"  # the caller's DM, as conversations.open named it
    (event,) = Calendar.from_ical(upload.content).events
    assert event.rrules[0]["BYDAY"] == ["TU", "TH"]
    assert event["dtstart"].params["TZID"] == "Europe/London"

    # The subscribe URL serves the same calendar.
    feed = slack_http.get(f"/calendar/{view.calendar_token}.ics")
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("text/calendar")
    assert feed.content == upload.content
