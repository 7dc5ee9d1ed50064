"""Bridge pairs: opting in, rounds of Marketing-IT pairs, conversation starters,
"did you meet?" answers and the program's figures.

A round is stored once per slot (pair_rounds is unique per workspace and slot) in the
one transaction that makes its pairs and plans their messages, so a round run again, or
run after a crash half-way, finds the round already made and pairs nobody twice.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from bot.db import insert_ignoring_conflicts
from bot.errors import Conflict, Invalid, NotAllowed, NotFound
from bot.models import (
    BridgePair,
    GlossaryTerm,
    PairBlock,
    PairMember,
    PairRound,
    PairSeat,
    PairSettings,
    Person,
    Side,
)
from bot.services import availability, workspaces
from bot.services.pairing import Candidate, Grouping, History, make_groups
from bot.services.recurrence import Weekly

EVERY_WEEKS = (1, 2, 4)
# The follow-up ("did you meet?") goes this long before the next round.
FOLLOW_UP_BEFORE = timedelta(days=3)
# History read for the assignment: a year of rounds.
HISTORY = timedelta(days=366)
ANSWERS = {"met": "We met", "planned": "Planned", "not": "Not this time"}
# Working hours for "Suggest a time": Monday to Friday, 09:00 to 17:00 in each zone.
WORKDAY_START, WORKDAY_END = 9, 17
SEARCH_HOURS = 24 * 14


class NotAMember(Conflict):
    """The person has not joined bridge pairs."""


@dataclass(frozen=True)
class PairSchedule:
    """When rounds fall: every `every_weeks` weeks from `anchor`, on its weekday and time."""

    every_weeks: int
    weekday: int
    local_time: time
    timezone: str
    anchor: date

    @property
    def weekly(self) -> Weekly:
        return Weekly((self.weekday,), self.local_time, self.timezone)

    def _in_rhythm(self, day: date) -> bool:
        return ((day - self.anchor).days // 7) % self.every_weeks == 0 and day >= self.anchor

    def between(self, start: datetime, end: datetime) -> list[datetime]:
        """Round times in [start, end)."""
        return [when for day, when in self.weekly.between(start, end) if self._in_rhythm(day)]

    def next_after(self, moment: datetime) -> datetime | None:
        """The first round at or after `moment`."""
        found = self.between(moment, moment + timedelta(weeks=self.every_weeks + 1))
        return found[0] if found else None


@dataclass(frozen=True)
class SettingsView:
    enabled: bool
    every_weeks: int
    weekday: int
    local_time: time
    channel_ref: str | None
    timezone: str
    schedule: PairSchedule | None  # None until rounds were switched on once


@dataclass(frozen=True)
class Seat:
    user_ref: str
    side: str
    answer: str | None


@dataclass(frozen=True)
class PairView:
    id: int
    round_id: int
    slot: datetime
    seats: tuple[Seat, ...]

    def others(self, user_ref: str) -> tuple[Seat, ...]:
        return tuple(seat for seat in self.seats if seat.user_ref != user_ref)

    def has(self, user_ref: str) -> bool:
        return any(seat.user_ref == user_ref for seat in self.seats)


@dataclass(frozen=True)
class RoundResult:
    round_id: int
    created: bool  # False: the round had been made already (a re-run)
    pairs: tuple[PairView, ...]
    left_out: tuple[str, ...]
    unavailable: tuple[str, ...]


@dataclass(frozen=True)
class Status:
    """What `/bridge pairs` shows a person."""

    joined: bool
    snoozed_until: date | None
    blocked: tuple[str, ...]  # only ever shown to the person who blocked
    latest: PairView | None
    next_round: datetime | None


@dataclass(frozen=True)
class PairFigures:
    """The program's figures over a period: pairs made, how many said they met."""

    pairs_made: int
    pairs_met: int  # someone of the pair answered "We met"
    pairs_answered: int
    people_paired: int

    @property
    def share_met(self) -> float | None:
        """Pairs that met, of the pairs made (None: no pairs)."""
        return self.pairs_met / self.pairs_made if self.pairs_made else None


