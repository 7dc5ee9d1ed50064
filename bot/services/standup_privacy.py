"""A person's stand-ups, answers and places in them, for export-me and forget-me."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.models import Standup, StandupAnswer
from bot.services.privacy import Forgotten, PrivacyHooks, rowcount, rows


def export_person(*, session: Session, workspace_id: str, user_ref: str) -> dict[str, Any]:
    return {
        "standups_created": rows(
            session,
            select(Standup.number, Standup.name, Standup.created_at).where(
                Standup.workspace_id == workspace_id, Standup.creator_ref == user_ref
            ),
            ["number", "name", "created_at"],
        ),
        "standup_answers": rows(
            session,
            select(StandupAnswer.standup_id, StandupAnswer.local_date, StandupAnswer.answers).where(
                StandupAnswer.workspace_id == workspace_id, StandupAnswer.user_ref == user_ref
            ),
            ["standup_id", "date", "answers"],
        ),
        "standups_taking_part": [
            {"number": number, "name": name}
            for number, name, people in session.execute(
                select(Standup.number, Standup.name, Standup.participants).where(
                    Standup.workspace_id == workspace_id
                )
            )
            if user_ref in (people or [])
        ],
    }


def forget_person(
    *, session: Session, workspace_id: str, user_ref: str, now: datetime
) -> Forgotten:
    """Answers go; a stand-up the person made or took part in goes on without them."""
    answers = rowcount(
        session,
        delete(StandupAnswer).where(
            StandupAnswer.workspace_id == workspace_id, StandupAnswer.user_ref == user_ref
        ),
    )
    touched = 0
    for standup in session.execute(
        select(Standup).where(Standup.workspace_id == workspace_id)
    ).scalars():
        changed = False
        if standup.creator_ref == user_ref:
            standup.creator_ref = None
            changed = True
        if user_ref in (standup.participants or []):
            standup.participants = [p for p in standup.participants if p != user_ref]
            changed = True
        touched += changed
    return Forgotten({"standup answers": answers, "stand-ups updated": touched})


HOOKS = PrivacyHooks("standups", export=export_person, forget=forget_person)
