"""A stand-up as an iCalendar feed: a weekly rule in its own time zone, minus skipped dates
and public holidays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event, vRecur

from bot.services.holiday_calendars import holidays_between
from bot.services.recurrence import ICAL_DAYS
from bot.services.standups import StandupView

MEETING_LENGTH = timedelta(minutes=15)
HOLIDAYS_AHEAD = timedelta(days=366)


def standup_calendar(
    view: StandupView, *, subscribe_url: str | None = None, now: datetime | None = None
) -> bytes:
    """The .ics for a stand-up: RRULE with BYDAY, TZID times, EXDATE per skipped date and
    per public holiday of its calendars (each also an all-day note with its name), up to a
    year after `now`."""
    now = now or datetime.now(UTC)
    calendar = Calendar()
    calendar.add("prodid", "-//bridgebot//stand-ups//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", view.name)
    calendar.add("x-wr-timezone", view.weekly.timezone)
    event = Event()
    event.add("uid", f"standup-{view.id}-{view.calendar_token[:12]}@bridgebot")
    event.add("summary", view.name)
    created = view.created_at
    first = view.weekly.next_after(created)
    start_date = first[0] if first else created.date()
    local_start = datetime.combine(start_date, view.weekly.local_time, tzinfo=view.weekly.zone)
    event.add("dtstart", local_start)
    length = view.deadline if view.mode == "async" else MEETING_LENGTH
    event.add("duration", length)
    event.add("dtstamp", created)
    event.add(
        "rrule",
        vRecur({"FREQ": "WEEKLY", "BYDAY": [ICAL_DAYS[day] for day in view.weekly.weekdays]}),
    )
    for skipped in view.skipped:
        event.add(
            "exdate",
            datetime.combine(skipped, view.weekly.local_time, tzinfo=view.weekly.zone),
        )
    # Public holidays of its calendars on its days, from its first day to a year ahead:
    # left out of the rule, and each shown as an all-day note naming the holiday.
    holidays = [
        (day, name)
        for day, name in holidays_between(
            view.weekly.calendars, start_date, max(start_date, now.date()) + HOLIDAYS_AHEAD
        )
        if day.weekday() in view.weekly.weekdays and day not in view.skipped
    ]
    for day, _ in holidays:
        event.add("exdate", datetime.combine(day, view.weekly.local_time, tzinfo=view.weekly.zone))
    description = ["Joint Marketing + IT stand-up.", "", *view.questions]
    if view.call_link:
        event.add("url", view.call_link)
        description += ["", f"Call: {view.call_link}"]
    event.add("description", "\n".join(description))
    if subscribe_url:
        calendar.add("source", subscribe_url)
    calendar.add_component(event)
    for day, name in holidays:
        note = Event()
        note.add("uid", f"standup-{view.id}-{view.calendar_token[:12]}-off-{day:%Y%m%d}@bridgebot")
        note.add("summary", f"No {view.name}: {name}")
        note.add("dtstart", day)
        note.add("dtend", day + timedelta(days=1))
        note.add("dtstamp", created)
        note.add("transp", "TRANSPARENT")  # a note, not a busy day
        calendar.add_component(note)
    calendar.add_missing_timezones()
    return calendar.to_ical()