# -- settings ---------------------------------------------------------------------------


def settings_row(*, session: Session, workspace_id: str) -> PairSettings:
    insert_ignoring_conflicts(
        session,
        PairSettings,
        {
            "workspace_id": workspace_id,
            "enabled": False,
            "every_weeks": 2,
            "weekday": 1,
            "local_time": time(10, 0),
            "recent_rounds": 6,
            "updated_at": datetime.now(UTC),
        },
        ["workspace_id"],
    )
    return session.execute(
        select(PairSettings).where(PairSettings.workspace_id == workspace_id)
    ).scalar_one()


def get_settings(*, session: Session, workspace_id: str) -> SettingsView:
    row = settings_row(session=session, workspace_id=workspace_id)
    workspace = workspaces.get_workspace(session=session, workspace_id=workspace_id)
    return _settings_view(row, workspace.timezone)


def _settings_view(row: PairSettings, timezone: str) -> SettingsView:
    schedule = (
        PairSchedule(row.every_weeks, row.weekday, row.local_time, timezone, row.anchor)
        if row.anchor is not None
        else None
    )
    return SettingsView(
        enabled=row.enabled,
        every_weeks=row.every_weeks,
        weekday=row.weekday,
        local_time=row.local_time,
        channel_ref=row.channel_ref,
        timezone=timezone,
        schedule=schedule,
    )


def save_settings(
    *,
    session: Session,
    workspace_id: str,
    enabled: bool,
    every_weeks: int,
    weekday: int,
    local_time: time,
    channel_ref: str | None,
    now: datetime,
) -> SettingsView:
    """Save an admin's choices; a changed rhythm starts again from the next such day.

    Raises:
        Invalid: every_weeks not 1, 2 or 4, or weekday not 0 to 6.
    """
    if every_weeks not in EVERY_WEEKS:
        raise Invalid("Rounds run every 1, 2 or 4 weeks.")
    if not 0 <= weekday <= 6:
        raise Invalid("Choose a weekday.")
    row = settings_row(session=session, workspace_id=workspace_id)
    timezone = workspaces.get_workspace(session=session, workspace_id=workspace_id).timezone
    rhythm_changed = (row.every_weeks, row.weekday, row.local_time) != (
        every_weeks,
        weekday,
        local_time,
    )
    row.enabled = enabled
    row.every_weeks = every_weeks
    row.weekday = weekday
    row.local_time = local_time
    row.channel_ref = channel_ref
    if enabled and (row.anchor is None or rhythm_changed):
        first = Weekly((weekday,), local_time, timezone).next_after(now)
        row.anchor = first[0] if first else None
    session.flush()
    return _settings_view(row, timezone)


# -- opting in --------------------------------------------------------------------------


def _member(session: Session, workspace_id: str, user_ref: str) -> PairMember | None:
    return session.execute(
        select(PairMember).where(
            PairMember.workspace_id == workspace_id, PairMember.user_ref == user_ref
        )
    ).scalar_one_or_none()


def join(*, session: Session, workspace_id: str, user_ref: str, now: datetime) -> bool:
    """Opt in (again: a snooze ends). Returns False if the person was in already.

    Raises:
        NotAllowed: the person has no side yet (pairs are made across sides).
    """
    side = session.execute(
        select(Person.side).where(Person.workspace_id == workspace_id, Person.user_ref == user_ref)
    ).scalar_one_or_none()
    if side is None:
        raise NotAllowed(
            "Choose your side first (/bridge side marketing|it|other): pairs are made "
            "across the sides."
        )
    member = _member(session, workspace_id, user_ref)
    if member is not None:
        was_snoozed = member.snoozed_until is not None
        member.snoozed_until = None
        return was_snoozed
    session.add(PairMember(workspace_id=workspace_id, user_ref=user_ref, joined_at=now))
    session.flush()
    return True


