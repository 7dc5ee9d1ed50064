"""Joint stand-ups as a service: validation, numbering, planning, skips, answers, digests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select, update

from bot.deps import Deps
from bot.models import Occurrence, OccurrenceStatus, Side, Standup, StandupAnswer
from bot.services import availability, occurrences, people, standups, workspaces
from bot.services.standups import (
    DIGEST,
    DIGEST_UPDATE,
    NUDGE_DM,
    NUDGE_FANOUT,
    QUESTIONS_DM,
    QUESTIONS_FANOUT,
    REMINDER_DM,
    REMINDER_FANOUT,
    REMINDER_POST,
    AnswerRefused,
    InvalidStandup,
    StandupDraft,
    StandupNotAllowed,
    StandupNotFound,
    StandupView,
)
from tests.conftest import empty_tables

WS = "T0STAND"
OTHER_WS = "T0OTHER"
CREATOR = "U0CREATOR"
SECRET = "test-secret"
GRACE = timedelta(minutes=30)
# Monday 1 June 2026, 06:00 UTC (07:00 in London). Stand-ups at 09:30 London = 08:30 UTC.
NOW = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
MON, TUE, WED = date(2026, 6, 1), date(2026, 6, 2), date(2026, 6, 3)


@pytest.fixture
def deps(module_deps: Deps) -> Deps:
    """The module's database, emptied of everything but the secret key."""
    with module_deps.session_factory.begin() as session:
        empty_tables(session)
    return module_deps


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def make_draft(**changes: object) -> StandupDraft:
    base = StandupDraft(
        name="Marketing + IT",
        channel_ref="C0STAND",
        weekdays="mon,tue,wed,thu,fri",
        local_time="09:30",
        timezone="Europe/London",
        participants="U0ANN,U0BEN",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def ensure(deps: Deps, workspace_id: str = WS) -> None:
    with deps.session_factory.begin() as session:
        workspaces.ensure_workspace(
            session=session, workspace_id=workspace_id, platform="slack", timezone="UTC"
        )


def create(
    deps: Deps,
    draft: StandupDraft | None = None,
    *,
    workspace_id: str = WS,
    creator: str = CREATOR,
    now: datetime = NOW,
) -> StandupView:
    ensure(deps, workspace_id)
    with deps.session_factory.begin() as session:
        return standups.create(
            session=session,
            workspace_id=workspace_id,
            draft=draft or make_draft(),
            creator_ref=creator,
            now=now,
            secret_key=SECRET,
        )


def plan(deps: Deps, now: datetime = NOW, budget: timedelta = timedelta(minutes=1)) -> int:
    """Plan what is due, with time enough for every batch (unless `budget` says otherwise)."""
    with deps.session_factory.begin() as session:
        return standups.plan_due(session=session, now=now, budget=budget)


Row = tuple[str, datetime, str, str]  # kind, due, recipient, status


def rows(deps: Deps, view: StandupView, status: str | None = None) -> list[Row]:
    with deps.session_factory() as session:
        query = select(
            Occurrence.kind, Occurrence.due_at, Occurrence.recipient_ref, Occurrence.status
        ).where(Occurrence.subject_ref == f"standup:{view.id}")
        if status is not None:
            query = query.where(Occurrence.status == status)
        found = session.execute(query.order_by(Occurrence.due_at, Occurrence.kind)).all()
    return [(kind, due, recipient, state) for kind, due, recipient, state in found]


def planned(deps: Deps, view: StandupView) -> list[tuple[str, datetime]]:
    """(kind, due) of the stand-up's pending deliveries, sorted."""
    return sorted((kind, due) for kind, due, _, _ in rows(deps, view, OccurrenceStatus.PENDING))


def meeting_rows(day: date, start_hour: int = 8, start_minute: int = 30, lead: int = 15) -> list:
    due = at(day, start_hour, start_minute) - timedelta(minutes=lead)
    return [(REMINDER_POST, due), (REMINDER_FANOUT, due)]


# -- creating ------------------------------------------------------------------------


def test_create_stores_the_schedule_with_sensible_defaults(deps: Deps) -> None:
    view = create(deps, make_draft(participants="U0ANN, U0BEN,U0ANN", questions=""))

    assert (view.number, view.name, view.channel_ref, view.mode) == (
        1,
        "Marketing + IT",
        "C0STAND",
        "meeting",
    )
    assert view.weekly.weekdays == (0, 1, 2, 3, 4)
    assert view.weekly.local_time == time(9, 30)
    assert view.weekly.timezone == "Europe/London"
    assert view.participants == ("U0ANN", "U0BEN")  # duplicates dropped
    assert view.questions == standups.DEFAULT_QUESTIONS
    assert view.reminder_lead == timedelta(minutes=15)
    assert view.deadline == timedelta(minutes=120)
    assert view.creator_ref == CREATOR
    assert not view.paused
    assert len(view.calendar_token) >= 20
    with deps.session_factory() as session:
        assert standups.get(session=session, workspace_id=WS, number=1) == view
        found = standups.get_by_calendar_token(session=session, token=view.calendar_token)
        assert found == view
        assert standups.get_by_calendar_token(session=session, token="nope") is None


BAD_FIELDS = [
    ("name", {"name": "  "}),
    ("name", {"name": "x" * 81}),
    ("channel", {"channel_ref": ""}),
    ("weekdays", {"weekdays": ""}),
    ("weekdays", {"weekdays": "mon,funday"}),
    ("time", {"local_time": "25:99"}),
    ("time", {"local_time": "24:00"}),
    ("timezone", {"timezone": "Mars/Olympus_Mons"}),
    ("mode", {"mode": "carrier-pigeon"}),
    ("call_link", {"call_link": "javascript:alert(1)"}),
    ("call_link", {"call_link": "https://meet.example/" + "x" * 500}),
    ("questions", {"questions": "\n".join(f"Q{n}" for n in range(9))}),
    ("questions", {"questions": "x" * 201}),
    ("participants", {"participants": "", "both_sides": False}),
    ("participants", {"participants": ",".join(f"U{n}" for n in range(201))}),
    ("reminder_lead", {"reminder_lead_minutes": "soon"}),
    ("reminder_lead", {"reminder_lead_minutes": "-5"}),
    ("reminder_lead", {"reminder_lead_minutes": "1441"}),
    ("deadline", {"deadline_minutes": "two hours"}),
    ("deadline", {"deadline_minutes": "1441"}),
    ("deadline", {"mode": "async", "deadline_minutes": "0"}),
]


@pytest.mark.parametrize(("field", "changes"), BAD_FIELDS)
def test_each_bad_field_is_named_and_nothing_is_stored(
    deps: Deps, field: str, changes: dict[str, object]
) -> None:
    with pytest.raises(InvalidStandup) as caught:
        create(deps, make_draft(**changes))
    assert set(caught.value.field_errors) == {field}
    assert caught.value.field_errors[field]  # a message to show next to the field
    with deps.session_factory() as session:
        assert session.execute(select(func.count()).select_from(Standup)).scalar_one() == 0


def test_every_bad_field_is_reported_at_once(deps: Deps) -> None:
    with pytest.raises(InvalidStandup) as caught:
        create(
            deps,
            StandupDraft(
                name="",
                channel_ref="",
                weekdays="",
                local_time="9:60",
                timezone="Nowhere/Land",
                mode="x",
                participants="",
                reminder_lead_minutes="x",
            ),
        )
    assert set(caught.value.field_errors) == {
        "name",
        "channel",
        "weekdays",
        "time",
        "timezone",
        "mode",
        "participants",
        "reminder_lead",
    }


def test_both_sides_needs_no_named_participants_and_a_meeting_needs_no_deadline(
    deps: Deps,
) -> None:
    view = create(deps, make_draft(participants="", both_sides=True, deadline_minutes="0"))
    assert view.both_sides and view.participants == ()


def test_numbers_count_up_per_workspace(deps: Deps) -> None:
    first = create(deps)
    second = create(deps, make_draft(name="Second"))
    elsewhere = create(deps, workspace_id=OTHER_WS)
    assert (first.number, second.number, elsewhere.number) == (1, 2, 1)
    with deps.session_factory() as session:
        assert [v.name for v in standups.list_standups(session=session, workspace_id=WS)] == [
            "Marketing + IT",
            "Second",
        ]
        assert standups.get(session=session, workspace_id=OTHER_WS, number=1).id == elsewhere.id
        with pytest.raises(StandupNotFound):
            standups.get(session=session, workspace_id=OTHER_WS, number=2)


# -- planning ------------------------------------------------------------------------


def test_plan_due_plans_a_meeting_reminder_lead_minutes_before_start_within_the_horizon(
    deps: Deps,
) -> None:
    view = create(deps)
    assert plan(deps) == 1
    # Two days ahead: Monday and Tuesday 09:30 London (08:30 UTC); Wednesday is beyond.
    assert planned(deps, view) == sorted(meeting_rows(MON) + meeting_rows(TUE))
    assert all(recipient == "" for _, _, recipient, _ in rows(deps, view))


def test_plan_due_plans_async_questions_at_start_and_digest_at_the_deadline(deps: Deps) -> None:
    view = create(deps, make_draft(mode="async", reminder_lead_minutes="30", deadline_minutes="90"))
    plan(deps)
    expected = []
    for day in (MON, TUE):
        expected += meeting_rows(day, lead=30)
        expected += [(QUESTIONS_FANOUT, at(day, 8, 30)), (DIGEST, at(day, 10, 0))]
    assert planned(deps, view) == sorted(expected)


def test_plan_due_is_cheap_and_idempotent(deps: Deps) -> None:
    view = create(deps)
    plan(deps)
    first = rows(deps, view)

    # Again in the same minute and an hour later: nothing read, nothing added.
    assert plan(deps) == 0
    assert plan(deps, NOW + timedelta(hours=1)) == 0
    assert rows(deps, view) == first

    # Once less than half the horizon is left it plans further, without duplicates.
    later = NOW + timedelta(days=1, hours=1)
    assert plan(deps, later) == 1
    assert plan(deps, later) == 0
    assert planned(deps, view) == sorted(meeting_rows(MON) + meeting_rows(TUE) + meeting_rows(WED))
    assert len(rows(deps, view)) == 6


@pytest.mark.parametrize("lead_minutes", [15, 600])
def test_planning_on_many_ticks_over_a_week_plans_each_reminder_once(
    deps: Deps, lead_minutes: int
) -> None:
    """Plans end wherever the tick was; a long lead puts reminders before a plan's end
    for starts after it, and every one is still planned, once."""
    view = create(deps, make_draft(weekdays="daily", reminder_lead_minutes=str(lead_minutes)))
    moment = NOW
    while moment < NOW + timedelta(days=7):
        plan(deps, moment)
        moment += timedelta(minutes=97)
    lead = timedelta(minutes=lead_minutes)
    due = [d for _, d in planned(deps, view)]
    # With the long lead, Monday's had begun at the creation: reminded at once, at NOW.
    due = [at(MON, 8, 30) - lead if d == NOW else d for d in due]
    days = sorted({(d + lead).date() for d in due})  # the days of the starts reminded of
    assert len(days) >= 8 and days == [days[0] + timedelta(days=n) for n in range(len(days))]
    assert all(due.count(at(day, 8, 30) - lead) == 2 for day in days)  # post + fan-out, once
    assert len(due) == 2 * len(days)


def test_many_stand_ups_are_planned_over_several_ticks_new_ones_first(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thousands due at once would make one slow tick; a tick plans a batch at a time."""
    monkeypatch.setattr(standups, "PLANNING_BATCH", 2)
    for n in range(3):
        create(deps, make_draft(name=f"Old {n}"))
    plan(deps)
    later = NOW + timedelta(days=1, hours=1)  # their plans now run out within the day
    newer = create(deps, make_draft(name="New"), now=later)

    no_time = timedelta(0)  # a tick whose budget is spent plans one batch
    assert plan(deps, later, budget=no_time) == 2
    assert planned(deps, newer)  # the one never planned went first
    assert plan(deps, later, budget=no_time) == 2
    assert plan(deps, later, budget=no_time) == 0
    # With time to spare, one tick plans every batch it can reach.
    assert plan(deps, later + timedelta(days=1, hours=1)) == 4


def test_a_fresh_plan_reminds_at_once_when_the_lead_has_begun(deps: Deps) -> None:
    """Created at 08:20 UTC for an 08:30 start with a 15-minute lead: reminded at 08:20."""
    view = create(deps, now=at(MON, 8, 20))
    plan(deps, at(MON, 8, 20))
    # The plan ends Wednesday 08:20, so it holds Wednesday's reminders (08:15) too.
    short_notice = [(REMINDER_POST, at(MON, 8, 20)), (REMINDER_FANOUT, at(MON, 8, 20))]
    assert planned(deps, view) == sorted(short_notice + meeting_rows(TUE) + meeting_rows(WED))


def test_plans_that_have_run_out_are_made_in_budgeted_batches_and_ask_for_another_tick(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thousands created at once would make one slow tick: a spent budget stops after a
    batch, and asks for another tick at once while any new stand-up is left unplanned."""
    monkeypatch.setattr(standups, "PLANNING_BATCH", 2)
    monkeypatch.setattr(standups, "RAN_OUT_BATCH", 2)
    views = [
        create(deps, make_draft(name=f"New {n}"), now=NOW + timedelta(seconds=n)) for n in range(5)
    ]
    calls: list[int] = []
    with deps.session_factory.begin() as session:
        planned_now = standups.plan_due(
            session=session,
            now=NOW + timedelta(minutes=1),
            budget=timedelta(0),
            behind=lambda: calls.append(1),
        )
    # One batch, then the budget is spent: the oldest change was planned first, and
    # another tick is asked for.
    assert planned_now == 2 and calls == [1]
    assert planned(deps, views[0]) and not planned(deps, views[4])
    ticks = 1
    while calls:
        calls.clear()
        ticks += 1
        with deps.session_factory.begin() as session:
            standups.plan_due(
                session=session,
                now=NOW + timedelta(minutes=1),
                budget=timedelta(0),
                behind=lambda: calls.append(1),
            )
    assert ticks == 3 and all(planned(deps, view) for view in views)
    # Nothing left behind: no further tick is asked for, and a roomy budget plans all at once.
    assert plan(deps, NOW + timedelta(minutes=1)) == 0


def test_a_plan_starts_at_creation_not_at_the_tick_that_gets_to_it(deps: Deps) -> None:
    """Created at 08:00 UTC, first planned at 08:20 (ticks busy with thousands of others):
    Monday's 08:15 reminder is still planned, for the tick to send within the grace period."""
    view = create(deps, now=at(MON, 8, 0))
    plan(deps, at(MON, 8, 20))
    assert planned(deps, view) == sorted(
        meeting_rows(MON) + meeting_rows(TUE) + meeting_rows(WED)  # to Wednesday 08:20
    )


def test_after_an_outage_longer_than_the_horizon_what_was_missed_is_recorded(
    deps: Deps,
) -> None:
    view = create(deps)
    plan(deps)
    # Down from Monday 06:00 until Friday 08:35 UTC (20 minutes after Friday's reminder),
    # longer than the two-day plan; the new plan reaches Sunday 08:35.
    back = at(date(2026, 6, 5), 8, 35)
    plan(deps, back)
    wednesday, thursday, friday = (date(2026, 6, day) for day in (3, 4, 5))
    new = [row for row in planned(deps, view) if row[1] > at(TUE, 23)]
    assert new == sorted(meeting_rows(wednesday) + meeting_rows(thursday) + meeting_rows(friday))

    with deps.session_factory.begin() as session:
        claim = occurrences.claim_due(session=session, now=back, instance_id="i", grace=GRACE)
    # Monday's to Thursday's are recorded as missed, never sent late; Friday's,
    # 20 minutes late, is within the grace period and goes out.
    assert claim.missed == 8
    assert sorted(c.due_at for c in claim.claimed) == [at(friday, 8, 15)] * 2
    missed = sorted(due for _, due, _, _ in rows(deps, view, OccurrenceStatus.MISSED))
    assert missed == [at(day, 8, 15) for day in (MON, TUE, wednesday, thursday) for _ in "ab"]


def test_both_sides_planning_and_fan_out_reach_everyone_on_either_side(deps: Deps) -> None:
    view = create(deps, make_draft(participants="U0GUEST", both_sides=True))
    ensure(deps, OTHER_WS)  # someone on a side elsewhere is never included
    with deps.session_factory.begin() as session:
        people.set_side(session=session, workspace_id=WS, user_ref="U0MKT", side=Side.MARKETING)
        people.set_side(session=session, workspace_id=WS, user_ref="U0IT", side=Side.IT)
        people.set_side(session=session, workspace_id=WS, user_ref="U0LEAD", side=Side.OTHER)
        people.set_side(session=session, workspace_id=OTHER_WS, user_ref="U0X", side=Side.IT)
        assert standups.participants(session=session, view=view) == ["U0GUEST", "U0IT", "U0MKT"]
        payload = {"standup_id": view.id, "local_date": MON.isoformat(), "start": "x"}
        count = standups.fan_out(
            session=session,
            workspace_id=WS,
            kind=REMINDER_FANOUT,
            due_at=at(MON, 8, 15),
            payload=payload,
        )
        again = standups.fan_out(
            session=session,
            workspace_id=WS,
            kind=REMINDER_FANOUT,
            due_at=at(MON, 8, 15),
            payload=payload,
        )
    assert count == again == 3
    dms = [(kind, recipient) for kind, _, recipient, _ in rows(deps, view)]
    assert sorted(dms) == [(REMINDER_DM, "U0GUEST"), (REMINDER_DM, "U0IT"), (REMINDER_DM, "U0MKT")]


# -- pause, skip, delete, permissions ----------------------------------------------------


def set_paused(
    deps: Deps, paused: bool, user: str = CREATOR, admin: bool = False, now: datetime = NOW
) -> None:
    with deps.session_factory.begin() as session:
        standups.set_paused(
            session=session,
            workspace_id=WS,
            number=1,
            paused=paused,
            user_ref=user,
            is_admin=admin,
            now=now,
        )


def test_paused_stand_up_plans_nothing_and_resume_revives_its_plan(deps: Deps) -> None:
    view = create(deps)
    plan(deps)
    before = rows(deps, view)

    set_paused(deps, True)
    assert planned(deps, view) == []
    assert plan(deps) == 0
    assert plan(deps, NOW + timedelta(days=3)) == 0
    assert planned(deps, view) == []
    with deps.session_factory() as session:
        assert standups.get(session=session, workspace_id=WS, number=1).next_start(NOW) is None

    set_paused(deps, False)
    plan(deps)
    assert planned(deps, view) == sorted(meeting_rows(MON) + meeting_rows(TUE))
    # The cancelled rows came back; no second copy of any delivery was made.
    assert len(rows(deps, view)) == len(before)


def test_skipped_date_plans_nothing_that_day_even_after_replanning(deps: Deps) -> None:
    view = create(deps)
    plan(deps)
    with deps.session_factory.begin() as session:
        skipped = standups.skip(
            session=session,
            workspace_id=WS,
            number=1,
            local_date=TUE,
            user_ref=CREATOR,
            is_admin=False,
            now=NOW,
        )
    assert skipped.skipped == (TUE,)
    plan(deps)
    assert planned(deps, view) == meeting_rows(MON)
    plan(deps, NOW + timedelta(days=1, hours=1))
    assert planned(deps, view) == sorted(meeting_rows(MON) + meeting_rows(WED))
    tuesday = [s for _, d, _, s in rows(deps, view) if d.date() == TUE]
    assert tuesday == [OccurrenceStatus.CANCELLED] * 2
    with deps.session_factory() as session:
        view_now = standups.get(session=session, workspace_id=WS, number=1)
    assert view_now.next_start(at(MON, 9)) == (WED, at(WED, 8, 30))


@pytest.mark.parametrize(
    ("day", "message"),
    [(date(2026, 6, 6), "does not meet"), (date(2026, 5, 29), "passed")],
)
def test_skip_refuses_a_day_it_does_not_meet_or_one_already_past(
    deps: Deps, day: date, message: str
) -> None:
    create(deps)
    with deps.session_factory.begin() as session, pytest.raises(InvalidStandup, match=message):
        standups.skip(
            session=session,
            workspace_id=WS,
            number=1,
            local_date=day,
            user_ref=CREATOR,
            is_admin=False,
            now=NOW,
        )


def test_delete_cancels_everything_still_planned(deps: Deps) -> None:
    view = create(deps)
    plan(deps)
    with deps.session_factory.begin() as session:
        name = standups.delete_standup(
            session=session, workspace_id=WS, number=1, user_ref=CREATOR, is_admin=False
        )
    assert name == "Marketing + IT"
    assert planned(deps, view) == []
    assert plan(deps, NOW + timedelta(days=2)) == 0
    with deps.session_factory() as session, pytest.raises(StandupNotFound):
        standups.get(session=session, workspace_id=WS, number=1)


def test_only_the_creator_or_an_admin_may_change_a_stand_up(deps: Deps) -> None:
    view = create(deps)
    plan(deps)
    changes = {
        "pause": lambda s, who, admin: standups.set_paused(
            session=s, workspace_id=WS, number=1, paused=True, user_ref=who, is_admin=admin, now=NOW
        ),
        "skip": lambda s, who, admin: standups.skip(
            session=s,
            workspace_id=WS,
            number=1,
            local_date=TUE,
            user_ref=who,
            is_admin=admin,
            now=NOW,
        ),
        "now": lambda s, who, admin: standups.run_now(
            session=s, workspace_id=WS, number=1, user_ref=who, is_admin=admin, now=NOW
        ),
        "delete": lambda s, who, admin: standups.delete_standup(
            session=s, workspace_id=WS, number=1, user_ref=who, is_admin=admin
        ),
    }
    for name, change in changes.items():
        with deps.session_factory.begin() as session, pytest.raises(StandupNotAllowed):
            change(session, "U0MALLORY", False)
        assert planned(deps, view) == sorted(meeting_rows(MON) + meeting_rows(TUE)), name
    with deps.session_factory.begin() as session:
        paused = standups.set_paused(
            session=session,
            workspace_id=WS,
            number=1,
            paused=True,
            user_ref="U0ADMIN",
            is_admin=True,
            now=NOW,
        )
    assert paused.paused
    with deps.session_factory.begin() as session:
        standups.delete_standup(
            session=session, workspace_id=WS, number=1, user_ref="U0ADMIN", is_admin=True
        )


def test_run_now_sends_at_once_and_drops_the_next_usual_occurrence(deps: Deps) -> None:
    view = create(deps, make_draft(mode="async", deadline_minutes="60"))
    plan(deps)
    moment = NOW + timedelta(minutes=3)
    with deps.session_factory.begin() as session:
        after, local_date = standups.run_now(
            session=session,
            workspace_id=WS,
            number=1,
            user_ref=CREATOR,
            is_admin=False,
            now=moment,
        )
    assert local_date == MON
    assert after.skipped == (MON,)
    mondays = [(kind, due) for kind, due in planned(deps, view) if due.date() == MON]
    assert mondays == sorted(
        [
            (REMINDER_POST, moment),
            (REMINDER_FANOUT, moment),
            (QUESTIONS_FANOUT, moment),
            (DIGEST, moment + timedelta(minutes=60)),
        ]
    )
    assert (QUESTIONS_FANOUT, at(TUE, 8, 30)) in planned(deps, view)  # the rest stays planned
    # The next tick's planning adds Tuesday and later, never Monday 09:30 again.
    plan(deps, moment)
    monday_times = [d for _, d in planned(deps, view) if d.date() == MON]
    assert all(d in {moment, moment + timedelta(minutes=60)} for d in monday_times)
    assert (QUESTIONS_FANOUT, at(TUE, 8, 30)) in planned(deps, view)


# -- answers and the digest ----------------------------------------------------------------


def answer(
    deps: Deps, view: StandupView, user: str, answers: list[str], now: datetime, day: date = MON
) -> StandupAnswer:
    with deps.session_factory.begin() as session:
        return standups.save_answers(
            session=session,
            workspace_id=WS,
            standup_id=view.id,
            local_date=day,
            user_ref=user,
            answers=answers,
            now=now,
        )


def digest_updates(deps: Deps, view: StandupView) -> list[tuple[datetime, str]]:
    """(due, local date) of the stand-up's queued digest updates."""
    with deps.session_factory() as session:
        found = session.execute(
            select(Occurrence.due_at, Occurrence.payload)
            .where(Occurrence.subject_ref == f"standup:{view.id}", Occurrence.kind == DIGEST_UPDATE)
            .order_by(Occurrence.due_at)
        ).all()
    return [(due, payload["local_date"]) for due, payload in found]


def test_answers_can_be_edited_after_the_digest_until_the_next_round_starts(deps: Deps) -> None:
    view = create(deps, make_draft(mode="async", deadline_minutes="120"))
    plan(deps)
    start = at(MON, 8, 30)

    answer(deps, view, "U0ANN", ["Launched the site", "", ""], start + timedelta(minutes=5))
    answer(deps, view, "U0ANN", ["Launched", "Flaky builds", ""], start + timedelta(minutes=119))
    assert digest_updates(deps, view) == []  # before the digest there is nothing to update
    # After the digest: an edit, and a late first answer, each queue an update of it.
    answer(deps, view, "U0ANN", ["Launched", "Flaky builds", "A slot"], at(MON, 11))
    answer(deps, view, "U0BEN", ["Late win", "", ""], at(MON, 11, 5))
    assert digest_updates(deps, view) == [(at(MON, 11), "2026-06-01")]  # one waiting is enough
    # Tuesday's round starts at 08:30 UTC: Monday's answers close then.
    answer(deps, view, "U0BEN", ["Later still", "", ""], at(TUE, 8, 29))
    with pytest.raises(AnswerRefused, match="closed when its next round started") as refused:
        answer(deps, view, "U0ANN", ["too late", "", ""], at(TUE, 8, 30))
    assert "Tue 02 Jun 09:30 Europe/London" in str(refused.value)

    with deps.session_factory() as session:
        stored = standups.get_answers(
            session=session, workspace_id=WS, standup_id=view.id, local_date=MON, user_ref="U0ANN"
        )
        count = session.execute(select(func.count()).select_from(StandupAnswer)).scalar_one()
    assert stored == ["Launched", "Flaky builds", "A slot"]
    assert count == 2
    # Tuesday's round takes answers until Wednesday's starts.
    answer(deps, view, "U0ANN", ["early", "", ""], at(TUE, 8, 31), day=TUE)


def test_a_round_closes_at_the_next_usual_day_past_skips_or_an_earlier_run_now(
    deps: Deps,
) -> None:
    create(deps, make_draft(mode="async", weekdays="mon,thu", deadline_minutes="60"))
    plan(deps)

    def closes(day: date = MON) -> datetime:
        with deps.session_factory() as session:
            window = standups.answer_window(
                session=session,
                view=standups.get(session=session, workspace_id=WS, number=1),
                local_date=day,
            )
        assert window is not None
        return window.closes

    assert closes() == at(date(2026, 6, 4), 8, 30)  # Thursday's round
    with deps.session_factory.begin() as session:
        standups.skip(
            session=session,
            workspace_id=WS,
            number=1,
            local_date=date(2026, 6, 4),
            user_ref=CREATOR,
            is_admin=False,
            now=at(MON, 10),
        )
    assert closes() == at(date(2026, 6, 8), 8, 30)  # Thursday is off: next Monday's
    with deps.session_factory.begin() as session:
        standups.run_now(
            session=session,
            workspace_id=WS,
            number=1,
            user_ref=CREATOR,
            is_admin=False,
            now=at(WED, 15),
        )
    assert closes() == at(WED, 15)  # a round run on Wednesday comes first
    with deps.session_factory() as session:
        again = standups.get(session=session, workspace_id=WS, number=1)
        assert standups.open_round(session=session, view=again, now=at(WED, 14, 59)) == MON
        assert standups.open_round(session=session, view=again, now=at(WED, 15)) == WED


def test_a_round_stays_open_over_a_public_holiday_of_its_calendar(deps: Deps) -> None:
    """Fridays and Mondays in London: the Spring bank holiday (Monday 25 May 2026) holds
    no round, so Friday's answers are taken until the next Friday's round starts."""
    friday, next_friday = date(2026, 5, 22), date(2026, 5, 29)
    draft = make_draft(mode="async", weekdays="fri,mon", holidays="GB")
    create(deps, draft, now=at(friday, 6))
    plan(deps, at(friday, 6))
    with deps.session_factory() as session:
        view = standups.get(session=session, workspace_id=WS, number=1)
        window = standups.answer_window(session=session, view=view, local_date=friday)
    assert window is not None
    assert window.closes == at(next_friday, 8, 30)  # 09:30 London


def test_the_answer_sheet_marks_late_answers_and_edits_after_the_digest(deps: Deps) -> None:
    draft = make_draft(mode="async", deadline_minutes="60", participants="U0ANN,U0BEN,U0CAT")
    view = create(deps, draft)  # the digest is due at 09:30 UTC
    plan(deps)
    answer(deps, view, "U0ANN", ["on time", "", ""], at(MON, 9))
    answer(deps, view, "U0BEN", ["on time too", "", ""], at(MON, 9, 10))
    answer(deps, view, "U0BEN", ["changed", "", ""], at(MON, 10))  # after the digest
    answer(deps, view, "U0CAT", ["late", "", ""], at(MON, 10))
    answer(deps, view, "U0CAT", ["late, then changed", "", ""], at(MON, 11))
    with deps.session_factory.begin() as session:
        row = standups.latest_answer(
            session=session, workspace_id=WS, standup_id=view.id, user_ref="U0ANN"
        )
        assert row is not None
        standups.mark_shared(  # sharing an answer is not changing it
            session=session, workspace_id=WS, answer_id=row.id, index=0, user_ref="U0ANN"
        )

    with deps.session_factory() as session:
        sheet = standups.answer_sheet(
            session=session, workspace_id=WS, standup_id=view.id, local_date=MON
        )
    assert sheet.late == {"U0CAT"}
    assert sheet.edited == {"U0BEN"}


def test_win_and_challenge_answers_are_shareable_by_their_author_only(deps: Deps) -> None:
    view = create(deps, make_draft(mode="async"))
    plan(deps)
    row = answer(deps, view, "U0ANN", ["Shipped", "", "Help"], at(MON, 8, 40))
    assert row.shareable == {"0": "win"}  # the challenge was left empty
    row = answer(deps, view, "U0ANN", ["Shipped", "Hiring", "Help"], at(MON, 8, 41))
    assert row.shareable == {"0": "win", "1": "challenge"}

    with deps.session_factory.begin() as session, pytest.raises(StandupNotAllowed):
        standups.mark_shared(
            session=session, workspace_id=WS, answer_id=row.id, index=0, user_ref="U0BEN"
        )
    with deps.session_factory.begin() as session, pytest.raises(AnswerRefused):
        standups.mark_shared(
            session=session, workspace_id=WS, answer_id=row.id, index=2, user_ref="U0ANN"
        )
    with deps.session_factory.begin() as session:
        shared = standups.mark_shared(
            session=session, workspace_id=WS, answer_id=row.id, index=1, user_ref="U0ANN"
        )
    assert shared == ("challenge", "Hiring")
    with deps.session_factory() as session:
        assert session.get(StandupAnswer, row.id).shared == [1]  # type: ignore[union-attr]


def test_answer_sheet_groups_answers_by_side_and_lists_who_did_not_answer(deps: Deps) -> None:
    view = create(deps, make_draft(mode="async", participants="U0ANN,U0BEN,U0CAT,U0DAN"))
    plan(deps)
    with deps.session_factory.begin() as session:
        people.set_side(session=session, workspace_id=WS, user_ref="U0ANN", side=Side.MARKETING)
        people.set_side(session=session, workspace_id=WS, user_ref="U0BEN", side=Side.IT)
        people.set_side(session=session, workspace_id=WS, user_ref="U0CAT", side=Side.IT)
        standups.fan_out(
            session=session,
            workspace_id=WS,
            kind=QUESTIONS_FANOUT,
            due_at=at(MON, 8, 30),
            payload={"standup_id": view.id, "local_date": MON.isoformat(), "start": "x"},
        )
    answer(deps, view, "U0BEN", ["b", "", ""], at(MON, 8, 40))
    answer(deps, view, "U0ANN", ["a", "", ""], at(MON, 8, 45))
    answer(deps, view, "U0ANN", ["a2", "", ""], at(MON, 8, 50))  # an edit stays one answer
    answer(deps, view, "U0BEN", ["tuesday", "", ""], at(MON, 8, 50), day=TUE)

    with deps.session_factory() as session:
        sheet = standups.answer_sheet(
            session=session, workspace_id=WS, standup_id=view.id, local_date=MON
        )
    assert sorted(sheet.answers) == [
        ("U0ANN", Side.MARKETING, ("a2", "", "")),
        ("U0BEN", Side.IT, ("b", "", "")),
    ]
    assert sheet.missing == ["U0CAT", "U0DAN"]
    assert sheet.local_date == MON and sheet.standup.id == view.id


@pytest.mark.parametrize(
    ("question", "role"),
    [
        ("A win to share", "win"),
        ("Your biggest win this week?", "win"),
        ("A challenge you face", "challenge"),
        ("Challenges?", "challenge"),
        ("What you need from the other side", None),
        ("Any window upgrades?", None),
    ],
)
def test_question_role(question: str, role: str | None) -> None:
    assert standups.question_role(question) == role


# -- the nudge ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"mode": "async", "nudge_minutes": "soon"}, "Write a number of minutes"),
        ({"mode": "async", "deadline_minutes": "60", "nudge_minutes": "60"}, "Between 1 and 59"),
        ({"mode": "async", "nudge_minutes": "３０"}, "Write a number of minutes"),
        ({"nudge_minutes": "30"}, "Only async stand-ups nudge"),
    ],
)
def test_a_nudge_that_cannot_fall_between_start_and_digest_is_refused(
    deps: Deps, changes: dict[str, str], problem: str
) -> None:
    problems = standups.draft_problems(make_draft(**changes))
    assert problem in problems["nudge"]
    with pytest.raises(InvalidStandup):
        create(deps, make_draft(**changes))
    with deps.session_factory() as session:
        assert session.execute(select(func.count()).select_from(Standup)).scalar_one() == 0


