"""A person's side and its history, for export-me and forget-me."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.models import Person, SideChange
from bot.services.privacy import Forgotten, PrivacyHooks, rowcount, rows


def export_person(*, session: Session, workspace_id: str, user_ref: str) -> dict[str, Any]:
    return {
        "person": rows(
            session,
            select(Person.side, Person.display_name, Person.created_at, Person.updated_at).where(
                Person.workspace_id == workspace_id, Person.user_ref == user_ref
            ),
            ["side", "display_name", "created_at", "updated_at"],
        ),
        "side_changes": rows(
            session,
            select(SideChange.changed_at, SideChange.source)
            .where(SideChange.workspace_id == workspace_id, SideChange.user_ref == user_ref)
            .order_by(SideChange.changed_at),
            ["changed_at", "by"],
        ),
    }


def forget_person(
    *, session: Session, workspace_id: str, user_ref: str, now: datetime
) -> Forgotten:
    person = delete(Person).where(Person.workspace_id == workspace_id, Person.user_ref == user_ref)
    changes = delete(SideChange).where(
        SideChange.workspace_id == workspace_id, SideChange.user_ref == user_ref
    )
    return Forgotten(
        {"person": rowcount(session, person), "side changes": rowcount(session, changes)}
    )


HOOKS = PrivacyHooks("people", export=export_person, forget=forget_person)