def leave(*, session: Session, workspace_id: str, user_ref: str) -> bool:
    """Opt out; past pairs stay (forget-me removes them). False if not a member."""
    deleted = session.execute(
        delete(PairMember).where(
            PairMember.workspace_id == workspace_id, PairMember.user_ref == user_ref
        )
    ).rowcount  # type: ignore[attr-defined]
    return bool(deleted)


def snooze(*, session: Session, workspace_id: str, user_ref: str, until: date, today: date) -> None:
    """Not paired in rounds before `until` (a local date).

    Raises:
        NotAMember: the person has not joined.
        Invalid: `until` is not after today.
    """
    member = _member(session, workspace_id, user_ref)
    if member is None:
        raise NotAMember("You have not joined bridge pairs; /bridge pairs join first.")
    if until <= today:
        raise Invalid(f"{until:%d %B %Y} is not after today; choose a later date.")
    if until > today + timedelta(days=366):
        raise Invalid("Snooze for a year at most; /bridge pairs leave stops pairing for good.")
    member.snoozed_until = until


def block(*, session: Session, workspace_id: str, user_ref: str, blocked_ref: str) -> bool:
    """ "Don't pair me with X" (kept private). False if already so.

    Raises:
        Invalid: someone asked not to be paired with themselves.
    """
    if blocked_ref == user_ref:
        raise Invalid("You cannot block yourself.")
    return insert_ignoring_conflicts(
        session,
        PairBlock,
        {
            "workspace_id": workspace_id,
            "user_ref": user_ref,
            "blocked_ref": blocked_ref,
            "created_at": datetime.now(UTC),
        },
        ["workspace_id", "user_ref", "blocked_ref"],
    )


def unblock(*, session: Session, workspace_id: str, user_ref: str, blocked_ref: str) -> bool:
    deleted = session.execute(
        delete(PairBlock).where(
            PairBlock.workspace_id == workspace_id,
            PairBlock.user_ref == user_ref,
            PairBlock.blocked_ref == blocked_ref,
        )
    ).rowcount  # type: ignore[attr-defined]
    return bool(deleted)


def status(*, session: Session, workspace_id: str, user_ref: str, now: datetime) -> Status:
    member = _member(session, workspace_id, user_ref)
    blocked = session.execute(
        select(PairBlock.blocked_ref)
        .where(PairBlock.workspace_id == workspace_id, PairBlock.user_ref == user_ref)
        .order_by(PairBlock.created_at)
    ).scalars()
    settings = get_settings(session=session, workspace_id=workspace_id)
    next_round = (
        settings.schedule.next_after(now) if settings.enabled and settings.schedule else None
    )
    return Status(
        joined=member is not None,
        snoozed_until=member.snoozed_until if member else None,
        blocked=tuple(blocked),
        latest=latest_pair(session=session, workspace_id=workspace_id, user_ref=user_ref),
        next_round=next_round,
    )


# -- rounds -----------------------------------------------------------------------------


def pool(*, session: Session, workspace_id: str, local_day: date) -> list[tuple[str, str]]:
    """(user_ref, side) of everyone to pair on `local_day`: joined, with a side, not snoozed."""
    rows = session.execute(
        select(PairMember.user_ref, Person.side, PairMember.snoozed_until)
        .join(
            Person,
            (Person.workspace_id == PairMember.workspace_id)
            & (Person.user_ref == PairMember.user_ref),
        )
        .where(PairMember.workspace_id == workspace_id, Person.side.is_not(None))
        .order_by(PairMember.user_ref)
    ).all()
    return [
        (ref, side)
        for ref, side, snoozed in rows
        if side is not None and (snoozed is None or snoozed <= local_day)
    ]


