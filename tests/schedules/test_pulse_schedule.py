"""The weekly pulse on the clock: planned, DMed once, closed once with the results posted."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import matplotlib.image
import pytest
from sqlalchemy import select, update

from bot.commands.pulse import PULSE_COMMENT, PULSE_QUESTIONS_FORM, PULSE_SCHEDULE_FORM, PULSE_VOTE
from bot.deps import Deps, build_deps
from bot.models import Occurrence, OccurrenceStatus, Person, PulsePoll, Side, WorkspaceSettings
from bot.replies import Buttons, Reply, block_plain_text
from bot.router import Caller, FormInvalid, RequestScope, run_command, run_form
from bot.services import people, pulse, pulse_alerts, pulse_questions, workspaces
from bot.settings import Settings
from schedules import Scheduler
from schedules import pulse as pulse_schedule
from schedules.jobs import register_builtin_deliveries, run_tick

WS = "T0PULSE"
SHARED = "C0SHARED"
BERLIN = "Europe/Berlin"
MARKETING = ["U0MK0", "U0MK1", "U0MK2"]
IT = ["U0IT0", "U0IT1", "U0IT2"]
OTHER = ["U0OT0"]
WITH_A_SIDE = sorted(MARKETING + IT + OTHER)
# Monday 2 March 2026, 10:00 in Berlin (winter time, UTC+1).
OPENS = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CLOSES = OPENS + timedelta(hours=48)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class Posted:
    workspace_id: str
    conversation_ref: str
    reply: Reply


class RecordingNotifier:
    """Stands in for Slack: remembers every scheduled message."""

    def __init__(self) -> None:
        self.posts: list[Posted] = []

    async def post(self, workspace_id: str, conversation_ref: str, reply: Reply) -> str:
        self.posts.append(Posted(workspace_id, conversation_ref, reply))
        return f"1700000000.{len(self.posts):06d}"

    def to(self, conversation_ref: str) -> list[Posted]:
        return [post for post in self.posts if post.conversation_ref == conversation_ref]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def set_clock(deps: Deps, now: datetime) -> None:
    """Move the hand-moved clock the deps were built with."""
    assert isinstance(deps.clock, Clock)
    deps.clock.now = now


def wire(deps: Deps, now: datetime) -> Scheduler:
    """A scheduler (not started) with the pulse deliveries and planner and a recording
    notifier; the deps' clock set to `now`."""
    scheduler = Scheduler(deps, RecordingNotifier())
    register_builtin_deliveries(scheduler)
    pulse_schedule.register(scheduler)
    set_clock(deps, now)
    return scheduler


def recorded(scheduler: Scheduler) -> RecordingNotifier:
    assert isinstance(scheduler.notifier, RecordingNotifier)
    return scheduler.notifier


@pytest.fixture
def clock() -> Clock:
    """The deps' clock (see tests/conftest.py)."""
    return Clock(OPENS)


@pytest.fixture
def scheduler(deps: Deps) -> Scheduler:
    return wire(deps, OPENS)


@pytest.fixture
def notifier(scheduler: Scheduler) -> RecordingNotifier:
    return recorded(scheduler)


@pytest.fixture
def second_instance(settings: Settings) -> Iterator[Deps]:
    """Another bot instance on the same database."""
    built = build_deps(settings, clock=Clock(OPENS))
    try:
        yield built
    finally:
        built.engine.dispose()


def seed(deps: Deps, *, timezone: str = BERLIN, shared_channel: bool = True) -> None:
    with deps.session_factory.begin() as session:
        workspaces.ensure_workspace(
            session=session, workspace_id=WS, platform="slack", timezone=timezone
        )
        if shared_channel:
            workspaces.set_shared_channel(session=session, workspace_id=WS, channel_ref=SHARED)
        for side, users in ((Side.MARKETING, MARKETING), (Side.IT, IT), (Side.OTHER, OTHER)):
            for user in users:
                people.set_side(session=session, workspace_id=WS, user_ref=user, side=side)
        session.add(Person(workspace_id=WS, user_ref="U0NOSIDE", side=None))


def tick(scheduler: Scheduler, now: datetime) -> None:
    set_clock(scheduler.deps, now)
    asyncio.run(run_tick(scheduler, now))


def planned(deps: Deps, kind: str) -> list[Occurrence]:
    with deps.session_factory() as session:
        return list(
            session.execute(
                select(Occurrence).where(Occurrence.kind == kind).order_by(Occurrence.due_at)
            ).scalars()
        )


