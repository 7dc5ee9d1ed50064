"""Two weeks of the pulse in the console with chosen questions: an admin picks a mirrored
pair and asks for alerts, each side answers its own statement, and when the gap widens the
admin alone is told in full and the shared channel in short."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.clock import Clock
from tests.console_driver import ConsoleDriver

START = datetime(2030, 3, 2, 9, 0, tzinfo=UTC)  # a Saturday; the pulse opens Mondays at 10:00
MARKETING, IT = ("mia", "leo", "kim"), ("ava", "raj", "sue")


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


def answer_week(console: ConsoleDriver, marketing: str, it: str) -> None:
    for name in MARKETING:
        console.type(f":as {name}")
        assert "Saved without your name" in console.type(f"/pulse answer {marketing}")
    for name in IT:
        console.type(f":as {name}")
        assert "Saved without your name" in console.type(f"/pulse answer {it}")


def test_two_weeks_with_a_mirrored_pair_and_a_gap_alert(console: ConsoleDriver) -> None:
    console.type(":as mia marketing admin")
    console.type("/bridge channel #marketing-it")
    chosen = console.type("/pulse questions set worked-together understands-our-needs")
    assert "2. understands-our-needs Each side understands what the other needs" in chosen
    assert "You now get the pulse's gap alert by direct message" in chosen
    assert "a short post" in console.type("/pulse alerts channel on")
    for name in MARKETING[1:]:
        console.type(f":as {name} marketing")
    for name in IT:
        console.type(f":as {name} it")
    refused = console.type("/pulse questions remove worked-together")
    assert "Only workspace admins can choose the pulse's questions." in refused

    console.type(":advance 2d")  # Monday 09:00
    sue = console.type(":advance 1h")  # the pulse opens at 10:00, read by sue (typing now)
    assert "2. Marketing understands what IT needs." in sue and "IT understands what" not in sue
    leo = console.type(":as leo")
    assert "2. IT understands what Marketing needs." in leo
    answer_week(console, "4 4", "4 4")  # no gap
    console.type(":advance 2d")  # closed: results posted
    assert "Pulse alert" not in console.type(":as mia")

    console.type(":advance 5d")  # the next Monday's pulse
    answer_week(console, "5 2", "2 5")  # Marketing 100% vs IT 0%; on the pair 0% vs 100%
    closing = console.type(":advance 2d")
    assert "Pulse alert — pulse of 11 Mar" in closing  # the short post in the shared channel
    assert "“Each side understands what the other needs”: the gap widened to -100 points" in closing

    mia = console.type(":as mia")
    assert "Question 1 (worked-together)" in mia
    assert "Marketing on IT 0% agree, IT on Marketing 100%" in mia
    assert "Question 1 (worked-together)" not in console.type(":as leo")  # admins only

    results = console.type("/pulse")
    assert "Marketing on IT: 0% agree · mean 2.0 · n=3 · -100 pts" in results
    assert "IT on Marketing: 100% agree · mean 5.0 · n=3 · +0 pts" in results


def test_a_pulse_of_pairs_with_nobody_in_marketing_or_it_says_why_nobody_is_asked(
    console: ConsoleDriver,
) -> None:
    console.type(":as mia other admin")
    console.type("/pulse questions set understands-our-needs")
    refused = console.type("/pulse now")
    assert "Nobody is in Marketing or IT, and the pulse asks only mirrored pairs" in refused
    assert "No pulse results yet." in console.type("/pulse")  # nothing was opened
