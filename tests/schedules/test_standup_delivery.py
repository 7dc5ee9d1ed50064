"""Stand-ups through the scheduler tick: reminders, async questions, answers, digests,
the grace period, and exactly-once delivery with several instances and a crash."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot import replies
from bot.commands.standup import (
    STANDUP_ANSWER,
    STANDUP_ANSWER_FORM,
    STANDUP_DELETE_CONFIRM,
    STANDUP_SHARE,
)
from bot.deps import Deps, build_deps
from bot.models import BoardPost, Occurrence, OccurrenceStatus, Side, StandupAnswer
from bot.notify import MessageGone
from bot.replies import Buttons, Reply
from bot.router import Caller, FormInvalid, RequestScope, run_action, run_command, run_form
from bot.services import availability, occurrences, people, standups, workspaces
from bot.services.occurrences import DEFAULT_LEASE
from bot.services.outbox import CHANNEL_POST
from bot.services.standups import StandupDraft, StandupView
from schedules import Scheduler
from schedules.jobs import TickReport, register_builtin_deliveries, run_tick
from schedules.standups import register
from tests.clock import Clock
from tests.conftest import empty_tables, settings_for

WS = "T0DELIVER"
CREATOR = "U0CREATOR"
CHANNEL = "C0STAND"
# Monday 1 June 2026, 06:00 UTC. Stand-ups at 09:30 London (BST) start at 08:30 UTC.
NOW = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
MON, TUE, WED = date(2026, 6, 1), date(2026, 6, 2), date(2026, 6, 3)


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=UTC)


@dataclass(frozen=True)
class Sent:
    workspace_id: str
    conversation_ref: str
    reply: Reply

    @property
    def text(self) -> str:
        return self.reply.fallback

    def buttons(self) -> list[replies.Button]:
        return [
            b for block in self.reply.blocks if isinstance(block, Buttons) for b in block.buttons
        ]


@dataclass(frozen=True)
class Updated:
    conversation_ref: str
    message_ref: str
    reply: Reply

    @property
    def text(self) -> str:
        return self.reply.fallback


class RecordingNotifier:
    """Records every message the scheduler sends, and every update of one."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.updated: list[Updated] = []
        self._posted = 0
        # The next updates fail with these, in turn (a deleted message, Slack down).
        self.update_failures: list[Exception] = []

    async def post(self, workspace_id: str, conversation_ref: str, reply: Reply) -> str | None:
        await asyncio.sleep(0)  # let a concurrent tick run, as a network call would
        self.sent.append(Sent(workspace_id, conversation_ref, reply))
        self._posted += 1
        return f"msg-{self._posted}"

    async def update(
        self, workspace_id: str, conversation_ref: str, message_ref: str, reply: Reply
    ) -> None:
        await asyncio.sleep(0)
        if self.update_failures:
            raise self.update_failures.pop(0)
        self.updated.append(Updated(conversation_ref, message_ref, reply))

    def to(self, conversation_ref: str) -> list[Sent]:
        return [s for s in self.sent if s.conversation_ref == conversation_ref]

    def take(self) -> list[Sent]:
        """What was sent since the last take."""
        taken, self.sent = self.sent, []
        return taken


def prepare(deps: Deps) -> Scheduler:
    """A scheduler (not started) with the stand-up deliveries and a recording notifier."""
    scheduler = Scheduler(deps, RecordingNotifier())
    register_builtin_deliveries(scheduler)
    register(scheduler)
    return scheduler


def recorded(scheduler: Scheduler) -> RecordingNotifier:
    assert isinstance(scheduler.notifier, RecordingNotifier)
    return scheduler.notifier


def set_clock(deps: Deps, moment: datetime) -> None:
    """Move the hand-moved clock the deps were built with."""
    assert isinstance(deps.clock, Clock)
    deps.clock.now = moment


@pytest.fixture
def deps(module_deps: Deps) -> Deps:
    with module_deps.session_factory.begin() as session:
        empty_tables(session)
        workspaces.ensure_workspace(
            session=session, workspace_id=WS, platform="slack", timezone="UTC"
        )
    set_clock(module_deps, NOW)
    return module_deps


@pytest.fixture
def scheduler(deps: Deps) -> Scheduler:
    return prepare(deps)


@pytest.fixture
def notifier(scheduler: Scheduler) -> RecordingNotifier:
    return recorded(scheduler)


def tick(scheduler: Scheduler, moment: datetime) -> TickReport:
    set_clock(scheduler.deps, moment)
    return asyncio.run(run_tick(scheduler, now=moment))


def create(deps: Deps, *, now: datetime = NOW, **changes: Any) -> StandupView:
    draft = StandupDraft(
        name="Marketing + IT",
        channel_ref=CHANNEL,
        weekdays="mon-fri",
        local_time="09:30",
        timezone="Europe/London",
        participants="U0ANN,U0BEN",
        call_link="https://meet.example/standup",
    )
    with deps.session_factory.begin() as session:
        return standups.create(
            session=session,
            workspace_id=WS,
            draft=replace(draft, **changes),
            creator_ref=CREATOR,
            now=now,
            secret_key=deps.secret_key,
        )


def statuses(deps: Deps, kind: str) -> list[str]:
    with deps.session_factory() as session:
        return list(
            session.execute(
                select(Occurrence.status).where(Occurrence.kind == kind).order_by(Occurrence.due_at)
            ).scalars()
        )


