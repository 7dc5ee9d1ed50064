"""Late answers in Teams: the digest's card is updated in place (an update activity), and
a digest card someone deleted is posted again."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.deps import Deps
from tests.teams.activities import Person
from tests.teams.conftest import ALICE, BOB, SHARED, Teams, actions, card_text
from tests.teams.fake_connector import Call
from tests.teams.test_proactive import create_standup, install_in_team, tick

THU = datetime(2026, 3, 5, tzinfo=UTC)


def at(hour: int, minute: int = 0) -> datetime:
    return THU.replace(hour=hour, minute=minute)


def answer_late(teams: Teams, questions: Call, who: Person, text: str) -> str:
    """Click Answer on the questions, fill the first question, send; the thanks' text."""
    teams.click(questions, "Answer", who)
    form = teams.connector.sent()[-1]
    inputs = {n["id"]: "" for n in form.card["body"] if n.get("id", "").startswith("in_")}
    inputs["in_q0"] = text
    send = next(a["title"] for a in actions(form.card) if a["verb"] == "bridgebot.form")
    saved = teams.click(form, send, who, inputs=inputs)
    value = saved["value"]
    return value if isinstance(value, str) else card_text(value)


def test_a_late_answer_updates_the_digest_card_and_a_deleted_one_is_posted_again(
    teams: Teams, teams_deps: Deps
) -> None:
    install_in_team(teams)
    teams.say("standup list", ALICE)  # Alice and Bob talk to bridgebot in their 1:1 chats
    teams.say("standup list", BOB)
    create_standup(teams, [ALICE.aad, BOB.aad], mode="async", deadline="60")
    for moment in (at(9), at(9, 15), at(9, 30)):
        tick(teams, teams_deps, moment)
    questions = {
        c.conversation: c
        for c in teams.connector.sent()
        if "your answers, please" in card_text(c.card)
    }
    tick(teams, teams_deps, at(10, 30))  # the digest: nobody answered
    (digest,) = [
        c for c in teams.connector.sent(SHARED.channel_id) if "Didn't answer" in card_text(c.card)
    ]

    bob_dm = next(c for where, c in questions.items() if where.endswith(BOB.member_id))
    thanks = answer_late(teams, bob_dm, BOB, "Fixed the <at>build</at> & deploys")
    assert "now shows your answers, marked as late" in thanks
    tick(teams, teams_deps, at(10, 31))
    (update,) = teams.connector.updates(digest.message_id)
    shown = card_text(update.card)
    assert "@Bob (late)" in shown and "Didn't answer: @Alice" in shown
    assert "Fixed the <at>build</at> & deploys" in shown  # as typed, never a mention

    # Someone deleted the digest card: Alice's late answer posts it again.
    teams.connector.fail_next("update", status=404, conversation=SHARED.channel_id)
    alice_dm = next(c for where, c in questions.items() if where.endswith(ALICE.member_id))
    answer_late(teams, alice_dm, ALICE, "Launched the spring campaign")
    tick(teams, teams_deps, at(10, 40))
    reposted = [
        c
        for c in teams.connector.sent(SHARED.channel_id)
        if "Launched the spring" in card_text(c.card)
    ]
    assert len(reposted) == 1
    assert "(late)" in card_text(reposted[0].card) and "Didn't answer" not in card_text(
        reposted[0].card
    )
