"""Who is not asked on a day: people on time off, and people on a public holiday of their
own region. Stand-ups, pulses and bridge pairs ask this before they ask anyone.

A person's region is their `/bridge region` (or the workspace's default holiday
calendar); their time zone is their `/bridge timezone` (or the workspace's). Time off is
whole days in that zone, first and last included, so "away until 5 Jan" ends at midnight
where they are, not where the server is.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.db import insert_ignoring_conflicts
from bot.errors import Invalid
from bot.models import Person, TimeOff, WorkspaceSettings
from bot.services.holiday_calendars import holiday_name, parse_calendar, weekend
from bot.services.recurrence import (
    DATE_HINT,
    RecurrenceError,
    check_timezone,
    parse_day,
)
from bot.textinput import ascii_number

AWAY = "away"
HOLIDAY = "holiday"
MAX_TIME_OFF = timedelta(days=366)  # one period; longer is a typo more often than leave
KEEP_PAST = timedelta(days=30)  # ended periods are deleted this long after their end
AWAY_USAGE = "/bridge away 2026-12-21 to 2027-01-03 | friday | 3 days | until 5 Jan | off"


class InvalidTimeOff(Invalid):
    """Time off that cannot be stored: a date not understood, in the past, or backwards."""


@dataclass(frozen=True)
class Unavailability:
    """Why someone is not asked on a day: kind "away" (label "away", never the reason)
    or "holiday" (label: the holiday's name)."""

    kind: str
    label: str


@dataclass(frozen=True)
class Availability:
    """A person's holiday region and time zone, each their own or the workspace's."""

    user_ref: str
    region: str | None
    own_region: bool
    timezone: str
    own_timezone: bool

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()


@dataclass(frozen=True)
class TimeOffPeriod:
    user_ref: str
    first_day: date
    last_day: date

    def covers(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day

    def describe(self) -> str:
        if self.first_day == self.last_day:
            return f"{self.first_day:%a %d %b %Y}"
        return f"{self.first_day:%a %d %b %Y} to {self.last_day:%a %d %b %Y}"


def _defaults(session: Session, workspace_id: str) -> tuple[str | None, str]:
    row = session.execute(
        select(WorkspaceSettings.holiday_region, WorkspaceSettings.timezone).where(
            WorkspaceSettings.workspace_id == workspace_id
        )
    ).one_or_none()
    return (row[0], row[1]) if row else (None, "UTC")


def workspace_region(*, session: Session, workspace_id: str) -> str | None:
    """The workspace's default holiday calendar (None: none chosen)."""
    return _defaults(session, workspace_id)[0]


def availability_of(
    *, session: Session, workspace_id: str, user_refs: Collection[str]
) -> dict[str, Availability]:
    """Each person's region and time zone (the workspace's where they chose none)."""
    region, timezone = _defaults(session, workspace_id)
    own: dict[str, tuple[str | None, str | None]] = {}
    refs = list(dict.fromkeys(user_refs))
    for start in range(0, len(refs), 1000):
        for user_ref, person_region, person_zone in session.execute(
            select(Person.user_ref, Person.region, Person.timezone).where(
                Person.workspace_id == workspace_id, Person.user_ref.in_(refs[start : start + 1000])
            )
        ):
            own[user_ref] = (person_region, person_zone)
    found = {}
    for user_ref in refs:
        person_region, person_zone = own.get(user_ref, (None, None))
        found[user_ref] = Availability(
            user_ref=user_ref,
            region=person_region or region,
            own_region=person_region is not None,
            timezone=person_zone or timezone,
            own_timezone=person_zone is not None,
        )
    return found


def _time_off(
    session: Session, workspace_id: str, user_refs: list[str], first: date, last: date
) -> dict[str, list[TimeOffPeriod]]:
    """Periods of these people that overlap [first, last]."""
    found: dict[str, list[TimeOffPeriod]] = {}
    for start in range(0, len(user_refs), 1000):
        rows = session.execute(
            select(TimeOff.user_ref, TimeOff.first_day, TimeOff.last_day).where(
                TimeOff.workspace_id == workspace_id,
                TimeOff.user_ref.in_(user_refs[start : start + 1000]),
                TimeOff.last_day >= first,
                TimeOff.first_day <= last,
            )
        )
        for user_ref, first_day, last_day in rows:
            found.setdefault(user_ref, []).append(TimeOffPeriod(user_ref, first_day, last_day))
    return found


def _why(person: Availability, periods: list[TimeOffPeriod], day: date) -> Unavailability | None:
    if any(period.covers(day) for period in periods):
        return Unavailability(AWAY, "away")
    if person.region:
        name = holiday_name((person.region,), day)
        if name:
            return Unavailability(HOLIDAY, name)
    return None


def unavailable_on(
    *, session: Session, workspace_id: str, user_refs: Collection[str], day: date
) -> dict[str, Unavailability]:
    """Who of these people is not asked on `day` (a local date), and why.

    Returns:
        user_ref -> Unavailability; a person left out is available. Time off comes
        before a holiday (the person chose it).
    """
    refs = list(dict.fromkeys(user_refs))
    if not refs:
        return {}
    people = availability_of(session=session, workspace_id=workspace_id, user_refs=refs)
    periods = _time_off(session, workspace_id, refs, day, day)
    found = {}
    for user_ref in refs:
        why = _why(people[user_ref], periods.get(user_ref, []), day)
        if why is not None:
            found[user_ref] = why
    return found


def unavailable_at(
    *, session: Session, workspace_id: str, user_refs: Collection[str], moment: datetime
) -> dict[str, Unavailability]:
    """Who of these people is not asked at `moment`, each judged on the date it is where
    they are (09:00 on a Friday in Sydney is still Thursday evening in London).

    Returns:
        user_ref -> Unavailability, as unavailable_on.
    """
    return unavailable_at_each(
        session=session, workspace_id=workspace_id, asks=[(user_refs, moment)]
    )[0]


def unavailable_at_each(
    *,
    session: Session,
    workspace_id: str,
    asks: Sequence[tuple[Collection[str], datetime]],
) -> list[dict[str, Unavailability]]:
    """`unavailable_at` for many (people, moment) of one workspace in three queries: one
    result per ask, in order (a tick expanding many stand-ups' rounds at once)."""
    refs = list(dict.fromkeys(user_ref for user_refs, _ in asks for user_ref in user_refs))
    if not refs:
        return [{} for _ in asks]
    people = availability_of(session=session, workspace_id=workspace_id, user_refs=refs)
    days = [
        {user_ref: people[user_ref].local_date(moment) for user_ref in user_refs}
        for user_refs, moment in asks
    ]
    every_day = [day for of_ask in days for day in of_ask.values()]
    periods = _time_off(session, workspace_id, refs, min(every_day), max(every_day))
    found: list[dict[str, Unavailability]] = []
    for of_ask in days:
        why_of_ask = {}
        for user_ref, day in of_ask.items():
            why = _why(people[user_ref], periods.get(user_ref, []), day)
            if why is not None:
                why_of_ask[user_ref] = why
        found.append(why_of_ask)
    return found


def first_day_back(
    *, session: Session, workspace_id: str, user_ref: str, day: date, limit: int = 400
) -> date | None:
    """The first working day from `day` on (inclusive) on which the person is neither away
    nor on a holiday of their region (weekends as their region has them); None if there is
    none within `limit` days."""
    person = availability_of(session=session, workspace_id=workspace_id, user_refs=[user_ref])[
        user_ref
    ]
    periods = _time_off(session, workspace_id, [user_ref], day, day + timedelta(days=limit))
    own = periods.get(user_ref, [])
    days_off = weekend(person.region)
    for offset in range(limit):
        candidate = day + timedelta(days=offset)
        if candidate.weekday() not in days_off and _why(person, own, candidate) is None:
            return candidate
    return None


# -- pulses ------------------------------------------------------------------------------

# Someone asked on their first day back has at least this long to answer: the pulse stays
# open that long after the last such invitation...
RETURN_WINDOW = timedelta(hours=24)
# ...but never longer than this after it opened, so it closes before the next week's.
LONGEST_PULSE = timedelta(days=6)


@dataclass(frozen=True)
class Invitation:
    """When a pulse asks someone: `ask_at`, on the first day they are `back` (the start of
    that day where they are; when the pulse opens, for someone not away then)."""

    back: datetime
    ask_at: datetime


def ask_times(
    *,
    session: Session,
    workspace_id: str,
    user_refs: Collection[str],
    opens: datetime,
    local_time: time,
) -> dict[str, Invitation | None]:
    """When a pulse opening at `opens` asks each person: at once if they are available
    then, else at `local_time` on their first day back, where they are (None: not back
    within a year)."""
    refs = list(dict.fromkeys(user_refs))
    away = unavailable_at(session=session, workspace_id=workspace_id, user_refs=refs, moment=opens)
    people = availability_of(session=session, workspace_id=workspace_id, user_refs=list(away))
    found: dict[str, Invitation | None] = {user_ref: Invitation(opens, opens) for user_ref in refs}
    for user_ref in away:
        person = people[user_ref]
        day = first_day_back(
            session=session,
            workspace_id=workspace_id,
            user_ref=user_ref,
            day=person.local_date(opens) + timedelta(days=1),
        )
        found[user_ref] = (
            None
            if day is None
            else Invitation(
                back=datetime.combine(day, time(0), tzinfo=person.zone).astimezone(opens.tzinfo),
                ask_at=datetime.combine(day, local_time, tzinfo=person.zone).astimezone(
                    opens.tzinfo
                ),
            )
        )
    return found


def pulse_closing(opens: datetime, closes: datetime, asked_at: Collection[datetime]) -> datetime:
    """When a pulse closes, given when it asks each person: on schedule, or later so that
    everyone asked on their first day back has RETURN_WINDOW to answer, but no later than
    LONGEST_PULSE after it opened (nor ever before its schedule)."""
    latest = max(asked_at, default=opens)
    return max(closes, min(latest + RETURN_WINDOW, opens + LONGEST_PULSE))


# -- settings --------------------------------------------------------------------------


def _person_row(
    session: Session, workspace_id: str, user_ref: str, display_name: str | None
) -> Person:
    insert_ignoring_conflicts(
        session,
        Person,
        {"workspace_id": workspace_id, "user_ref": user_ref, "display_name": display_name},
        ["workspace_id", "user_ref"],
    )
    return session.execute(
        select(Person).where(Person.workspace_id == workspace_id, Person.user_ref == user_ref)
    ).scalar_one()


def set_region(
    *,
    session: Session,
    workspace_id: str,
    user_ref: str,
    region: str,
    display_name: str | None = None,
) -> Availability:
    """Set the person's holiday region ("GB", "US-CA"); "default" goes back to the
    workspace's.

    Raises:
        UnknownCalendar: a code the holidays package does not know (the message lists them).
    """
    code = None if region.strip().lower() in {"default", "workspace", "none"} else region
    row = _person_row(session, workspace_id, user_ref, display_name)
    row.region = parse_calendar(code) if code is not None else None
    session.flush()
    return availability_of(session=session, workspace_id=workspace_id, user_refs=[user_ref])[
        user_ref
    ]


def set_timezone(
    *,
    session: Session,
    workspace_id: str,
    user_ref: str,
    timezone: str,
    display_name: str | None = None,
) -> Availability:
    """Set the person's own time zone ("Europe/London"); "default" goes back to the
    workspace's.

    Raises:
        RecurrenceError: not a time zone.
    """
    wanted = timezone.strip()
    zone = None if wanted.lower() in {"default", "workspace"} else check_timezone(wanted)
    row = _person_row(session, workspace_id, user_ref, display_name)
    row.timezone = zone
    session.flush()
    return availability_of(session=session, workspace_id=workspace_id, user_refs=[user_ref])[
        user_ref
    ]


def set_workspace_region(*, session: Session, workspace_id: str, region: str) -> str | None:
    """The workspace's default holiday calendar; "none" for none.

    Raises:
        UnknownCalendar: see parse_calendar.
    """
    code = None if region.strip().lower() in {"", "none", "off"} else parse_calendar(region)
    row = session.execute(
        select(WorkspaceSettings).where(WorkspaceSettings.workspace_id == workspace_id)
    ).scalar_one()
    row.holiday_region = code
    session.flush()
    return code


# -- time off ----------------------------------------------------------------------------

_RANGE = re.compile(r"^(?:from\s+)?(?P<first>.+?)\s+(?:to|until|till|through|-|–)\s+(?P<last>.+)$")
_COUNT = re.compile(r"^(?:for\s+)?(?P<n>\S+)\s+(?P<unit>days?|weeks?)$")


def parse_time_off(value: str, today: date) -> tuple[date, date] | None:
    """What follows `/bridge away`, seen from `today` in the person's zone: the first and
    last day off, or None for "off" (back now).

    "2026-12-21 to 2027-01-03", "friday", "tomorrow", "3 days" (today and the two after),
    "2 weeks", "until 5 Jan" (today to 5 January).

    Raises:
        InvalidTimeOff: not understood, backwards, in the past, or longer than a year.
    """
    text = " ".join(value.strip().lower().split())
    if not text:
        raise InvalidTimeOff("Say when you are away.", AWAY_USAGE)
    if text in {"off", "back", "none", "cancel"}:
        return None
    try:
        if count := _COUNT.match(text):
            number = ascii_number(count["n"])
            if number is None or number < 1:
                raise InvalidTimeOff(
                    f"“{count['n'][:10]}” is not a number of {count['unit'].rstrip('s')}s.",
                    AWAY_USAGE,
                )
            days = number * (7 if count["unit"].startswith("week") else 1)
            if days > MAX_TIME_OFF.days:
                raise InvalidTimeOff("Time off is at most a year at a time.", AWAY_USAGE)
            first, last = today, today + timedelta(days=days - 1)
        elif text.startswith(("until ", "till ", "to ")):
            first, last = today, parse_day(text.split(" ", 1)[1], today)
        elif span := _RANGE.match(text):
            first = parse_day(span["first"], today)
            last = parse_day(span["last"], first)
        else:
            first = last = parse_day(text, today)
    except RecurrenceError as exc:
        raise InvalidTimeOff(str(exc).replace(DATE_HINT, _AWAY_HINT), AWAY_USAGE) from None
    if last < first:
        raise InvalidTimeOff(
            f"{last:%a %d %b %Y} is before {first:%a %d %b %Y}; put the first day first.",
            AWAY_USAGE,
        )
    if last < today:
        raise InvalidTimeOff(f"{last:%a %d %b %Y} has already passed.", AWAY_USAGE)
    if last - first >= MAX_TIME_OFF:
        raise InvalidTimeOff("Time off is at most a year at a time.", AWAY_USAGE)
    return max(first, today), last


_AWAY_HINT = "write it as 2026-12-24, 24 Dec, friday, tomorrow or 3 days"


def add_time_off(
    *,
    session: Session,
    workspace_id: str,
    user_ref: str,
    first_day: date,
    last_day: date,
    today: date,
    now: datetime,
) -> list[TimeOffPeriod]:
    """Store a period of time off, merged with any it overlaps or touches; periods long
    over are deleted on the way. Returns the person's current and upcoming periods."""
    session.execute(
        delete(TimeOff).where(
            TimeOff.workspace_id == workspace_id,
            TimeOff.user_ref == user_ref,
            TimeOff.last_day < today - KEEP_PAST,
        )
    )
    touching = session.execute(
        select(TimeOff).where(
            TimeOff.workspace_id == workspace_id,
            TimeOff.user_ref == user_ref,
            TimeOff.last_day >= first_day - timedelta(days=1),
            TimeOff.first_day <= last_day + timedelta(days=1),
        )
    ).scalars()
    for row in touching:
        first_day, last_day = min(first_day, row.first_day), max(last_day, row.last_day)
        session.delete(row)
    session.add(
        TimeOff(
            workspace_id=workspace_id,
            user_ref=user_ref,
            first_day=first_day,
            last_day=last_day,
            created_at=now,
        )
    )
    session.flush()
    return time_off_of(session=session, workspace_id=workspace_id, user_ref=user_ref, today=today)


def end_time_off(*, session: Session, workspace_id: str, user_ref: str, today: date) -> int:
    """`away off`: back from today. A period under way ends yesterday; those ahead are
    deleted. Returns how many periods changed."""
    changed = 0
    rows = session.execute(
        select(TimeOff).where(
            TimeOff.workspace_id == workspace_id,
            TimeOff.user_ref == user_ref,
            TimeOff.last_day >= today,
        )
    ).scalars()
    for row in rows:
        if row.first_day < today:
            row.last_day = today - timedelta(days=1)
        else:
            session.delete(row)
        changed += 1
    session.flush()
    return changed


def time_off_of(
    *, session: Session, workspace_id: str, user_ref: str, today: date
) -> list[TimeOffPeriod]:
    """The person's periods under way or ahead, soonest first."""
    rows = session.execute(
        select(TimeOff.first_day, TimeOff.last_day)
        .where(
            TimeOff.workspace_id == workspace_id,
            TimeOff.user_ref == user_ref,
            TimeOff.last_day >= today,
        )
        .order_by(TimeOff.first_day)
    )
    return [TimeOffPeriod(user_ref, first, last) for first, last in rows]


def people_away(
    *, session: Session, workspace_id: str, first: date, last: date
) -> list[TimeOffPeriod]:
    """Everyone's periods overlapping [first, last] (for admins: who, and when, never why)."""
    rows = session.execute(
        select(TimeOff.user_ref, TimeOff.first_day, TimeOff.last_day)
        .where(
            TimeOff.workspace_id == workspace_id,
            TimeOff.last_day >= first,
            TimeOff.first_day <= last,
        )
        .order_by(TimeOff.first_day, TimeOff.user_ref)
    )
    return [TimeOffPeriod(user_ref, first_day, last_day) for user_ref, first_day, last_day in rows]
