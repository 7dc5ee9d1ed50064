"""A pulse answer typed in Teams: in a channel everyone reads it, so only the 1:1 chat takes it."""

from __future__ import annotations

from sqlalchemy import select

from bot.deps import Deps
from bot.models import PulseAnswer
from tests.teams.conftest import ADMIN, ALICE, BOB, SHARED, Teams, card_text


def saved(deps: Deps) -> list[int]:
    with deps.session_factory() as session:
        return list(
            session.execute(select(PulseAnswer.value).order_by(PulseAnswer.question)).scalars()
        )


def test_a_pulse_answer_is_taken_in_the_1_1_chat_and_refused_in_a_channel(
    teams: Teams, deps: Deps
) -> None:
    teams.say("bridge side marketing", ALICE)
    teams.say("bridge side it", BOB)
    teams.say("pulse now", ADMIN)

    # (The pulse's own DM may arrive meanwhile, in the 1:1 chat where the answers go.)
    refused = teams.say("pulse answer 2 3 1", ALICE, SHARED)
    shown = "\n".join(card_text(sent.card) for sent in refused)
    assert "Everyone here can read what you type, so your answer was not saved." in shown
    assert saved(deps) == []

    shown = "\n".join(card_text(sent.card) for sent in teams.say("pulse answer 2 3 1", ALICE))
    assert "Saved without your name: 1. Disagree · 2. Neutral · 3. Strongly disagree." in shown
    assert saved(deps) == [2, 3, 1]
