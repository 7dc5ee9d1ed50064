"""The audience a weekly pulse froze when it opened: who may answer, and on which side.

A side change counts from the next pulse, so nobody can move to a small side mid-pulse
to push its answers over the anonymity threshold. The rows say who was asked, never
who answered: they carry no hash, no time and no mark an answer could be joined on.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bot.models import PulseAudience


def freeze(
    *, session: Session, workspace_id: str, poll_id: int, people: Iterable[tuple[str, str]]
) -> None:
    """Store (user_ref, side) of everyone the pulse asks, as it opens."""
    rows = [
        {"poll_id": poll_id, "workspace_id": workspace_id, "user_ref": user, "side": side}
        for user, side in people
    ]
    if rows:
        session.execute(insert(PulseAudience), rows)


def members(*, session: Session, workspace_id: str, poll_id: int) -> list[tuple[str, str]]:
    """(user_ref, side) of everyone the pulse asked, by user_ref."""
    rows = session.execute(
        select(PulseAudience.user_ref, PulseAudience.side)
        .where(PulseAudience.workspace_id == workspace_id, PulseAudience.poll_id == poll_id)
        .order_by(PulseAudience.user_ref)
    ).all()
    return [(user, side) for user, side in rows]


def frozen_side(*, session: Session, workspace_id: str, poll_id: int, user_ref: str) -> str | None:
    """The person's side when the pulse opened; None if it did not ask them."""
    return session.execute(
        select(PulseAudience.side).where(
            PulseAudience.workspace_id == workspace_id,
            PulseAudience.poll_id == poll_id,
            PulseAudience.user_ref == user_ref,
        )
    ).scalar_one_or_none()