def the_poll(deps: Deps) -> PulsePoll:
    with deps.session_factory() as session:
        return session.execute(select(PulsePoll)).scalar_one()


def vote(deps: Deps, poll_id: int, user: str, value: int, now: datetime) -> None:
    with deps.session_factory.begin() as session:
        pulse.vote(
            session=session,
            workspace_id=WS,
            poll_id=poll_id,
            question=0,
            value=value,
            user_ref=user,
            secret_key=deps.secret_key,
            now=now,
        )


def plain(reply: Reply) -> str:
    return "\n".join(block_plain_text(block) for block in reply.blocks)


def scope(deps: Deps, caller: Caller) -> RequestScope:
    return RequestScope(
        session_factory=deps.session_factory,
        router=deps.router,
        caller=caller,
        now=deps.clock(),
        default_timezone="UTC",
    )


def command(deps: Deps, args: str, *, user: str = "U0ADA", admin: bool = True) -> Reply:
    return run_command(scope(deps, Caller(WS, user, "slack", is_admin=admin)), "pulse", args)


# -- the schedule -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day_before", "expected"),
    [
        (datetime(2026, 3, 1, 12, 0, tzinfo=UTC), datetime(2026, 3, 2, 9, 0, tzinfo=UTC)),
        # Summer time: still 10:00 on the wall clock, so 08:00 UTC.
        (datetime(2026, 7, 5, 12, 0, tzinfo=UTC), datetime(2026, 7, 6, 8, 0, tzinfo=UTC)),
    ],
)
def test_default_schedule_is_monday_ten_in_the_workspace_time_zone(
    deps: Deps,
    notifier: RecordingNotifier,
    day_before: datetime,
    expected: datetime,
    scheduler: Scheduler,
) -> None:
    seed(deps)
    tick(scheduler, day_before)

    (opening,) = planned(deps, pulse_schedule.PULSE_OPEN)
    assert opening.due_at == expected
    assert opening.workspace_id == WS
    assert notifier.posts == []  # planned, not sent: it is not Monday yet
    with deps.session_factory() as session:
        assert session.execute(select(PulsePoll)).first() is None


def test_no_pulse_is_planned_without_people_with_a_side_or_when_turned_off(deps: Deps) -> None:
    scheduler = wire(deps, OPENS)
    notifier = recorded(scheduler)
    with deps.session_factory.begin() as session:
        workspaces.ensure_workspace(
            session=session, workspace_id=WS, platform="slack", timezone=BERLIN
        )
    tick(scheduler, OPENS)
    assert planned(deps, pulse_schedule.PULSE_OPEN) == []

    seed(deps)
    with deps.session_factory.begin() as session:
        session.execute(update(WorkspaceSettings).values(pulse_enabled=False))
    tick(scheduler, OPENS)
    assert planned(deps, pulse_schedule.PULSE_OPEN) == []
    assert notifier.posts == []


# -- opening: one DM per person --------------------------------------------------------


