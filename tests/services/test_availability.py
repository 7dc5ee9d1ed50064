"""Time off as people type it, stored in their own zone; pulses that wait for people back
from time off; export-me and forget-me of time off."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from bot.commands.pulse import PULSE_CLOSE, PULSE_DM, open_and_plan
from bot.deps import Deps
from bot.models import Occurrence, PulsePoll, Side
from bot.services import availability, availability_privacy, people, workspaces
from bot.services.availability import InvalidTimeOff, parse_time_off
from tests.conftest import empty_tables

WS = "T0AWAY"
FRIDAY = date(2026, 12, 4)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2026-12-21 to 2027-01-03", (date(2026, 12, 21), date(2027, 1, 3))),
        ("21 Dec - 3 Jan", (date(2026, 12, 21), date(2027, 1, 3))),
        ("from monday until wednesday", (date(2026, 12, 7), date(2026, 12, 9))),
        ("friday", (date(2026, 12, 11), date(2026, 12, 11))),  # the next one after today
        ("today", (FRIDAY, FRIDAY)),
        ("tomorrow", (date(2026, 12, 5), date(2026, 12, 5))),
        ("3 days", (FRIDAY, date(2026, 12, 6))),
        ("1 day", (FRIDAY, FRIDAY)),
        ("2 weeks", (FRIDAY, date(2026, 12, 17))),
        ("until 5 Jan", (FRIDAY, date(2027, 1, 5))),
        ("  UNTIL   5   jan  ", (FRIDAY, date(2027, 1, 5))),
        ("off", None),
    ],
)
def test_time_off_is_read_as_people_type_it(typed: str, expected: tuple[date, date] | None) -> None:
    assert parse_time_off(typed, FRIDAY) == expected


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Say when you are away"),
        ("next blursday", "is not a date; write it as 2026-12-24, 24 Dec, friday, tomorrow"),
        ("2026-12-10 to 2026-12-08", "is before"),
        ("2026-01-05", "has already passed"),
        ("12/11", "is not a date"),
        ("0 days", "is not a number of days"),
        ("３ days", "is not a number of days"),  # full-width digits
        ("400 days", "at most a year"),
        ("2026-12-10 to 2028-01-01", "at most a year"),
        ("30 February", "February has no 30"),
    ],
)
def test_bad_time_off_is_refused_with_a_reason(typed: str, message: str) -> None:
    with pytest.raises(InvalidTimeOff, match=message) as refused:
        parse_time_off(typed, FRIDAY)
    assert refused.value.usage is not None and "until 5 Jan | off" in refused.value.usage


def test_time_off_begun_in_the_past_counts_from_today() -> None:
    assert parse_time_off("2026-12-01 to 2026-12-08", FRIDAY) == (FRIDAY, date(2026, 12, 8))


@pytest.fixture
def deps(module_deps: Deps) -> Deps:
    with module_deps.session_factory.begin() as session:
        empty_tables(session)
        workspaces.ensure_workspace(
            session=session, workspace_id=WS, platform="slack", timezone="Europe/London"
        )
    return module_deps


def add(deps: Deps, user: str, first: date, last: date) -> list[availability.TimeOffPeriod]:
    with deps.session_factory.begin() as session:
        return availability.add_time_off(
            session=session,
            workspace_id=WS,
            user_ref=user,
            first_day=first,
            last_day=last,
            today=FRIDAY,
            now=datetime(2026, 12, 4, 9, tzinfo=UTC),
        )


def test_overlapping_and_touching_periods_merge_and_away_off_ends_them(deps: Deps) -> None:
    add(deps, "U0ANN", date(2026, 12, 21), date(2026, 12, 24))
    add(deps, "U0ANN", date(2027, 1, 10), date(2027, 1, 12))
    periods = add(deps, "U0ANN", date(2026, 12, 25), date(2027, 1, 3))  # touches the first
    assert [(p.first_day, p.last_day) for p in periods] == [
        (date(2026, 12, 21), date(2027, 1, 3)),
        (date(2027, 1, 10), date(2027, 1, 12)),
    ]
    with deps.session_factory.begin() as session:
        ended = availability.end_time_off(
            session=session, workspace_id=WS, user_ref="U0ANN", today=date(2026, 12, 28)
        )
        left = availability.time_off_of(
            session=session, workspace_id=WS, user_ref="U0ANN", today=date(2026, 12, 20)
        )
    assert ended == 2
    # Back from the 28th: the days already taken stay, the rest is gone.
    assert [(p.first_day, p.last_day) for p in left] == [(date(2026, 12, 21), date(2026, 12, 27))]


def test_time_off_is_whole_days_where_the_person_is(deps: Deps) -> None:
    with deps.session_factory.begin() as session:
        availability.set_timezone(
            session=session, workspace_id=WS, user_ref="U0SYD", timezone="Australia/Sydney"
        )
    add(deps, "U0SYD", date(2026, 12, 7), date(2026, 12, 7))  # Monday, in Sydney
    with deps.session_factory() as session:

        def off(moment: datetime) -> bool:
            return "U0SYD" in availability.unavailable_at(
                session=session, workspace_id=WS, user_refs=["U0SYD"], moment=moment
            )

        # Sunday 13:00 UTC is Monday 00:00 in Sydney (UTC+11 in summer).
        assert not off(datetime(2026, 12, 6, 12, 59, tzinfo=UTC))
        assert off(datetime(2026, 12, 6, 13, 0, tzinfo=UTC))
        assert off(datetime(2026, 12, 7, 12, 59, tzinfo=UTC))
        assert not off(datetime(2026, 12, 7, 13, 0, tzinfo=UTC))


def test_a_bad_time_zone_or_region_is_refused_and_nothing_changes(deps: Deps) -> None:
    with pytest.raises(Exception, match="not a time zone"), deps.session_factory.begin() as s:
        availability.set_timezone(session=s, workspace_id=WS, user_ref="U0X", timezone="Mars/Base")
    with pytest.raises(Exception, match="no region"), deps.session_factory.begin() as s:
        availability.set_region(session=s, workspace_id=WS, user_ref="U0X", region="GB-XYZ")
    with deps.session_factory() as session:
        assert people.get_person(session=session, workspace_id=WS, user_ref="U0X") is None


def test_export_me_and_forget_me_cover_time_off_region_and_zone(deps: Deps) -> None:
    add(deps, "U0ANN", date(2026, 12, 21), date(2027, 1, 3))
    add(deps, "U0BEN", date(2026, 12, 21), date(2026, 12, 22))
    with deps.session_factory.begin() as session:
        availability.set_region(session=session, workspace_id=WS, user_ref="U0ANN", region="IN")
        exported = availability_privacy.export_person(
            session=session, workspace_id=WS, user_ref="U0ANN"
        )
        forgotten = availability_privacy.forget_person(
            session=session, workspace_id=WS, user_ref="U0ANN", now=datetime.now(UTC)
        )
        left = availability.people_away(
            session=session, workspace_id=WS, first=FRIDAY, last=date(2027, 2, 1)
        )
    assert [(p["first_day"], p["last_day"]) for p in exported["time_off"]] == [
        ("2026-12-21", "2027-01-03")
    ]
    assert exported["holiday_region_and_time_zone"] == [{"region": "IN", "time_zone": None}]
    assert forgotten.counts == {"time off": 1}
    assert [p.user_ref for p in left] == ["U0BEN"]


# -- pulses ------------------------------------------------------------------------------

MONDAY_10 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)  # the weekly pulse, London = UTC


def test_a_pulse_waits_for_people_back_inside_it_and_leaves_out_those_away_throughout(
    deps: Deps,
) -> None:
    """Open Monday 10:00 for 48 hours. Ann is asked at once; Ben, off on Monday, is asked
    Tuesday 10:00; Cleo, back on Wednesday, on Wednesday 10:00, and the pulse stays open
    until Thursday 10:00 for her; Dan, away all week, is not asked and not counted."""
    with deps.session_factory.begin() as session:
        for user, side in (
            ("U0ANN", Side.MARKETING),
            ("U0BEN", Side.IT),
            ("U0CLEO", Side.IT),
            ("U0DAN", Side.MARKETING),
        ):
            people.set_side(session=session, workspace_id=WS, user_ref=user, side=side)
    add(deps, "U0BEN", date(2026, 12, 7), date(2026, 12, 7))
    add(deps, "U0CLEO", date(2026, 12, 7), date(2026, 12, 8))
    add(deps, "U0DAN", date(2026, 12, 7), date(2026, 12, 18))
    with deps.session_factory.begin() as session:
        poll, asked = open_and_plan(session, WS, slot=MONDAY_10, now=MONDAY_10, hours=48)
        # Opening again (a retried delivery, minutes later) plans nothing new.
        open_and_plan(session, WS, slot=MONDAY_10, now=MONDAY_10 + timedelta(minutes=3), hours=48)
    assert sorted(asked) == ["U0ANN", "U0BEN", "U0CLEO"]
    with deps.session_factory() as session:
        dms = session.execute(
            select(Occurrence.recipient_ref, Occurrence.due_at)
            .where(Occurrence.kind == PULSE_DM)
            .order_by(Occurrence.due_at)
        ).all()
        closes = session.execute(
            select(Occurrence.due_at).where(Occurrence.kind == PULSE_CLOSE)
        ).scalar_one()
        invited = session.execute(select(PulsePoll.invited)).scalar_one()
    assert [(user, due) for user, due in dms] == [
        ("U0ANN", MONDAY_10),
        ("U0BEN", MONDAY_10 + timedelta(days=1)),
        ("U0CLEO", MONDAY_10 + timedelta(days=2)),
    ]
    assert closes == poll.closes_at == MONDAY_10 + timedelta(days=3)
    assert invited == {"marketing": 1, "it": 2}  # Dan lowers no response rate


def test_a_pulse_closes_on_schedule_when_nobody_is_away_and_never_after_six_days() -> None:
    opens = MONDAY_10
    assert availability.pulse_closing(opens, opens + timedelta(hours=48), [opens]) == (
        opens + timedelta(hours=48)
    )
    late = [opens + timedelta(days=5, hours=23)]
    assert availability.pulse_closing(opens, opens + timedelta(hours=48), late) == (
        opens + availability.LONGEST_PULSE
    )
    # A pulse set to stay open a week keeps its week.
    assert availability.pulse_closing(opens, opens + timedelta(days=7), late) == (
        opens + timedelta(days=7)
    )


def test_the_first_day_back_skips_holidays_of_ones_region(deps: Deps) -> None:
    with deps.session_factory.begin() as session:
        availability.set_region(session=session, workspace_id=WS, user_ref="U0ANN", region="GB")
    add(deps, "U0ANN", date(2026, 12, 21), date(2026, 12, 24))
    with deps.session_factory() as session:
        back = availability.first_day_back(
            session=session, workspace_id=WS, user_ref="U0ANN", day=date(2026, 12, 21)
        )
        times = availability.ask_times(
            session=session,
            workspace_id=WS,
            user_refs=["U0ANN"],
            opens=datetime(2026, 12, 21, 10, tzinfo=UTC),
            local_time=time(10),
        )
    # Christmas Day, Boxing Day (a Saturday), Sunday and Boxing Day observed on Monday.
    assert back == date(2026, 12, 29)
    assert times == {
        "U0ANN": availability.Invitation(
            back=datetime(2026, 12, 29, 0, tzinfo=UTC),
            ask_at=datetime(2026, 12, 29, 10, tzinfo=UTC),
        )
    }
