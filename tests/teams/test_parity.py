"""What Teams users meet where Teams differs: help that lists only what works there, a
side sync that says why it is not there, references forgotten when bridgebot is removed,
and roster lookups made once per team."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.deps import Deps
from bot.notify import DeliveryError
from bot.replies import message
from bot.router import OnlyOn
from handlers.teams.models import TeamsConversation
from tests.app_scheduler import app_scheduler
from tests.clock import Clock
from tests.teams.activities import (
    TENANT_A,
    bot_added,
    bot_removed_from_chat,
    group_chat,
    members_added,
    person,
    personal,
    uninstalled,
)
from tests.teams.conftest import ADMIN, ALICE, GENERAL, NOW, SHARED, TEAM_A, Teams, card_text


def test_teams_help_lists_only_what_works_in_teams(teams: Teams, teams_deps: Deps) -> None:
    (answer,) = teams.say("help", ALICE)
    shown = card_text(answer.card)
    commands = teams_deps.router.commands()
    slack_only = [
        line
        for command in commands
        for line in command.help_lines
        if isinstance(line, OnlyOn) and "teams" not in line.platforms
    ]
    assert "/bridge sync: set sides from the Marketing and IT user groups now (admins)" in (
        slack_only
    )
    for line in slack_only:
        assert line not in shown
    # Everything else each command declares is there, Explain jargon included.
    for command in commands:
        for shown_line in command.help_for("teams"):
            assert shown_line in shown, shown_line
    assert "Explain jargon" in shown


def test_side_sync_in_teams_says_why_it_is_not_there(teams: Teams) -> None:
    (answer,) = teams.say("bridge sync", ADMIN)
    assert card_text(answer.card).startswith(
        "Side sync reads Slack user groups, which this platform does not have: "
        "everyone chooses their side with /bridge side marketing|it|other."
    )


def references(deps: Deps) -> dict[str, tuple[str, str | None]]:
    with deps.session_factory() as session:
        rows = session.execute(select(TeamsConversation)).scalars()
        return {row.ref: (row.kind, row.conversation_id) for row in rows}


def test_removed_from_a_group_chat_it_forgets_the_chat(teams: Teams, teams_deps: Deps) -> None:
    chat = group_chat("19:meeting-chat-0000000000@thread.v2", name="Launch crew")
    teams.say("bridge side it", ALICE, chat)
    assert references(teams_deps)[chat.conversation_id] == ("chat", chat.conversation_id)

    teams.post(bot_removed_from_chat(teams.connector.service_url, ALICE, chat))

    assert chat.conversation_id not in references(teams_deps)
    # A post there is refused as unknown, without a call to Teams.
    notifier = app_scheduler(teams.client).notifier
    assert teams.client.portal is not None
    calls = len(teams.connector.calls)
    with pytest.raises(DeliveryError):
        teams.client.portal.call(notifier.post, TENANT_A, chat.conversation_id, message("hi"))
    assert len(teams.connector.calls) == calls
    # Added again, it remembers the chat again.
    teams.say("bridge side it", ALICE, chat)
    assert chat.conversation_id in references(teams_deps)


def test_a_personal_uninstall_forgets_the_1_1_chat(teams: Teams, teams_deps: Deps) -> None:
    teams.say("bridge side it", ALICE)
    chat = personal(ALICE).conversation_id
    assert references(teams_deps)[ALICE.aad] == ("person", chat)

    teams.post(uninstalled(teams.connector.service_url, ALICE, personal(ALICE)))

    assert references(teams_deps)[ALICE.aad] == ("person", None)
    # Her next message there stores it again.
    teams.say("bridge side", ALICE)
    assert references(teams_deps)[ALICE.aad] == ("person", chat)


def test_uninstalled_from_a_group_chat_forgets_it_too(teams: Teams, teams_deps: Deps) -> None:
    chat = group_chat("19:other-chat-000000000000@thread.v2", name="Ops")
    teams.say("bridge side it", ALICE, chat)
    teams.post(uninstalled(teams.connector.service_url, ALICE, chat))
    assert chat.conversation_id not in references(teams_deps)


def test_a_person_no_roster_has_is_looked_up_once_per_team_and_remembered(
    teams: Teams, teams_deps: Deps, clock: Clock
) -> None:
    teams.connector.channels[TEAM_A] = [
        {"id": TEAM_A, "name": None},
        {"id": SHARED.channel_id, "name": "marketing-it"},
        {"id": "19:third@thread.tacv2", "name": "third"},
    ]
    teams.post(bot_added(teams.connector.service_url, ADMIN, GENERAL))
    stranger = person("Stranger", 9)
    notifier = app_scheduler(teams.client).notifier
    portal = teams.client.portal
    assert portal is not None

    def reach() -> None:
        with pytest.raises(DeliveryError, match="cannot reach"):
            portal.call(notifier.post, TENANT_A, stranger.aad, message("hello"))

    reach()
    # Three channels of one team: its roster is asked once.
    assert len(teams.connector.of_kind("member")) == 1
    reach()
    reach()
    assert len(teams.connector.of_kind("member")) == 1  # not found: remembered
    clock.now = NOW + timedelta(minutes=11)
    reach()
    assert len(teams.connector.of_kind("member")) == 2  # asked again after a while
    # Joining the team makes them known at once, and reachable.
    teams.connector.add_member(TEAM_A, stranger.account())
    teams.post(members_added(teams.connector.service_url, ADMIN, GENERAL, [stranger]))
    sent = portal.call(notifier.post, TENANT_A, stranger.aad, message("hello"))
    assert sent


def test_the_teams_settings_form_has_no_slack_user_group_fields(teams: Teams) -> None:
    (form,) = teams.say("bridge settings", ADMIN)
    inputs = {node["id"]: node.get("value") for node in form.card["body"] if "id" in node}
    assert "in_timezone" in inputs
    assert not [name for name in inputs if "usergroup" in name]
    saved = teams.click(form, "Save", ADMIN, inputs=inputs | {"in_label_it": "Engineering"})
    assert "Saved." in card_text(saved["value"])
