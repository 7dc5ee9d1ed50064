"""Bridge pairs through the scheduler tick: a round is made once, each group introduced
once (a Slack group DM, or each person's chat on Teams), even after a crash mid-round or
a round run again; the follow-up three days before the next round; the figures in the
weekly digest; blocks, snoozes and time off respected; forget-me takes a person out."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.deps import Deps
from bot.models import (
    BridgePair,
    GlossaryTerm,
    Occurrence,
    OccurrenceStatus,
    PairRound,
    PairSeat,
    Side,
)
from bot.replies import Reply
from bot.router import Caller, RequestScope, run_action, run_command
from bot.services import availability, occurrences, pairs, people, workspaces
from schedules import Scheduler
from schedules import board as board_schedule
from schedules import pairs as pair_schedule
from schedules.jobs import TickReport, register_builtin_deliveries, run_tick
from tests.clock import Clock
from tests.conftest import empty_tables

WS = "T0PAIRS"  # Slack
TEAMS_WS = "T0PAIRSTEAMS"
CHANNEL = "C0PAIRS"
# Tuesday 1 December 2026: the first round (every 2 weeks, Tuesdays 10:00 in London).
MONDAY = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
ROUND_1 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
ROUND_2 = ROUND_1 + timedelta(weeks=2)
MARKETING = [f"U0M{index}" for index in range(7)]
IT = [f"U0I{index}" for index in range(4)]
SNOOZER, AWAY, NO_SIDE = "U0MSNOOZE", "U0MAWAY", "U0NOSIDE"


@dataclass(frozen=True)
class Sent:
    workspace_id: str
    conversation_ref: str
    reply: Reply

    @property
    def text(self) -> str:
        return self.reply.fallback


class GroupNotifier:
    """Records posts; opens "group DMs" as Slack's conversations.open would (the same
    people, the same conversation). `fail_on` makes the first post there fail once."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.groups: dict[str, tuple[str, ...]] = {}
        self.fail_once: set[str] = set()

    async def open_group(self, workspace_id: str, user_refs: list[str]) -> str:
        members = tuple(sorted(user_refs))
        ref = "G-" + "-".join(members)
        self.groups[ref] = members
        return ref

    async def post(self, workspace_id: str, conversation_ref: str, reply: Reply) -> str | None:
        await asyncio.sleep(0)
        if conversation_ref in self.fail_once:
            self.fail_once.discard(conversation_ref)
            raise RuntimeError("the platform dropped the connection")
        self.sent.append(Sent(workspace_id, conversation_ref, reply))
        return f"msg-{len(self.sent)}"


@pytest.fixture
def deps(module_deps: Deps) -> Deps:
    with module_deps.session_factory.begin() as session:
        empty_tables(session)
        for workspace_id, platform in ((WS, "slack"), (TEAMS_WS, "teams")):
            workspaces.ensure_workspace(
                session=session, workspace_id=workspace_id, platform=platform,
                timezone="Europe/London",
            )  # fmt: skip
            workspaces.set_shared_channel(
                session=session, workspace_id=workspace_id, channel_ref=CHANNEL
            )
            session.add_all(
                GlossaryTerm(
                    workspace_id=workspace_id,
                    name=name,
                    definition=f"What {name} is.",
                    origin=origin,
                )  # fmt: skip
                for name, origin in (("CAC", "marketing"), ("Pen test", "it"), ("KPI", "general"))
            )
    module_deps.router.known_workspaces.clear()
    return module_deps


@pytest.fixture
def notifier() -> GroupNotifier:
    return GroupNotifier()


@pytest.fixture
def scheduler(deps: Deps, notifier: GroupNotifier) -> Scheduler:
    built = Scheduler(deps, notifier)
    register_builtin_deliveries(built)
    pair_schedule.register(built)
    board_schedule.register(built)
    return built


def tick(scheduler: Scheduler, moment: datetime) -> TickReport:
    clock = scheduler.deps.clock
    assert isinstance(clock, Clock)
    clock.now = moment
    return asyncio.run(run_tick(scheduler, now=moment))


