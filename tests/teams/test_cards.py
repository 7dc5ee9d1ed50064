"""Card actions in Teams: celebrate, I can help, resolved, pulse votes, forms and sharing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bot.deps import Deps
from bot.models import PulseAnswer
from tests.teams.activities import card_action, personal
from tests.teams.conftest import ADMIN, ALICE, BOB, SHARED, Teams, actions, card_text
from tests.teams.fake_connector import Call


def board_post(teams: Teams, command: str, who: object = ALICE) -> Call:
    """Set the shared channel, post a win or challenge, return the channel message."""
    teams.say("bridge channel here", ADMIN, SHARED)
    *_, post = teams.say(command, who)  # type: ignore[arg-type]
    assert post.conversation == SHARED.channel_id
    return post


def titles(card: dict[str, Any]) -> list[str]:
    return [action["title"] for action in actions(card)]


def test_celebrate_counts_unique_people_and_updates_the_post_for_everyone(teams: Teams) -> None:
    post = board_post(teams, "win We hit 10k sign-ups")
    answer = teams.click(post, "Celebrate", BOB, SHARED)
    (update,) = teams.connector.updates(post.message_id)
    assert update.conversation == SHARED.channel_id
    assert titles(update.card) == ["Celebrate (1)"]
    assert "1 celebrating: @Bob" in card_text(update.card)
    # The person who clicked sees the new card at once.
    assert (
        answer["type"] == "application/vnd.microsoft.card.adaptive"
        and answer["value"] == update.card
    )

    teams.click(post, "Celebrate", ALICE, SHARED)
    assert titles(teams.connector.updates(post.message_id)[-1].card) == ["Celebrate (2)"]
    teams.click(post, "Celebrate", BOB, SHARED)  # a second click takes it back
    last = teams.connector.updates(post.message_id)[-1].card
    assert titles(last) == ["Celebrate (1)"] and "@Bob" not in card_text(last)


def test_i_can_help_tells_the_author_privately_and_resolved_closes_it(teams: Teams) -> None:
    teams.say("bridge side it", BOB)
    post = board_post(teams, "challenge Who can review our tracking plan?", ALICE)
    before = len(teams.connector.sent())
    answer = teams.click(post, "I can help", BOB, SHARED)
    assert answer == {
        "statusCode": 200,
        "type": "application/vnd.microsoft.activity.message",
        "value": "Thanks! @Alice will be told you can help.",
    }
    (note,) = teams.connector.sent()[before:]
    assert note.conversation == personal(ALICE).conversation_id
    assert "@Bob from IT can help with your challenge" in card_text(note.card)
    updated = teams.connector.updates(post.message_id)[-1].card
    assert "Helping: @Bob (IT)" in card_text(updated) and "In progress" in card_text(updated)

    refused = teams.click(post, "Resolved", ADMIN, SHARED)
    assert (
        refused["value"] == "Only the author or someone helping can mark this challenge resolved."
    )
    teams.click(post, "Resolved", ALICE, SHARED)
    resolved = teams.connector.updates(post.message_id)[-1].card
    assert "Resolved" in card_text(resolved) and titles(resolved) == []


def test_pulse_votes_are_recorded_anonymously_and_the_card_marks_the_choice(
    teams: Teams, teams_deps: Deps
) -> None:
    teams.say("bridge side marketing", ALICE)
    teams.say("bridge side it", BOB)
    (started,) = teams.say("pulse now", ADMIN)
    assert "Pulse sent to 2 people" in card_text(started.card)
    # The scheduler, woken by the command, sends the questions to each person's 1:1 chat.
    teams.connector.wait_for("send", count=5)
    questions = {
        c.conversation: c for c in teams.connector.sent() if "Weekly pulse" in card_text(c.card)
    }
    assert set(questions) == {personal(ALICE).conversation_id, personal(BOB).conversation_id}
    card = questions[personal(ALICE).conversation_id]
    assert titles(card.card)[:5] == [
        "Strongly disagree",
        "Disagree",
        "Neutral",
        "Agree",
        "Strongly agree",
    ]

    answer = teams.click(card, "Agree", ALICE)
    shown = answer["value"]
    assert "✓ Agree" in titles(shown) and "You answered 1 of 3" in card_text(shown)
    # In a 1:1 chat the new card is also saved, so it survives a reload.
    assert teams.connector.updates(card.message_id)[-1].card == shown
    teams.click(card, "Strongly agree", ALICE)  # changeable until it closes
    with teams_deps.session_factory() as session:
        rows = session.execute(select(PulseAnswer.value, PulseAnswer.voter_hash)).all()
    assert [value for value, _ in rows] == [5]
    assert ALICE.aad not in rows[0][1] and ALICE.member_id not in rows[0][1]


def test_a_form_opens_as_a_card_shows_errors_in_place_and_saves(teams: Teams) -> None:
    (form,) = teams.say("jargon add Growth loop", ALICE)
    assert form.conversation == personal(ALICE).conversation_id
    assert titles(form.card) == ["Save", "Cancel"]
    submit = "Save"
    names = ("aliases", "definition", "marketing_view", "it_view", "example", "related")
    inputs = {f"in_{name}": "" for name in names} | {
        "in_name": "Growth loop",
        "in_origin": "marketing",
    }
    invalid = teams.click(form, submit, ALICE, inputs=inputs)
    assert invalid["type"] == "application/vnd.microsoft.card.adaptive"
    again = invalid["value"]
    assert next(n for n in again["body"] if n.get("id") == "in_name")["value"] == "Growth loop"
    assert "definition" in card_text(again).lower()

    inputs["in_definition"] = "A cycle where new users bring in more users."
    saved = teams.click(form, submit, ALICE, inputs=inputs)
    assert "Growth loop" in card_text(saved["value"])
    (found,) = teams.say("jargon growth loop", BOB)
    assert "A cycle where new users bring in more users." in card_text(found.card)


def test_cancel_replaces_the_form_and_saves_nothing(teams: Teams) -> None:
    (form,) = teams.say("jargon add Flywheel", ALICE)
    answer = teams.click(form, "Cancel", ALICE)
    assert card_text(answer["value"]) == "Cancelled; nothing was saved."
    (missing,) = teams.say("jargon Flywheel", ALICE)
    assert "Add this term" in titles(missing.card)


def test_share_in_channel_from_a_dm_posts_in_the_channel_the_command_came_from(
    teams: Teams,
) -> None:
    (card,) = teams.say("jargon CAC", ALICE, SHARED)  # answered in Alice's 1:1 chat
    answer = teams.click(card, "Share in channel", ALICE, personal(ALICE))
    assert answer["value"] == "Posted."
    (shared,) = teams.connector.sent(SHARED.channel_id)
    assert "Customer acquisition cost" in card_text(shared.card) and "@Alice" in card_text(
        shared.card
    )


def test_a_stale_button_gets_a_clear_message(teams: Teams) -> None:
    post = board_post(teams, "win Shipped")
    stale = dict(
        actions(post.card)[0], data={"bb": "action", "v": "999999", "c": SHARED.channel_id}
    )
    answer = teams.post(
        card_action(teams.connector.service_url, BOB, SHARED, stale, reply_to_id=post.message_id)
    )
    assert answer["value"] == "That post no longer exists."
    assert teams.connector.updates() == []


def test_pulse_answers_are_counted_once_per_person(teams: Teams, teams_deps: Deps) -> None:
    teams.say("bridge side marketing", ALICE)
    teams.say("pulse now", ADMIN)
    teams.connector.wait_for("send", count=3)
    (card,) = [c for c in teams.connector.sent() if "Weekly pulse" in card_text(c.card)]
    for _ in range(3):
        teams.click(card, "Neutral", ALICE)
    with teams_deps.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(PulseAnswer)) == 1


def test_forget_me_also_forgets_where_bridgebot_can_reach_the_person(
    teams: Teams, teams_deps: Deps
) -> None:
    from handlers.teams.models import TeamsConversation

    teams.say("bridge side it", ALICE, SHARED)
    (confirm,) = teams.say("bridge forget-me", ALICE, SHARED)
    answer = teams.click(
        confirm, "Forget me", ALICE, personal(ALICE), message_id=confirm.message_id
    )
    assert "bridgebot has forgotten you here" in card_text(answer["value"])
    with teams_deps.session_factory() as session:
        refs = set(session.execute(select(TeamsConversation.ref)).scalars())
    assert ALICE.aad not in refs and SHARED.channel_id in refs