def test_opening_dms_everyone_with_a_side_exactly_once(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    seed(deps)
    tick(scheduler, OPENS)
    tick(scheduler, OPENS + timedelta(minutes=1))
    tick(scheduler, OPENS + timedelta(minutes=2))

    assert sorted(post.conversation_ref for post in notifier.posts) == WITH_A_SIDE
    poll = the_poll(deps)
    assert (poll.status, poll.closes_at) == ("open", CLOSES)
    assert poll.invited == {"marketing": 3, "it": 3, "other": 1}

    dm = notifier.posts[0].reply
    text = plain(dm)
    for question in pulse.DEFAULT_QUESTIONS:
        assert question in text
    scales = [block for block in dm.blocks if isinstance(block, Buttons)]
    assert len(scales) == 4  # a 1-5 scale per question, then "Add a comment"
    for index, scale in enumerate(scales[:3]):
        assert [b.label for b in scale.buttons] == [label for _, label in pulse.SCALE]
        assert {b.action_id for b in scale.buttons} == {PULSE_VOTE}
        assert [b.value for b in scale.buttons] == [f"{poll.id}:{index}:{v}" for v in range(1, 6)]
    (add_comment,) = scales[3].buttons
    assert (add_comment.label, add_comment.action_id) == ("Add a comment", PULSE_COMMENT)

    dms = planned(deps, pulse_schedule.PULSE_DM)
    assert len(dms) == 7
    assert {o.status for o in dms} == {OccurrenceStatus.SENT}
    (closing,) = planned(deps, pulse_schedule.PULSE_CLOSE)
    assert (closing.status, closing.due_at) == (OccurrenceStatus.PENDING, CLOSES)


def test_two_instances_on_one_database_send_each_dm_and_the_results_once(
    deps: Deps, notifier: RecordingNotifier, second_instance: Deps, scheduler: Scheduler
) -> None:
    second = wire(second_instance, OPENS)
    other = recorded(second)
    seed(deps)

    async def both(now: datetime) -> None:
        set_clock(deps, now)
        set_clock(second_instance, now)
        await asyncio.gather(run_tick(scheduler, now), run_tick(second, now))

    asyncio.run(both(OPENS))
    asyncio.run(both(OPENS + timedelta(minutes=1)))
    dms = notifier.posts + other.posts
    assert sorted(post.conversation_ref for post in dms) == WITH_A_SIDE

    asyncio.run(both(CLOSES))
    asyncio.run(both(CLOSES + timedelta(minutes=1)))
    assert len(notifier.to(SHARED) + other.to(SHARED)) == 1
    assert len(notifier.posts + other.posts) == len(WITH_A_SIDE) + 1


# -- closing: the results -------------------------------------------------------------


def test_closing_after_48_hours_posts_the_results_and_chart_once(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    seed(deps)
    tick(scheduler, OPENS)
    poll = the_poll(deps)
    during = OPENS + timedelta(hours=3)
    for user, value in zip(MARKETING + IT, (5, 4, 4, 2, 3, 4), strict=True):
        vote(deps, poll.id, user, value, during)

    tick(scheduler, CLOSES - timedelta(minutes=1))
    assert notifier.to(SHARED) == []  # still open
    tick(scheduler, CLOSES)
    tick(scheduler, CLOSES + timedelta(minutes=1))

    (posted,) = notifier.to(SHARED)
    assert posted.workspace_id == WS
    text = plain(posted.reply)
    assert pulse.DEFAULT_QUESTIONS[0] in text
    assert "100% agree · mean 4.3 · n=3" in text  # marketing: 5, 4, 4
    assert "33% agree · mean 3.0 · n=3" in text  # IT: 2, 3, 4
    assert "+67 points (Marketing minus IT)" in text
    assert "Response rate: Marketing 3/3 (100%) · IT 3/3 (100%) · Other 0/1 (0%)" in text
    (chart,) = posted.reply.attachments
    assert chart.filename == "pulse-trend.png"
    assert chart.content.startswith(PNG_SIGNATURE)
    height, width, _ = matplotlib.image.imread(io.BytesIO(chart.content), format="png").shape
    assert width > 300 and height > 150

    closed = the_poll(deps)
    assert (closed.status, closed.closed_at) == ("closed", CLOSES)
    with pytest.raises(pulse.PollClosed):
        vote(deps, poll.id, "U0OT0", 5, CLOSES + timedelta(minutes=2))


# -- /pulse now and /pulse schedule ---------------------------------------------------------


def test_pulse_now_is_for_admins_and_only_when_none_is_open(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    now = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # a Wednesday afternoon
    set_clock(deps, now)
    with deps.session_factory.begin() as session:
        workspaces.ensure_workspace(
            session=session, workspace_id=WS, platform="slack", timezone=BERLIN
        )
    nobody = command(deps, "now")  # nobody has a side yet
    assert nobody.is_error and "Nobody has chosen a side yet" in plain(nobody)
    with deps.session_factory() as session:
        assert session.execute(select(PulsePoll)).first() is None  # nothing opened
    seed(deps)

    refused = command(deps, "now", user="U0BOB", admin=False)
    assert refused.is_error
    assert "Only workspace admins can start a pulse" in plain(refused)
    with deps.session_factory() as session:
        assert session.execute(select(PulsePoll)).first() is None

    started = command(deps, "now")
    assert not started.is_error
    assert started.wake_scheduler
    assert "Pulse sent to 7 people" in plain(started)
    tick(scheduler, now)
    assert sorted(post.conversation_ref for post in notifier.posts) == WITH_A_SIDE

    again = command(deps, "now")
    assert again.is_error
    assert "A pulse is already open until Fri 06 Mar 15:00 UTC" in plain(again)
    with deps.session_factory() as session:
        assert len(session.execute(select(PulsePoll)).all()) == 1

    tick(scheduler, now + timedelta(hours=48))
    assert len(notifier.to(SHARED)) == 1
    set_clock(deps, now + timedelta(hours=49))
    assert not command(deps, "now").is_error  # the previous one has closed


def test_admins_set_the_weekly_schedule_in_a_modal(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    seed(deps)
    assert command(deps, "schedule", user="U0BOB", admin=False).is_error

    form = command(deps, "schedule").form
    assert form is not None and form.callback_id == PULSE_SCHEDULE_FORM
    initial = {field.name: field.initial for field in form.fields}
    assert initial == {"enabled": "on", "weekday": "mon", "time": "10:00", "hours": "48"}

    def submit(values: dict[str, str], *, admin: bool = True) -> Reply:
        caller = Caller(WS, "U0ADA", "slack", is_admin=admin)
        return run_form(scope(deps, caller), PULSE_SCHEDULE_FORM, values, "")

    with pytest.raises(FormInvalid) as invalid:
        submit({"enabled": "on", "weekday": "wed", "time": "25:99", "hours": "0"})
    assert set(invalid.value.field_errors) == {"time", "hours"}
    assert submit({"weekday": "wed", "time": "15:30", "hours": "24"}, admin=False).is_error

    saved = submit({"enabled": "on", "weekday": "wed", "time": "15:30", "hours": "24"})
    assert "Weekly pulse on: Wednesdays at 15:30 (Europe/Berlin), open 24 hours." in plain(saved)

    opens = datetime(2026, 3, 4, 14, 30, tzinfo=UTC)  # Wednesday 15:30 in Berlin
    tick(scheduler, opens - timedelta(hours=20))
    assert [o.due_at for o in planned(deps, pulse_schedule.PULSE_OPEN)] == [opens]
    tick(scheduler, opens)
    assert len(notifier.posts) == 7
    assert the_poll(deps).closes_at == opens + timedelta(hours=24)

    submit({"enabled": "off", "weekday": "wed", "time": "15:30", "hours": "24"})
    tick(scheduler, opens + timedelta(days=6, hours=20))
    assert len(planned(deps, pulse_schedule.PULSE_OPEN)) == 1  # nothing new planned


# -- changes and outages ------------------------------------------------------------------


def set_schedule(deps: Deps, **values: object) -> None:
    with deps.session_factory.begin() as session:
        session.execute(
            update(WorkspaceSettings).where(WorkspaceSettings.workspace_id == WS).values(**values)
        )


def test_a_pulse_turned_off_after_it_was_planned_asks_nobody(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    seed(deps)
    tick(scheduler, OPENS - timedelta(hours=20))  # Sunday: Monday's pulse is planned
    set_schedule(deps, pulse_enabled=False)
    tick(scheduler, OPENS)
    assert notifier.posts == []
    with deps.session_factory() as session:
        assert session.execute(select(PulsePoll)).first() is None


def test_moving_a_planned_pulse_asks_once_at_the_new_time_for_the_hours_set_now(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    seed(deps)
    tick(scheduler, OPENS - timedelta(hours=20))  # Monday 10:00 is planned
    set_schedule(deps, pulse_weekday=2, pulse_open_hours=24)  # Wednesday, open a day
    wednesday = OPENS + timedelta(days=2)
    for moment in (OPENS, wednesday - timedelta(hours=20), wednesday):
        tick(scheduler, moment)

    assert sorted(post.conversation_ref for post in notifier.posts) == WITH_A_SIDE  # once each
    poll = the_poll(deps)
    assert (poll.opened_at, poll.closes_at) == (wednesday, wednesday + timedelta(hours=24))


def test_a_bot_back_within_the_grace_period_still_opens_the_pulse(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    seed(deps)
    back = OPENS + timedelta(minutes=10)  # down since Saturday: never planned before
    tick(scheduler, back)
    assert sorted(post.conversation_ref for post in notifier.posts) == WITH_A_SIDE
    assert the_poll(deps).closes_at == CLOSES  # from its slot, not from the late start
    # Its DMs were due when it opened, so a failed one has the whole grace period to retry.
    assert {o.due_at for o in planned(deps, pulse_schedule.PULSE_DM)} == {back}


def test_a_pulse_whose_close_was_missed_is_closed_without_posting_late(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    seed(deps)
    tick(scheduler, OPENS)
    vote(deps, the_poll(deps).id, MARKETING[0], 5, OPENS + timedelta(hours=1))

    tick(scheduler, CLOSES + timedelta(hours=5))  # down from before the close until long after

    assert notifier.to(SHARED) == []  # never sent late
    poll = the_poll(deps)
    assert (poll.status, poll.closed_at) == ("closed", CLOSES)
    with deps.session_factory() as session:
        latest = pulse.latest_weekly(session=session, workspace_id=WS)
    assert latest is not None and latest.id == poll.id  # its answers count in /pulse


# -- chosen questions and the gap alert ------------------------------------------------

ADMIN = "U0ADA"
WEEK = timedelta(days=7)


def dm_to(notifier: RecordingNotifier, user: str) -> str:
    (posted,) = notifier.to(user)
    return plain(posted.reply)


def pulse_week(
    scheduler: Scheduler, n: int, marketing: list[int], it: list[int], *, close: bool = True
) -> int:
    """Week n's pulse opened on the clock, answered (first question), and closed."""
    deps = scheduler.deps
    opens = OPENS + n * WEEK
    tick(scheduler, opens)
    poll_id = max(
        int(o.payload["poll_id"]) for o in planned(deps, "pulse.close") if o.due_at > opens
    )
    for users, values in ((MARKETING, marketing), (IT, it)):
        for user, value in zip(users, values, strict=True):
            vote(deps, poll_id, user, value, opens + timedelta(hours=1))
    if close:
        tick(scheduler, CLOSES + n * WEEK)
    return poll_id


def test_each_side_gets_its_own_statement_of_a_mirrored_pair_and_other_the_rest(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    seed(deps)
    saved = command(deps, "questions set understands-our-needs worked-together")
    assert "From the next pulse:" in plain(saved)
    tick(scheduler, OPENS)

    marketing, it, other = (dm_to(notifier, who) for who in (MARKETING[0], IT[0], OTHER[0]))
    assert "1. IT understands what Marketing needs." in marketing
    assert "Marketing understands" not in marketing
    assert "1. Marketing understands what IT needs." in it
    assert "understands what" not in other and "2. This week Marketing and IT" in other
    (posted,) = notifier.to(OTHER[0])
    values = {
        b.value
        for block in posted.reply.blocks
        if isinstance(block, Buttons)
        for b in block.buttons
        if b.action_id == PULSE_VOTE
    }
    assert {value.split(":")[1] for value in values} == {"1"}  # no button for the pair


def test_a_pulse_of_mirrored_pairs_sends_nothing_to_other(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    seed(deps)
    command(deps, "questions set understands-our-needs values-our-work")
    tick(scheduler, OPENS)
    assert notifier.to(OTHER[0]) == []
    assert sorted(p.conversation_ref for p in notifier.posts) == sorted(MARKETING + IT)


def test_a_widening_gap_is_told_to_admins_and_the_channel_once(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    seed(deps)
    assert "You get the gap alert by direct message." in plain(command(deps, "alerts me on"))
    assert "short post" in plain(command(deps, "alerts channel on"))
    pulse_week(scheduler, 0, [4, 4, 4], [4, 4, 4])  # gap 0
    assert notifier.to(ADMIN) == []

    pulse_week(scheduler, 1, [5, 5, 4], [1, 2, 2])  # gap +100
    tick(scheduler, CLOSES + WEEK + timedelta(minutes=1))
    tick(scheduler, CLOSES + WEEK + timedelta(minutes=2))

    (dm,) = notifier.to(ADMIN)
    told = plain(dm.reply)
    assert "Pulse alert — pulse of 09 Mar" in told
    assert "Question 1 (worked-together)" in told
    assert "the gap widened to +100 points, from +0 on average over the previous pulse" in told
    assert "Marketing 100% agree, IT 0%" in told
    channel = [plain(p.reply) for p in notifier.to(SHARED)]
    assert len(channel) == 3  # week 0's results, week 1's results, the alert
    assert "Pulse alert" in channel[2] and "/pulse for the results." in channel[2]
    assert "+100 points" in channel[2] and "Marketing 100% agree" not in channel[2]
    (delivery_to_admin,) = [
        o for o in planned(deps, pulse_alerts.PULSE_ALERT) if o.recipient_ref == ADMIN
    ]
    assert delivery_to_admin.status == OccurrenceStatus.SENT


def test_two_instances_tell_each_admin_once(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler, second_instance: Deps
) -> None:
    second = wire(second_instance, OPENS)
    other = recorded(second)
    seed(deps)
    command(deps, "alerts me on")
    command(deps, "alerts me on", user="U0BEN")
    pulse_week(scheduler, 0, [4, 4, 4], [4, 4, 4])
    pulse_week(scheduler, 1, [5, 5, 4], [1, 2, 2], close=False)

    async def both(now: datetime) -> None:
        set_clock(deps, now)
        set_clock(second_instance, now)
        await asyncio.gather(run_tick(scheduler, now), run_tick(second, now))

    for minutes in range(3):
        asyncio.run(both(CLOSES + WEEK + timedelta(minutes=minutes)))
    for admin in (ADMIN, "U0BEN"):
        assert len(notifier.to(admin) + other.to(admin)) == 1


def test_an_alert_of_a_pulse_closed_while_the_bot_was_down_still_reaches_admins(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    seed(deps)
    command(deps, "alerts me on")
    pulse_week(scheduler, 0, [4, 4, 4], [4, 4, 4])
    pulse_week(scheduler, 1, [5, 5, 4], [1, 2, 2], close=False)
    tick(scheduler, CLOSES + WEEK + timedelta(hours=3))  # back long after the grace period

    results_posts = [p for p in notifier.to(SHARED) if "Pulse results" in plain(p.reply)]
    assert len(results_posts) == 1  # week 1's results were missed, as before
    (dm,) = notifier.to(ADMIN)
    assert "the gap widened to +100 points" in plain(dm.reply)


def test_an_admin_who_stops_alerts_gets_none_and_others_are_refused(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    seed(deps)
    refused = command(deps, "alerts me on", user="U0BOB", admin=False)
    assert refused.is_error and "Only workspace admins" in plain(refused)
    refused = command(deps, "questions add same-goals", user="U0BOB", admin=False)
    assert refused.is_error and "Only workspace admins" in plain(refused)
    command(deps, "alerts me on")
    pulse_week(scheduler, 0, [4, 4, 4], [4, 4, 4])
    assert "You no longer get the gap alert." in plain(command(deps, "alerts me off"))
    pulse_week(scheduler, 1, [5, 5, 4], [1, 2, 2])
    assert notifier.to(ADMIN) == []
    assert not any("Pulse alert" in plain(p.reply) for p in notifier.to(SHARED))  # channel off


def test_admins_choose_the_questions_in_a_form_checked_field_by_field(deps: Deps) -> None:
    seed(deps)
    form = command(deps, "questions choose").form
    assert form is not None and form.callback_id == PULSE_QUESTIONS_FORM
    assert [f.initial for f in form.fields] == [*pulse_questions.DEFAULT_IDS, "none", "none"]
    assert [f.optional for f in form.fields] == [False, True, True, True, True]
    assert all(len(label) <= 75 for f in form.fields for _, label in f.options)
    assert command(deps, "questions choose", user="U0BOB", admin=False).is_error

    def submit(values: dict[str, str], *, admin: bool = True) -> Reply:
        caller = Caller(WS, "U0ADA", "slack", is_admin=admin)
        return run_form(scope(deps, caller), PULSE_QUESTIONS_FORM, values, "")

    with pytest.raises(FormInvalid) as invalid:
        submit({"q1": "none", "q2": "same-goals", "q3": "same-goals", "q4": "custom-7"})
    assert invalid.value.field_errors == {
        "q1": "Choose the first question.",
        "q3": "Chosen above already.",
    }
    with pytest.raises(FormInvalid) as invalid:  # a forged or stale choice
        submit({"q1": "same-goals", "q2": "custom-7"})
    assert "There is no question “custom-7”" in invalid.value.field_errors["q2"]
    assert submit({"q1": "same-goals"}, admin=False).is_error
    with deps.session_factory() as session:
        assert pulse_questions.chosen_ids(session=session, workspace_id=WS) == list(
            pulse_questions.DEFAULT_IDS
        )

    saved = submit({"q1": "understands-our-needs", "q2": "none", "q3": "", "q4": "same-goals"})
    assert "2. same-goals Marketing and IT are working towards the same goals." in plain(saved)
    with deps.session_factory() as session:
        assert pulse_questions.chosen_ids(session=session, workspace_id=WS) == [
            "understands-our-needs",
            "same-goals",
        ]
