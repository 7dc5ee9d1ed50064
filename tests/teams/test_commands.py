"""Commands typed to bridgebot in Teams: in a 1:1 chat, or after @bridgebot in a channel."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.deps import Deps
from bot.models import BoardPost, Person, TimeOff, Workspace
from tests.teams.activities import TENANT_A, personal
from tests.teams.conftest import ADMIN, ALICE, BOB, SHARED, Teams, actions, card_text

DM = personal(ALICE).conversation_id  # the 1:1 chat Teams opens for Alice


def titles(card: dict[str, Any]) -> list[str]:
    return [action["title"] for action in actions(card)]


def test_jargon_in_a_1_1_chat_answers_there_with_the_glossary_card(teams: Teams) -> None:
    (answer,) = teams.say("jargon CAC", ALICE)
    assert answer.conversation == personal(ALICE).conversation_id
    shown = card_text(answer.card)
    assert "Customer acquisition cost" in shown and "For Marketing" in shown and "For IT" in shown
    assert titles(answer.card)[-2:] == ["Share in channel", "Edit"]
    # The bot authenticates to the Bot Connector with the token its provider gave.
    assert answer.headers["Authorization"].startswith("Bearer ey")
    assert answer.body["summary"].startswith("Customer acquisition cost")


def test_typos_are_understood_and_unknown_terms_can_be_added(teams: Teams) -> None:
    (answer,) = teams.say("jargon atribution", ALICE)
    assert card_text(answer.card).startswith("Attribution")
    (unknown,) = teams.say("jargon zqxwv", ALICE)
    assert "Add this term" in titles(unknown.card)


def test_a_private_answer_to_a_channel_command_goes_to_the_persons_1_1_chat(teams: Teams) -> None:
    (answer,) = teams.say("jargon CAC", ALICE, SHARED)
    (opened,) = teams.connector.of_kind("create_conversation")
    assert opened.body["members"] == [{"id": ALICE.member_id}]
    assert opened.body["tenantId"] == TENANT_A and opened.body["isGroup"] is False
    assert answer.conversation == DM
    assert teams.connector.sent(SHARED.channel_id) == []
    # Its buttons still act for the channel the command was typed in.
    share = next(a for a in actions(answer.card) if a["title"] == "Share in channel")
    assert share["data"]["c"] == SHARED.channel_id
    # The 1:1 chat is remembered: the next private answer needs no new conversation.
    teams.say("jargon SLA", ALICE, SHARED)
    assert len(teams.connector.of_kind("create_conversation")) == 1


def test_help_lists_every_command(teams: Teams) -> None:
    for typed in ("help", ""):
        (answer,) = teams.say(typed, ALICE, SHARED) if typed == "" else teams.say(typed, ALICE)
        shown = card_text(answer.card)
        for command in ("/jargon", "/win", "/challenge", "/standup", "/pulse", "/bridge side"):
            assert command in shown
        assert "In Teams, type the commands without the slash" in shown


def test_bridge_side_it_sets_the_side_in_the_tenants_workspace(
    teams: Teams, teams_deps: Deps
) -> None:
    (answer,) = teams.say("bridge side it", BOB)
    assert card_text(answer.card) == "Done: you are on the IT side."
    with teams_deps.session_factory() as session:
        row = session.execute(select(Person).where(Person.user_ref == BOB.aad)).scalar_one()
        assert (row.workspace_id, row.side, row.display_name) == (TENANT_A, "it", "Bob")
        assert session.get(Workspace, TENANT_A).platform == "teams"  # type: ignore[union-attr]


def test_bridge_away_and_region_in_teams_are_the_persons_own(
    teams: Teams, teams_deps: Deps
) -> None:
    (answer,) = teams.say("bridge away 3 days", BOB)
    assert card_text(answer.card).startswith("Away ")
    (refused,) = teams.say("bridge region US-XX", BOB)
    assert "US has no region “XX”. Its regions: AK" in card_text(refused.card)
    (done,) = teams.say("bridge region IN", BOB)
    assert "your holiday calendar is IN (yours)" in card_text(done.card)
    with teams_deps.session_factory() as session:
        row = session.execute(select(Person).where(Person.user_ref == BOB.aad)).scalar_one()
        assert (row.workspace_id, row.region) == (TENANT_A, "IN")
        assert session.execute(select(TimeOff.user_ref)).scalars().all() == [BOB.aad]
    (shown,) = teams.say("bridge", BOB)
    assert "You are away: " in card_text(shown.card)


def test_unknown_commands_and_bad_arguments_get_the_usage(teams: Teams) -> None:
    (answer,) = teams.say("dance now", ALICE)
    assert "There is no /dance command here" in card_text(answer.card)
    assert answer.card["body"][0]["style"] == "attention"
    (answer,) = teams.say("bridge side sales", ALICE)
    assert "is not a side" in card_text(answer.card) and "Usage: /bridge side" in card_text(
        answer.card
    )


def test_only_admins_choose_the_shared_channel_here(teams: Teams) -> None:
    (refused,) = teams.say("bridge channel here", ALICE, SHARED)
    assert "Only workspace admins" in card_text(refused.card)
    (done,) = teams.say("bridge channel here", ADMIN, SHARED)
    assert "will be posted in #marketing-it" in card_text(done.card)


def test_win_posts_to_the_shared_channel_with_author_side_and_literal_text(
    teams: Teams, teams_deps: Deps
) -> None:
    teams.say("bridge channel here", ADMIN, SHARED)
    teams.say("bridge side marketing", ALICE)
    typed = "Launch went live **ahead** of plan <at>Everyone</at> [x](https://evil.example)"
    # Teams escapes angle brackets a person types; a real @mention arrives as <at>Name</at>.
    sent = typed.replace("<", "&lt;").replace(">", "&gt;") + " thanks <at>Bob</at>"
    mention = {"type": "mention", "text": "<at>Bob</at>", "mentioned": BOB.account()}
    confirmation, post = teams.say(f"win {sent}", ALICE, mentions=[mention])
    assert confirmation.conversation == personal(ALICE).conversation_id
    assert "Your win is saved and on its way to #marketing-it" in card_text(confirmation.card)
    assert post.conversation == SHARED.channel_id
    shown = card_text(post.card)
    assert "Win from @Alice (Marketing)" in shown and f"{typed} thanks @Bob" in shown
    assert titles(post.card) == ["Celebrate"]
    with teams_deps.session_factory() as session:
        stored = session.execute(select(BoardPost)).scalar_one()
        assert (stored.channel_ref, stored.message_ref) == (SHARED.channel_id, post.message_id)


def test_challenge_posts_with_help_buttons_and_lists(teams: Teams) -> None:
    teams.say("bridge channel here", ADMIN, SHARED)
    _, post = teams.say("challenge We need the tracking plan reviewed", BOB, SHARED)
    assert post.conversation == SHARED.channel_id
    assert titles(post.card) == ["I can help", "Resolved"]
    (listed,) = teams.say("challenge list open", BOB)
    assert "We need the tracking plan reviewed" in card_text(listed.card)


def test_win_without_a_shared_channel_is_refused_and_nothing_is_posted(teams: Teams) -> None:
    (answer,) = teams.say("win Nothing to see", ALICE)
    assert "There is no shared channel yet" in card_text(answer.card)
    assert [c.conversation for c in teams.connector.sent()] == [personal(ALICE).conversation_id]


def test_standup_list_and_pulse(teams: Teams) -> None:
    (listed,) = teams.say("standup list", ALICE)
    assert "No stand-ups yet" in card_text(listed.card)
    (latest,) = teams.say("pulse", ALICE)
    assert card_text(latest.card) == "No pulse results yet."


def test_a_retried_message_is_handled_once(teams: Teams) -> None:
    from tests.teams.activities import message

    activity = message(teams.connector.service_url, "bridge side it", ALICE, personal(ALICE))
    teams.post(activity)
    teams.post(activity)
    assert len(teams.connector.sent()) == 1


def test_the_shared_channel_can_be_an_at_mentioned_channel(teams: Teams) -> None:
    other = "19:other-a000000000000000000000000@thread.tacv2"
    mention = {
        "type": "mention",
        "text": "<at>design</at>",
        "mentioned": {"id": other, "name": "design"},
    }
    (done,) = teams.say("bridge channel <at>design</at>", ADMIN, SHARED, mentions=[mention])
    assert "will be posted in #design" in card_text(done.card)
    teams.say("bridge side it", ALICE)
    _, post = teams.say("win Mentioned channel works", ALICE)
    assert post.conversation == other