def occurrences_of(deps: Deps, kind: str) -> list[Occurrence]:
    with deps.session_factory() as session:
        return list(session.execute(select(Occurrence).where(Occurrence.kind == kind)).scalars())


def as_user(deps: Deps, user: str, now: datetime, *, admin: bool = False) -> RequestScope:
    return RequestScope(
        session_factory=deps.session_factory,
        router=deps.router,
        caller=Caller(workspace_id=WS, user_ref=user, platform="slack", is_admin=admin),
        now=now,
        default_timezone="UTC",
        channel_ref=CHANNEL,
    )


# -- meeting reminders ---------------------------------------------------------------


def test_meeting_reminder_goes_once_to_the_channel_and_each_participant(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    create(deps)
    tick(scheduler, NOW)
    tick(scheduler, at(MON, 8, 14))
    assert notifier.take() == []

    report = tick(scheduler, at(MON, 8, 15))  # 15 minutes before 09:30 London
    sent = notifier.take()
    assert sorted(s.conversation_ref for s in sent) == [CHANNEL, "U0ANN", "U0BEN"]
    assert report.failed == 0 and report.missed == 0
    post = next(s for s in sent if s.conversation_ref == CHANNEL)
    assert "Marketing + IT starts at 09:30 (Europe/London)" in post.text
    assert "A win to share" in post.text  # the agenda
    assert "https://meet.example/standup" in post.text
    dm = next(s for s in sent if s.conversation_ref == "U0ANN")
    assert "starts at 09:30" in dm.text and "You are taking part" in dm.text
    assert all(s.workspace_id == WS for s in sent)

    for moment in (at(MON, 8, 15), at(MON, 8, 16), at(MON, 8, 30), at(MON, 9, 0)):
        tick(scheduler, moment)
    assert notifier.take() == []
    assert statuses(deps, standups.REMINDER_POST) == [OccurrenceStatus.SENT, "pending"]

    tick(scheduler, at(TUE, 8, 15))
    assert sorted(s.conversation_ref for s in notifier.take()) == [CHANNEL, "U0ANN", "U0BEN"]


def test_london_reminder_keeps_local_time_when_the_clocks_go_back(deps: Deps) -> None:
    scheduler = prepare(deps)
    notifier = recorded(scheduler)
    friday, monday = date(2026, 10, 23), date(2026, 10, 26)
    with deps.session_factory.begin() as session:
        standups.create(
            session=session,
            workspace_id=WS,
            draft=StandupDraft(
                name="Autumn",
                channel_ref=CHANNEL,
                weekdays="mon-fri",
                local_time="09:30",
                timezone="Europe/London",
                participants="U0ANN",
            ),
            creator_ref=CREATOR,
            now=at(friday, 6),
            secret_key=deps.secret_key,
        )
    tick(scheduler, at(friday, 6))
    tick(scheduler, at(friday, 8, 15))  # 09:15 BST
    assert [s.conversation_ref for s in notifier.to(CHANNEL)] == [CHANNEL]
    assert "starts at 09:30" in notifier.take()[0].text

    tick(scheduler, at(monday, 8, 15))  # 08:15 GMT: too early now that summer time is over
    assert notifier.take() == []
    tick(scheduler, at(monday, 9, 15))  # 09:15 GMT
    channel_posts = [s for s in notifier.take() if s.conversation_ref == CHANNEL]
    assert len(channel_posts) == 1 and "starts at 09:30" in channel_posts[0].text


def test_skipped_dates_and_paused_stand_ups_send_nothing(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    create(deps, name="Skips Monday")
    create(deps, name="Paused", channel_ref="C0PAUSED", participants="U0CAT")
    tick(scheduler, NOW)
    skipped = run_command(
        name="standup", args="skip 1 2026-06-01", scope=as_user(deps, CREATOR, NOW)
    )
    assert "No Skips Monday on Monday 01 June 2026" in skipped.fallback
    run_command(name="standup", args="pause 2", scope=as_user(deps, CREATOR, NOW))

    for moment in (at(MON, 8, 15), at(MON, 8, 30), at(MON, 12)):
        tick(scheduler, moment)
    assert notifier.take() == []

    tick(scheduler, at(TUE, 8, 15))
    assert sorted(s.conversation_ref for s in notifier.take()) == [CHANNEL, "U0ANN", "U0BEN"]

    run_command(name="standup", args="resume 2", scope=as_user(deps, CREATOR, at(TUE, 9)))
    tick(scheduler, at(TUE, 9))
    tick(scheduler, at(WED, 8, 15))
    assert sorted(s.conversation_ref for s in notifier.take()) == sorted(
        [CHANNEL, "U0ANN", "U0BEN", "C0PAUSED", "U0CAT"]
    )


def test_skip_reads_friendly_days_in_the_stand_ups_own_time_zone(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    create(deps, name="London")
    create(deps, name="Auckland", channel_ref="C0NZ", timezone="Pacific/Auckland")
    sunday_evening = at(MON - timedelta(days=1), 20)  # already Monday 08:00 in Auckland

    london = run_command(
        name="standup", args="skip 1 tomorrow", scope=as_user(deps, CREATOR, sunday_evening)
    )
    auckland = run_command(
        name="standup", args="skip 2 tomorrow", scope=as_user(deps, CREATOR, sunday_evening)
    )
    by_name = run_command(
        name="standup", args="skip 1 Wed", scope=as_user(deps, CREATOR, sunday_evening)
    )

    assert "No London on Monday 01 June 2026" in london.fallback
    assert "No Auckland on Tuesday 02 June 2026" in auckland.fallback
    assert "No London on Wednesday 03 June 2026" in by_name.fallback
    tick(scheduler, at(MON, 8, 15))
    assert [s.conversation_ref for s in notifier.take()] == []  # London's Monday is off


def test_standup_now_sends_at_once_instead_of_the_next_usual_time(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    create(deps)
    tick(scheduler, NOW)
    moment = NOW + timedelta(minutes=5)
    reply = run_command(name="standup", args="now 1", scope=as_user(deps, CREATOR, moment))
    assert reply.wake_scheduler
    tick(scheduler, moment)
    assert sorted(s.conversation_ref for s in notifier.take()) == [CHANNEL, "U0ANN", "U0BEN"]
    tick(scheduler, at(MON, 8, 15))
    assert notifier.take() == []  # Monday's usual reminder was replaced by the run now
    tick(scheduler, at(TUE, 8, 15))
    assert len(notifier.take()) == 3


def test_a_reminder_due_just_before_a_plan_ends_is_sent(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    # Made at 08:20 UTC, the first plan runs to Wednesday 08:20: after Wednesday's
    # 08:15 reminder, before its 08:30 start.
    create(deps, now=at(MON, 8, 20))
    tick(scheduler, at(MON, 8, 20))
    tick(scheduler, at(TUE, 9))  # the plan is renewed a day before it ends
    notifier.take()

    tick(scheduler, at(WED, 8, 15))

    assert sorted(s.conversation_ref for s in notifier.take()) == [CHANNEL, "U0ANN", "U0BEN"]


# -- async: questions, answers, digest --------------------------------------------------


def answer_button(sent: Sent) -> replies.Button:
    (button,) = [b for b in sent.buttons() if b.action_id == STANDUP_ANSWER]
    return button


def submit(deps: Deps, user: str, value: str, answers: list[str], now: datetime) -> Reply:
    form = run_action(action_id=STANDUP_ANSWER, value=value, scope=as_user(deps, user, now)).form
    assert form is not None and form.callback_id == STANDUP_ANSWER_FORM
    assert form.metadata == value  # "standup id:local date"
    return run_form(
        callback_id=STANDUP_ANSWER_FORM,
        values={f"q{n}": text for n, text in enumerate(answers)},
        metadata=form.metadata,
        scope=as_user(deps, user, now),
    )


def test_async_stand_up_end_to_end(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    view = create(deps, mode="async", participants="U0ANN,U0BEN,U0CAT", deadline_minutes="120")
    with deps.session_factory.begin() as session:
        people.set_side(session=session, workspace_id=WS, user_ref="U0ANN", side=Side.MARKETING)
        people.set_side(session=session, workspace_id=WS, user_ref="U0BEN", side=Side.IT)
        people.set_side(session=session, workspace_id=WS, user_ref="U0CAT", side=Side.IT)
        workspaces.set_shared_channel(session=session, workspace_id=WS, channel_ref="C0BOARD")
    tick(scheduler, NOW)
    tick(scheduler, at(MON, 8, 15))
    reminders = notifier.take()
    assert sorted(s.conversation_ref for s in reminders) == [CHANNEL, "U0ANN", "U0BEN", "U0CAT"]
    assert all("Questions arrive by DM" in s.text for s in reminders)
    assert all(not s.buttons() for s in reminders)

    # At the start each participant gets the questions with an Answer button.
    tick(scheduler, at(MON, 8, 29))
    assert notifier.take() == []
    tick(scheduler, at(MON, 8, 30))
    questions = {s.conversation_ref: s for s in notifier.take()}
    assert sorted(questions) == ["U0ANN", "U0BEN", "U0CAT"]
    for sent in questions.values():
        assert "1. A win to share" in sent.text
        assert "3. What you need from the other side" in sent.text
        assert answer_button(sent).value == f"{view.id}:{MON.isoformat()}"

    value = answer_button(questions["U0ANN"]).value
    thanks = submit(deps, "U0ANN", value, ["Launched the campaign", "", "API docs"], at(MON, 8, 40))
    buttons = [b for block in thanks.blocks if isinstance(block, Buttons) for b in block.buttons]
    # The challenge was left empty: only the win can be shared.
    assert [b.label for b in buttons] == ["Edit answers", "Share as win"]
    assert (buttons[0].action_id, buttons[0].value) == (STANDUP_ANSWER, value)
    share = buttons[1:]
    submit(deps, "U0BEN", answer_button(questions["U0BEN"]).value, ["", "Flaky CI", ""], at(MON, 9))

    # Answers can be changed until the deadline; the form opens with the earlier ones.
    form = run_action(
        action_id=STANDUP_ANSWER, value=value, scope=as_user(deps, "U0ANN", at(MON, 10))
    ).form
    assert form is not None and form.fields[0].initial == "Launched the campaign"
    submit(deps, "U0ANN", value, ["Launched the spring campaign", "", "API docs"], at(MON, 10))

    tick(scheduler, at(MON, 10, 29))
    assert notifier.take() == []
    tick(scheduler, at(MON, 10, 30))  # the deadline: start + 120 minutes
    (digest,) = notifier.take()
    assert digest.conversation_ref == CHANNEL
    lines = [replies.block_plain_text(block) for block in digest.reply.blocks]
    assert lines[0].startswith("Marketing + IT — Monday 01 June")

    def line_with(fragment: str) -> int:
        return next(n for n, line in enumerate(lines) if fragment in line)

    assert lines.index("Marketing") < line_with("@U0ANN") < lines.index("IT") < line_with("@U0BEN")
    assert "A win to share: Launched the spring campaign" in lines[line_with("@U0ANN")]
    assert "Launched the campaign\n" not in digest.text  # the edit replaced it
    assert "A challenge you face: Flaky CI" in lines[line_with("@U0BEN")]
    assert lines[-1] == "Didn't answer: @U0CAT"
    assert "@U0CAT" not in "".join(lines[:-1])

    # After the deadline a late answer is added to the digest, which is updated in place
    # (not posted again), the answer marked late; until Tuesday's round starts.
    late = submit(deps, "U0CAT", value, ["Late <!channel>", "", ""], at(MON, 10, 31))
    assert "now shows your answers, marked as late" in late.fallback
    assert late.wake_scheduler
    tick(scheduler, at(MON, 10, 31))
    tick(scheduler, at(MON, 12))
    assert notifier.take() == []
    (updated,) = notifier.updated
    # The digest's message: 4 reminders and 3 questions went before it.
    assert (updated.conversation_ref, updated.message_ref) == (CHANNEL, "msg-8")
    assert "@U0CAT (late)\nA win to share: Late <!channel>" in updated.text  # escaped when shown
    assert "Didn't answer" not in updated.text
    # Once Tuesday's round starts, Monday's Answer button says it is closed.
    closed = run_action(
        action_id=STANDUP_ANSWER, value=value, scope=as_user(deps, "U0CAT", at(TUE, 8, 30))
    )
    assert closed.is_error and closed.form is None
    assert "Answers to Marketing + IT for Monday 01 June closed when its next round" in (
        closed.fallback
    )
    with pytest.raises(FormInvalid, match="closed when its next round started"):
        run_form(  # a form opened before, sent after
            callback_id=STANDUP_ANSWER_FORM,
            values={"q0": "Later"},
            metadata=value,
            scope=as_user(deps, "U0CAT", at(TUE, 8, 30)),
        )

    # The author shares their win to the board; the flag is stored.
    shared = run_action(
        action_id=STANDUP_SHARE, value=share[0].value, scope=as_user(deps, "U0ANN", at(MON, 13))
    )
    assert not shared.is_error
    assert shared.wake_scheduler  # the post was queued with the share, to go out at once
    with deps.session_factory() as session:
        post_id = session.execute(select(BoardPost.id)).scalar_one()
    assert [o.subject_ref for o in occurrences_of(deps, CHANNEL_POST)] == [f"board:{post_id}"]
    with deps.session_factory() as session:
        row = session.execute(
            select(StandupAnswer).where(StandupAnswer.user_ref == "U0ANN")
        ).scalar_one()
    assert row.shared == [0]
    refused = run_action(
        action_id=STANDUP_SHARE, value=share[0].value, scope=as_user(deps, "U0BEN", at(MON, 13))
    )
    assert refused.is_error


def async_round_with_digest(
    deps: Deps, scheduler: Scheduler, notifier: RecordingNotifier, **changes: Any
) -> tuple[StandupView, str]:
    """Monday's async round with Ann and Ben, Ann answered, its digest (10:30 UTC) posted."""
    view = create(deps, mode="async", participants="U0ANN,U0BEN", **changes)
    tick(scheduler, NOW)
    tick(scheduler, at(MON, 8, 30))
    notifier.take()  # the reminders and the questions
    value = f"{view.id}:{MON.isoformat()}"
    submit(deps, "U0ANN", value, ["On time", "", ""], at(MON, 9))
    tick(scheduler, at(MON, 10, 30))
    (digest,) = [s for s in notifier.take() if s.text.startswith("Marketing + IT — Monday")]
    assert digest.text.endswith("Didn't answer: @U0BEN")
    return view, value


def test_an_edit_after_the_digest_updates_it_however_long_the_platform_refuses(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    view, value = async_round_with_digest(deps, scheduler, notifier)
    notifier.update_failures = [ConnectionError("Slack is down")] * 3

    edited = submit(deps, "U0ANN", value, ["On time, then better", "", ""], at(MON, 11))

    assert "marked as edited after the digest" in edited.fallback
    report = tick(scheduler, at(MON, 11))
    assert report.failed == 1 and notifier.updated == []
    # Retried with a growing backoff, however late (never recorded as missed).
    for moment in (at(MON, 11, 1), at(MON, 11, 2), at(MON, 11, 5), at(MON, 13)):
        tick(scheduler, moment)
    assert notifier.take() == []  # never posted a second time
    (updated,) = notifier.updated
    assert "@U0ANN (edited after the digest)\nA win to share: On time, then better" in updated.text
    assert statuses(deps, standups.DIGEST_UPDATE) == [OccurrenceStatus.SENT.value]


def test_a_deleted_digest_is_posted_again_with_the_late_answer_and_updated_from_then_on(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    view, value = async_round_with_digest(deps, scheduler, notifier)
    notifier.update_failures = [MessageGone("message_not_found")]

    submit(deps, "U0BEN", value, ["Late", "", ""], at(MON, 12))
    tick(scheduler, at(MON, 12))

    (again,) = notifier.take()
    assert again.conversation_ref == CHANNEL
    assert "@U0BEN (late)\nA win to share: Late" in again.text
    submit(deps, "U0BEN", value, ["Late, and changed", "", ""], at(MON, 13))
    tick(scheduler, at(MON, 13))
    assert notifier.take() == []
    (updated,) = notifier.updated
    assert updated.message_ref == f"msg-{notifier._posted}"  # the digest posted again
    assert "Late, and changed" in updated.text


def test_pausing_the_stand_up_at_the_moment_of_a_late_answer_keeps_its_update(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    view, value = async_round_with_digest(deps, scheduler, notifier)
    submit(deps, "U0BEN", value, ["Late", "", ""], at(MON, 11))

    paused = run_command(name="standup", args="pause 1", scope=as_user(deps, CREATOR, at(MON, 11)))

    assert not paused.is_error
    tick(scheduler, at(MON, 11))
    (updated,) = notifier.updated
    assert "@U0BEN (late)" in updated.text


def forget(deps: Deps, user: str, now: datetime) -> None:
    with deps.session_factory.begin() as session:
        deps.router.privacy.forget(session=session, workspace_id=WS, user_ref=user, now=now)


def test_forget_me_takes_the_person_out_of_the_digests_that_named_them(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    async_round_with_digest(deps, scheduler, notifier)

    forget(deps, "U0ANN", at(MON, 11))  # her answers are in Monday's digest
    tick(scheduler, at(MON, 11))
    (updated,) = notifier.updated
    assert "U0ANN" not in updated.text and "On time" not in updated.text
    assert updated.text.endswith("Didn't answer: @U0BEN")
    forget(deps, "U0BEN", at(MON, 12))  # named among those who did not answer
    tick(scheduler, at(MON, 12))
    assert "U0BEN" not in notifier.updated[-1].text

    # Once the next round has started, a digest someone deleted is not brought back.
    notifier.update_failures = [MessageGone("message_not_found")]
    with deps.session_factory.begin() as session:
        view = standups.get(session=session, workspace_id=WS, number=1)
        standups.queue_digest_update(session=session, view=view, local_date=MON, now=at(TUE, 9))
    tick(scheduler, at(TUE, 9))
    assert [
        s for s in notifier.take() if s.conversation_ref == CHANNEL and "Monday" in s.text
    ] == []
    assert statuses(deps, standups.DIGEST_UPDATE)[-1] == OccurrenceStatus.SENT.value


def test_a_late_answer_to_a_round_whose_digest_was_missed_says_so_and_posts_nothing(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    view = create(deps, mode="async", participants="U0ANN,U0BEN")
    tick(scheduler, NOW)
    tick(scheduler, at(MON, 8, 30))
    notifier.take()
    tick(scheduler, at(MON, 11, 1))  # down from 10:30: past the grace period, missed

    thanks = submit(deps, "U0BEN", f"{view.id}:{MON.isoformat()}", ["Late", "", ""], at(MON, 12))

    assert "That round's digest was never posted" in thanks.fallback
    tick(scheduler, at(MON, 12))
    assert notifier.take() == [] and notifier.updated == []
    assert statuses(deps, standups.DIGEST)[0] == OccurrenceStatus.MISSED.value  # Monday's


def test_a_late_answer_before_the_digest_went_out_is_in_it_and_posts_nothing_more(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    """The digest is due at 10:30 but the bot was down: Ben answers at 10:35, then the
    tick sends the digest (with his answer, late) and the update waits for its record."""
    view = create(deps, mode="async", participants="U0ANN,U0BEN")
    tick(scheduler, NOW)
    tick(scheduler, at(MON, 8, 30))
    notifier.take()
    submit(deps, "U0BEN", f"{view.id}:{MON.isoformat()}", ["Late", "", ""], at(MON, 10, 35))

    tick(scheduler, at(MON, 10, 35))
    tick(scheduler, at(MON, 10, 40))

    (digest,) = notifier.take()
    assert "@U0BEN (late)" in digest.text
    assert all("@U0BEN (late)" in u.text for u in notifier.updated)
    assert statuses(deps, standups.DIGEST_UPDATE) == [OccurrenceStatus.SENT.value]


def test_the_nudge_reminds_once_who_has_not_answered_and_never_someone_away(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    view = create(
        deps, mode="async", participants="U0ANN,U0BEN,U0CAT", nudge_minutes="30"
    )  # questions at 08:30 UTC, the nudge at 10:00, the digest at 10:30
    with deps.session_factory.begin() as session:
        availability.add_time_off(
            session=session,
            workspace_id=WS,
            user_ref="U0CAT",
            first_day=MON,
            last_day=MON,
            today=NOW.date(),
            now=NOW,
        )
    tick(scheduler, NOW)
    tick(scheduler, at(MON, 8, 30))
    assert sorted(s.conversation_ref for s in notifier.take() if s.buttons()) == [
        "U0ANN",
        "U0BEN",
    ]
    submit(deps, "U0ANN", f"{view.id}:{MON.isoformat()}", ["Done", "", ""], at(MON, 9))

    tick(scheduler, at(MON, 9, 59))
    assert notifier.take() == []
    tick(scheduler, at(MON, 10))
    (nudge,) = notifier.take()
    assert nudge.conversation_ref == "U0BEN"
    assert "A reminder: Marketing + IT — Monday 01 June" in nudge.text
    assert "at 11:30 (Europe/London) and has no answers from you yet" in nudge.text
    assert answer_button(nudge).value == f"{view.id}:{MON.isoformat()}"
    # Changed after it went: no second nudge this round, the new time from Tuesday on.
    changed = run_command(
        name="standup", args="nudge 1 15", scope=as_user(deps, CREATOR, at(MON, 10, 5))
    )
    assert "nudges who has not answered 15 minutes before the digest" in changed.fallback
    tick(scheduler, at(MON, 10, 15))
    tick(scheduler, at(MON, 10, 30))
    assert [s.conversation_ref for s in notifier.take()] == [CHANNEL]  # the digest only
    tick(scheduler, at(TUE, 8, 30))
    notifier.take()
    tick(scheduler, at(TUE, 10, 15))  # Cat is back
    assert sorted(s.conversation_ref for s in notifier.take()) == ["U0ANN", "U0BEN", "U0CAT"]
    assert statuses(deps, standups.NUDGE_DM) == [OccurrenceStatus.SENT.value] * 4


@pytest.mark.parametrize(
    "commands",
    [["skip 1 2026-06-03"], ["now 1"], ["resume 1"], ["pause 1"], ["pause 1", "resume 1"]],
)
def test_changing_a_stand_up_while_answers_come_in_keeps_todays_digest(
    deps: Deps, notifier: RecordingNotifier, commands: list[str], scheduler: Scheduler
) -> None:
    create(deps, mode="async", participants="U0ANN", deadline_minutes="120")
    tick(scheduler, NOW)
    tick(scheduler, at(MON, 8, 30))  # Monday's questions are out; the digest is due at 10:30
    notifier.take()

    for command in commands:
        reply = run_command(name="standup", args=command, scope=as_user(deps, CREATOR, at(MON, 9)))
        assert not reply.is_error, reply.fallback
    tick(scheduler, at(MON, 9))
    notifier.take()  # what "now" sends at once
    tick(scheduler, at(MON, 10, 30))

    digests = [s for s in notifier.take() if s.conversation_ref == CHANNEL]
    assert [d.reply.fallback.startswith("Marketing + IT — Monday 01 June") for d in digests] == [
        True
    ]


def test_skipping_the_day_a_run_now_took_leaves_that_run_alone(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    create(deps, mode="async", participants="U0ANN", deadline_minutes="60")
    tick(scheduler, NOW)
    run_command(name="standup", args="now 1", scope=as_user(deps, CREATOR, NOW))  # Monday's
    tick(scheduler, NOW)
    notifier.take()

    skipped = run_command(
        name="standup", args="skip 1 2026-06-01", scope=as_user(deps, CREATOR, NOW)
    )
    assert "No Marketing + IT on Monday 01 June 2026" in skipped.fallback
    tick(scheduler, NOW + timedelta(minutes=60))

    assert [s.conversation_ref for s in notifier.take()] == [CHANNEL]  # the run's digest


def test_run_now_is_refused_while_paused(deps: Deps, notifier: RecordingNotifier) -> None:
    create(deps)
    run_command(name="standup", args="pause 1", scope=as_user(deps, CREATOR, NOW))

    refused = run_command(name="standup", args="now 1", scope=as_user(deps, CREATOR, NOW))

    assert refused.is_error and "is paused: resume it first" in refused.fallback
    run_command(name="standup", args="resume 1", scope=as_user(deps, CREATOR, NOW))
    with deps.session_factory() as session:
        assert standups.get(session=session, workspace_id=WS, number=1).skipped == ()


def test_run_now_holds_todays_round_and_leaves_the_next_days_alone(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    """On a day it does not meet, "now" is today's round, twice if asked twice, and the
    stand-up's next Friday still happens."""
    friday = date(2026, 6, 5)
    create(deps, weekdays="fri", mode="async", participants="U0ANN", deadline_minutes="60")
    tick(scheduler, NOW)

    ran = run_command(name="standup", args="now 1", scope=as_user(deps, CREATOR, at(WED, 12)))
    assert "now for today, Wednesday 03 June:" in ran.fallback
    tick(scheduler, at(WED, 12))
    (questions,) = [s for s in notifier.take() if s.conversation_ref == "U0ANN" and s.buttons()]
    assert "Wednesday 03 June: your answers, please" in questions.text
    tick(scheduler, at(WED, 13))
    (digest,) = notifier.to(CHANNEL)
    assert digest.text.startswith("Marketing + IT — Wednesday 03 June")
    notifier.take()
    again = run_command(name="standup", args="now 1", scope=as_user(deps, CREATOR, at(WED, 14)))
    assert "Wednesday 03 June" in again.fallback

    with deps.session_factory() as session:
        assert standups.get(session=session, workspace_id=WS, number=1).skipped == ()
    tick(scheduler, at(friday, 8, 30))  # 09:30 London
    fridays = [s for s in notifier.take() if s.conversation_ref == "U0ANN" and s.buttons()]
    assert ["Friday 05 June: your answers, please" in s.text for s in fridays] == [True]


def test_run_now_before_todays_usual_time_takes_its_place(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    create(deps, mode="async", participants="U0ANN", deadline_minutes="60")
    tick(scheduler, NOW)

    ran = run_command(name="standup", args="now 1", scope=as_user(deps, CREATOR, NOW))

    assert "now for today, Monday 01 June instead of at 09:30:" in ran.fallback
    tick(scheduler, NOW)
    notifier.take()
    tick(scheduler, at(MON, 8, 30))  # Monday's usual time: already held
    assert [s for s in notifier.take() if s.buttons()] == []
    tick(scheduler, at(TUE, 8, 30))
    assert [s.conversation_ref for s in notifier.take() if s.buttons()] == ["U0ANN"]


def test_a_stand_up_created_at_short_notice_is_reminded_at_once(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    """Created 4 minutes before it starts (reminders go 15 minutes ahead): the reminder
    goes at once, saying how soon, and only once however the stand-up is changed."""
    create(deps, now=at(MON, 8, 26))

    tick(scheduler, at(MON, 8, 26))

    sent = notifier.take()
    assert sorted(s.conversation_ref for s in sent) == [CHANNEL, "U0ANN", "U0BEN"]
    post = next(s for s in sent if s.conversation_ref == CHANNEL)
    assert "Marketing + IT starts in 4 minutes, at 09:30 (Europe/London)" in post.text
    for command in ("pause 1", "resume 1"):
        run_command(name="standup", args=command, scope=as_user(deps, CREATOR, at(MON, 8, 27)))
    tick(scheduler, at(MON, 8, 27))
    assert notifier.take() == []


def test_stand_ups_created_together_past_the_planning_budget_are_reminded_in_one_go(
    deps: Deps,
    notifier: RecordingNotifier,
    scheduler: Scheduler,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Five stand-ups created at short notice, with a tick's planning budget that fits
    two: the scheduler ticks again at once until all are planned, and every reminder
    goes out at that moment, not a minute later."""
    monkeypatch.setattr(standups, "PLANNING_BATCH", 2)
    monkeypatch.setattr(standups, "RAN_OUT_BATCH", 2)
    monkeypatch.setattr(standups, "PLANNING_BUDGET", timedelta(0))
    for n in range(5):
        create(deps, now=at(MON, 8, 26), name=f"Stand-up {n}", channel_ref=f"C0ST{n}")
    ticks: list[datetime] = []

    async def counted(scheduler: Scheduler, now: datetime | None = None) -> TickReport:
        ticks.append(scheduler.deps.clock())
        return await run_tick(scheduler, now)

    monkeypatch.setattr("schedules.scheduler.run_tick", counted)
    set_clock(deps, at(MON, 8, 26))
    asyncio.run(scheduler.tick_until_settled())

    assert len(ticks) == 3  # two plans a tick: three ticks, back to back
    posts = [s for s in notifier.take() if s.conversation_ref.startswith("C0ST")]
    assert sorted(s.conversation_ref for s in posts) == [f"C0ST{n}" for n in range(5)]
    assert all("starts in 4 minutes" in s.text for s in posts)


def test_someone_asked_who_then_changes_side_can_still_answer(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    with deps.session_factory.begin() as session:
        people.set_side(session=session, workspace_id=WS, user_ref="U0ANN", side=Side.MARKETING)
    create(deps, mode="async", participants="", both_sides=True, deadline_minutes="120")
    tick(scheduler, NOW)
    tick(scheduler, at(MON, 8, 30))
    (questions,) = [s for s in notifier.take() if s.conversation_ref == "U0ANN" and s.buttons()]
    with deps.session_factory.begin() as session:  # now neither Marketing nor IT
        people.set_side(session=session, workspace_id=WS, user_ref="U0ANN", side=Side.OTHER)

    thanks = submit(deps, "U0ANN", answer_button(questions).value, ["Shipped", "", ""], at(MON, 9))

    assert not thanks.is_error
    tick(scheduler, at(MON, 10, 30))
    (digest,) = notifier.take()
    assert "A win to share: Shipped" in digest.text and "Didn't answer" not in digest.text


def test_a_deleted_stand_up_leaves_nothing_for_the_next_one(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    create(deps, mode="async", participants="U0ANN,U0BEN", deadline_minutes="120")
    tick(scheduler, NOW)
    tick(scheduler, at(MON, 8, 30))
    run_action(
        action_id=STANDUP_DELETE_CONFIRM, value="1", scope=as_user(deps, CREATOR, at(MON, 8, 40))
    )
    with deps.session_factory() as session:
        assert session.execute(select(Occurrence.kind, Occurrence.subject_ref)).all() == []

    create(deps, now=at(MON, 8, 40), mode="async", participants="U0CAT", deadline_minutes="30")
    tick(scheduler, at(TUE, 8, 30))
    tick(scheduler, at(TUE, 9))
    digests = [
        s
        for s in notifier.take()
        if s.conversation_ref == CHANNEL and s.text.startswith("Marketing + IT — Tuesday")
    ]
    assert [d.text.splitlines()[-1] for d in digests] == ["Didn't answer: @U0CAT"]


# -- grace period -------------------------------------------------------------------------


@pytest.mark.parametrize(("late", "delivered"), [(20, True), (29, True), (40, False)])
def test_a_late_tick_sends_within_grace_and_records_missed_after(
    deps: Deps, notifier: RecordingNotifier, late: int, delivered: bool, scheduler: Scheduler
) -> None:
    create(deps)
    tick(scheduler, NOW)
    report = tick(scheduler, at(MON, 8, 15) + timedelta(minutes=late))  # the bot was down till now
    sent = notifier.take()
    if delivered:
        assert sorted(s.conversation_ref for s in sent) == [CHANNEL, "U0ANN", "U0BEN"]
        assert statuses(deps, standups.REMINDER_POST)[0] == OccurrenceStatus.SENT
    else:
        assert sent == []
        assert report.missed == 2  # the channel post and the fan-out to each person
        assert statuses(deps, standups.REMINDER_POST)[0] == OccurrenceStatus.MISSED
        assert statuses(deps, standups.REMINDER_FANOUT)[0] == OccurrenceStatus.MISSED
        assert statuses(deps, standups.REMINDER_DM) == []
    tick(scheduler, at(MON, 9, 30))
    tick(scheduler, at(MON, 12))
    assert notifier.take() == []  # never sent late in a burst, never twice


# -- several instances, crashes --------------------------------------------------------------


@pytest.fixture
def second_deps(deps: Deps) -> Iterator[Deps]:
    """Another bot instance on the same database."""
    other = build_deps(
        settings_for(deps.settings.database_url), upgrade_schema=False, clock=Clock(NOW)
    )
    assert other.instance_id != deps.instance_id
    try:
        yield other
    finally:
        other.engine.dispose()


def test_a_crashed_instances_claim_is_taken_over_once_its_lease_runs_out(
    deps: Deps, second_deps: Deps, caplog: pytest.LogCaptureFixture
) -> None:
    scheduler, second = prepare(deps), prepare(second_deps)
    sent_by_a, sent_by_b = recorded(scheduler), recorded(second)
    create(deps)
    tick(scheduler, NOW)

    due = at(MON, 8, 15)
    with deps.session_factory.begin() as session:  # instance A claims, then dies
        claim = occurrences.claim_due(
            session=session, now=due, instance_id=deps.instance_id, grace=timedelta(minutes=30)
        )
    assert sorted(c.kind for c in claim.claimed) == [
        standups.REMINDER_POST,
        standups.REMINDER_FANOUT,
    ]

    tick(second, due + timedelta(seconds=30))  # A's lease still holds
    assert sent_by_b.sent == []

    with caplog.at_level(logging.WARNING, logger="schedules.jobs"):
        tick(second, due + DEFAULT_LEASE + timedelta(seconds=1))
    assert sorted(s.conversation_ref for s in sent_by_b.take()) == [CHANNEL, "U0ANN", "U0BEN"]
    assert len([r for r in caplog.records if "second attempt" in r.getMessage()]) == 2
    with deps.session_factory() as session:
        taken_over = session.execute(
            select(Occurrence.attempts, Occurrence.claimed_by, Occurrence.status).where(
                Occurrence.kind.in_([standups.REMINDER_POST, standups.REMINDER_FANOUT]),
                Occurrence.due_at == due,
            )
        ).all()
    assert sorted(taken_over) == [(2, second_deps.instance_id, OccurrenceStatus.SENT)] * 2

    # A comes back: its stale claim cannot be recorded, and it sends nothing.
    with deps.session_factory.begin() as session:
        for claimed in claim.claimed:
            assert not occurrences.mark_sent(
                session=session, occurrence_id=claimed.id, instance_id=deps.instance_id, now=due
            )
    tick(scheduler, due + timedelta(minutes=5))
    tick(second, due + timedelta(minutes=5))
    assert sent_by_a.sent == [] and sent_by_b.sent == []


STANDUPS = 50


def test_two_instances_ticking_together_deliver_everything_exactly_once(
    deps: Deps, second_deps: Deps
) -> None:
    scheduler, second = prepare(deps), prepare(second_deps)
    sent_by_a, sent_by_b = recorded(scheduler), recorded(second)
    expected: Counter[tuple[str, str]] = Counter()
    with deps.session_factory.begin() as session:
        for n in range(STANDUPS):
            mode = "async" if n % 2 else "meeting"
            users = [f"U{n:02d}A", f"U{n:02d}B"]
            standups.create(
                session=session,
                workspace_id=WS,
                draft=StandupDraft(
                    name=f"Stand-up {n}",
                    channel_ref=f"C{n:02d}",
                    weekdays="mon-fri",
                    local_time="09:30",
                    timezone="Europe/London",
                    mode=mode,
                    participants=",".join(users),
                ),
                creator_ref=CREATOR,
                now=NOW,
                secret_key=deps.secret_key,
            )
            expected[(f"C{n:02d}", "reminder")] = 1
            for user in users:
                expected[(user, "reminder")] = 1
                if mode == "async":
                    expected[(user, "questions")] = 1

    async def both(moment: datetime) -> None:
        set_clock(deps, moment)
        set_clock(second_deps, moment)
        await asyncio.gather(run_tick(scheduler, now=moment), run_tick(second, now=moment))

    for moment in (NOW, at(MON, 8, 15), at(MON, 8, 15, 30), at(MON, 8, 30), at(MON, 8, 31)):
        asyncio.run(both(moment))

    delivered = Counter(
        (s.conversation_ref, "questions" if "your answers, please" in s.text else "reminder")
        for s in sent_by_a.sent + sent_by_b.sent
    )
    assert sum(expected.values()) == STANDUPS * 3 + STANDUPS  # 150 reminders, 50 questions
    assert delivered == expected
    with deps.session_factory() as session:
        unfinished = session.execute(
            select(Occurrence.kind, Occurrence.status).where(
                Occurrence.due_at <= at(MON, 8, 30),
                Occurrence.status != OccurrenceStatus.SENT,
            )
        ).all()
        attempts = session.execute(select(Occurrence.attempts).where(Occurrence.attempts > 1)).all()
    assert unfinished == []
    assert attempts == []  # nobody had to retry anybody else's work