def scope(deps: Deps, user_ref: str, now: datetime, workspace_id: str = WS) -> RequestScope:
    platform = "teams" if workspace_id == TEAMS_WS else "slack"
    return RequestScope(
        session_factory=deps.session_factory,
        router=deps.router,
        caller=Caller(
            workspace_id=workspace_id, user_ref=user_ref, platform=platform, is_admin=True
        ),
        now=now,
        default_timezone="Europe/London",
        resolve_user=lambda typed: typed.strip().lstrip("@") or None,
    )


def bridge(deps: Deps, user_ref: str, args: str, now: datetime = MONDAY, ws: str = WS) -> str:
    return run_command(scope(deps, user_ref, now, ws), "bridge", args).fallback


def switch_on(deps: Deps, workspace_id: str = WS, channel: str | None = CHANNEL) -> None:
    with deps.session_factory.begin() as session:
        pairs.save_settings(
            session=session, workspace_id=workspace_id, enabled=True, every_weeks=2,
            weekday=1, local_time=time(10, 0), channel_ref=channel,
            now=MONDAY - timedelta(days=3),
        )  # fmt: skip


def join_people(deps: Deps, workspace_id: str = WS) -> None:
    with deps.session_factory.begin() as session:
        for refs, side in ((MARKETING, Side.MARKETING), (IT, Side.IT)):
            for ref in refs:
                people.set_side(session=session, workspace_id=workspace_id, user_ref=ref, side=side)
    for ref in MARKETING + IT:
        assert "You're in" in bridge(deps, ref, "pairs join", ws=workspace_id)


def groups_of_round(
    deps: Deps, workspace_id: str = WS, slot: datetime | None = None
) -> list[frozenset[str]]:
    """The groups made (in the round of `slot`, or in every round)."""
    query = (
        select(PairSeat.pair_id, PairSeat.user_ref)
        .join(PairRound, PairRound.id == PairSeat.round_id)
        .where(PairSeat.workspace_id == workspace_id, PairSeat.pair_id.is_not(None))
    )
    if slot is not None:
        query = query.where(PairRound.slot == slot)
    with deps.session_factory() as session:
        rows = session.execute(query).all()
    grouped: dict[int, set[str]] = {}
    for pair_id, ref in rows:
        assert pair_id is not None
        grouped.setdefault(pair_id, set()).add(ref)
    return [frozenset(group) for group in grouped.values()]


def count(deps: Deps, model: Any) -> int:
    with deps.session_factory() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def intros(notifier: GroupNotifier) -> list[Sent]:
    return [sent for sent in notifier.sent if "Your bridge pair" in sent.text]


def test_a_round_of_seven_marketing_and_four_it_introduces_each_group_once(
    deps: Deps, notifier: GroupNotifier, scheduler: Scheduler
) -> None:
    switch_on(deps)
    join_people(deps)

    tick(scheduler, MONDAY)
    assert notifier.sent == []
    report = tick(scheduler, ROUND_1)
    assert report.failed == 0

    groups = groups_of_round(deps)
    assert sorted(len(group) for group in groups) == [2, 3, 3, 3]
    assert all(group & set(IT) and group & set(MARKETING) for group in groups)
    assert Counter(ref for group in groups for ref in group) == Counter(MARKETING + IT)
    # One group DM per group, with exactly its people, each introduced once.
    sent_intros = intros(notifier)
    assert len(sent_intros) == 4
    assert {frozenset(notifier.groups[s.conversation_ref]) for s in sent_intros} == set(groups)
    some = sent_intros[0].text
    assert "(Marketing)" in some and "(IT)" in some
    assert "Conversation starters" in some
    # Each person asks about a term of the other side's world and explains their own.
    assert "(IT), ask @U0M" not in some
    marketer = next(line for line in some.splitlines() if line.startswith("@U0M"))
    assert "what Pen test means in their work; explain CAC in return." in marketer
    it_person = next(line for line in some.splitlines() if line.startswith("@U0I"))
    assert "what CAC means in their work; explain Pen test in return." in it_person
    # In a trio, both marketers are sent to ask the IT person, never each other.
    for sent in sent_intros:
        for line in sent.text.splitlines():
            if line.startswith("@U0M"):
                assert ", ask @U0I" in line, line
    announcement = [s for s in notifier.sent if s.conversation_ref == CHANNEL]

    assert len(announcement) == 1
    assert "4 new pairs of Marketing and IT this round (11 people)" in announcement[0].text
    assert "@U0" not in announcement[0].text  # the channel never learns who met whom

    for later in (ROUND_1, ROUND_1 + timedelta(minutes=1), ROUND_1 + timedelta(hours=3)):
        tick(scheduler, later)
    assert len(intros(notifier)) == 4
    assert count(deps, PairRound) == 1


