"""The assignment of bridge pairs, without a database: sides, trios, sitting out,
blocks, Other filling in, and repeats avoided while unused partners remain."""

from __future__ import annotations

from collections import Counter
from itertools import combinations

from bot.services.pairing import Candidate, Grouping, History, make_groups


def people(side: str, count: int, prefix: str) -> list[Candidate]:
    return [Candidate(f"{prefix}{index:02d}", side) for index in range(count)]


def sides_of(group: tuple[str, ...], candidates: list[Candidate]) -> set[str]:
    side = {c.user_ref: c.side for c in candidates}
    return {side[ref] for ref in group}


def placed(grouping: Grouping) -> Counter[str]:
    return Counter(ref for group in grouping.groups for ref in group)


def remember(grouping: Grouping, last_met: dict[frozenset[str], int], times: Counter) -> None:
    """Age the history one round and add this round's meetings."""
    for key in list(last_met):
        last_met[key] += 1
    for group in grouping.groups:
        for a, b in combinations(group, 2):
            last_met[frozenset((a, b))] = 1
            times[frozenset((a, b))] += 1


def test_seven_marketing_and_four_it_make_four_groups_each_with_both_sides() -> None:
    pool = people("marketing", 7, "m") + people("it", 4, "i")

    grouping = make_groups(pool, history=History.empty(), seed=1)

    assert len(grouping.groups) == 4
    assert sorted(len(group) for group in grouping.groups) == [2, 3, 3, 3]
    for group in grouping.groups:
        assert sides_of(group, pool) == {"marketing", "it"}
        # A trio is two of the larger side with one of the smaller, never two IT people.
        assert sum(ref.startswith("i") for ref in group) == 1
    assert grouping.left_out == ()
    assert placed(grouping) == Counter({c.user_ref: 1 for c in pool})  # everyone, once


def test_past_twice_the_smaller_side_some_sit_out_but_never_two_rounds_running() -> None:
    pool = people("marketing", 6, "m") + people("it", 2, "i")

    first = make_groups(pool, history=History.empty(), seed=7)
    assert len(first.left_out) == 2
    assert all(len(group) == 3 for group in first.groups)

    flagged = [
        Candidate(c.user_ref, c.side, left_out_last_round=c.user_ref in first.left_out)
        for c in pool
    ]
    second = make_groups(flagged, history=History.empty(), seed=8)
    assert len(second.left_out) == 2
    assert not set(first.left_out) & set(second.left_out)
    assert set(first.left_out) <= set(placed(second))


def test_a_blocked_pair_is_never_made_even_as_a_trio() -> None:
    pool = [Candidate("m1", "marketing"), Candidate("i1", "it"), Candidate("i2", "it")]
    blocked = {frozenset(("m1", "i1"))}

    for seed in range(20):
        grouping = make_groups(pool, history=History.empty(), blocked=blocked, seed=seed)
        assert grouping.groups == (("i2", "m1"),) or grouping.groups == (("m1", "i2"),)
        assert grouping.left_out == ("i1",)


def test_people_of_other_fill_in_on_the_smaller_side() -> None:
    pool = people("marketing", 3, "m") + people("it", 1, "i") + people("other", 2, "o")

    grouping = make_groups(pool, history=History.empty(), seed=3)

    assert len(grouping.groups) == 3
    assert all(len(group) == 2 for group in grouping.groups)
    for group in grouping.groups:
        assert sum(ref.startswith("m") for ref in group) == 1  # each Marketing person meets
        # an IT person or someone of Other standing in for IT
    assert grouping.left_out == ()


def test_twelve_rounds_bring_no_repeat_while_unused_partners_remain() -> None:
    pool = people("marketing", 12, "m") + people("it", 12, "i")
    last_met: dict[frozenset[str], int] = {}
    times: Counter[frozenset[str]] = Counter()

    for round_number in range(12):
        grouping = make_groups(
            pool, history=History(dict(last_met), dict(times)), recent_rounds=3,
            seed=round_number,
        )  # fmt: skip
        assert len(grouping.groups) == 12
        remember(grouping, last_met, times)

    # 12 rounds of 12 pairs: every Marketing person met every IT person exactly once,
    # although only the last 3 rounds count as "recent".
    assert len(times) == 144
    assert set(times.values()) == {1}


def test_uneven_sides_meet_every_partner_across_sides_before_any_again() -> None:
    pool = people("marketing", 5, "m") + people("it", 3, "i")
    last_met: dict[frozenset[str], int] = {}
    times: Counter[frozenset[str]] = Counter()
    for round_number in range(3):
        grouping = make_groups(
            pool, history=History(dict(last_met), dict(times)), seed=round_number
        )
        assert len(grouping.groups) == 3 and grouping.left_out == ()
        remember(grouping, last_met, times)
    # Each round every marketer meets one IT person: 15 meetings over 3 rounds, and
    # 5 × 3 = 15 possible partners, so none of them met twice.
    cross = [key for key in times if {ref[0] for ref in key} == {"m", "i"}]
    assert len(cross) == 15
    assert all(times[key] == 1 for key in cross)


def test_the_only_possible_partner_is_paired_again_when_nothing_else_exists() -> None:
    pool = [Candidate("m1", "marketing"), Candidate("i1", "it")]
    met = frozenset(("m1", "i1"))

    grouping = make_groups(pool, history=History({met: 1}, {met: 5}), seed=0)

    assert grouping.groups == (("m1", "i1"),)


def test_the_latest_partner_is_avoided_before_an_older_one() -> None:
    pool = people("marketing", 2, "m") + people("it", 2, "i")
    recent, older = frozenset(("m00", "i00")), frozenset(("m00", "i01"))
    history = History({recent: 1, older: 4}, {recent: 1, older: 1})

    for seed in range(10):
        grouping = make_groups(pool, history=history, recent_rounds=6, seed=seed)
        assert {frozenset(group) for group in grouping.groups} == {
            frozenset(("m00", "i01")),
            frozenset(("m01", "i00")),
        }


def test_nobody_is_ever_in_two_groups_of_a_round() -> None:
    pool = people("marketing", 23, "m") + people("it", 9, "i") + people("other", 4, "o")

    grouping = make_groups(pool, history=History.empty(), seed=11)

    counts = placed(grouping) + Counter(grouping.left_out)
    assert set(counts.values()) == {1}
    assert set(counts) == {c.user_ref for c in pool}
