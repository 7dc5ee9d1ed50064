"""A stand-up as an iCalendar feed: a weekly rule in its own time zone, minus skipped dates."""

from __future__ import annotations

from datetime import datetime, timedelta

from icalendar import Calendar, Event, vRecur

from bot.services.recurrence import ICAL_DAYS
from bot.services.standups import StandupView

MEETING_LENGTH = timedelta(minutes=15)


def standup_calendar(view: StandupView, *, subscribe_url: str | None = None) -> bytes:
    """The .ics for a stand-up: RRULE with BYDAY, TZID times, EXDATE per skipped date."""
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
    description = ["Joint Marketing + IT stand-up.", "", *view.questions]
    if view.call_link:
        event.add("url", view.call_link)
        description += ["", f"Call: {view.call_link}"]
    event.add("description", "\n".join(description))
    if subscribe_url:
        calendar.add("source", subscribe_url)
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()