def test_snoozed_and_away_people_are_not_paired_and_nobody_without_a_side_joins(
    deps: Deps, notifier: GroupNotifier, scheduler: Scheduler
) -> None:
    switch_on(deps)
    join_people(deps)
    assert "Choose your side first" in bridge(deps, NO_SIDE, "pairs join")
    with deps.session_factory.begin() as session:
        for ref in (SNOOZER, AWAY):
            people.set_side(session=session, workspace_id=WS, user_ref=ref, side=Side.MARKETING)
    for ref in (SNOOZER, AWAY):
        bridge(deps, ref, "pairs join")
    # Snoozed until the day after the first round; away the whole week of it.
    assert "Snoozed" in bridge(deps, SNOOZER, "pairs snooze until 2 Dec")
    with deps.session_factory.begin() as session:
        availability.add_time_off(
            session=session, workspace_id=WS, user_ref=AWAY, first_day=date(2026, 11, 30),
            last_day=date(2026, 12, 4), today=date(2026, 11, 30), now=MONDAY,
        )  # fmt: skip

    tick(scheduler, MONDAY)
    tick(scheduler, ROUND_1)

    paired = {ref for group in groups_of_round(deps) for ref in group}
    assert SNOOZER not in paired and AWAY not in paired and NO_SIDE not in paired
    with deps.session_factory() as session:
        sat_out = set(
            session.execute(select(PairSeat.user_ref).where(PairSeat.pair_id.is_(None))).scalars()
        )
    assert AWAY not in sat_out and SNOOZER not in sat_out  # not "left out": not there

    tick(scheduler, ROUND_2 - timedelta(days=1))
    tick(scheduler, ROUND_2)
    in_round_2 = {ref for group in groups_of_round(deps, slot=ROUND_2) for ref in group}
    assert SNOOZER in in_round_2 and AWAY in in_round_2


def test_someone_who_blocked_another_is_never_paired_with_them_and_they_never_see_it(
    deps: Deps, notifier: GroupNotifier, scheduler: Scheduler
) -> None:
    switch_on(deps)
    join_people(deps)
    blocker, blocked = MARKETING[0], IT[0]
    reply = bridge(deps, blocker, f"pairs block @{blocked}")
    assert "never be paired with @U0I0" in reply and "they are not told" in reply
    assert "Never paired with (only you see this): @U0I0" in bridge(deps, blocker, "pairs")
    assert "U0M0" not in bridge(deps, blocked, "pairs")
    assert "has not used bridgebot yet" in bridge(deps, blocker, "pairs block @U0NOBODY")
    assert "cannot block yourself" in bridge(deps, blocker, f"pairs block @{blocker}")

    moment = ROUND_1
    for _ in range(6):
        tick(scheduler, moment - timedelta(days=1))
        tick(scheduler, moment)
        moment += timedelta(weeks=2)
    groups = groups_of_round(deps)
    assert len(groups) == 24
    assert not any({blocker, blocked} <= group for group in groups)
    export = run_command(scope(deps, blocked, moment), "bridge", "export-me")
    data = json.loads(export.attachments[0].content)
    assert data["bridge_pairs_not_paired_with"] == []
    assert "U0M0" not in json.dumps(data["bridge_pairs_rounds"])


