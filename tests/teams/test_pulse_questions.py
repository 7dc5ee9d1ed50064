"""The pulse's questions in Teams: an admin chooses a mirrored pair by typing, and each
side's 1:1 chat gets its own statement of it."""

from __future__ import annotations

from tests.teams.activities import personal
from tests.teams.conftest import ADMIN, ALICE, BOB, Teams, card_text


def test_an_admin_chooses_a_mirrored_pair_and_each_side_is_asked_its_half(teams: Teams) -> None:
    teams.say("bridge side marketing", ALICE)
    teams.say("bridge side it", BOB)
    (refused,) = teams.say("pulse questions set understands-our-needs", ALICE)
    assert "Only workspace admins can choose the pulse's questions." in card_text(refused.card)

    (saved,) = teams.say("pulse questions set understands-our-needs worked-together", ADMIN)
    shown = card_text(saved.card)
    assert "1. understands-our-needs Each side understands what the other needs" in shown
    assert "IT is asked: Marketing understands what IT needs." in shown

    teams.say("pulse now", ADMIN)
    teams.connector.wait_for("send", count=7)  # five answers, then two DMs
    asked = {
        c.conversation: card_text(c.card)
        for c in teams.connector.sent()
        if "Weekly pulse" in card_text(c.card)
    }
    alice, bob = asked[personal(ALICE).conversation_id], asked[personal(BOB).conversation_id]
    assert (
        "1. IT understands what Marketing needs." in alice and "Marketing understands" not in alice
    )
    assert "1. Marketing understands what IT needs." in bob and "IT understands what" not in bob