def test_the_nudge_is_off_by_default_and_planned_before_the_digest_when_set(deps: Deps) -> None:
    plain = create(deps, make_draft(mode="async", nudge_minutes=""))
    nudging = create(deps, make_draft(name="Nudging", mode="async", nudge_minutes="30"))
    plan(deps)

    assert plain.nudge is None and nudging.nudge == timedelta(minutes=30)
    assert [due for kind, due in planned(deps, plain) if kind == NUDGE_FANOUT] == []
    assert [due for kind, due in planned(deps, nudging) if kind == NUDGE_FANOUT] == [
        at(MON, 10),  # 30 minutes before the digest, due at 10:30 UTC
        at(TUE, 10),
    ]


def set_nudge(deps: Deps, minutes: str, now: datetime, user: str = CREATOR) -> StandupView:
    with deps.session_factory.begin() as session:
        return standups.set_nudge(
            session=session,
            workspace_id=WS,
            number=1,
            minutes=minutes,
            user_ref=user,
            is_admin=False,
            now=now,
        )


def nudges(deps: Deps, view: StandupView, status: str) -> list[datetime]:
    return [
        due for kind, due, _, state in rows(deps, view) if kind == NUDGE_FANOUT and state == status
    ]


def test_changing_the_nudge_plans_it_again_without_duplicates(deps: Deps) -> None:
    view = create(deps, make_draft(mode="async"))  # 08:30 to 10:30 UTC
    plan(deps)
    pending = OccurrenceStatus.PENDING.value

    set_nudge(deps, "30", at(MON, 9))  # Monday's round is under way
    plan(deps, at(MON, 9))
    assert nudges(deps, view, pending) == [at(MON, 10), at(TUE, 10), at(WED, 10)]
    set_nudge(deps, "45", at(MON, 9, 5))
    plan(deps, at(MON, 9, 5))
    assert nudges(deps, view, pending) == [at(MON, 9, 45), at(TUE, 9, 45), at(WED, 9, 45)]
    set_nudge(deps, "30 min", at(MON, 9, 10))
    plan(deps, at(MON, 9, 10))
    assert nudges(deps, view, pending) == [at(MON, 10), at(TUE, 10), at(WED, 10)]
    # Too late for Monday's round at 100 minutes: only the later rounds get it.
    set_nudge(deps, "100", at(MON, 9, 15))
    plan(deps, at(MON, 9, 15))
    assert nudges(deps, view, pending) == [at(TUE, 8, 50), at(WED, 8, 50)]
    off = set_nudge(deps, "off", at(MON, 9, 20))
    plan(deps, at(MON, 9, 20))
    assert off.nudge is None and nudges(deps, view, pending) == []

    with pytest.raises(StandupNotAllowed):
        set_nudge(deps, "30", at(MON, 9, 20), user="U0BEN")
    with pytest.raises(InvalidStandup, match="Between 1 and 119"):
        set_nudge(deps, "120", at(MON, 9, 20))
    assert nudges(deps, view, pending) == []