def history(*, session: Session, workspace_id: str, before: datetime) -> tuple[History, set[str]]:
    """Who met whom in the year of rounds before `before`, and who sat out the last one."""
    recent = session.execute(
        select(PairRound.id, PairRound.slot)
        .where(
            PairRound.workspace_id == workspace_id,
            PairRound.slot < before,
            PairRound.slot >= before - HISTORY,
        )
        .order_by(PairRound.slot.desc())
    ).all()
    if not recent:
        return History.empty(), set()
    ago = {round_id: index + 1 for index, (round_id, _) in enumerate(recent)}
    # Read as plain rows (a year of 10,000 people is 260,000 seats), in pair order.
    seats = PairSeat.__table__.c
    rows = session.connection().execute(
        select(seats.pair_id, seats.round_id, seats.user_ref)
        .where(
            seats.workspace_id == workspace_id,
            seats.round_id.in_(list(ago)),
            seats.pair_id.is_not(None),
        )
        .order_by(seats.pair_id)
    )
    last_met: dict[frozenset[str], int] = {}
    times_met: dict[frozenset[str], int] = {}

    # Each seat meets those of its pair read before it (one pass, no per-pair calls).
    current: int | None = None
    members: list[str] = []
    rounds_ago = 0
    for pair_id, round_id, user_ref in rows.all():
        if pair_id != current:
            current, members, rounds_ago = pair_id, [user_ref], ago[round_id]
            continue
        for other in members:
            key = frozenset((other, user_ref))
            times = times_met.get(key)
            if times is None:
                times_met[key] = 1
                last_met[key] = rounds_ago
            else:
                times_met[key] = times + 1
                if rounds_ago < last_met[key]:
                    last_met[key] = rounds_ago
        members.append(user_ref)
    sat_out = set(
        session.execute(
            select(PairSeat.user_ref).where(
                PairSeat.round_id == recent[0][0], PairSeat.pair_id.is_(None)
            )
        ).scalars()
    )
    return History(last_met, times_met), sat_out


def blocked_pairs(
    *, session: Session, workspace_id: str, people: Collection[str]
) -> set[frozenset[str]]:
    """Pairs of the pool of whom one asked not to be paired with the other."""
    wanted = set(people)
    return {
        frozenset((a, b))
        for a, b in session.execute(
            select(PairBlock.user_ref, PairBlock.blocked_ref).where(
                PairBlock.workspace_id == workspace_id
            )
        )
        if a in wanted and b in wanted
    }


def round_seed(workspace_id: str, slot: datetime) -> int:
    digest = hashlib.sha256(f"{workspace_id}:{slot.astimezone(UTC).isoformat()}".encode())
    return int.from_bytes(digest.digest()[:8], "big")


def find_round(*, session: Session, workspace_id: str, slot: datetime) -> int | None:
    return session.execute(
        select(PairRound.id).where(PairRound.workspace_id == workspace_id, PairRound.slot == slot)
    ).scalar_one_or_none()


