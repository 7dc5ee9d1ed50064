"""Proactive messages in Teams: references stored at install, reminders and questions sent
through the scheduler's exactly-once occurrences, 1:1 chats opened as needed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.deps import Deps
from bot.models import Occurrence
from handlers.teams.connector import MAX_ATTEMPTS
from handlers.teams.models import TeamsConversation
from schedules.jobs import TickReport, run_tick
from tests.app_scheduler import app_scheduler
from tests.clock import Clock
from tests.teams.activities import (
    bot_added,
    bot_removed,
    channel_deleted,
    members_added,
    person,
    personal,
)
from tests.teams.conftest import (
    ADMIN,
    ALICE,
    BOB,
    GENERAL,
    SHARED,
    TEAM_A,
    Teams,
    actions,
    card_text,
)

CAROL = person("Carol", 4)  # in the team, never talked to bridgebot
THU_0915 = datetime(2026, 3, 5, 9, 15, tzinfo=UTC)
THU_0930 = datetime(2026, 3, 5, 9, 30, tzinfo=UTC)


def tick(teams: Teams, deps: Deps, moment: datetime) -> TickReport:
    """One scheduler pass at `moment`, on the app's own event loop.

    It counts as the app scheduler's job, as every pass does in production, so a wake-up
    meanwhile (a put-off message's turn) waits for it instead of starting a second pass
    that would race this one for the same deliveries.
    """
    assert isinstance(deps.clock, Clock)  # teams_deps runs on the test's clock
    deps.clock.now = moment
    scheduler = app_scheduler(teams.client)

    async def as_the_schedulers_job() -> TickReport:
        while scheduler.jobs_in_progress:  # its own start-up pass
            await asyncio.sleep(0.01)
        scheduler.jobs_in_progress += 1
        try:
            return await run_tick(scheduler, moment)
        finally:
            scheduler.jobs_in_progress -= 1

    assert teams.client.portal is not None
    report: TickReport = teams.client.portal.call(as_the_schedulers_job)
    return report


def install_in_team(teams: Teams) -> None:
    teams.connector.channels[TEAM_A] = [
        {"id": TEAM_A, "name": None},
        {"id": SHARED.channel_id, "name": "marketing-it", "type": "standard"},
    ]
    teams.connector.add_member(TEAM_A, CAROL.account() | {"userPrincipalName": "carol@a.example"})
    teams.post(bot_added(teams.connector.service_url, ADMIN, GENERAL))


def create_standup(teams: Teams, participants: list[str], **changes: str) -> dict[str, Any]:
    """An admin types `standup` in the shared channel and fills in the form (sent by DM)."""
    (form,) = teams.say("standup", ADMIN, SHARED)
    assert form.conversation == personal(ADMIN).conversation_id
    channel_input = next(n for n in form.card["body"] if n.get("id") == "in_channel")
    assert channel_input["value"] == SHARED.channel_id
    inputs = {
        "in_name": "Marketing + IT", "in_channel": SHARED.channel_id, "in_weekdays": "thu",
        "in_time": "09:30", "in_timezone": "UTC", "in_mode": "meeting",
        "in_call_link": "https://meet.example/standup", "in_questions": "A win?\nA challenge?",
        "in_audience": "chosen", "in_participants": ",".join(participants), "in_lead": "15",
        "in_deadline": "120",
    } | {f"in_{name}": value for name, value in changes.items()}  # fmt: skip
    answer = teams.click(
        form, "Create", ADMIN, personal(ADMIN), inputs=inputs, message_id=form.message_id
    )
    assert "Created stand-up" in card_text(answer["value"]), card_text(answer["value"])
    return answer


def test_installing_in_a_team_stores_its_channels_and_says_hello(
    teams: Teams, teams_deps: Deps
) -> None:
    install_in_team(teams)
    (hello,) = teams.connector.sent(TEAM_A)
    assert "Hello from bridgebot" in card_text(hello.card)
    with teams_deps.session_factory() as session:
        rows = {r.ref: r for r in session.execute(select(TeamsConversation)).scalars()}
    assert rows[SHARED.channel_id].name == "marketing-it"
    assert rows[TEAM_A].name == "General" and rows[TEAM_A].team_id == TEAM_A
    assert rows[SHARED.channel_id].service_url == teams.connector.service_url
    assert rows[ADMIN.aad].member_id == ADMIN.member_id
    # Channels are known by name, so the shared channel can be chosen from a 1:1 chat.
    (done,) = teams.say("bridge channel #marketing-it", ADMIN)
    assert "will be posted in #marketing-it" in card_text(done.card)


def test_members_added_to_a_team_can_be_messaged_later(teams: Teams, teams_deps: Deps) -> None:
    teams.post(members_added(teams.connector.service_url, ADMIN, GENERAL, [BOB]))
    with teams_deps.session_factory() as session:
        bob = session.execute(
            select(TeamsConversation).where(TeamsConversation.ref == BOB.aad)
        ).scalar_one()
    assert (bob.kind, bob.member_id, bob.conversation_id) == ("person", BOB.member_id, None)


def test_meeting_reminders_go_once_to_the_channel_and_each_participant(
    teams: Teams, teams_deps: Deps
) -> None:
    install_in_team(teams)
    teams.say("bridge side marketing", ALICE)  # Alice talks to bridgebot in her 1:1 chat
    create_standup(teams, [ALICE.aad, CAROL.aad])
    tick(teams, teams_deps, datetime(2026, 3, 5, 9, 0, tzinfo=UTC))
    before = len(teams.connector.sent())

    report = tick(teams, teams_deps, THU_0915)
    assert report.failed == 0
    sent = teams.connector.sent()[before:]
    by_place = {call.conversation: call for call in sent}
    assert set(by_place) == {
        SHARED.channel_id,
        personal(ALICE).conversation_id,
        personal(CAROL).conversation_id,
    }
    channel_post = card_text(by_place[SHARED.channel_id].card)
    assert "Marketing + IT starts at 09:30 (UTC)" in channel_post and "A challenge?" in channel_post
    assert "Join the call: https://meet.example/standup" in channel_post
    dm = card_text(by_place[personal(ALICE).conversation_id].card)
    assert "You are taking part in #marketing-it's joint stand-up." in dm
    # Carol was found in the team's roster by her Entra id and a 1:1 chat was opened.
    lookups = teams.connector.of_kind("member")
    assert [c.path for c in lookups] == [f"/v3/conversations/{TEAM_A}/members/{CAROL.aad}"]
    opened = [c.body["members"] for c in teams.connector.of_kind("create_conversation")]
    assert [{"id": CAROL.member_id}] in opened

    # Exactly once: later passes (and restarts) send nothing more for this occurrence.
    tick(teams, teams_deps, THU_0915)
    tick(teams, teams_deps, datetime(2026, 3, 5, 9, 16, tzinfo=UTC))
    assert len(teams.connector.sent()) == before + 3


def test_async_questions_arrive_by_dm_and_are_answered_in_a_form(
    teams: Teams, teams_deps: Deps
) -> None:
    install_in_team(teams)
    teams.say("bridge side it", BOB)
    create_standup(teams, [BOB.aad], mode="async")
    tick(teams, teams_deps, datetime(2026, 3, 5, 9, 0, tzinfo=UTC))
    tick(teams, teams_deps, THU_0915)
    before = len(teams.connector.sent())
    tick(teams, teams_deps, THU_0930)
    (questions,) = [
        c
        for c in teams.connector.sent()[before:]
        if c.conversation == personal(BOB).conversation_id
    ]
    assert "your answers, please" in card_text(questions.card)

    notice = teams.click(questions, "Answer", BOB)
    assert notice["value"].endswith("the form is below.")
    form = teams.connector.sent()[-1]
    assert form.conversation == personal(BOB).conversation_id
    inputs = {n["id"]: "" for n in form.card["body"] if n.get("id", "").startswith("in_")}
    inputs |= {"in_q0": "Shipped the consent banner", "in_q1": "Waiting on copy"}
    saved = teams.click(
        form,
        next(a["title"] for a in actions(form.card) if a["verb"] == "bridgebot.form"),
        BOB,
        inputs=inputs,
    )
    assert saved["type"] == "application/vnd.microsoft.card.adaptive"
    assert "Thanks! Your answers for Marketing + IT are in" in card_text(saved["value"])
    # The form's message in the 1:1 chat now shows the confirmation for good.
    assert teams.connector.updates(form.message_id)[-1].card == saved["value"]


def test_a_person_bridgebot_cannot_reach_is_recorded_not_sent(
    teams: Teams, teams_deps: Deps
) -> None:
    install_in_team(teams)
    stranger = person("Stranger", 9)  # not in any roster bridgebot can ask
    create_standup(teams, [stranger.aad])
    tick(teams, teams_deps, datetime(2026, 3, 5, 9, 0, tzinfo=UTC))
    before = len(teams.connector.sent())
    report = tick(teams, teams_deps, THU_0915)
    assert report.failed == 1
    assert [c.conversation for c in teams.connector.sent()[before:]] == [SHARED.channel_id]
    with teams_deps.session_factory() as session:
        errors = (
            session.execute(
                select(Occurrence.last_error).where(Occurrence.recipient_ref == stranger.aad)
            )
            .scalars()
            .all()
        )
    assert errors and "cannot reach" in str(errors[0])


def alices_standup_planned(teams: Teams, deps: Deps) -> None:
    """A stand-up with Alice, planned: its channel post and her DM are due at 09:15."""
    install_in_team(teams)
    teams.say("bridge side marketing", ALICE)
    create_standup(teams, [ALICE.aad])
    tick(teams, deps, datetime(2026, 3, 5, 9, 0, tzinfo=UTC))


def test_teams_throttling_is_waited_out_and_the_message_sent_once(
    teams: Teams, teams_deps: Deps
) -> None:
    alices_standup_planned(teams, teams_deps)
    teams.connector.fail_next("send", status=429, retry_after=0, times=2)
    before = len(teams.connector.sent())
    report = tick(teams, teams_deps, THU_0915)
    assert report.failed == 0
    attempts = teams.connector.sent()[before:]
    delivered = [c for c in attempts if c.message_id]
    assert sorted(c.conversation for c in delivered) == sorted(
        [SHARED.channel_id, personal(ALICE).conversation_id]
    )
    assert len(attempts) == len(delivered) + 2  # the two throttled attempts


def test_teams_throttling_that_outlasts_the_retries_puts_the_message_off_not_failed(
    teams: Teams, teams_deps: Deps
) -> None:
    alices_standup_planned(teams, teams_deps)
    teams.connector.fail_next(
        "send", status=429, retry_after=0, times=MAX_ATTEMPTS, conversation=SHARED.channel_id
    )
    before = len(teams.connector.sent())

    report = tick(teams, teams_deps, THU_0915)

    # Put back without using an attempt (for the backoff's jittered wait), then sent
    # once Teams let it.
    assert (report.failed, report.deferred) == (0, 1)
    later = tick(teams, teams_deps, THU_0915 + timedelta(seconds=30))
    assert (later.failed, later.deferred) == (0, 0)
    delivered = [c for c in teams.connector.sent()[before:] if c.message_id]
    assert sorted(c.conversation for c in delivered) == sorted(
        [SHARED.channel_id, personal(ALICE).conversation_id]
    )


def test_a_deleted_channel_and_the_channels_of_a_team_bridgebot_left_are_forgotten(
    teams: Teams, teams_deps: Deps
) -> None:
    install_in_team(teams)

    def channels() -> list[str | None]:
        with teams_deps.session_factory() as session:
            return sorted(
                session.execute(
                    select(TeamsConversation.name).where(TeamsConversation.kind == "channel")
                ).scalars(),
                key=str,
            )

    assert channels() == ["General", "marketing-it"]
    teams.post(channel_deleted(teams.connector.service_url, ADMIN, GENERAL, SHARED))
    assert channels() == ["General"]
    (refused,) = teams.say("bridge channel #marketing-it", ADMIN)
    assert "is not a channel" in card_text(refused.card)

    teams.post(bot_removed(teams.connector.service_url, ADMIN, GENERAL))
    assert channels() == []
