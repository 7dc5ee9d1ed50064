"""The pulse's buttons typed in the console: the weekly pulse answered and commented
anonymously, and a quick poll voted and closed by its number, as the person who types."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.deps import Deps
from bot.models import PulseAnswer, PulseComment, PulsePoll
from bot.router import Caller, RequestScope, parse_line, run_command
from tests.clock import Clock
from tests.console_driver import ConsoleDriver

START = datetime(2030, 3, 2, 9, 0, tzinfo=UTC)  # a Saturday


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


def team(console: ConsoleDriver) -> None:
    """leo (Marketing) and ava (IT); mia, the admin, opens a pulse."""
    console.type(":as leo marketing")
    console.type(":as ava it")
    console.type(":as mia marketing")
    console.type("/bridge channel #marketing-it")


def answers(deps: Deps) -> list[tuple[int, int]]:
    with deps.session_factory() as session:
        rows = session.execute(
            select(PulseAnswer.question, PulseAnswer.value).order_by(PulseAnswer.question)
        )
        return [(question, value) for question, value in rows]


def comments(deps: Deps) -> list[str]:
    with deps.session_factory() as session:
        return list(session.execute(select(PulseComment.text)).scalars())


def test_the_weekly_pulse_is_answered_and_commented_by_typing(
    console: ConsoleDriver, deps: Deps
) -> None:
    team(console)
    console.type("/pulse now")
    dm = console.type(":as leo")
    assert "Or type /pulse answer 4 4 5" in dm  # the DM says how

    saved = console.type("/pulse answer 4 4 5")
    assert "Saved without your name: 1. Agree · 2. Agree · 3. Strongly agree." in saved
    changed = console.type("/pulse answer 2=1")  # one question, replacing the earlier answer
    assert "1. Agree · 2. Strongly disagree · 3. Strongly agree." in changed
    assert answers(deps) == [(0, 4), (1, 1), (2, 5)]
    said = console.type("/pulse comment Lovely week, thanks IT")
    assert "Thanks — your comment is saved without your name." in said
    assert comments(deps) == ["Lovely week, thanks IT"]

    # Nobody else sees leo's answers or comment.
    ava = console.type(":as ava")
    assert "Strongly disagree ·" not in ava and "Lovely week" not in ava
    assert "Saved without" not in console.type(":as mia")
    # Ava answers one question; the reply says which are still open.
    console.type(":as ava")
    assert "Still open: question 1, 3 (/pulse answer 1=4)." in console.type("/pulse answer 2=5")
    assert len(answers(deps)) == 4


def test_a_typed_pulse_answer_with_a_mistake_saves_nothing(
    console: ConsoleDriver, deps: Deps
) -> None:
    team(console)
    console.type(":as leo")
    assert "No weekly pulse is open now" in console.type("/pulse answer 4 4 5")
    console.type(":as mia")
    console.type("/pulse now")
    console.type(":as leo")

    assert "The questions are numbered 1 to 3." in console.type("/pulse answer 9=1")
    assert "Answers go from 1 (strongly disagree) to 5" in console.type("/pulse answer 4 6 5")
    two = console.type("/pulse answer 4 4")
    assert "Give a value for each of the 3 questions, in order (/pulse answer 4 4 5)" in two
    assert "Question 1 is answered twice." in console.type("/pulse answer 1=4 1=5")
    assert answers(deps) == []  # the first, valid values of "4 6 5" were not kept either
    # Someone who had no side when the pulse opened is not asked, typed or clicked.
    console.type(":as zoe marketing")
    assert "you can answer the next one" in console.type("/pulse answer 4 4 5")
    assert answers(deps) == []


def test_a_quick_poll_is_voted_and_closed_by_its_number(console: ConsoleDriver, deps: Deps) -> None:
    team(console)
    console.type(":as ava")
    card = console.type("/pulse ask Lunch on Friday? | Pizza | Salad")
    with deps.session_factory() as session:
        poll = session.execute(select(PulsePoll.id)).scalar_one()
    assert "1. ░░░░░░░░░░ 0 (0%) Pizza" in card and "2. ░░░░░░░░░░ 0 (0%) Salad" in card
    assert f"Quick poll {poll} · /pulse vote {poll} OPTION · /pulse close {poll}" in card

    voted = console.type(f"/pulse vote {poll} 1")
    assert "Your vote for “Pizza” counts; vote again to change it." in voted
    assert "1. ██████████ 1 (100%) Pizza" in voted  # the card is updated
    console.type(":as leo")
    console.type(f"/pulse vote {poll} 1")
    changed = console.type(f"/pulse vote {poll} 2")  # one vote each: leo changes his
    assert "1. █████░░░░░ 1 (50%) Pizza" in changed and "2 votes" in changed
    assert f"Quick poll {poll} has options 1 to 2." in console.type(f"/pulse vote {poll} 3")
    assert "There is no quick poll 999" in console.type("/pulse vote 999 1")

    refused = console.type(f"/pulse close {poll}")
    assert "Only the person who asked, or an admin, can close this poll." in refused
    console.type(":as ava")
    closed = console.type(f"/pulse close {poll}")
    assert f"Quick poll {poll} is closed; its card shows the final count." in closed
    assert "2 votes · closed" in closed
    assert "This poll closed" in console.type(f"/pulse vote {poll} 1")


def test_a_weekly_pulse_is_no_quick_poll_to_vote_on_or_close(
    console: ConsoleDriver, deps: Deps
) -> None:
    team(console)
    console.type("/pulse now")
    with deps.session_factory() as session:
        weekly = session.execute(select(PulsePoll.id)).scalar_one()

    assert f"There is no quick poll {weekly}" in console.type(f"/pulse close {weekly}")
    console.type(":as leo")
    assert f"There is no quick poll {weekly}" in console.type(f"/pulse vote {weekly} 4")
    assert answers(deps) == []
    with deps.session_factory() as session:
        assert session.execute(select(PulsePoll.status)).scalar_one() == "open"


def run(deps: Deps, user: str, line: str, *, others_see: bool) -> str:
    name, args = parse_line(line)
    scope = RequestScope(
        session_factory=deps.session_factory,
        router=deps.router,
        caller=Caller(workspace_id="T1", user_ref=user, platform="teams", is_admin=user == "UADA"),
        now=START,
        default_timezone="UTC",
        channel_ref="19:channel" if others_see else None,
        typed_where_others_see=others_see,
    )
    return run_command(scope, name, args).fallback


def test_an_answer_typed_where_others_read_it_is_refused_and_never_logged(
    deps: Deps, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    run(deps, "UADA", "/bridge side marketing", others_see=False)
    run(deps, "UBEN", "/bridge side it", others_see=False)
    run(deps, "UADA", "/pulse now", others_see=False)

    # In a Teams channel the whole channel reads the command: nothing is saved.
    shown = run(deps, "UBEN", "/pulse answer 2 3 1", others_see=True)
    assert "Everyone here can read what you type, so your answer was not saved." in shown
    assert "Type it in your chat with bridgebot" in shown
    assert "was not saved" in run(deps, "UBEN", "/pulse comment secret", others_see=True)
    assert answers(deps) == [] and comments(deps) == []
    # In the 1:1 chat it is.
    assert "Saved without your name" in run(deps, "UBEN", "/pulse answer 2 3 1", others_see=False)
    assert answers(deps) == [(0, 2), (1, 3), (2, 1)]
    assert not any("2 3 1" in record.getMessage() for record in caplog.records)