def test_a_crash_mid_round_and_a_round_run_again_pair_nobody_twice_nor_introduce_twice(
    deps: Deps, notifier: GroupNotifier, scheduler: Scheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    switch_on(deps)
    join_people(deps)
    tick(scheduler, MONDAY)

    # The instance dies after the pairs are written, before their messages are planned.
    real = occurrences.schedule_many
    crashes = iter([True])

    def crash_once(**kwargs: Any) -> list[bool]:
        if next(crashes, False):
            raise RuntimeError("the instance was killed mid-round")
        return real(**kwargs)

    monkeypatch.setattr(pair_schedule.occurrences, "schedule_many", crash_once)
    report = tick(scheduler, ROUND_1)
    assert report.failed == 1 and notifier.sent == []
    assert count(deps, PairRound) == 0 and count(deps, PairSeat) == 0  # all rolled back

    # Retried after its backoff: the round is made once; one group's DM fails once.
    first_group = "G-" + "-".join(sorted(next(iter(_dry_run_groups(deps)))))
    notifier.fail_once.add(first_group)
    tick(scheduler, ROUND_1 + timedelta(minutes=1))
    tick(scheduler, ROUND_1 + timedelta(minutes=5))
    assert count(deps, PairRound) == 1 and count(deps, BridgePair) == 4
    assert Counter(ref for group in groups_of_round(deps) for ref in group) == Counter(
        MARKETING + IT
    )
    assert len(intros(notifier)) == 4
    assert len({s.conversation_ref for s in intros(notifier)}) == 4

    # Another instance runs the round's delivery again (its claim lost, say).
    with deps.session_factory.begin() as session:
        session.execute(
            update(Occurrence)
            .where(Occurrence.kind == pair_schedule.ROUND)
            .values(status=OccurrenceStatus.PENDING.value, claimed_by=None, lease_until=None)
        )
    tick(scheduler, ROUND_1 + timedelta(minutes=10))
    assert count(deps, BridgePair) == 4 and count(deps, PairSeat) == 11
    assert len(intros(notifier)) == 4


def _dry_run_groups(deps: Deps) -> list[frozenset[str]]:
    """The groups the round will make (the assignment is repeatable for its slot)."""
    with deps.session_factory() as session:  # closed unsaved: rolled back
        result = pairs.run_round(session=session, workspace_id=WS, slot=ROUND_1)
    return [frozenset(seat.user_ref for seat in pair.seats) for pair in result.pairs]


def test_on_teams_each_person_is_introduced_in_their_own_chat(
    deps: Deps, notifier: GroupNotifier, scheduler: Scheduler
) -> None:
    switch_on(deps, TEAMS_WS, channel=None)
    join_people(deps, TEAMS_WS)

    tick(scheduler, MONDAY)
    tick(scheduler, ROUND_1)

    sent = intros(notifier)
    assert notifier.groups == {}
    assert sorted(s.conversation_ref for s in sent) == sorted(MARKETING + IT)
    mine = next(s for s in sent if s.conversation_ref == IT[0])
    assert mine.text.count("You (IT) are paired with @U0M") == 1
    assert not [s for s in notifier.sent if s.conversation_ref == CHANNEL]  # no channel set


def test_the_follow_up_comes_three_days_before_the_next_round_and_feeds_the_figures(
    deps: Deps, notifier: GroupNotifier, scheduler: Scheduler
) -> None:
    switch_on(deps)
    join_people(deps)
    tick(scheduler, MONDAY)
    tick(scheduler, ROUND_1)
    notifier.sent.clear()

    follow_up_at = ROUND_2 - timedelta(days=3)
    tick(scheduler, follow_up_at - timedelta(minutes=1))
    assert notifier.sent == []
    tick(scheduler, follow_up_at)
    asked = [s for s in notifier.sent if s.text.startswith("Did you meet")]
    assert sorted(s.conversation_ref for s in asked) == sorted(MARKETING + IT)
    question = next(s for s in asked if s.conversation_ref == IT[0]).reply
    buttons = [b for block in question.blocks for b in getattr(block, "buttons", ())]
    assert [b.label for b in buttons] == ["We met", "Planned", "Not this time"]

    # IT[0] clicks "We met"; someone of another pair types "not"; a forged click on a
    # pair one is not in is refused.
    answered = run_action(scope(deps, IT[0], follow_up_at), buttons[0].action_id, buttons[0].value)
    assert "We met" in answered.fallback and answered.replace_original
    other = next(ref for ref in IT[1:])
    assert "Not this time" in bridge(deps, other, "pairs not", follow_up_at)
    stranger = next(ref for ref in MARKETING if not _same_group(deps, ref, IT[0]))
    forged = run_action(scope(deps, stranger, follow_up_at), buttons[0].action_id, buttons[0].value)
    assert forged.is_error and "not one of your pairs" in forged.fallback

    with deps.session_factory() as session:
        figures = asyncio.run(pairs.pair_figures(session, WS, ROUND_1 - timedelta(days=1), ROUND_2))
    assert (figures.pairs_made, figures.pairs_met, figures.pairs_answered) == (4, 1, 2)
    assert figures.share_met == 0.25

    # The weekly digest (Fridays 16:00) shows the quarter's figures.
    friday = datetime(2026, 12, 11, 16, 0, tzinfo=UTC)
    tick(scheduler, friday - timedelta(hours=1))
    tick(scheduler, friday)
    digests = {s.workspace_id: s.text for s in notifier.sent if s.text.startswith("The board's")}
    assert "Bridge pairs" not in digests[TEAMS_WS]  # never ran there: no line at all
    digest = digests[WS]
    assert (
        "Bridge pairs this quarter: 4 pairs made, 25% said they met: 1 meeting across sides."
        in digest
    )


def _same_group(deps: Deps, a: str, b: str) -> bool:
    return any({a, b} <= group for group in groups_of_round(deps))


def test_suggest_a_time_lists_the_next_shared_working_hour_in_each_persons_zone(
    deps: Deps, notifier: GroupNotifier, scheduler: Scheduler
) -> None:
    switch_on(deps)
    join_people(deps)
    tick(scheduler, MONDAY)
    tick(scheduler, ROUND_1)
    intro = next(s for s in intros(notifier) if IT[0] in notifier.groups[s.conversation_ref])
    partner = next(ref for ref in notifier.groups[intro.conversation_ref] if ref in MARKETING)
    with deps.session_factory.begin() as session:
        availability.set_timezone(
            session=session, workspace_id=WS, user_ref=IT[0], timezone="America/New_York"
        )
    button = next(b for block in intro.reply.blocks for b in getattr(block, "buttons", ()))

    # Tuesday 1 December, 10:00 in London, 05:00 in New York: the first hour both work
    # is 14:00 London = 09:00 New York.
    reply = run_action(scope(deps, IT[0], ROUND_1), button.action_id, button.value).fallback
    assert "The next working hour for all of you" in reply
    assert "@U0I0: Tuesday 01 December 09:00 (America/New_York)" in reply
    assert f"@{partner}: Tuesday 01 December 14:00 (Europe/London)" in reply
    typed = bridge(deps, IT[0], "pairs time", ROUND_1)
    assert typed == reply
    forged = run_action(scope(deps, "U0STRANGER", ROUND_1), button.action_id, button.value)
    assert forged.is_error


def test_forget_me_takes_a_person_out_of_every_round_and_block(
    deps: Deps, notifier: GroupNotifier, scheduler: Scheduler
) -> None:
    switch_on(deps)
    join_people(deps)
    bridge(deps, IT[1], f"pairs block @{MARKETING[0]}")
    bridge(deps, MARKETING[0], f"pairs block @{IT[2]}")
    tick(scheduler, MONDAY)
    tick(scheduler, ROUND_1)
    leaver = MARKETING[0]
    export = json.loads(
        run_command(scope(deps, leaver, ROUND_1), "bridge", "export-me").attachments[0].content
    )
    assert export["bridge_pairs_membership"]["joined_at"]
    assert len(export["bridge_pairs_rounds"]) == 1
    assert export["bridge_pairs_rounds"][0]["paired_with"]
    assert export["bridge_pairs_not_paired_with"] == [IT[2]]

    forget = deps.router.privacy.forget
    with deps.session_factory.begin() as session:
        done = forget(session=session, workspace_id=WS, user_ref=leaver, now=ROUND_1)
    assert done.counts["bridge pairs rounds"] == 1 and done.counts["pair blocks"] == 2

    with deps.session_factory() as session:
        left = session.execute(
            select(func.count()).select_from(PairSeat).where(PairSeat.user_ref == leaver)
        ).scalar_one()
        assert left == 0
        assert pairs.members_count(session=session, workspace_id=WS) == 10
        # Their partners' pair stays (the figures still count it), without them.
        assert (
            pairs.figures(session=session, workspace_id=WS, since=ROUND_1, until=ROUND_2).pairs_made
            == 4
        )