def run_round(*, session: Session, workspace_id: str, slot: datetime) -> RoundResult:
    """Make the round of `slot`, or return the one already made.

    The pool is everyone who joined, has a side and is not snoozed on the round's local
    date. People away or on a holiday of their own region at that moment (each on their
    own date, see bot.services.availability) are not paired and not counted as sitting
    out, so the rule "nobody sits out two rounds running" does not push them next time.

    Returns:
        The round's pairs (trios included), who sat out and who was unavailable.
    """
    existing = find_round(session=session, workspace_id=workspace_id, slot=slot)
    if existing is not None:
        return _stored_round(session, workspace_id, existing)
    settings = settings_row(session=session, workspace_id=workspace_id)
    timezone = workspaces.get_workspace(session=session, workspace_id=workspace_id).timezone
    local_day = slot.astimezone(ZoneInfo(timezone)).date()
    everyone = pool(session=session, workspace_id=workspace_id, local_day=local_day)
    away = set(
        availability.unavailable_at(
            session=session,
            workspace_id=workspace_id,
            user_refs=[ref for ref, _ in everyone],
            moment=slot,
        )
    )
    present = [(ref, side) for ref, side in everyone if ref not in away]
    past, sat_out = history(session=session, workspace_id=workspace_id, before=slot)
    refs = [ref for ref, _ in present]
    grouping: Grouping = make_groups(
        [Candidate(ref, side, ref in sat_out) for ref, side in present],
        history=past,
        blocked=blocked_pairs(session=session, workspace_id=workspace_id, people=refs),
        recent_rounds=settings.recent_rounds,
        seed=round_seed(workspace_id, slot),
    )
    made = insert_ignoring_conflicts(
        session,
        PairRound,
        {"workspace_id": workspace_id, "slot": slot, "created_at": datetime.now(UTC)},
        ["workspace_id", "slot"],
    )
    round_id = find_round(session=session, workspace_id=workspace_id, slot=slot)
    assert round_id is not None
    if not made:  # another instance made it meanwhile
        return _stored_round(session, workspace_id, round_id)
    sides = dict(present)
    now = datetime.now(UTC)
    # In bulk (a round of thousands is a few statements): the pairs, then every seat.
    # A pair's id says nothing of who is in it, so the round's new ids are handed to
    # its groups in any order (no RETURNING, which SQLite would send row by row).
    if grouping.groups:
        session.execute(
            insert(BridgePair),
            [{"workspace_id": workspace_id, "round_id": round_id, "created_at": now}]
            * len(grouping.groups),
        )
    pair_ids = list(
        session.execute(
            select(BridgePair.id).where(BridgePair.round_id == round_id).order_by(BridgePair.id)
        ).scalars()
    )
    placed: list[tuple[int | None, str]] = [
        (pair_id, ref)
        for pair_id, group in zip(pair_ids, grouping.groups, strict=True)
        for ref in group
    ] + [(None, ref) for ref in grouping.left_out]
    if placed:
        session.execute(
            insert(PairSeat),
            [
                {
                    "workspace_id": workspace_id,
                    "round_id": round_id,
                    "pair_id": pair_id,
                    "user_ref": ref,
                    "side": sides[ref],
                }
                for pair_id, ref in placed
            ],
        )
    # What was just written, as _stored_round would read it back.
    return RoundResult(
        round_id=round_id,
        created=True,
        pairs=tuple(
            PairView(
                id=pair_id,
                round_id=round_id,
                slot=slot.astimezone(UTC),
                seats=tuple(Seat(ref, sides[ref], None) for ref in group),
            )
            for pair_id, group in sorted(zip(pair_ids, grouping.groups, strict=True))
        ),
        left_out=tuple(sorted(grouping.left_out)),
        unavailable=tuple(sorted(away & {ref for ref, _ in everyone})),
    )


def _stored_round(session: Session, workspace_id: str, round_id: int) -> RoundResult:
    slot = session.execute(select(PairRound.slot).where(PairRound.id == round_id)).scalar_one()
    pairs = _pairs(session, workspace_id, [round_id])
    left_out = session.execute(
        select(PairSeat.user_ref).where(PairSeat.round_id == round_id, PairSeat.pair_id.is_(None))
    ).scalars()
    return RoundResult(
        round_id=round_id,
        created=False,
        pairs=tuple(pair for pair in pairs if pair.slot == slot),
        left_out=tuple(sorted(left_out)),
        unavailable=(),
    )


def _pairs(
    session: Session,
    workspace_id: str,
    round_ids: Iterable[int] | None = None,
    pair_ids: Iterable[int] | None = None,
) -> list[PairView]:
    query = (
        select(BridgePair.id, BridgePair.round_id, PairRound.slot)
        .join(PairRound, PairRound.id == BridgePair.round_id)
        .where(BridgePair.workspace_id == workspace_id)
        .order_by(BridgePair.id)
    )
    if round_ids is not None:
        query = query.where(BridgePair.round_id.in_(list(round_ids)))
    if pair_ids is not None:
        query = query.where(BridgePair.id.in_(list(pair_ids)))
    heads = session.execute(query).all()
    seats: dict[int, list[Seat]] = defaultdict(list)
    if heads:
        for pair_id, user_ref, side, answer in session.execute(
            select(PairSeat.pair_id, PairSeat.user_ref, PairSeat.side, PairSeat.answer)
            .where(PairSeat.pair_id.in_([head.id for head in heads]))
            .order_by(PairSeat.id)
        ):
            if pair_id is not None:
                seats[pair_id].append(Seat(user_ref, side, answer))
    return [
        PairView(id=head.id, round_id=head.round_id, slot=head.slot, seats=tuple(seats[head.id]))
        for head in heads
    ]


