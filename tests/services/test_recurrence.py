"""Weekly schedules in a local time zone: parsing, and occurrences across clock changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.services.recurrence import (
    RecurrenceError,
    Weekly,
    check_timezone,
    format_weekdays,
    parse_day,
    parse_time,
    parse_weekdays,
)

LONDON = "Europe/London"
NEW_YORK = "America/New_York"
WEEKDAYS = (0, 1, 2, 3, 4)
DAILY = tuple(range(7))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# -- parsing -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("09:30", time(9, 30)),
        ("9:30", time(9, 30)),
        ("17:00", time(17, 0)),
        ("00:00", time(0, 0)),
        ("23:59", time(23, 59)),
        ("9am", time(9, 0)),
        ("9 AM", time(9, 0)),
        ("5:30pm", time(17, 30)),
        ("12pm", time(12, 0)),
        ("12am", time(0, 0)),
        (" 07:05 ", time(7, 5)),
    ],
)
def test_parse_time_accepts_what_people_type(typed: str, expected: time) -> None:
    assert parse_time(typed) == expected


@pytest.mark.parametrize(
    "typed", ["25:99", "24:00", "9:60", "abc", "", "13pm", "0am", "9:5", "09:30:00", "-1:00"]
)
def test_parse_time_refuses_impossible_times(typed: str) -> None:
    with pytest.raises(RecurrenceError, match="time"):
        parse_time(typed)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("mon,wed,fri", (0, 2, 4)),
        ("Fri Mon Wed", (0, 2, 4)),
        ("monday; tuesday", (0, 1)),
        ("tues, thurs", (1, 3)),
        ("sun,sat,sun", (5, 6)),
        ("weekdays", WEEKDAYS),
        ("Mon-Fri", WEEKDAYS),
        ("daily", DAILY),
    ],
)
def test_parse_weekdays(typed: str, expected: tuple[int, ...]) -> None:
    assert parse_weekdays(typed) == expected


@pytest.mark.parametrize(
    "typed", ["", " , ", "mon,funday", "every other tuesday", "1,2", "monkey", "wedge", "mo"]
)
def test_parse_weekdays_refuses_non_days(typed: str) -> None:
    with pytest.raises(RecurrenceError):
        parse_weekdays(typed)


def test_weekdays_round_trip_through_their_stored_form() -> None:
    assert format_weekdays((4, 0, 2)) == "mon,wed,fri"
    assert parse_weekdays(format_weekdays((6, 1))) == (1, 6)


@pytest.mark.parametrize("zone", [LONDON, NEW_YORK, "Asia/Kolkata", "UTC", " Europe/Paris "])
def test_check_timezone_accepts_iana_names(zone: str) -> None:
    assert check_timezone(zone) == zone.strip()


@pytest.mark.parametrize(
    "zone",
    ["Mars/Olympus_Mons", "GMT+25", "", "../etc/passwd", "London", "localtime", "posixrules"],
)
def test_check_timezone_refuses_unknown_zones(zone: str) -> None:
    with pytest.raises(RecurrenceError, match="not a time zone"):
        check_timezone(zone)


MONDAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        (" 2026-12-24 ", date(2026, 12, 24)),
        ("today", MONDAY),
        ("Tomorrow", date(2026, 11, 24)),
        ("fri", date(2026, 11, 27)),
        ("Friday", date(2026, 11, 27)),
        ("next friday", date(2026, 11, 27)),
        ("thurs", date(2026, 11, 26)),
        ("monday", date(2026, 11, 30)),  # a weekday is the next one after today
        ("24 Dec", date(2026, 12, 24)),
        ("Dec 24th", date(2026, 12, 24)),
        ("24 December 2027", date(2027, 12, 24)),
        ("Dec 24, 2027", date(2027, 12, 24)),
        ("23 nov", MONDAY),
        ("1 Jan", date(2027, 1, 1)),  # without a year: the next one from today
        ("22 Nov", date(2027, 11, 22)),
        ("29 feb", date(2028, 2, 29)),
        ("Sept 7", date(2027, 9, 7)),
    ],
)
def test_parse_day_reads_days_as_people_type_them(typed: str, expected: date) -> None:
    assert parse_day(typed, today=MONDAY) == expected


@pytest.mark.parametrize(
    "typed", ["24/12/2026", "12/11", "banana", "next week", "December", "2027", "ju 4", "fri 5"]
)
def test_parse_day_refuses_what_is_not_one_clear_day(typed: str) -> None:
    with pytest.raises(RecurrenceError, match="not a date; write it as 2026-12-24, 24 Dec"):
        parse_day(typed, today=MONDAY)


@pytest.mark.parametrize("typed", ["31 Nov", "30 february 2028", "29 Feb 2027"])
def test_parse_day_says_which_month_lacks_the_day(typed: str) -> None:
    with pytest.raises(RecurrenceError, match=r"(November|February) has no (31|30|29)"):
        parse_day(typed, today=MONDAY)


# -- occurrences across daylight-saving changes ---------------------------------------


def test_london_0930_stays_0930_local_when_clocks_go_back() -> None:
    """BST ends on Sunday 25 October 2026: 08:30 UTC before, 09:30 UTC after."""
    weekly = Weekly(WEEKDAYS, time(9, 30), LONDON)
    found = weekly.between(utc(2026, 10, 22), utc(2026, 10, 28))
    assert found == [
        (date(2026, 10, 22), utc(2026, 10, 22, 8, 30)),
        (date(2026, 10, 23), utc(2026, 10, 23, 8, 30)),
        (date(2026, 10, 26), utc(2026, 10, 26, 9, 30)),
        (date(2026, 10, 27), utc(2026, 10, 27, 9, 30)),
    ]
    zone = ZoneInfo(LONDON)
    assert {instant.astimezone(zone).time() for _, instant in found} == {time(9, 30)}


def test_london_0930_stays_0930_local_when_clocks_go_forward() -> None:
    """BST starts on Sunday 29 March 2026: 09:30 UTC before, 08:30 UTC after."""
    weekly = Weekly(WEEKDAYS, time(9, 30), LONDON)
    found = weekly.between(utc(2026, 3, 26), utc(2026, 4, 1))
    assert found == [
        (date(2026, 3, 26), utc(2026, 3, 26, 9, 30)),
        (date(2026, 3, 27), utc(2026, 3, 27, 9, 30)),
        (date(2026, 3, 30), utc(2026, 3, 30, 8, 30)),
        (date(2026, 3, 31), utc(2026, 3, 31, 8, 30)),
    ]


def test_daily_stand_up_on_the_day_of_each_change_happens_once_at_local_time() -> None:
    weekly = Weekly(DAILY, time(9, 30), LONDON)
    assert weekly.between(utc(2026, 10, 25), utc(2026, 10, 26)) == [
        (date(2026, 10, 25), utc(2026, 10, 25, 9, 30))
    ]
    assert weekly.between(utc(2026, 3, 29), utc(2026, 3, 30)) == [
        (date(2026, 3, 29), utc(2026, 3, 29, 8, 30))
    ]


def test_next_after_crosses_the_clock_change_over_a_weekend() -> None:
    weekly = Weekly(WEEKDAYS, time(9, 30), LONDON)
    # Friday 23 October just after the stand-up: the next one is Monday, in GMT.
    assert weekly.next_after(utc(2026, 10, 23, 8, 31)) == (
        date(2026, 10, 26),
        utc(2026, 10, 26, 9, 30),
    )
    # At the very instant of an occurrence, that occurrence is next.
    assert weekly.next_after(utc(2026, 10, 26, 9, 30)) == (
        date(2026, 10, 26),
        utc(2026, 10, 26, 9, 30),
    )


def test_new_york_follows_its_own_changes_not_europes() -> None:
    """US clocks change on 8 March and 1 November 2026, weeks apart from Europe's."""
    weekly = Weekly((0,), time(9, 0), NEW_YORK)  # Mondays
    starts = [instant for _, instant in weekly.between(utc(2026, 3, 2), utc(2026, 4, 7))]
    assert starts == [
        utc(2026, 3, 2, 14, 0),  # EST, UTC-5
        utc(2026, 3, 9, 13, 0),  # EDT, UTC-4
        utc(2026, 3, 16, 13, 0),
        utc(2026, 3, 23, 13, 0),
        utc(2026, 3, 30, 13, 0),  # London changed on the 29th; New York is unaffected
        utc(2026, 4, 6, 13, 0),
    ]
    autumn = [instant for _, instant in weekly.between(utc(2026, 10, 26), utc(2026, 11, 3))]
    assert autumn == [utc(2026, 10, 26, 13, 0), utc(2026, 11, 2, 14, 0)]


