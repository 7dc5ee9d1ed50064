"""The stand-up .ics: a weekly RRULE in its own zone, EXDATEs for skips, served by token."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from fastapi.testclient import TestClient
from icalendar import Calendar, Event

from bot.deps import Deps
from bot.services import standups, workspaces
from bot.services.calendar import standup_calendar
from bot.services.recurrence import Weekly
from bot.services.standups import StandupDraft, StandupView
from tests.fake_slack import TEAM_ID

LONDON = "Europe/London"
# Tuesday 20 October 2026; British Summer Time ends on Sunday the 25th.
CREATED = datetime(2026, 10, 20, 12, 0, tzinfo=UTC)


def view_of(
    *,
    weekdays: tuple[int, ...] = (0, 2, 4),
    at: time = time(9, 30),
    zone: str = LONDON,
    skipped: tuple[date, ...] = (),
    mode: str = "meeting",
    call_link: str | None = "https://meet.example/standup",
    created: datetime = CREATED,
    calendars: tuple[str, ...] = (),
) -> StandupView:
    return StandupView(
        id=7,
        number=2,
        workspace_id="T0CAL",
        name="Marketing + IT weekly",
        channel_ref="C0CAL",
        weekly=Weekly(weekdays, at, zone, calendars),
        mode=mode,
        call_link=call_link,
        questions=("A win to share", "A challenge you face"),
        participants=("U0ANN",),
        both_sides=False,
        reminder_lead=timedelta(minutes=15),
        deadline=timedelta(minutes=90),
        nudge=None,
        paused=False,
        creator_ref="U0ANN",
        calendar_token="tok-" + "x" * 28,
        skipped=skipped,
        created_at=created,
    )


def the_event(ics: bytes) -> Event:
    (event,) = Calendar.from_ical(ics).events
    return event


def exdates(event: Event) -> set[datetime]:
    found = event.get("exdate") or []
    lists = found if isinstance(found, list) else [found]
    return {item.dt for listed in lists for item in listed.dts}


def expand(event: Event, until: datetime) -> list[datetime]:
    """Every start of the event before `until`, in UTC: RRULE from DTSTART minus EXDATEs."""
    start = event.decoded("dtstart")
    (recurrence,) = event.rrules
    rule = rrulestr(recurrence.to_ical().decode(), dtstart=start)
    excluded = {moment.astimezone(UTC) for moment in exdates(event)}
    starts = itertools.takewhile(lambda moment: moment < until, rule)
    return [s.astimezone(UTC) for s in starts if s.astimezone(UTC) not in excluded]


def test_ics_has_a_weekly_rule_on_the_right_days_in_the_stand_ups_zone() -> None:
    calendar = Calendar.from_ical(standup_calendar(view_of(weekdays=(0, 2, 4))))
    event = the_event(calendar.to_ical())

    (rule,) = event.rrules
    assert rule["FREQ"] == ["WEEKLY"]
    assert rule["BYDAY"] == ["MO", "WE", "FR"]
    assert event["dtstart"].params["TZID"] == LONDON
    start = event.decoded("dtstart")
    assert start.tzinfo is not None
    assert (start.date(), start.time()) == (date(2026, 10, 21), time(9, 30))  # first Wednesday
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == [LONDON]
    assert str(event["summary"]) == "Marketing + IT weekly"
    assert event.decoded("duration") == timedelta(minutes=15)
    assert str(event["url"]) == "https://meet.example/standup"
    assert "A challenge you face" in str(event["description"])


def test_skipped_dates_are_exdates_at_the_local_start_time() -> None:
    skipped = (date(2026, 10, 28), date(2026, 11, 2))
    event = the_event(standup_calendar(view_of(skipped=skipped)))
    assert {(d.date(), d.time(), str(d.tzinfo)) for d in exdates(event)} == {
        (date(2026, 10, 28), time(9, 30), LONDON),
        (date(2026, 11, 2), time(9, 30), LONDON),
    }
    assert "EXDATE;TZID=Europe/London:20261028T093000" in event.to_ical().decode()


def test_no_skips_means_no_exdate() -> None:
    assert "exdate" not in the_event(standup_calendar(view_of()))


def test_expanding_the_ics_gives_the_bots_own_dates_across_the_clock_change() -> None:
    skipped = (date(2026, 10, 28), date(2026, 11, 2), date(2026, 12, 25))
    view = view_of(skipped=skipped)
    until = CREATED + timedelta(weeks=10)

    from_calendar = expand(the_event(standup_calendar(view)), until)
    from_bot = [instant for _, instant in view.weekly.between(CREATED, until, skipped)]

    assert len(from_bot) == 10 * 3 - 3
    assert from_calendar == from_bot
    # 09:30 in London: 08:30 UTC in summer, 09:30 UTC after 25 October.
    assert from_calendar[:3] == [
        datetime(2026, 10, 21, 8, 30, tzinfo=UTC),
        datetime(2026, 10, 23, 8, 30, tzinfo=UTC),
        datetime(2026, 10, 26, 9, 30, tzinfo=UTC),
    ]


def test_expansion_matches_in_new_york_across_its_spring_change() -> None:
    created = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    view = view_of(
        weekdays=(1, 3), at=time(8, 0), zone="America/New_York", created=created, call_link=None
    )
    until = created + timedelta(weeks=6)
    from_calendar = expand(the_event(standup_calendar(view)), until)
    assert from_calendar == [instant for _, instant in view.weekly.between(created, until)]
    zone = ZoneInfo("America/New_York")
    assert {moment.astimezone(zone).time() for moment in from_calendar} == {time(8, 0)}
    assert "url" not in the_event(standup_calendar(view))


def test_public_holidays_are_exdates_and_all_day_notes_naming_them() -> None:
    """On GB's calendar (Mondays, Wednesdays and Fridays): Christmas Day (a Friday) and
    Boxing Day observed on Monday 28 December are left out of the rule, each shown as an
    all-day note, and the calendar expands to the very dates the bot runs."""
    view = view_of(calendars=("GB",))
    ics = standup_calendar(view, now=CREATED)
    calendar = Calendar.from_ical(ics)
    event, *notes = calendar.events
    holidays = {d.date() for d in exdates(event)}
    assert {date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1)} <= holidays
    assert date(2026, 12, 24) not in holidays  # a Thursday: not one of its days anyway
    named = {note.decoded("dtstart"): str(note["summary"]) for note in notes}
    assert named[date(2026, 12, 28)] == "No Marketing + IT weekly: Boxing Day (observed)"
    assert str(notes[0]["transp"]) == "TRANSPARENT"
    until = CREATED + timedelta(weeks=20)
    from_bot = [instant for _, instant in view.weekly.between(CREATED, until)]
    assert expand(event, until) == from_bot
    assert datetime(2026, 12, 25, 9, 30, tzinfo=UTC) not in from_bot


def test_async_stand_up_lasts_until_its_deadline() -> None:
    event = the_event(standup_calendar(view_of(mode="async")))
    assert event.decoded("duration") == timedelta(minutes=90)


def test_calendar_feed_is_served_for_a_real_token_only(
    slack_http: TestClient, slack_deps: Deps
) -> None:
    with slack_deps.session_factory.begin() as session:
        workspaces.ensure_workspace(
            session=session, workspace_id=TEAM_ID, platform="slack", timezone="UTC"
        )
        view = standups.create(
            session=session,
            workspace_id=TEAM_ID,
            draft=StandupDraft(
                name="Feed test",
                channel_ref="C0FEED",
                weekdays="tue,thu",
                local_time="10:00",
                timezone=LONDON,
                participants="U0ANN",
            ),
            creator_ref="U0ANN",
            now=CREATED,
            secret_key=slack_deps.secret_key,
        )
        standups.skip(
            session=session,
            workspace_id=TEAM_ID,
            number=view.number,
            local_date=date(2026, 10, 27),
            user_ref="U0ANN",
            is_admin=False,
            now=CREATED,
        )

    response = slack_http.get(f"/calendar/{view.calendar_token}.ics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    event = the_event(response.content)
    assert event.rrules[0]["BYDAY"] == ["TU", "TH"]
    assert {d.date() for d in exdates(event)} == {date(2026, 10, 27)}
    assert str(event["summary"]) == "Feed test"

    token = view.calendar_token
    wrong = slack_http.get(f"/calendar/{token[:-1]}{'B' if token.endswith('A') else 'A'}.ics")
    assert wrong.status_code == 404
    assert "BEGIN:VCALENDAR" not in wrong.text
    assert slack_http.get("/calendar/.ics").status_code == 404
