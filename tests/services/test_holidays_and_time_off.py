"""Holidays and time off in stand-ups: a stand-up does not run on its calendars' holidays,
and each person is not asked on their own region's holidays or while on time off."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from bot.deps import Deps
from bot.models import Occurrence, OccurrenceStatus, Side
from bot.services import availability, people, standups, workspaces
from bot.services.holiday_calendars import UnknownCalendar, parse_calendars
from bot.services.standups import (
    DIGEST,
    QUESTIONS_DM,
    QUESTIONS_FANOUT,
    REMINDER_DM,
    REMINDER_FANOUT,
    InvalidStandup,
    StandupDraft,
    StandupView,
)
from tests.conftest import empty_tables

WS = "T0HOLS"
CREATOR = "U0CREATOR"
ANN = "U0ANN"  # London, GB holidays
BEN = "U0BEN"  # Los Angeles, US-CA holidays
SECRET = "test-secret"


@pytest.fixture
def deps(module_deps: Deps) -> Deps:
    with module_deps.session_factory.begin() as session:
        empty_tables(session)
        workspaces.ensure_workspace(
            session=session, workspace_id=WS, platform="slack", timezone="Europe/London"
        )
        for user, region, zone, side in (
            (ANN, "GB", "Europe/London", Side.MARKETING),
            (BEN, "US-CA", "America/Los_Angeles", Side.IT),
        ):
            people.set_side(session=session, workspace_id=WS, user_ref=user, side=side)
            availability.set_region(session=session, workspace_id=WS, user_ref=user, region=region)
            availability.set_timezone(
                session=session, workspace_id=WS, user_ref=user, timezone=zone
            )
    return module_deps


def create(deps: Deps, now: datetime, **changes: object) -> StandupView:
    draft = replace(
        StandupDraft(
            name="Joint",
            channel_ref="C0JOINT",
            weekdays="mon,tue,wed,thu,fri",
            local_time="16:00",
            timezone="Europe/London",
            mode="async",
            participants=f"{ANN},{BEN}",
        ),
        **changes,  # type: ignore[arg-type]
    )
    with deps.session_factory.begin() as session:
        return standups.create(
            session=session,
            workspace_id=WS,
            draft=draft,
            creator_ref=CREATOR,
            now=now,
            secret_key=SECRET,
        )


def plan(deps: Deps, now: datetime) -> None:
    with deps.session_factory.begin() as session:
        standups.plan_due(session=session, now=now, budget=timedelta(minutes=1))


def round_days(deps: Deps, view: StandupView, kind: str = QUESTIONS_FANOUT) -> list[date]:
    """The local dates of the stand-up's pending or sent deliveries of `kind`."""
    with deps.session_factory() as session:
        found = session.execute(
            select(Occurrence.payload).where(
                Occurrence.subject_ref == f"standup:{view.id}",
                Occurrence.kind == kind,
                Occurrence.status != OccurrenceStatus.CANCELLED.value,
            )
        ).scalars()
        return sorted({date.fromisoformat(payload["local_date"]) for payload in found})


def asked_on(deps: Deps, view: StandupView, day: date, kind: str = QUESTIONS_FANOUT) -> list[str]:
    """Expand the day's fan-out (as the scheduler does at its time): who gets a DM."""
    target = QUESTIONS_DM if kind == QUESTIONS_FANOUT else REMINDER_DM
    with deps.session_factory.begin() as session:
        (row,) = session.execute(
            select(Occurrence).where(
                Occurrence.subject_ref == f"standup:{view.id}",
                Occurrence.kind == kind,
                Occurrence.payload["local_date"].as_string() == day.isoformat(),
            )
        ).scalars()
        standups.fan_out(
            session=session,
            workspace_id=WS,
            kind=kind,
            due_at=row.due_at,
            payload=dict(row.payload),
        )
        recipients = session.execute(
            select(Occurrence.recipient_ref)
            .where(
                Occurrence.subject_ref == f"standup:{view.id}",
                Occurrence.kind == target,
                Occurrence.payload["local_date"].as_string() == day.isoformat(),
            )
            .order_by(Occurrence.recipient_ref)
        ).scalars()
        return list(recipients)


def away(deps: Deps, user: str, first: date, last: date, today: date) -> None:
    with deps.session_factory.begin() as session:
        availability.add_time_off(
            session=session,
            workspace_id=WS,
            user_ref=user,
            first_day=first,
            last_day=last,
            today=today,
            now=datetime.combine(today, time(9), tzinfo=UTC),
        )