def get_pair(*, session: Session, workspace_id: str, pair_id: int) -> PairView | None:
    found = _pairs(session, workspace_id, pair_ids=[pair_id])
    return found[0] if found else None


def latest_pair(*, session: Session, workspace_id: str, user_ref: str) -> PairView | None:
    """The person's pair in the latest round they were paired in."""
    pair_id = session.execute(
        select(PairSeat.pair_id)
        .join(PairRound, PairRound.id == PairSeat.round_id)
        .where(
            PairSeat.workspace_id == workspace_id,
            PairSeat.user_ref == user_ref,
            PairSeat.pair_id.is_not(None),
        )
        .order_by(PairRound.slot.desc())
        .limit(1)
    ).scalar_one_or_none()
    return (
        None
        if pair_id is None
        else get_pair(session=session, workspace_id=workspace_id, pair_id=pair_id)
    )


def record_answer(
    *,
    session: Session,
    workspace_id: str,
    pair_id: int,
    user_ref: str,
    answer: str,
    now: datetime,
) -> PairView:
    """The person's answer to "did you meet?" (a later answer replaces it).

    Raises:
        Invalid: not one of met, planned, not.
        NotFound: no such pair, or the person is not in it (they see the same message).
    """
    if answer not in ANSWERS:
        raise Invalid("Answer met, planned or not.")
    seat = session.execute(
        select(PairSeat).where(
            PairSeat.workspace_id == workspace_id,
            PairSeat.pair_id == pair_id,
            PairSeat.user_ref == user_ref,
        )
    ).scalar_one_or_none()
    if seat is None:
        raise NotFound("That is not one of your pairs.")
    seat.answer = answer
    seat.answered_at = now
    session.flush()
    pair = get_pair(session=session, workspace_id=workspace_id, pair_id=pair_id)
    assert pair is not None
    return pair


# -- conversation starters --------------------------------------------------------------


@dataclass(frozen=True)
class Starter:
    """For one person: a term of the other's world to ask about, one of their own to explain."""

    user_ref: str
    ask_about: str | None
    explain: str | None
    ask_ref: str  # whom to ask: someone of the pair from the other side


