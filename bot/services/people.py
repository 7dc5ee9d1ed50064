"""People and their side (marketing, IT or other)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import insert_ignoring_conflicts
from bot.models import Person, Side


@dataclass(frozen=True)
class PersonView:
    workspace_id: str
    user_ref: str
    side: Side | None
    display_name: str | None


def get_person(*, session: Session, workspace_id: str, user_ref: str) -> PersonView | None:
    """The person, or None if bridgebot has stored nothing about them."""
    row = _find(session, workspace_id, user_ref)
    return _view(row) if row else None


def set_side(
    *,
    session: Session,
    workspace_id: str,
    user_ref: str,
    side: Side,
    display_name: str | None = None,
) -> PersonView:
    """Record which side a person is on, creating their record on first use."""
    insert_ignoring_conflicts(
        session,
        Person,
        {"workspace_id": workspace_id, "user_ref": user_ref},
        ["workspace_id", "user_ref"],
    )
    row = _find(session, workspace_id, user_ref)
    assert row is not None  # inserted or already there, in this transaction
    row.side = side.value
    if display_name:
        row.display_name = display_name
    session.flush()
    return _view(row)


def count_by_side(*, session: Session, workspace_id: str) -> dict[Side, int]:
    """How many people have chosen each side."""
    counts = {side: 0 for side in Side}
    rows = session.execute(
        select(Person.side).where(Person.workspace_id == workspace_id, Person.side.is_not(None))
    ).scalars()
    for side in rows:
        if side:
            counts[Side(side)] += 1
    return counts


def _find(session: Session, workspace_id: str, user_ref: str) -> Person | None:
    return session.execute(
        select(Person).where(Person.workspace_id == workspace_id, Person.user_ref == user_ref)
    ).scalar_one_or_none()


def _view(row: Person) -> PersonView:
    return PersonView(
        workspace_id=row.workspace_id,
        user_ref=row.user_ref,
        side=Side(row.side) if row.side else None,
        display_name=row.display_name,
    )