def test_time_in_the_spring_forward_gap_is_kept_not_dropped() -> None:
    """02:30 does not exist in New York on 8 March 2026; it is held at 03:30 EDT."""
    weekly = Weekly(DAILY, time(2, 30), NEW_YORK)
    found = weekly.between(utc(2026, 3, 7), utc(2026, 3, 10))
    assert [day for day, _ in found] == [date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 9)]
    gap_day = dict(found)[date(2026, 3, 8)]
    assert gap_day == utc(2026, 3, 8, 7, 30)
    assert gap_day.astimezone(ZoneInfo(NEW_YORK)).time() == time(3, 30)
    # The days either side are at 02:30 local as usual.
    assert dict(found)[date(2026, 3, 7)] == utc(2026, 3, 7, 7, 30)  # EST
    assert dict(found)[date(2026, 3, 9)] == utc(2026, 3, 9, 6, 30)  # EDT


def test_time_repeated_when_clocks_go_back_happens_once() -> None:
    """01:30 happens twice in New York on 1 November 2026; the stand-up only once."""
    weekly = Weekly(DAILY, time(1, 30), NEW_YORK)
    found = weekly.between(utc(2026, 11, 1), utc(2026, 11, 2))
    assert found == [(date(2026, 11, 1), utc(2026, 11, 1, 5, 30))]  # the first, in EDT


