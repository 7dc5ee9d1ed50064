"""Who meets whom in a round of bridge pairs: an assignment that minimises repeat meetings.

Pure (no database): bot.services.pairs reads the pool, the history and the blocks, calls
`make_groups`, and stores the result. The assignment is scipy's `linear_sum_assignment`
(the Jonker-Volgenant solver) over a cost matrix of the larger side against the smaller:

- a pair someone blocked is never made (cost FORBIDDEN; an assignment the solver could
  only complete with one is dropped afterwards);
- a pair that met in the last `recent_rounds` rounds costs RECENT times how recently, so
  it is made only when no other choice exists for the round as a whole;
- a pair that met before that costs EARLIER per meeting: unused partners come first;
- the people are shuffled (seeded) first, so equal choices vary from round to round.

Costs are few distinct whole numbers: the solver is far faster on them than on random
fractions (0.1 s against 3.5 s for 5,000 × 5,000).
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

FORBIDDEN = 1e12
RECENT = 1e6
EARLIER = 1_000
TIE_BREAK = 100  # random whole numbers below this

MARKETING, IT, OTHER = "marketing", "it", "other"


@dataclass(frozen=True)
class Candidate:
    """Someone in this round's pool."""

    user_ref: str
    side: str  # marketing | it | other
    left_out_last_round: bool = False


@dataclass(frozen=True)
class History:
    """Past meetings: for each pair of people, how many rounds ago they last met (1: the
    last round) and how often they met in all the rounds read."""

    last_met: Mapping[frozenset[str], int]
    times_met: Mapping[frozenset[str], int]

    @staticmethod
    def empty() -> History:
        return History({}, {})


@dataclass(frozen=True)
class Grouping:
    """A round's result: pairs and trios (each with both sides), and who sits out."""

    groups: tuple[tuple[str, ...], ...]
    left_out: tuple[str, ...]


def pair_cost(
    a: str,
    b: str,
    *,
    history: History,
    blocked: Collection[frozenset[str]],
    recent_rounds: int,
) -> float:
    """What meeting again costs (without the tie-break): see the module docstring."""
    key = frozenset((a, b))
    if key in blocked:
        return FORBIDDEN
    ago = history.last_met.get(key)
    if ago is None:
        return 0.0
    if ago <= recent_rounds:
        return RECENT * (recent_rounds - ago + 1)
    return float(EARLIER * history.times_met.get(key, 1))


def _costs(
    rows: Sequence[str],
    cols: Sequence[str],
    *,
    history: History,
    blocked: Collection[frozenset[str]],
    recent_rounds: int,
) -> np.ndarray:
    """The rows × cols cost matrix: zero, with the (sparse) history and blocks added where
    they apply."""
    # No random tie-break here: the callers shuffle the people instead, which varies
    # equal choices just as well, and the solver is fastest on a matrix of equal costs.
    matrix = np.zeros((len(rows), len(cols)))
    row_index = {ref: i for i, ref in enumerate(rows)}
    col_index = {ref: j for j, ref in enumerate(cols)}

    def cells(keys: Iterable[frozenset[str]]) -> Iterator[tuple[frozenset[str], int, int]]:
        for key in keys:
            if len(key) != 2:
                continue
            a, b = tuple(key)
            for x, y in ((a, b), (b, a)):
                i, j = row_index.get(x), col_index.get(y)
                if i is not None and j is not None:
                    yield key, i, j

    def repeat(key: frozenset[str]) -> float:  # pair_cost for a pair known to have met
        ago = history.last_met[key]
        if ago <= recent_rounds:
            return RECENT * (recent_rounds - ago + 1)
        return float(EARLIER * history.times_met.get(key, 1))

    found = [(i, j, repeat(key)) for key, i, j in cells(history.last_met)]
    if found:
        at_rows, at_cols, costs = zip(*found, strict=True)
        matrix[list(at_rows), list(at_cols)] += costs
    for _key, i, j in cells(blocked):
        matrix[i, j] = FORBIDDEN
    return matrix