def test_a_gb_and_us_stand_up_across_thanksgiving_asks_only_the_person_not_on_holiday(
    deps: Deps,
) -> None:
    """No stand-up calendar: the round runs on Thanksgiving and the day after, but the
    Californian is not asked (nor reminded), and the digest shows them away with the name."""
    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # Wednesday
    view = create(deps, now)
    plan(deps, now)
    thanksgiving, friday = date(2026, 11, 26), date(2026, 11, 27)
    assert thanksgiving in round_days(deps, view)  # the stand-up itself runs

    assert asked_on(deps, view, thanksgiving) == [ANN]
    assert asked_on(deps, view, thanksgiving, REMINDER_FANOUT) == [ANN]
    assert asked_on(deps, view, date(2026, 11, 25)) == [ANN, BEN]  # an ordinary Wednesday
    with deps.session_factory() as session:
        sheet = standups.answer_sheet(
            session=session, workspace_id=WS, standup_id=view.id, local_date=thanksgiving
        )
    assert sheet.missing == [ANN]  # asked, no answer yet
    assert sheet.away == ((BEN, "Thanksgiving Day"),)  # not "didn't answer"

    plan(deps, datetime(2026, 11, 26, 20, 0, tzinfo=UTC))
    assert friday in round_days(deps, view)
    assert asked_on(deps, view, friday) == [ANN]  # California's Day After Thanksgiving


def test_a_stand_up_on_the_gb_calendar_skips_christmas_week_holidays_by_name(
    deps: Deps,
) -> None:
    """On GB's calendar it does not run on Christmas Day nor on Boxing Day (observed) on
    Monday 28 December; Christmas Eve runs, for both."""
    now = datetime(2026, 12, 21, 9, 0, tzinfo=UTC)
    view = create(deps, now, holidays="GB")
    for day in range(10):
        plan(deps, now + timedelta(days=day))
    days = round_days(deps, view)
    assert date(2026, 12, 24) in days
    assert date(2026, 12, 25) not in days and date(2026, 12, 28) not in days
    assert date(2026, 12, 29) in days
    assert round_days(deps, view, DIGEST) == days  # nothing at all on a holiday
    assert asked_on(deps, view, date(2026, 12, 24)) == [ANN, BEN]
    with deps.session_factory() as session:
        shown = standups.get(session=session, workspace_id=WS, number=view.number)
    assert shown.weekly.holiday_on(date(2026, 12, 28)) == "Boxing Day (observed)"
    assert shown.next_start(datetime(2026, 12, 24, 17, 0, tzinfo=UTC)) == (
        date(2026, 12, 29),
        datetime(2026, 12, 29, 16, 0, tzinfo=UTC),
    )


def test_calendars_changed_after_planning_re_plan_without_duplicates(deps: Deps) -> None:
    now = datetime(2026, 12, 24, 9, 0, tzinfo=UTC)  # planned to Saturday 26th, 09:00
    view = create(deps, now)
    plan(deps, now)
    assert date(2026, 12, 25) in round_days(deps, view)

    def set_calendars(codes: str, at: datetime) -> None:
        with deps.session_factory.begin() as session:
            standups.set_holiday_calendars(
                session=session,
                workspace_id=WS,
                number=view.number,
                calendars=codes,
                user_ref=CREATOR,
                is_admin=False,
                now=at,
            )

    set_calendars("gb", now + timedelta(minutes=5))
    plan(deps, now + timedelta(minutes=6))
    assert date(2026, 12, 25) not in round_days(deps, view)
    assert date(2026, 12, 24) in round_days(deps, view)

    set_calendars("none", now + timedelta(minutes=10))
    plan(deps, now + timedelta(minutes=11))
    assert date(2026, 12, 25) in round_days(deps, view)
    with deps.session_factory() as session:
        repeated = session.execute(
            select(Occurrence.kind, Occurrence.due_at, func.count())
            .where(Occurrence.subject_ref == f"standup:{view.id}")
            .group_by(Occurrence.kind, Occurrence.due_at, Occurrence.recipient_ref)
            .having(func.count() > 1)
        ).all()
    assert repeated == []  # Christmas Day's deliveries came back, once each


def test_bad_calendar_codes_are_refused_with_the_valid_ones(deps: Deps) -> None:
    with pytest.raises(UnknownCalendar, match="US has no region “XX”. Its regions: AK, AL"):
        parse_calendars("GB, US-XX")
    with pytest.raises(UnknownCalendar, match="Countries: AD, AE.*GB.*US"):
        parse_calendars("ZZ")
    with pytest.raises(UnknownCalendar, match="not a holiday calendar"):
        parse_calendars("United Kingdom!")
    assert parse_calendars("gb us-ca, de-by") == ("GB", "US-CA", "DE-BY")
    assert parse_calendars("none") == ()
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with pytest.raises(InvalidStandup) as refused:
        create(deps, now, holidays="GB, XX")
    assert "holidays" in refused.value.field_errors
    view = create(deps, now)
    with pytest.raises(InvalidStandup, match="no region"), deps.session_factory.begin() as session:
        standups.set_holiday_calendars(
            session=session,
            workspace_id=WS,
            number=view.number,
            calendars="DE-XX",
            user_ref=CREATOR,
            is_admin=False,
            now=now,
        )
    with pytest.raises(InvalidStandup, match="anyway: it is Christmas Day"):
        with deps.session_factory.begin() as session:
            standups.set_holiday_calendars(
                session=session,
                workspace_id=WS,
                number=view.number,
                calendars="GB",
                user_ref=CREATOR,
                is_admin=False,
                now=now,
            )
            standups.skip(
                session=session,
                workspace_id=WS,
                number=view.number,
                local_date=date(2026, 12, 25),
                user_ref=CREATOR,
                is_admin=False,
                now=now,
            )


