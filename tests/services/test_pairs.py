"""Bridge pairs' rounds on the database: history read back as the assignment needs it,
no repeat while unused partners remain, a round made once, the schedule's rhythm."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from bot.deps import Deps
from bot.models import Side
from bot.services import pairs, people, workspaces
from bot.services.pairs import PairSchedule

WS = "T0ROUNDS"
FIRST = datetime(2027, 1, 5, 10, 0, tzinfo=UTC)  # a Tuesday


def setup(deps: Deps, marketing: int, it: int) -> list[str]:
    refs = []
    with deps.session_factory.begin() as session:
        workspaces.ensure_workspace(
            session=session, workspace_id=WS, platform="console", timezone="UTC"
        )
        for side, count in ((Side.MARKETING, marketing), (Side.IT, it)):
            for index in range(count):
                ref = f"U{side.value}{index}"
                people.set_side(session=session, workspace_id=WS, user_ref=ref, side=side)
                pairs.join(session=session, workspace_id=WS, user_ref=ref, now=FIRST)
                refs.append(ref)
    return refs


def test_twelve_rounds_on_the_database_bring_no_repeat_while_unused_partners_remain(
    deps: Deps,
) -> None:
    setup(deps, 12, 12)
    seen: set[frozenset[str]] = set()
    for number in range(12):
        with deps.session_factory.begin() as session:
            result = pairs.run_round(
                session=session, workspace_id=WS, slot=FIRST + timedelta(weeks=2 * number)
            )
        made = {frozenset(seat.user_ref for seat in pair.seats) for pair in result.pairs}
        assert len(made) == 12
        assert not made & seen, f"a repeat in round {number + 1}"
        seen |= made
    assert len(seen) == 144  # everyone met every partner of the other side once

    with deps.session_factory() as session:
        history, sat_out = pairs.history(
            session=session, workspace_id=WS, before=FIRST + timedelta(weeks=24)
        )
    assert set(history.last_met.values()) == set(range(1, 13))
    assert set(history.times_met.values()) == {1}
    assert sat_out == set()


def test_who_sat_out_one_round_is_paired_in_the_next(deps: Deps) -> None:
    setup(deps, 6, 2)  # room for 4 marketers a round (two trios): 2 sit out
    with deps.session_factory.begin() as session:
        first = pairs.run_round(session=session, workspace_id=WS, slot=FIRST)
    with deps.session_factory.begin() as session:
        second = pairs.run_round(session=session, workspace_id=WS, slot=FIRST + timedelta(weeks=2))
    assert len(first.left_out) == 2 and len(second.left_out) == 2
    assert not set(first.left_out) & set(second.left_out)
    assert all(len(pair.seats) == 3 for pair in first.pairs + second.pairs)


def test_a_round_run_twice_is_the_same_round(deps: Deps) -> None:
    setup(deps, 3, 2)
    with deps.session_factory.begin() as session:
        first = pairs.run_round(session=session, workspace_id=WS, slot=FIRST)
    with deps.session_factory.begin() as session:
        again = pairs.run_round(session=session, workspace_id=WS, slot=FIRST)
    assert first.created and not again.created
    assert first.round_id == again.round_id and first.pairs == again.pairs


def test_rounds_keep_their_rhythm_across_a_clock_change() -> None:
    schedule = PairSchedule(
        every_weeks=2, weekday=1, local_time=time(10, 0), timezone="Europe/London",
        anchor=date(2027, 3, 16),
    )  # fmt: skip
    found = schedule.between(datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 4, 30, tzinfo=UTC))
    # 10:00 in London: GMT before 28 March, BST after; every other Tuesday from the 16th.
    assert found == [
        datetime(2027, 3, 16, 10, 0, tzinfo=UTC),
        datetime(2027, 3, 30, 9, 0, tzinfo=UTC),
        datetime(2027, 4, 13, 9, 0, tzinfo=UTC),
        datetime(2027, 4, 27, 9, 0, tzinfo=UTC),
    ]
    assert schedule.next_after(datetime(2027, 3, 17, tzinfo=UTC)) == found[1]
