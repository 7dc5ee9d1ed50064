"""Scheduled messages to a person, and jobs they asked for, for export-me and forget-me."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, or_, select
from sqlalchemy.orm import Session

from bot.models import Occurrence
from bot.services.privacy import Forgotten, PrivacyHooks, rowcount, rows


def requested_by(user_ref: str) -> ColumnElement[bool]:
    """Jobs a person asked for (a side sync): they carry the id to report back to."""
    return Occurrence.payload["requested_by"].as_string() == user_ref


def export_person(*, session: Session, workspace_id: str, user_ref: str) -> dict[str, Any]:
    columns = ["kind", "due_at", "status"]
    selected = select(Occurrence.kind, Occurrence.due_at, Occurrence.status)
    in_workspace = Occurrence.workspace_id == workspace_id
    return {
        "messages_sent_to_you": rows(
            session, selected.where(in_workspace, Occurrence.recipient_ref == user_ref), columns
        ),
        "requests": rows(session, selected.where(in_workspace, requested_by(user_ref)), columns),
    }


def forget_person(
    *, session: Session, workspace_id: str, user_ref: str, now: datetime
) -> Forgotten:
    theirs = delete(Occurrence).where(
        Occurrence.workspace_id == workspace_id,
        or_(Occurrence.recipient_ref == user_ref, requested_by(user_ref)),
    )
    return Forgotten({"scheduled messages": rowcount(session, theirs)})


HOOKS = PrivacyHooks("scheduled messages", export=export_person, forget=forget_person)
