"""Bridge pairs in the console, as its people use it over a month: mia switches rounds on,
three Marketing and two IT people join, each is introduced in their own inbox with
starters, suggests a time with the button and by typing, answers the follow-up, and the
App Home figures count the meeting; odd input is refused with a message."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.clock import Clock
from tests.console_driver import ConsoleDriver, button_number

START = datetime(2030, 3, 4, 8, 0, tzinfo=UTC)  # a Monday; rounds on Tuesdays at 10:00


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


def switch_on(console: ConsoleDriver) -> str:
    console.type(":as mia marketing")
    assert "== Bridge pairs ==" in console.type("/bridge pairs settings")
    printed = ""
    for value in ("on", "2", "tue", "10:00", "#marketing-it"):
        printed = console.type(value)
    return printed


def test_a_month_of_bridge_pairs_in_the_console(console: ConsoleDriver) -> None:
    saved = switch_on(console)
    assert "Saved. A round every 2 weeks on Tuesdays at 10:00 (UTC)" in saved
    assert "the next is Tuesday 05 March at 10:00 (UTC)" in saved
    assert "Each round is announced in #marketing-it." in saved

    console.type(":as zed")  # no side yet
    assert "Choose your side first" in console.type("/bridge pairs join")
    for name, side in (("mia", "marketing"), ("leo", "marketing"), ("kim", "marketing")):
        console.type(f":as {name} {side}")
        assert "You're in; the next round is Tuesday 05 March" in console.type("/bridge pairs join")
    for name in ("ava", "raj"):
        console.type(f":as {name} it")
        console.type("/bridge pairs join")

    announced = console.type(":advance 1d2h")  # Tuesday 10:00: the round
    assert "2 new pairs of Marketing and IT this round (5 people)" in announced

    inbox = console.type(":as ava")
    assert "== Your bridge pair for this round ==" in inbox
    assert "You (IT) are paired with @" in inbox
    assert "Conversation starters" in inbox
    shared = console.type(button_number(inbox, "Suggest a time"))
    assert "The next working hour for all of you:" in shared
    assert "@ava: Tuesday 05 March 11:00 (UTC)" in shared
    assert console.type("/bridge pairs time").strip() == shared.strip()

    # Twelve days on, Saturday 16 March: three days before the next round, the follow-up.
    follow_up = console.type(":advance 11d")  # ava is at the keyboard: shown to her
    assert "Sat 16 Mar 10:00 · direct message to you]\nDid you meet @" in follow_up
    answered = console.type(button_number(follow_up, "We met"))
    assert "We met: Great, thanks!" in answered

    console.type(":as raj")
    assert "Planned: Thanks!" in console.type("/bridge pairs planned")

    home = console.type("/bridge pairs")
    assert "Your latest pair (05 Mar): @" in home
    assert "Next round: Tuesday 19 March at 10:00 (UTC)." in home


def test_odd_input_is_refused_with_a_clear_message(console: ConsoleDriver) -> None:
    switch_on(console)
    console.type(":as ava it")
    console.type(":as leo marketing")
    assert "You have not joined bridge pairs" in console.type("/bridge pairs snooze until friday")
    console.type("/bridge pairs join")
    assert "is not a date" in console.type("/bridge pairs snooze until the 45th")
    assert "is not after today" in console.type("/bridge pairs snooze until 2030-03-01")
    assert "Say until when" in console.type("/bridge pairs snooze")
    too_long = console.type("/bridge pairs snooze until 2031-12-31")
    assert "Snooze for a year at most" in too_long
    assert "(Usage: /bridge pairs snooze until DATE)" in too_long  # its own usage line
    assert "You had not blocked @ava" in console.type("/bridge pairs unblock @ava")
    assert "has no “dance” option" in console.type("/bridge pairs dance")
    assert "nobody bridgebot knows" in console.type("/bridge pairs block @nobody")
    assert "not been paired yet" in console.type("/bridge pairs met")
    assert "Only workspace admins" in console.type("/bridge pairs settings")
    assert "You've left bridge pairs" in console.type("/bridge pairs leave")
    assert "You had not joined" in console.type("/bridge pairs leave")