def test_the_nudge_goes_to_who_was_asked_and_has_not_answered_nor_been_nudged_nor_is_away(
    deps: Deps,
) -> None:
    view = create(deps, make_draft(mode="async", participants="U0ANN,U0BEN,U0CAT,U0DAN,U0EVE"))
    plan(deps)
    payload = {"standup_id": view.id, "local_date": MON.isoformat(), "start": "x"}
    with deps.session_factory.begin() as session:
        standups.fan_out(
            session=session,
            workspace_id=WS,
            kind=QUESTIONS_FANOUT,
            due_at=at(MON, 8, 30),
            payload=payload,
        )
        session.execute(  # the questions went out, but not to Eve (her DM failed)
            update(Occurrence)
            .where(Occurrence.kind == QUESTIONS_DM, Occurrence.recipient_ref != "U0EVE")
            .values(status=OccurrenceStatus.SENT.value)
        )
        availability.add_time_off(
            session=session,
            workspace_id=WS,
            user_ref="U0BEN",
            first_day=MON,
            last_day=TUE,
            today=MON,
            now=at(MON, 9),
        )
        occurrences.schedule(  # nudged already at an earlier time of the setting
            session=session,
            workspace_id=WS,
            kind=NUDGE_DM,
            subject_ref=f"standup:{view.id}",
            due_at=at(MON, 9, 45),
            recipient_ref="U0CAT",
            payload=payload,
        )
    answer(deps, view, "U0ANN", ["done", "", ""], at(MON, 9))

    def nudge_at(moment: datetime) -> int:
        with deps.session_factory.begin() as session:
            return standups.fan_out(
                session=session,
                workspace_id=WS,
                kind=NUDGE_FANOUT,
                due_at=moment,
                payload=payload,
            )

    assert nudge_at(at(MON, 10)) == 1
    assert nudge_at(at(MON, 10)) == 0  # expanding again plans nothing
    assert nudge_at(at(MON, 10, 15)) == 0  # nor does a nudge at a changed time
    recipients = [r for kind, _, r, _ in rows(deps, view) if kind == NUDGE_DM]
    assert sorted(recipients) == ["U0CAT", "U0DAN"]
