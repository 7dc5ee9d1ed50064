"""A person's stand-ups, answers and places in them, for export-me and forget-me."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.models import Occurrence, Standup, StandupAnswer, StandupDigest
from bot.services import standups
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
    """Answers go; a stand-up the person made or took part in goes on without them.

    Every posted digest that showed them (their answers, or their name among those who
    did not answer) is queued to be updated without them, through the delivery table.
    """
    shown_in = _digests_showing(session, workspace_id, user_ref)
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
    session.flush()
    for standup_id, local_date in shown_in:
        try:
            view = standups.get_by_id(
                session=session, workspace_id=workspace_id, standup_id=standup_id
            )
        except standups.StandupNotFound:
            continue
        standups.queue_digest_update(session=session, view=view, local_date=local_date, now=now)
    return Forgotten({"standup answers": answers, "stand-ups updated": touched})


def _digests_showing(session: Session, workspace_id: str, user_ref: str) -> list[tuple[int, date]]:
    """The (stand-up, day) of posted digests that name the person: they answered, or
    the questions went to them (before forget-me deletes those deliveries)."""
    answered = select(StandupAnswer.standup_id, StandupAnswer.local_date).where(
        StandupAnswer.workspace_id == workspace_id, StandupAnswer.user_ref == user_ref
    )
    asked = session.execute(
        select(Occurrence.subject_ref, Occurrence.payload).where(
            Occurrence.workspace_id == workspace_id,
            Occurrence.kind == standups.QUESTIONS_DM,
            Occurrence.recipient_ref == user_ref,
        )
    ).all()
    rounds = {(standup_id, day) for standup_id, day in session.execute(answered)}
    rounds |= {
        (int(subject.split(":", 1)[1]), date.fromisoformat(payload["local_date"]))
        for subject, payload in asked
    }
    if not rounds:
        return []
    posted = session.execute(
        select(StandupDigest.standup_id, StandupDigest.local_date).where(
            StandupDigest.workspace_id == workspace_id,
            StandupDigest.standup_id.in_({standup_id for standup_id, _ in rounds}),
        )
    ).all()
    return sorted(rounds & {(standup_id, day) for standup_id, day in posted})


HOOKS = PrivacyHooks("standups", export=export_person, forget=forget_person)
