"""/bridge forget-me, export-me, settings and sync over signed HTTP, as a person sees them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.deps import Deps
from bot.models import (
    BoardPost,
    Celebration,
    ChallengeHelper,
    GlossaryTerm,
    Occurrence,
    Person,
    Side,
    Standup,
    StandupAnswer,
    WorkspaceSettings,
)
from bot.services import board, glossary, occurrences, people, pulse, standups, workspaces
from bot.services.glossary import TermDraft
from bot.services.standups import StandupDraft
from schedules.jobs import run_tick
from tests.app_scheduler import app_scheduler
from tests.conftest import SlackStart
from tests.fake_slack import TEAM_ID, FakeSlack
from tests.signing import (
    block_actions_body,
    modal_submission_body,
    slack_headers,
    slash_command_body,
)

# A Wednesday in the future: the app's own scheduler waits for it, so no tick interferes.
NOW = datetime(2030, 3, 6, 12, 0, tzinfo=UTC)
ADMIN, ALICE, BOB = "U0ADA", "U0ALICE", "U0BOB"


@pytest.fixture
def slack_start() -> SlackStart:
    return SlackStart(now=NOW, admins=(ADMIN,), members=(ALICE, BOB))


def command(client: TestClient, fake: FakeSlack, text: str, user: str = ALICE) -> dict[str, Any]:
    """Run `/bridge TEXT` and return the private reply (sent to the response_url)."""
    before = len(fake.calls_to("response_url"))
    body = slash_command_body("/bridge", text, response_url=fake.response_url(), user_id=user)
    assert (
        client.post("/slack/events", content=body, headers=slack_headers(body)).status_code == 200
    )
    return fake.wait_for("response_url", count=before + 1)[before].params


def blocks_of(params: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = params.get("blocks") or []
    return json.loads(blocks) if isinstance(blocks, str) else list(blocks)


def buttons(params: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in blocks_of(params) if b["type"] == "actions" for e in b["elements"]]


@dataclass
class Seeded:
    alice_win: int
    alice_challenge: int
    bob_win: int
    bob_challenge: int
    standup_id: int


def seed(deps: Deps) -> Seeded:
    """Alice and Bob, each with a side, posts, celebrations, help, answers, DMs and a term."""
    with deps.session_factory.begin() as session:
        workspaces.ensure_workspace(
            session=session, workspace_id=TEAM_ID, platform="slack", timezone="UTC"
        )
        people.set_side(session=session, workspace_id=TEAM_ID, user_ref=ALICE, side=Side.MARKETING)
        people.set_side(session=session, workspace_id=TEAM_ID, user_ref=BOB, side=Side.IT)
        standup = standups.create(
            session=session,
            workspace_id=TEAM_ID,
            draft=StandupDraft(
                name="Launch sync", channel_ref="C0STAND", weekdays="thu", local_time="10:00",
                timezone="UTC", mode="async", participants=f"{ALICE},{BOB}",
            ),
            creator_ref=ALICE,
            now=NOW - timedelta(days=7),
            secret_key=deps.secret_key,
        )  # fmt: skip
        for user, answer in ((ALICE, "alice answered the stand-up"), (BOB, "bob answered it")):
            session.add(
                StandupAnswer(
                    workspace_id=TEAM_ID,
                    standup_id=standup.id,
                    local_date=date(2030, 2, 28),
                    user_ref=user,
                    answers=[answer, "", ""],
                    shareable={},
                    shared=[],
                )  # fmt: skip
            )

        def post(kind: str, author: str, text: str) -> int:
            return board.create_post(
                session=session, workspace_id=TEAM_ID, kind=kind, author_ref=author, text=text,
                channel_ref="C0SHARED", now=NOW - timedelta(days=1),
            ).id  # fmt: skip

        ids = Seeded(
            alice_win=post("win", ALICE, "Alice shipped the spring campaign"),
            alice_challenge=post("challenge", ALICE, "Alice needs cleaner lead data"),
            bob_win=post("win", BOB, "Bob cut page load to one second"),
            bob_challenge=post("challenge", BOB, "Bob needs launch dates earlier"),
            standup_id=standup.id,
        )
        for who, win in ((ALICE, ids.bob_win), (BOB, ids.alice_win)):
            board.toggle_celebration(
                session=session, workspace_id=TEAM_ID, post_id=win, user_ref=who, now=NOW
            )
        for who, challenge in ((ALICE, ids.bob_challenge), (BOB, ids.alice_challenge)):
            board.offer_help(
                session=session, workspace_id=TEAM_ID, post_id=challenge, helper_ref=who, now=NOW
            )
        for who in (ALICE, BOB):
            occurrences.schedule(
                session=session, workspace_id=TEAM_ID, kind="post", subject_ref=f"dm:{who}",
                due_at=NOW + timedelta(days=3), recipient_ref=who,
                payload={"conversation_ref": who, "text": "a reminder"},
            )  # fmt: skip
        for author, name in ((ALICE, "Zorblax"), (BOB, "Quuxify")):
            glossary.add_term(
                session=session, workspace_id=TEAM_ID,
                draft=TermDraft(name=name, definition=f"{name} is a made-up word."),
                author_ref=author, now=NOW - timedelta(days=2),
            )  # fmt: skip
    return ids


def rows(deps: Deps, model: type, *columns: Any) -> list[tuple[Any, ...]]:
    with deps.session_factory() as session:
        return sorted(
            (tuple(row) for row in session.execute(select(*columns).select_from(model))),
            key=repr,
        )


# -- forget-me ---------------------------------------------------------------------------


def test_forget_me_asks_first_then_forgets_only_the_caller(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    ids = seed(slack_deps)
    with slack_deps.session_factory.begin() as session:  # a side sync she asked for
        occurrences.schedule(
            session=session, workspace_id=TEAM_ID, kind="sides.sync",
            subject_ref=f"manual:{ALICE}", due_at=NOW + timedelta(hours=1),
            payload={"requested_by": ALICE},
        )  # fmt: skip

    asked = command(slack_http, fake_slack, "forget-me")
    assert asked["response_type"] == "ephemeral"
    assert "Delete everything bridgebot stores about you" in asked["text"]
    confirm = next(b for b in buttons(asked) if b["action_id"].startswith("bridge_forget_confirm"))
    assert confirm["style"] == "danger"
    assert rows(slack_deps, Person, Person.user_ref) == [(ALICE,), (BOB,)]  # nothing yet

    click = block_actions_body(
        confirm["action_id"], confirm["value"], response_url=fake_slack.response_url("click")
    )
    assert (
        slack_http.post("/slack/events", content=click, headers=slack_headers(click)).status_code
        == 200
    )
    done = fake_slack.wait_for("response_url", count=2)[1].params
    assert done["replace_original"] is True
    assert "bridgebot has forgotten you here" in done["text"]

    # Deleted: Alice's person record, answers, celebrations, offers of help, pending DMs.
    assert rows(slack_deps, Person, Person.user_ref, Person.side) == [(BOB, "it")]
    assert rows(slack_deps, StandupAnswer, StandupAnswer.user_ref) == [(BOB,)]
    assert rows(slack_deps, Celebration, Celebration.user_ref, Celebration.post_id) == [
        (BOB, ids.alice_win)
    ]
    assert rows(
        slack_deps, ChallengeHelper, ChallengeHelper.helper_ref, ChallengeHelper.post_id
    ) == [(BOB, ids.alice_challenge)]
    # (The app's own scheduler may meanwhile plan the stand-up's channel posts: no recipient.)
    personal = [
        row
        for row in rows(slack_deps, Occurrence, Occurrence.recipient_ref, Occurrence.status)
        if row[0]
    ]
    assert personal == [(BOB, "pending")]
    subjects = [subject for (subject,) in rows(slack_deps, Occurrence, Occurrence.subject_ref)]
    assert f"manual:{ALICE}" not in subjects  # the sync would have reported to her
    # Kept for the team but without her name: her posts and her glossary term.
    assert rows(
        slack_deps, BoardPost, BoardPost.id, BoardPost.author_ref, BoardPost.text
    ) == sorted(
        [
            (ids.alice_win, None, "Alice shipped the spring campaign"),
            (ids.alice_challenge, None, "Alice needs cleaner lead data"),
            (ids.bob_win, BOB, "Bob cut page load to one second"),
            (ids.bob_challenge, BOB, "Bob needs launch dates earlier"),
        ],
        key=repr,
    )
    assert rows(slack_deps, GlossaryTerm, GlossaryTerm.name, GlossaryTerm.author_ref) == sorted(
        [("Quuxify", BOB), ("Zorblax", None)], key=repr
    )
    assert rows(slack_deps, Standup, Standup.participants, Standup.creator_ref) == [([BOB], None)]


def test_forget_me_shows_posted_wins_and_challenges_again_without_the_caller(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    ids = seed(slack_deps)
    with slack_deps.session_factory.begin() as session:
        for n, post_id in enumerate(
            (ids.alice_win, ids.alice_challenge, ids.bob_win, ids.bob_challenge)
        ):
            board.record_message(
                session=session, workspace_id=TEAM_ID, post_id=post_id,
                channel_ref="C0SHARED", message_ref=f"1700000000.00000{n}", permalink=None,
            )  # fmt: skip
    asked = command(slack_http, fake_slack, "forget-me")
    confirm = next(b for b in buttons(asked) if b["action_id"].startswith("bridge_forget_confirm"))
    click = block_actions_body(
        confirm["action_id"], confirm["value"], response_url=fake_slack.response_url("click")
    )
    slack_http.post("/slack/events", content=click, headers=slack_headers(click))

    # Her own posts (by her name) and Bob's (she celebrated one, helped with the other).
    updates = fake_slack.wait_for("chat.update", count=4)
    assert sorted(u.params["ts"] for u in updates) == [f"1700000000.00000{n}" for n in range(4)]
    for update in updates:
        assert ALICE not in json.dumps(update.params)


# -- export-me ---------------------------------------------------------------------------


def test_export_me_sends_a_json_file_of_the_callers_data_by_dm(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    ids = seed(slack_deps)
    with slack_deps.session_factory.begin() as session:
        board.resolve(
            session=session, workspace_id=TEAM_ID, post_id=ids.bob_challenge, user_ref=ALICE,
            now=NOW,
        )  # fmt: skip
        pulse.create_adhoc(
            session=session, workspace_id=TEAM_ID, question="Pizza or sushi?",
            options=["Pizza", "Sushi"], author_ref=ALICE, channel_ref="C0SHARED", now=NOW,
        )  # fmt: skip

    reply = command(slack_http, fake_slack, "export-me")
    assert "sent as a file in your DM" in reply["text"]
    fake_slack.wait_for("files.completeUploadExternal")
    (opened,) = fake_slack.calls_to("conversations.open")
    assert opened.params["users"] == ALICE
    (upload,) = fake_slack.completed_uploads()
    assert upload.channel == f"D{ALICE}"
    assert upload.filename.endswith(".json")

    data = json.loads(upload.content)
    assert data["user"] == ALICE
    assert [p["side"] for p in data["person"]] == ["marketing"]
    assert sorted(p["text"] for p in data["posts"]) == [
        "Alice needs cleaner lead data",
        "Alice shipped the spring campaign",
    ]
    assert [c["post_id"] for c in data["celebrations"]] == [ids.bob_win]
    assert [h["post_id"] for h in data["challenges_helped"]] == [ids.bob_challenge]
    assert [a["answers"][0] for a in data["standup_answers"]] == ["alice answered the stand-up"]
    assert [t["name"] for t in data["glossary_terms_added"]] == ["Zorblax"]
    assert [s["name"] for s in data["standups_created"]] == ["Launch sync"]
    assert data["standups_taking_part"] == [{"number": 1, "name": "Launch sync"}]
    assert [c["post_id"] for c in data["challenges_resolved"]] == [ids.bob_challenge]
    assert [p["questions"] for p in data["polls_asked"]] == [["Pizza or sushi?"]]
    # Nothing of Bob's.
    exported = upload.content.decode()
    for bobs in ("Bob cut page load", "Bob needs launch dates", "Quuxify", "bob answered", BOB):
        assert bobs not in exported, bobs


# -- settings --------------------------------------------------------------------------------


def stored_settings(deps: Deps) -> WorkspaceSettings:
    with deps.session_factory() as session:
        return session.execute(
            select(WorkspaceSettings).where(WorkspaceSettings.workspace_id == TEAM_ID)
        ).scalar_one()


def test_settings_are_for_admins_and_the_threshold_never_goes_below_three(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    refused = command(slack_http, fake_slack, "settings", user=ALICE)
    assert "Only workspace admins can change workspace settings." in refused["text"]
    assert fake_slack.calls_to("views.open") == []

    command_body = slash_command_body(
        "/bridge", "settings", response_url=fake_slack.response_url(), user_id=ADMIN
    )
    slack_http.post("/slack/events", content=command_body, headers=slack_headers(command_body))
    view = fake_slack.wait_for("views.open")[0].params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["callback_id"] == "bridge_settings_form"

    def submit(answers: dict[str, str | list[str]], user: str = ADMIN) -> dict[str, Any]:
        body = modal_submission_body(view, answers, user_id=user)
        response = slack_http.post("/slack/events", content=body, headers=slack_headers(body))
        assert response.status_code == 200
        return response.json() if response.content else {}

    answer = submit({"anonymity_threshold": "2", "label_marketing": "Growth"})
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == ["anonymity_threshold"]
    assert "never below 3" in answer["errors"]["anonymity_threshold"]
    assert stored_settings(slack_deps).label_marketing == "Marketing"

    # A member who forges the form's submission is told no and changes nothing.
    submit({"label_marketing": "Hijacked"}, user=ALICE)
    (told,) = fake_slack.wait_for("chat.postEphemeral")
    assert told.params["user"] == ALICE
    assert "Only workspace admins" in told.params["text"]
    assert stored_settings(slack_deps).label_marketing == "Marketing"

    answer = submit(
        {
            "label_marketing": "Growth",
            "label_it": "Engineering",
            "anonymity_threshold": "5",
            "pulse_audience": "marketing_it",
        }
    )
    assert "errors" not in answer
    saved = fake_slack.wait_for("chat.postEphemeral", count=2)[1].params
    assert saved["user"] == ADMIN
    assert "Saved." in saved["text"] and "the pulse asks marketing and it only" in saved["text"]
    row = stored_settings(slack_deps)
    assert (row.label_marketing, row.label_it, row.anonymity_threshold, row.pulse_audience) == (
        "Growth",
        "Engineering",
        5,
        "marketing_it",
    )

    # Later replies use the new names.
    reply = command(slack_http, fake_slack, "side marketing", user=ALICE)
    assert "you are on the *Growth* side" in json.dumps(blocks_of(reply))
    assert "Marketing" not in reply["text"]
    reply = command(slack_http, fake_slack, "side engineering", user=BOB)
    assert "Done: you are on the Engineering side." in reply["text"]


# -- side sync ----------------------------------------------------------------------------


def test_sync_sets_sides_from_user_groups_and_tells_the_admin(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    fake_slack.usergroups = {
        "S0MARKETING": ["U0MK1", "U0MK2", "U0BOTH"],
        "S0IT": ["U0IT1", "U0BOTH", ALICE],
    }
    with slack_deps.session_factory.begin() as session:
        workspaces.ensure_workspace(
            session=session, workspace_id=TEAM_ID, platform="slack", timezone="UTC"
        )
        row = session.get(WorkspaceSettings, TEAM_ID)
        assert row is not None
        row.usergroup_marketing, row.usergroup_it = "S0MARKETING", "S0IT"
        for user, side in ((ALICE, Side.MARKETING), ("U0BOTH", Side.OTHER)):
            people.set_side(session=session, workspace_id=TEAM_ID, user_ref=user, side=side)

    refused = command(slack_http, fake_slack, "sync", user=BOB)
    assert "Only workspace admins can sync sides." in refused["text"]

    reply = command(slack_http, fake_slack, "sync", user=ADMIN)
    assert "you will get a DM when it is done" in reply["text"]
    assert slack_http.portal is not None
    slack_http.portal.call(run_tick, app_scheduler(slack_http))

    dm = next(
        call for call in fake_slack.wait_for("chat.postMessage") if call.params["channel"] == ADMIN
    )
    assert "Sides synced from user groups: 2 marketing, 2 it" in dm.params["text"]
    assert "1 in both groups left unchanged" in dm.params["text"]
    asked = {call.params["usergroup"] for call in fake_slack.calls_to("usergroups.users.list")}
    assert asked == {"S0MARKETING", "S0IT"}
    assert rows(slack_deps, Person, Person.user_ref, Person.side) == sorted(
        [
            (ALICE, "it"),
            ("U0BOTH", "other"),
            ("U0IT1", "it"),
            ("U0MK1", "marketing"),
            ("U0MK2", "marketing"),
        ],
        key=repr,
    )
    assert (
        len([c for c in fake_slack.calls_to("chat.postMessage") if c.params["channel"] == ADMIN])
        == 1
    )