def test_skipped_dates_are_left_out() -> None:
    weekly = Weekly((0, 2, 4), time(9, 30), LONDON)
    skipped = {date(2026, 12, 25), date(2026, 12, 28)}
    days = [d for d, _ in weekly.between(utc(2026, 12, 21), utc(2027, 1, 2), skipped)]
    assert days == [date(2026, 12, 21), date(2026, 12, 23), date(2026, 12, 30), date(2027, 1, 1)]
    # next_after steps over a skipped date to the one after.
    assert weekly.next_after(utc(2026, 12, 24), skipped) == (
        date(2026, 12, 30),
        utc(2026, 12, 30, 9, 30),
    )


def test_between_is_half_open_and_uses_the_local_date() -> None:
    """An occurrence exactly at the end is left for the next window; dates are local."""
    weekly = Weekly(DAILY, time(0, 30), "Asia/Tokyo")  # 15:30 UTC the day before
    found = weekly.between(utc(2026, 6, 1, 15, 30), utc(2026, 6, 2, 15, 30))
    assert found == [(date(2026, 6, 2), utc(2026, 6, 1, 15, 30))]


def test_next_after_finds_a_yearly_gap_and_gives_up_when_everything_is_skipped() -> None:
    weekly = Weekly((3,), time(10, 0), "UTC")
    start = utc(2026, 1, 1, 11)
    skipped = {start.date() + timedelta(days=7 * n) for n in range(1, 10)}
    assert weekly.next_after(start, skipped) == (date(2026, 3, 12), utc(2026, 3, 12, 10))
    every = {start.date() + timedelta(days=7 * n) for n in range(0, 60)}
    assert weekly.next_after(start, every) is None
