"""Public holiday calendars by country and subdivision ("GB", "US-CA", "DE-BY"), from the
`holidays` package.

Building a country's calendar for a year takes the package milliseconds, so each
(calendar, year) is built once per process and kept as a plain dict: asking whether a
day is a holiday is then a dictionary lookup, cheap enough for every planned occurrence
of thousands of stand-ups.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from datetime import date, timedelta
from functools import cache

import holidays

from bot.errors import Invalid

MAX_CALENDARS = 5
_CODE = re.compile(r"^(?P<country>[A-Za-z]{2,3})(?:[-_ ](?P<subdiv>[A-Za-z0-9]{1,6}))?$", re.ASCII)
EXAMPLES = "GB, US-CA, DE-BY or IN"


class UnknownCalendar(Invalid):
    """A holiday calendar code the `holidays` package does not know; the message lists
    the valid ones."""


@cache
def _supported() -> dict[str, tuple[str, ...]]:
    """Country code -> its subdivision codes, upper-cased (two-letter codes only)."""
    return {
        country.upper(): tuple(subdiv.upper() for subdiv in subdivs)
        for country, subdivs in holidays.list_supported_countries().items()
        if len(country) == 2
    }


def parse_calendar(value: str) -> str:
    """One calendar code as typed ("gb", "US-CA", "de by") in its stored form ("DE-BY").

    Raises:
        UnknownCalendar: not a country (the countries are listed) or not one of its
            subdivisions (its subdivisions are listed).
    """
    raw = value.strip()
    match = _CODE.match(raw)
    if match is None:
        raise UnknownCalendar(
            f"“{raw[:20]}” is not a holiday calendar; write a country code with an optional "
            f"region, such as {EXAMPLES}."
        )
    country, subdiv = match["country"].upper(), (match["subdiv"] or "").upper()
    supported = _supported()
    if country not in supported:
        raise UnknownCalendar(
            f"“{raw[:20]}” is not a country bridgebot has holidays for. "
            f"Countries: {', '.join(sorted(supported))}."
        )
    if subdiv and subdiv not in supported[country]:
        regions = supported[country]
        listed = f"Its regions: {', '.join(regions)}." if regions else "It has no regions."
        raise UnknownCalendar(f"{country} has no region “{subdiv}”. {listed}")
    return f"{country}-{subdiv}" if subdiv else country


def parse_calendars(value: str) -> tuple[str, ...]:
    """Calendars separated by commas or spaces ("GB, US-CA"); "" or "none" is none.

    Raises:
        UnknownCalendar: any code unknown (see parse_calendar), or more than MAX_CALENDARS.
    """
    text = value.strip()
    if text.lower() in {"", "none", "off", "-"}:
        return ()
    codes = [part for part in re.split(r"[\s,;]+", text) if part]
    found = tuple(dict.fromkeys(parse_calendar(code) for code in codes))
    if len(found) > MAX_CALENDARS:
        raise UnknownCalendar(f"At most {MAX_CALENDARS} holiday calendars.")
    return found


@cache
def _year(code: str, year: int) -> dict[date, str]:
    country, _, subdiv = code.partition("-")
    calendar = holidays.country_holidays(country, subdiv=subdiv or None, years=year)
    # Several holidays on one day come joined by "; " already.
    return {day: str(name) for day, name in calendar.items()}


@cache
def weekend(code: str | None) -> frozenset[int]:
    """The weekend days (Monday is 0) of a calendar's country; Saturday and Sunday if none."""
    if not code:
        return frozenset({5, 6})
    country, _, subdiv = code.partition("-")
    return frozenset(holidays.country_holidays(country, subdiv=subdiv or None).weekend)


def holiday_name(codes: Iterable[str], day: date) -> str | None:
    """The holiday `day` is in any of these calendars (their names joined), or None."""
    names: list[str] = []
    for code in codes:
        name = _year(code, day.year).get(day)
        if name and name not in names:
            names.append(name)
    return " / ".join(names) if names else None


def holidays_between(codes: Collection[str], first: date, last: date) -> list[tuple[date, str]]:
    """Every holiday of these calendars from `first` to `last` inclusive, in date order."""
    if not codes:
        return []
    found: dict[date, list[str]] = {}
    for year in range(first.year, last.year + 1):
        for code in codes:
            for day, name in _year(code, year).items():
                if first <= day <= last and name not in found.setdefault(day, []):
                    found[day].append(name)
    return [(day, " / ".join(found[day])) for day in sorted(found)]


def next_holidays(
    codes: Collection[str], after: date, count: int, within: timedelta = timedelta(days=400)
) -> list[tuple[date, str]]:
    """The next `count` holidays from `after` on (inclusive), looking `within` ahead."""
    return holidays_between(codes, after, after + within)[:count]