def _terms_by_origin(session: Session, workspace_id: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for name, origin in session.execute(
        select(GlossaryTerm.name, GlossaryTerm.origin)
        .where(GlossaryTerm.workspace_id == workspace_id)
        .order_by(GlossaryTerm.name)
    ):
        found[origin].append(name)
    return found


def _world(side: str) -> str:
    """The glossary origin of a side's own terms (Other's world is the shared terms)."""
    return side if side in (Side.MARKETING, Side.IT) else "general"


def starters(*, session: Session, workspace_id: str, pair: PairView) -> tuple[Starter, ...]:
    """Each person's starters, the same however often asked (drawn from the pair's id)."""
    terms = _terms_by_origin(session, workspace_id)
    draw = random.Random(pair.id)
    chosen: dict[str, str | None] = {}

    def pick(world: str) -> str | None:
        if world not in chosen:
            options = terms.get(world) or terms.get("general") or []
            chosen[world] = draw.choice(options) if options else None
        return chosen[world]

    out = []
    for seat in pair.seats:
        others = pair.others(seat.user_ref)
        if not others:
            continue
        # In a trio, the one of the pair's other side (not the colleague of one's own).
        ask = next((o for o in others if _world(o.side) != _world(seat.side)), others[0])
        out.append(
            Starter(seat.user_ref, pick(_world(ask.side)), pick(_world(seat.side)), ask.user_ref)
        )
    return tuple(out)


# -- suggest a time ---------------------------------------------------------------------


def person_zone(*, session: Session, workspace_id: str, user_ref: str) -> str:
    """The person's own time zone (/bridge timezone), else the workspace's."""
    found = availability.availability_of(
        session=session, workspace_id=workspace_id, user_refs=[user_ref]
    )
    return found[user_ref].timezone


def _working(moment: datetime, zone: ZoneInfo) -> bool:
    local = moment.astimezone(zone)
    return local.weekday() < 5 and WORKDAY_START <= local.hour < WORKDAY_END


def next_shared_hour(zones: Collection[str], after: datetime) -> datetime | None:
    """The first whole hour after `after` that is working time (Monday to Friday, 09:00
    to 17:00) in every zone, within two weeks; None if the zones never overlap."""
    infos = [ZoneInfo(zone) for zone in zones]
    start = after.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    for hour in range(SEARCH_HOURS):
        moment = start + timedelta(hours=hour)
        if all(_working(moment, zone) for zone in infos):
            return moment
    return None


def next_working_hour(zone: str, after: datetime) -> datetime:
    found = next_shared_hour([zone], after)
    assert found is not None  # every zone has working hours within two weeks
    return found


# -- figures ----------------------------------------------------------------------------


def figures(
    *, session: Session, workspace_id: str, since: datetime, until: datetime
) -> PairFigures:
    """Pairs made in rounds from `since` to before `until`, and how many of them met."""
    pair_ids = list(
        session.execute(
            select(BridgePair.id)
            .join(PairRound, PairRound.id == BridgePair.round_id)
            .where(
                BridgePair.workspace_id == workspace_id,
                PairRound.slot >= since,
                PairRound.slot < until,
            )
        ).scalars()
    )
    if not pair_ids:
        return PairFigures(0, 0, 0, 0)
    answers: dict[int, set[str]] = defaultdict(set)
    people = 0
    for pair_id, answer in session.execute(
        select(PairSeat.pair_id, PairSeat.answer).where(PairSeat.pair_id.in_(pair_ids))
    ):
        people += 1
        if answer is not None and pair_id is not None:
            answers[pair_id].add(answer)
    return PairFigures(
        pairs_made=len(pair_ids),
        pairs_met=sum("met" in given for given in answers.values()),
        pairs_answered=len(answers),
        people_paired=people,
    )


async def pair_figures(
    session: Session, workspace_id: str, since: datetime, until: datetime
) -> PairFigures:
    """`figures` for async callers (the dashboard); reads through the given session."""
    return figures(session=session, workspace_id=workspace_id, since=since, until=until)


def quarter_start(moment: datetime, timezone: str) -> datetime:
    """The start of the calendar quarter `moment` falls in, in the workspace's zone."""
    local = moment.astimezone(ZoneInfo(timezone))
    first_month = 3 * ((local.month - 1) // 3) + 1
    return datetime(local.year, first_month, 1, tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def members_count(*, session: Session, workspace_id: str) -> int:
    return int(
        session.execute(
            select(func.count())
            .select_from(PairMember)
            .where(PairMember.workspace_id == workspace_id)
        ).scalar_one()
    )


def round_counts(*, session: Session, workspace_id: str, round_id: int) -> tuple[int, int]:
    """How many pairs a round made, and how many people are in them."""
    made = session.execute(
        select(func.count())
        .select_from(BridgePair)
        .where(BridgePair.workspace_id == workspace_id, BridgePair.round_id == round_id)
    ).scalar_one()
    people = session.execute(
        select(func.count())
        .select_from(PairSeat)
        .where(
            PairSeat.workspace_id == workspace_id,
            PairSeat.round_id == round_id,
            PairSeat.pair_id.is_not(None),
        )
    ).scalar_one()
    return int(made), int(people)


def has_rounds(*, session: Session, workspace_id: str) -> bool:
    return (
        session.execute(
            select(PairRound.id).where(PairRound.workspace_id == workspace_id).limit(1)
        ).first()
        is not None
    )
