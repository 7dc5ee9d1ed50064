"""Time off and holidays lived in the console over a week: a marketer in London takes a
day off, an IT colleague in California has Thanksgiving, and the joint stand-up asks each
only on the days they are there, showing them as away (not "didn't answer") otherwise."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.clock import Clock
from tests.console_driver import ConsoleDriver

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday of Thanksgiving week


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


def create_standup(console: ConsoleDriver) -> None:
    """mia's async stand-up, weekdays at 16:00 UTC (08:00 in California), both sides."""
    console.type("/bridge channel #marketing-it")
    console.type("/standup")
    for value in ("Joint", "#marketing-it", "weekdays", "16:00", "UTC", "async"):
        console.type(value)
    printed = ""
    for _field in range(10):  # Enter keeps each remaining field's default
        printed = console.type("")
        if "Created stand-up" in printed:
            break
    assert "Created stand-up 1: Joint." in printed


def test_a_week_with_a_day_off_and_thanksgiving(console: ConsoleDriver) -> None:
    console.type(":as leo marketing")
    assert "your holiday calendar is GB (yours)" in console.type("/bridge region gb")
    console.type(":as ava it")
    refused = console.type("/bridge region US-XX")
    assert "US has no region “XX”. Its regions: AK, AL" in refused
    assert "Thanksgiving Day" in console.type("/bridge region US-CA")
    assert "not a time zone" in console.type("/bridge timezone California")
    assert "America/Los_Angeles (yours)" in console.type("/bridge timezone America/Los_Angeles")
    console.type(":as mia marketing admin")
    create_standup(console)

    console.type(":as leo")
    assert "Away Wed 25 Nov 2026 (UTC time)" in console.type("/bridge away wed")
    assert "has already passed" in console.type("/bridge away 2026-11-20")
    assert "is not a date" in console.type("/bridge away blursday")
    assert "Time off ahead: Wed 25 Nov 2026" in console.type("/bridge")
    console.type(":as mia")
    assert "@leo: Wed 25 Nov 2026" in console.type("/bridge away list")
    console.type(":as ava")
    assert "Only workspace admins can see who is away" in console.type("/bridge away list")

    console.type(":as mia")
    console.type(":advance 2d")  # to Wednesday 08:00: Monday's and Tuesday's rounds
    wednesday = console.type(":advance 10h")  # 18:00: Wednesday's digest
    assert "(Didn't answer: @ava, @mia)\n  (Away: @leo)" in wednesday
    thursday = console.type(":advance 1d")
    assert "== Joint — Thursday 26 November ==" in thursday
    assert "(Didn't answer: @leo, @mia)\n  (Away: @ava (Thanksgiving Day))" in thursday

    # Leo had no questions on his day off, Ava none on Thanksgiving (nor reminders).
    leo = console.type(":as leo")
    assert "Wednesday 25 November: your answers" not in leo
    assert "Thursday 26 November: your answers" in leo
    ava = console.type(":as ava")
    assert "Wednesday 25 November: your answers" in ava
    assert "Thursday 26 November" not in ava

    console.type(":as mia")
    listed = console.type("/standup holidays 1 GB, US-CA")
    assert "Done: Joint follows the holidays of GB, US-CA." in listed
    assert "Fri 27 Nov 2026: Day After Thanksgiving" in listed
    assert "Thu 26 Nov 2026" not in listed  # its round already ran
    shown = console.type("/standup list")
    assert "Holidays: GB, US-CA · not running Fri 27 Nov (Day After Thanksgiving)" in shown
    assert "next Mon 30 Nov 16:00 UTC" in shown
    friday = console.type(":advance 1d")
    assert "Joint" not in friday  # no reminder, no questions, no digest