def test_time_off_that_starts_and_ends_mid_plan_applies_when_each_round_goes_out(
    deps: Deps,
) -> None:
    """Rounds already planned still leave out someone who went away after planning, and ask
    them again once they end their time off early."""
    monday = date(2026, 6, 1)
    now = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    view = create(deps, now)
    plan(deps, now)  # Monday to Wednesday morning planned
    away(deps, ANN, monday + timedelta(days=1), monday + timedelta(days=9), today=monday)
    assert asked_on(deps, view, monday) == [ANN, BEN]
    assert asked_on(deps, view, monday + timedelta(days=1)) == [BEN]
    with deps.session_factory.begin() as session:
        back = availability.end_time_off(
            session=session, workspace_id=WS, user_ref=ANN, today=monday + timedelta(days=2)
        )
    assert back == 1
    plan(deps, datetime(2026, 6, 2, 20, 0, tzinfo=UTC))
    assert asked_on(deps, view, monday + timedelta(days=2)) == [ANN, BEN]
    with deps.session_factory() as session:
        sheet = standups.answer_sheet(
            session=session,
            workspace_id=WS,
            standup_id=view.id,
            local_date=monday + timedelta(days=1),
        )
    assert sheet.away == ((ANN, "away"),)  # the reason is never shown


def test_each_person_is_judged_on_their_own_date_across_the_clock_changes(deps: Deps) -> None:
    """07:30 in London is still the evening before in California until the UK's clocks go
    back (25 October 2026), then it is past midnight there until the US's (1 November)."""
    view_time = "07:30"
    now = datetime(2026, 10, 19, 5, 0, tzinfo=UTC)  # Monday
    view = create(deps, now, local_time=view_time)
    away(deps, BEN, date(2026, 10, 19), date(2026, 10, 19), today=date(2026, 10, 19))
    away(deps, BEN, date(2026, 10, 26), date(2026, 10, 26), today=date(2026, 10, 19))
    for day in range(9):
        plan(deps, now + timedelta(days=day))
    # Tuesday 20th 07:30 BST = 23:30 Monday in Los Angeles: Ben's day off.
    assert asked_on(deps, view, date(2026, 10, 20)) == [ANN]
    # Monday 26th 07:30 GMT = 00:30 Monday there (PDT still): his day off again.
    assert asked_on(deps, view, date(2026, 10, 26)) == [ANN]
    # Tuesday 27th 07:30 GMT = 00:30 Tuesday there: asked.
    assert asked_on(deps, view, date(2026, 10, 27)) == [ANN, BEN]


def test_unavailable_on_gives_the_reason_kind_and_the_holiday_name(deps: Deps) -> None:
    thanksgiving = date(2026, 11, 26)
    away(deps, ANN, thanksgiving, thanksgiving, today=date(2026, 11, 20))
    with deps.session_factory() as session:
        found = availability.unavailable_on(
            session=session, workspace_id=WS, user_refs=[ANN, BEN, "U0NOBODY"], day=thanksgiving
        )
        christmas = availability.unavailable_on(
            session=session, workspace_id=WS, user_refs=[ANN, BEN], day=date(2026, 12, 25)
        )
    assert found == {
        ANN: availability.Unavailability("away", "away"),
        BEN: availability.Unavailability("holiday", "Thanksgiving Day"),
    }
    assert christmas == {
        ANN: availability.Unavailability("holiday", "Christmas Day"),
        BEN: availability.Unavailability("holiday", "Christmas Day"),
    }


def test_the_workspace_calendar_is_everyones_who_chose_none(deps: Deps) -> None:
    with deps.session_factory.begin() as session:
        availability.set_workspace_region(session=session, workspace_id=WS, region="de-by")
        availability.set_region(session=session, workspace_id=WS, user_ref=ANN, region="default")
        found = availability.unavailable_on(
            session=session, workspace_id=WS, user_refs=[ANN, BEN], day=date(2026, 1, 6)
        )
    assert found == {ANN: availability.Unavailability("holiday", "Epiphany")}
