"""Glossary lookups counted by side: which terms each side looks up, and what nobody found.

A lookup is stored with the looker's side and the day only, never the person, so the
dashboard can show what Marketing asks of IT's vocabulary (and the reverse) and which
missing terms the glossary's owners should add.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session

from bot.models import GlossaryLookup, Person
from bot.services import glossary_tally

QUERY_LIMIT = 80  # the column's size


# Built once and run on the connection: a lookup is the busiest request, and building,
# keying and running this statement through the ORM for each one cost more than the
# insert itself.
_RECORD = insert(GlossaryLookup).values(
    workspace_id=bindparam("workspace_id"),
    side=select(Person.side)
    .where(
        Person.workspace_id == bindparam("workspace_id"), Person.user_ref == bindparam("user_ref")
    )
    .scalar_subquery(),
    query=bindparam("query"),
    term_name=bindparam("term_name"),
    term_origin=bindparam("term_origin"),
    found=bindparam("found"),
    looked_up_on=bindparam("looked_up_on"),
)


def record(
    *,
    session: Session,
    workspace_id: str,
    user_ref: str,
    query: str,
    term_name: str | None,
    term_origin: str | None,
    now: datetime,
) -> None:
    """Count one typed lookup under the looker's side (read as the row is written): in
    this transaction, or with the next batch where a server writes counts in batches."""
    row = {
        "workspace_id": workspace_id,
        "user_ref": user_ref,
        "query": " ".join(query.split())[:QUERY_LIMIT],
        "term_name": term_name,
        "term_origin": term_origin,
        "found": term_name is not None,
        "looked_up_on": now.date(),
    }
    tally = glossary_tally.tally_of(session)
    if tally is not None and tally.batching:
        tally.count_lookup(session, row)
    else:
        session.connection().execute(_RECORD, row)


@dataclass(frozen=True)
class TermCount:
    side: str  # marketing | it | other | none
    term: str
    lookups: int


@dataclass(frozen=True)
class MonthCrossing:
    """Lookups in one month by one side into the other side's terms."""

    month: str  # YYYY-MM
    side: str
    into_other_side: int
    all_lookups: int


def _month(value: date | str) -> str:
    return str(value)[:7]


def cross_side_by_month(*, session: Session, workspace_id: str, since: date) -> list[MonthCrossing]:
    """Per month and side (Marketing, IT): lookups of terms that come from the other side."""
    glossary_tally.write_pending(session)
    counts: dict[tuple[str, str], list[int]] = {}
    for day, side, origin, lookups in session.execute(
        select(
            GlossaryLookup.looked_up_on,
            GlossaryLookup.side,
            GlossaryLookup.term_origin,
            func.sum(GlossaryLookup.lookups),
        )
        .where(
            GlossaryLookup.workspace_id == workspace_id,
            GlossaryLookup.looked_up_on >= since,
            GlossaryLookup.side.in_(("marketing", "it")),
        )
        .group_by(GlossaryLookup.looked_up_on, GlossaryLookup.side, GlossaryLookup.term_origin)
    ):
        cell = counts.setdefault((_month(day), side or "none"), [0, 0])
        cell[1] += lookups
        if origin in {"marketing", "it"} and origin != side:
            cell[0] += lookups
    return [
        MonthCrossing(month, side, crossing, total)
        for (month, side), (crossing, total) in sorted(counts.items())
    ]


def top_terms_by_side(
    *, session: Session, workspace_id: str, since: date, limit: int = 10
) -> list[TermCount]:
    """The most looked-up terms of each side, most first."""
    glossary_tally.write_pending(session)
    found: dict[str, list[TermCount]] = {}
    for side, term, lookups in session.execute(
        select(
            GlossaryLookup.side,
            GlossaryLookup.term_name,
            func.sum(GlossaryLookup.lookups).label("n"),
        )
        .where(
            GlossaryLookup.workspace_id == workspace_id,
            GlossaryLookup.looked_up_on >= since,
            GlossaryLookup.found.is_(True),
        )
        .group_by(GlossaryLookup.side, GlossaryLookup.term_name)
        .order_by(func.sum(GlossaryLookup.lookups).desc(), GlossaryLookup.term_name)
    ):
        found.setdefault(side or "none", []).append(TermCount(side or "none", term or "", lookups))
    return [count for side in sorted(found) for count in found[side][:limit]]


def not_found(
    *, session: Session, workspace_id: str, since: date, limit: int = 50
) -> list[TermCount]:
    """What people typed that the glossary did not have, most asked first (all sides)."""
    glossary_tally.write_pending(session)
    return [
        TermCount("all", query, lookups)
        for query, lookups in session.execute(
            select(func.lower(GlossaryLookup.query), func.sum(GlossaryLookup.lookups))
            .where(
                GlossaryLookup.workspace_id == workspace_id,
                GlossaryLookup.looked_up_on >= since,
                GlossaryLookup.found.is_(False),
            )
            .group_by(func.lower(GlossaryLookup.query))
            .order_by(func.sum(GlossaryLookup.lookups).desc(), func.lower(GlossaryLookup.query))
            .limit(limit)
        )
    ]
