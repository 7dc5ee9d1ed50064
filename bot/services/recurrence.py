"""Weekly recurrences in a local time zone, right across daylight-saving changes."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import Invalid
from bot.services.holiday_calendars import holiday_name

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# (value, label) choices for a form's day field.
WEEKDAY_CHOICES = tuple(zip(WEEKDAYS, WEEKDAY_NAMES, strict=True))
ICAL_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_TIME = re.compile(
    r"^(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?P<ampm>am|pm)?$", re.IGNORECASE | re.ASCII
)


class RecurrenceError(Invalid):
    """A weekday list, time or time zone that cannot be used; the message says why."""


@dataclass(frozen=True)
class Weekly:
    """On these weekdays (Monday is 0) at this local time in this zone, except on the
    public holidays of `calendars` ("GB", "US-CA")."""

    weekdays: tuple[int, ...]
    local_time: time
    timezone: str
    calendars: tuple[str, ...] = ()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def start_on(self, local_date: date) -> datetime:
        """The UTC instant of the occurrence on `local_date`.

        A local time that falls in a spring-forward gap is taken as the same wall time
        before the change (so 02:30 becomes 03:30 summer time), never dropped.
        """
        local = datetime.combine(local_date, self.local_time, tzinfo=self.zone)
        return local.astimezone(UTC)

    def local_dates(self, start: date, end: date) -> Iterator[date]:
        """Occurrence dates from `start` to `end` inclusive."""
        day = start
        while day <= end:
            if day.weekday() in self.weekdays:
                yield day
            day += timedelta(days=1)

    def between(
        self, start: datetime, end: datetime, skipped: Collection[date] = ()
    ) -> list[tuple[date, datetime]]:
        """(local date, UTC start) of every occurrence starting in [start, end)."""
        zone = self.zone
        first = start.astimezone(zone).date() - timedelta(days=1)
        last = end.astimezone(zone).date() + timedelta(days=1)
        found = []
        for day in self.local_dates(first, last):
            if day in skipped or self.holiday_on(day):
                continue
            instant = self.start_on(day)
            if start <= instant < end:
                found.append((day, instant))
        return found

    def holiday_on(self, local_date: date) -> str | None:
        """The holiday's name when `local_date` is one in the calendars (no occurrence)."""
        return holiday_name(self.calendars, local_date) if self.calendars else None

    def next_after(
        self, moment: datetime, skipped: Collection[date] = ()
    ) -> tuple[date, datetime] | None:
        """The first occurrence at or after `moment` (within a year)."""
        for weeks in (1, 5, 53):
            found = self.between(moment, moment + timedelta(weeks=weeks), skipped)
            if found:
                return found[0]
        return None


def parse_weekdays(value: str) -> tuple[int, ...]:
    """ "mon,wed,fri", "Mon Wed", "weekdays" or "daily" as sorted weekday numbers."""
    text = value.strip().lower()
    if text in {"weekdays", "mon-fri", "workdays"}:
        return (0, 1, 2, 3, 4)
    if text in {"daily", "every day", "everyday"}:
        return tuple(range(7))
    days = set()
    for part in re.split(r"[\s,;]+", text):
        if not part:
            continue
        day = _by_prefix(part, [name.lower() for name in WEEKDAY_NAMES])  # "tues", not "monkey"
        if day is None:
            raise RecurrenceError(
                f"“{part[:20]}” is not a weekday; use mon, tue, wed, thu, fri, sat, sun."
            )
        days.add(day)
    if not days:
        raise RecurrenceError("Choose at least one weekday.")
    return tuple(sorted(days))


def format_weekdays(weekdays: Collection[int]) -> str:
    return ",".join(WEEKDAYS[day] for day in sorted(weekdays))


def parse_time(value: str) -> time:
    """ "09:30", "9:30", "17:00", "9am" or "5:30pm" as a time; "25:99" is refused."""
    match = _TIME.match(value.strip())
    if not match:
        raise RecurrenceError(f"“{value[:20]}” is not a time; write it as 09:30.")
    hour, minute = int(match["h"]), int(match["m"] or 0)
    if match["ampm"]:
        if not 1 <= hour <= 12:
            raise RecurrenceError(f"“{value[:20]}” is not a time; the hour is 1 to 12 with am/pm.")
        hour = hour % 12 + (12 if match["ampm"].lower() == "pm" else 0)
    if hour > 23 or minute > 59:
        raise RecurrenceError(f"“{value[:20]}” is not a time of day; write it as 09:30.")
    return time(hour, minute)


# Files of the system's time zone database that are not zones of a place: "localtime"
# is whatever the host is set to, so a schedule would move with the machine.
_NOT_PLACES = {"localtime", "posixrules", "Factory"}


def check_timezone(value: str) -> str:
    name = value.strip()
    try:
        if name in _NOT_PLACES:
            raise ValueError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RecurrenceError(
            f"“{value[:40]}” is not a time zone; use a name such as Europe/London or America/New_York."
        ) from None
    return name


MONTH_NAMES = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
_ORDINAL = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_MONTH = r"(?P<month>[a-z]{3,})\.?"
_YEAR = r"(?:,?\s+(?P<year>\d{4}))?"
_DAY_MONTH = re.compile(rf"^{_ORDINAL}\s+{_MONTH}{_YEAR}$", re.ASCII)
_MONTH_DAY = re.compile(rf"^{_MONTH}\s+{_ORDINAL}{_YEAR}$", re.ASCII)
DATE_HINT = "write it as 2026-12-24, 24 Dec, friday or tomorrow"


def _by_prefix(word: str, names: Collection[str]) -> int | None:
    """The index of the one name `word` begins (at least three letters: "sept", "thurs")."""
    if len(word) >= 3:
        for index, name in enumerate(names):
            if name.startswith(word):
                return index
    return None


def parse_day(value: str, today: date) -> date:
    """A day as people type it, seen from `today` (in the stand-up's own time zone).

    "2026-12-24"; "today", "tomorrow"; a weekday ("fri", "next friday": the first one
    after today); a day and month ("24 Dec", "Dec 24th", "24 December 2027"; without
    a year, the next one from today). Numeric forms such as 12/11 are refused: Marketing
    and IT may not even agree on which is the day.
    """
    text = " ".join(value.strip().lower().split())
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    if text in {"today", "tomorrow"}:
        return today + timedelta(days=text == "tomorrow")
    named = text.removeprefix("next ").removeprefix("this ")
    weekday = _by_prefix(named, [name.lower() for name in WEEKDAY_NAMES])
    if weekday is not None and named.isalpha():
        return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)
    match = _DAY_MONTH.match(text) or _MONTH_DAY.match(text)
    month = _by_prefix(match["month"], MONTH_NAMES) if match else None
    if match is None or month is None:
        raise RecurrenceError(f"“{value[:20]}” is not a date; {DATE_HINT}.")
    day = int(match["day"])
    years = [int(match["year"])] if match["year"] else range(today.year, today.year + 5)
    for year in years:
        try:
            found = date(year, month + 1, day)
        except ValueError:
            continue  # 29 February outside a leap year
        if match["year"] or found >= today:
            return found
    raise RecurrenceError(
        f"“{value[:20]}” is not a date: {MONTH_NAMES[month].title()} has no {day}; {DATE_HINT}."
    )
