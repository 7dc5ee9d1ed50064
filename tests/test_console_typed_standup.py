"""A stand-up's Answer and Share buttons typed in the console: /standup answer ID opens
the same form for the round taking answers now, /standup share ID win|challenge posts
one's own answer to the board."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.deps import Deps
from bot.models import BoardPost, StandupAnswer
from tests.clock import Clock
from tests.console_driver import ConsoleDriver

START = datetime(2030, 3, 4, 8, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


def async_standup(console: ConsoleDriver) -> None:
    """leo (Marketing) and ava (IT) in mia's async stand-up 1, Mondays at 09:30 UTC."""
    console.type(":as leo marketing")
    console.type(":as ava it")
    console.type(":as mia marketing")
    console.type("/bridge channel #marketing-it")
    console.type("/standup")
    for value in ("Joint", "#marketing-it", "mon", "09:30", "", "async"):
        console.type(value)
    printed = ""
    for _field in range(10):  # Enter keeps each remaining field's default
        printed = console.type("")
        if "Created stand-up" in printed:
            break
    assert "Created stand-up 1: Joint." in printed


def board(deps: Deps) -> list[tuple[str, str | None, str]]:
    with deps.session_factory() as session:
        rows = session.execute(
            select(BoardPost.kind, BoardPost.author_ref, BoardPost.text).order_by(BoardPost.id)
        )
        return [(kind, author, text) for kind, author, text in rows]


def test_a_stand_up_is_answered_and_shared_by_typing(console: ConsoleDriver, deps: Deps) -> None:
    async_standup(console)
    console.type(":as leo")
    early = console.type("/standup answer 1")
    assert "Joint takes no answers now; its questions come by direct message" in early

    inbox = console.type(":advance 1h30m")  # 09:30: leo's questions arrive
    assert "Or type /standup answer 1." in inbox
    assert "== Joint ==" in console.type("/standup answer 1")  # the Answer button's form
    console.type("Launch email scheduled")
    console.type("Tracking is late")
    thanks = console.type("")
    assert "Thanks! Your answers for Joint are in" in thanks
    assert (
        "Or type /standup answer 1 to change them · /standup share 1 win · "
        "/standup share 1 challenge." in thanks
    )
    with deps.session_factory() as session:
        row = session.execute(select(StandupAnswer)).scalar_one()
        assert (row.user_ref, row.answers[:2]) == (
            "leo",
            ["Launch email scheduled", "Tracking is late"],
        )

    posted = console.type("/standup share 1 challenge")
    assert "Your challenge is saved and on its way to #marketing-it." in posted
    assert "Challenge from @leo (Marketing)" in posted and "Shared from a joint stand-up" in posted
    assert board(deps) == [("challenge", "leo", "Tracking is late")]

    # Ava answers without a win; only her own answers can be shared.
    console.type(":as ava")
    console.type("/standup answer 1")
    console.type("")
    console.type("Launch dates reach us late")
    console.type("")
    refused = console.type("/standup share 1 win")
    assert "Your answers to Joint on Monday 04 March have no win to share." in refused
    assert board(deps) == [("challenge", "leo", "Tracking is late")]


def test_typed_answers_are_refused_when_no_round_takes_them(
    console: ConsoleDriver, deps: Deps
) -> None:
    async_standup(console)
    console.type(":as zoe other")  # not taking part: Marketing and IT only
    console.type(":advance 1h30m")
    refused = console.type("/standup answer 1")
    assert "You were not asked to take part in Joint on Monday 04 March." in refused
    console.type(":as leo")
    assert "You have no answers to Joint to share." in console.type("/standup share 1 win")
    assert "Share it as a win or a challenge" in console.type("/standup share 1 idea")
    assert "There is no stand-up 7." in console.type("/standup answer 7")
    console.type(":as mia")
    console.type(":advance 2h")  # 11:30: the digest; late answers are still taken
    console.type(":as leo")
    assert "== Joint ==" in console.type("/standup answer 1")
    console.type("cancel")
    console.type(":as mia")
    console.type("/standup")
    for value in ("Call", "#marketing-it", "mon", "12:00", "", "meeting"):
        console.type(value)
    for _field in range(10):
        if "Created stand-up" in console.type(""):
            break
    assert "Call is a live call" in console.type("/standup answer 2")
    with deps.session_factory() as session:
        assert session.execute(select(StandupAnswer)).first() is None