def split_sides(candidates: Sequence[Candidate]) -> tuple[list[Candidate], list[Candidate]]:
    """Marketing and IT, with each person of Other filling in on the smaller side (the
    larger one on a tie alternates, so Others do not all land on one side)."""
    marketing = [c for c in candidates if c.side == MARKETING]
    it = [c for c in candidates if c.side == IT]
    for person in (c for c in candidates if c.side not in (MARKETING, IT)):
        (marketing if len(marketing) < len(it) else it).append(person)
    return marketing, it


def make_groups(
    candidates: Sequence[Candidate],
    *,
    history: History,
    blocked: Collection[frozenset[str]] = (),
    recent_rounds: int = 6,
    seed: int = 0,
) -> Grouping:
    """Pair the larger side's people with the smaller side's, then add the larger side's
    extras to pairs as trios; past twice the smaller side, some of the larger sit out,
    never someone who sat out the last round while another can.

    Args:
        candidates: this round's pool (people who joined, not snoozed, available).
        history: past meetings (see History).
        blocked: pairs of people of whom one asked never to be paired with the other.
        recent_rounds: the N of "not met in the last N rounds while any other choice exists".
        seed: makes the tie-break (and who sits out) repeatable for one round.

    Returns:
        The groups (pairs and trios, each with people of both sides) and who sits out.
    """
    rng = np.random.default_rng(seed)
    shuffle = random.Random(seed)
    first, second = split_sides(sorted(candidates, key=lambda c: c.user_ref))
    larger, smaller = (first, second) if len(first) >= len(second) else (second, first)
    if not smaller:
        return Grouping(groups=(), left_out=tuple(c.user_ref for c in larger))

    left_out: list[str] = []
    room = 2 * len(smaller)
    if len(larger) > room:
        # Who sits out: first those who did not sit out last time, at random.
        order = list(larger)
        shuffle.shuffle(order)
        order.sort(key=lambda c: not c.left_out_last_round)  # stable: keeps the shuffle
        larger, sitting = order[:room], order[room:]
        left_out += [c.user_ref for c in sitting]

    big = [c.user_ref for c in larger]
    small = [c.user_ref for c in smaller]
    shuffle.shuffle(big)  # equal choices come out differently from round to round
    shuffle.shuffle(small)
    costs = _costs(big, small, history=history, blocked=blocked, recent_rounds=recent_rounds)
    rows, cols = linear_sum_assignment(costs)
    pairs: list[list[str]] = []
    matched: set[str] = set()
    for i, j in zip(rows, cols, strict=True):
        if costs[i, j] >= FORBIDDEN:
            continue  # only a blocked pair was left for these two
        pairs.append([big[i], small[j]])
        matched.update((big[i], small[j]))
    left_out += [ref for ref in small if ref not in matched]
    extras = [ref for ref in big if ref not in matched]
    if extras and pairs:
        # Each extra joins a different pair: the cost of meeting both of its people.
        trio = np.array(
            [
                [
                    sum(
                        pair_cost(
                            extra, member, history=history, blocked=blocked,
                            recent_rounds=recent_rounds,
                        )
                        for member in pair
                    )
                    for pair in pairs
                ]
                for extra in extras
            ]
        ) + rng.integers(0, TIE_BREAK, size=(len(extras), len(pairs)))  # fmt: skip
        extra_rows, pair_cols = linear_sum_assignment(trio)
        joined: set[str] = set()
        for i, j in zip(extra_rows, pair_cols, strict=True):
            if trio[i, j] >= FORBIDDEN:
                continue
            pairs[j].append(extras[i])
            joined.add(extras[i])
        extras = [ref for ref in extras if ref not in joined]
    left_out += extras
    return Grouping(groups=tuple(tuple(group) for group in pairs), left_out=tuple(left_out))
