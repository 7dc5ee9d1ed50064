"""Bridge pairs on Teams: the admin's settings form, joining by typing, each person
introduced in their own 1:1 chat (Teams gives bots no way to start a group chat), and
the Suggest a time button on that card."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.deps import Deps
from tests.teams.activities import personal
from tests.teams.conftest import ADMIN, ALICE, BOB, SHARED, Teams, card_text
from tests.teams.test_proactive import install_in_team, tick

MONDAY = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ROUND = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)  # Tuesday 10:00 UTC


def test_a_pair_is_introduced_in_each_persons_chat_and_suggests_a_time(
    teams: Teams, teams_deps: Deps
) -> None:
    install_in_team(teams)
    tick(teams, teams_deps, MONDAY)
    (form,) = teams.say("bridge pairs settings", ADMIN, SHARED)
    inputs = {
        "in_enabled": "on", "in_every_weeks": "1", "in_weekday": "tue", "in_time": "10:00",
        "in_channel": "",
    }  # fmt: skip
    saved = teams.click(
        form, "Save", ADMIN, personal(ADMIN), inputs=inputs, message_id=form.message_id
    )
    assert "Saved. A round every week on Tuesdays at 10:00 (UTC)" in card_text(saved["value"])

    teams.say("bridge side marketing", ALICE)
    teams.say("bridge side it", BOB)
    for someone in (ALICE, BOB):
        (joined,) = teams.say("bridge pairs join", someone)
        assert "You're in" in card_text(joined.card)

    before = len(teams.connector.sent())
    tick(teams, teams_deps, ROUND)
    sent = teams.connector.sent()[before:]
    intros = {
        call.conversation: call for call in sent if "Your bridge pair" in card_text(call.card)
    }
    assert set(intros) == {personal(ALICE).conversation_id, personal(BOB).conversation_id}
    to_bob = intros[personal(BOB).conversation_id]
    assert "You (IT) are paired with" in card_text(to_bob.card)
    assert "(Marketing)" in card_text(to_bob.card)

    answer = teams.click(to_bob, "Suggest a time", BOB)
    assert answer["value"] == "Sent below."
    suggestion = card_text(teams.connector.sent()[-1].card)
    assert "The next working hour for all of you" in suggestion
    assert "@Alice: Tuesday 03 March 11:00 (UTC)" in suggestion
