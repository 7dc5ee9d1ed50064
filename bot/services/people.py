"""People and their side (marketing, IT or other), and how often a person may change it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db import insert_ignoring_conflicts
from bot.errors import NotAllowed
from bot.models import Person, Side, SideChange, utcnow

# A person may move themselves to another side once in this long: a pulse freezes sides
# when it opens, and this stops hopping from side to side between pulses.
OWN_CHANGE_INTERVAL = timedelta(days=30)


class SideSource(StrEnum):
    """Who changed a side: the person, an admin, or the user-group sync."""

    SELF = "self"
    ADMIN = "admin"
    SYNC = "sync"


class SideChangeTooSoon(NotAllowed):
    """The person changed their own side less than OWN_CHANGE_INTERVAL ago."""

    def __init__(self, changed_at: datetime, allowed_from: datetime) -> None:
        super().__init__(
            f"You changed your side on {changed_at:%d %B}; you can change it again from "
            f"{allowed_from:%A %d %B %Y at %H:%M} UTC."
        )
        self.allowed_from = allowed_from


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
    source: SideSource = SideSource.ADMIN,
    now: datetime | None = None,
) -> PersonView:
    """Record which side a person is on, creating their record on first use.

    No limit applies here (admins, the user-group sync): a person choosing their own side
    goes through `change_own_side`. A move from one side to another is recorded with its
    source and time; a first choice, or the same side again, is no change.
    """
    insert_ignoring_conflicts(
        session,
        Person,
        {"workspace_id": workspace_id, "user_ref": user_ref},
        ["workspace_id", "user_ref"],
    )
    row = _find(session, workspace_id, user_ref, for_update=True)
    assert row is not None  # inserted or already there, in this transaction
    if row.side is not None and row.side != side.value:
        session.add(
            SideChange(
                workspace_id=workspace_id,
                user_ref=user_ref,
                source=source.value,
                changed_at=now or utcnow(),
            )
        )
    row.side = side.value
    if display_name:
        row.display_name = display_name
    session.flush()
    return _view(row)


def change_own_side(
    *,
    session: Session,
    workspace_id: str,
    user_ref: str,
    side: Side,
    now: datetime,
    is_admin: bool = False,
    display_name: str | None = None,
) -> PersonView:
    """A person setting their own side: a move to another side at most once in
    OWN_CHANGE_INTERVAL; admins are not limited (their change is recorded as an admin's).

    Raises:
        SideChangeTooSoon: the person moved themselves less than the interval ago.
    """
    source = SideSource.ADMIN if is_admin else SideSource.SELF
    current = _find(session, workspace_id, user_ref, for_update=True)
    moving = current is not None and current.side is not None and current.side != side.value
    if moving and not is_admin:
        last = session.execute(
            select(func.max(SideChange.changed_at)).where(
                SideChange.workspace_id == workspace_id,
                SideChange.user_ref == user_ref,
                SideChange.source == SideSource.SELF.value,
            )
        ).scalar_one_or_none()
        if last is not None and now < last + OWN_CHANGE_INTERVAL:
            raise SideChangeTooSoon(last, last + OWN_CHANGE_INTERVAL)
    return set_side(
        session=session,
        workspace_id=workspace_id,
        user_ref=user_ref,
        side=side,
        display_name=display_name,
        source=source,
        now=now,
    )


def side_changes_between(
    *, session: Session, workspace_id: str, start: datetime, end: datetime | None = None
) -> int:
    """How many side changes (by anyone, from any source) happened from `start` to `end`:
    a count for admins, never who."""
    query = select(func.count()).where(
        SideChange.workspace_id == workspace_id, SideChange.changed_at >= start
    )
    if end is not None:
        query = query.where(SideChange.changed_at < end)
    return int(session.execute(query).scalar_one())


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


def _find(
    session: Session, workspace_id: str, user_ref: str, *, for_update: bool = False
) -> Person | None:
    query = select(Person).where(Person.workspace_id == workspace_id, Person.user_ref == user_ref)
    # Locked on PostgreSQL, so two quick changes of one person take turns with the limit.
    return session.execute(query.with_for_update() if for_update else query).scalar_one_or_none()


def _view(row: Person) -> PersonView:
    return PersonView(
        workspace_id=row.workspace_id,
        user_ref=row.user_ref,
        side=Side(row.side) if row.side else None,
        display_name=row.display_name,
    )
