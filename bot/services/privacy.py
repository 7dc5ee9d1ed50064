"""What bridgebot stores about a person: export it, or forget it."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.models import (
    BoardPost,
    Celebration,
    ChallengeHelper,
    GlossaryEdit,
    GlossaryTerm,
    Occurrence,
    Person,
    PulsePoll,
    Standup,
    StandupAnswer,
)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def _rows(session: Session, query: Any, columns: list[str]) -> list[dict[str, Any]]:
    return [
        {name: _plain(value) for name, value in zip(columns, row, strict=True)}
        for row in session.execute(query)
    ]


def export(*, session: Session, workspace_id: str, user_ref: str) -> dict[str, Any]:
    """Everything stored about the person in this workspace, as plain data.

    Pulse answers are not included: they are stored without the person's id, so
    bridgebot cannot tell which are theirs.
    """
    return {
        "workspace_id": workspace_id,
        "user": user_ref,
        "person": _rows(
            session,
            select(Person.side, Person.display_name, Person.created_at, Person.updated_at).where(
                Person.workspace_id == workspace_id, Person.user_ref == user_ref
            ),
            ["side", "display_name", "created_at", "updated_at"],
        ),
        "standups_created": _rows(
            session,
            select(Standup.number, Standup.name, Standup.created_at).where(
                Standup.workspace_id == workspace_id, Standup.creator_ref == user_ref
            ),
            ["number", "name", "created_at"],
        ),
        "standup_answers": _rows(
            session,
            select(StandupAnswer.standup_id, StandupAnswer.local_date, StandupAnswer.answers).where(
                StandupAnswer.workspace_id == workspace_id, StandupAnswer.user_ref == user_ref
            ),
            ["standup_id", "date", "answers"],
        ),
        "posts": _rows(
            session,
            select(BoardPost.kind, BoardPost.text, BoardPost.status, BoardPost.created_at).where(
                BoardPost.workspace_id == workspace_id, BoardPost.author_ref == user_ref
            ),
            ["kind", "text", "status", "created_at"],
        ),
        "celebrations": _rows(
            session,
            select(Celebration.post_id, Celebration.created_at).where(
                Celebration.workspace_id == workspace_id, Celebration.user_ref == user_ref
            ),
            ["post_id", "created_at"],
        ),
        "challenges_helped": _rows(
            session,
            select(ChallengeHelper.post_id, ChallengeHelper.created_at).where(
                ChallengeHelper.workspace_id == workspace_id, ChallengeHelper.helper_ref == user_ref
            ),
            ["post_id", "created_at"],
        ),
        "glossary_terms_added": _rows(
            session,
            select(GlossaryTerm.name, GlossaryTerm.created_at).where(
                GlossaryTerm.workspace_id == workspace_id, GlossaryTerm.author_ref == user_ref
            ),
            ["name", "created_at"],
        ),
        "glossary_edits": _rows(
            session,
            select(GlossaryEdit.term_name, GlossaryEdit.action, GlossaryEdit.at).where(
                GlossaryEdit.workspace_id == workspace_id, GlossaryEdit.editor_ref == user_ref
            ),
            ["term", "action", "at"],
        ),
        "messages_sent_to_you": _rows(
            session,
            select(Occurrence.kind, Occurrence.due_at, Occurrence.status).where(
                Occurrence.workspace_id == workspace_id, Occurrence.recipient_ref == user_ref
            ),
            ["kind", "due_at", "status"],
        ),
    }


def forget(*, session: Session, workspace_id: str, user_ref: str) -> dict[str, int]:
    """Delete the person's records and remove their name from what others still need.

    Wins, challenges and glossary entries stay (the team relies on them) but lose
    their author; pulse answers are already stored without the person.
    """
    counts: dict[str, int] = {}

    def run(label: str, statement: Any) -> None:
        counts[label] = int(session.execute(statement).rowcount or 0)  # type: ignore[attr-defined]

    in_ws = workspace_id
    run("person", delete(Person).where(Person.workspace_id == in_ws, Person.user_ref == user_ref))
    run(
        "standup answers",
        delete(StandupAnswer).where(
            StandupAnswer.workspace_id == in_ws, StandupAnswer.user_ref == user_ref
        ),
    )
    run(
        "celebrations",
        delete(Celebration).where(
            Celebration.workspace_id == in_ws, Celebration.user_ref == user_ref
        ),
    )
    run(
        "helper records",
        delete(ChallengeHelper).where(
            ChallengeHelper.workspace_id == in_ws, ChallengeHelper.helper_ref == user_ref
        ),
    )
    run(
        "scheduled messages",
        delete(Occurrence).where(
            Occurrence.workspace_id == in_ws, Occurrence.recipient_ref == user_ref
        ),
    )
    run(
        "posts anonymised",
        update(BoardPost)
        .where(BoardPost.workspace_id == in_ws, BoardPost.author_ref == user_ref)
        .values(author_ref=None),
    )
    session.execute(
        update(BoardPost)
        .where(BoardPost.workspace_id == in_ws, BoardPost.resolved_by == user_ref)
        .values(resolved_by=None)
    )
    run(
        "glossary terms anonymised",
        update(GlossaryTerm)
        .where(GlossaryTerm.workspace_id == in_ws, GlossaryTerm.author_ref == user_ref)
        .values(author_ref=None),
    )
    session.execute(
        update(GlossaryTerm)
        .where(GlossaryTerm.workspace_id == in_ws, GlossaryTerm.updated_by == user_ref)
        .values(updated_by=None)
    )
    run(
        "glossary edits anonymised",
        update(GlossaryEdit)
        .where(GlossaryEdit.workspace_id == in_ws, GlossaryEdit.editor_ref == user_ref)
        .values(editor_ref=None),
    )
    session.execute(
        update(PulsePoll)
        .where(PulsePoll.workspace_id == in_ws, PulsePoll.author_ref == user_ref)
        .values(author_ref=None)
    )
    standups_touched = 0
    for standup in session.execute(select(Standup).where(Standup.workspace_id == in_ws)).scalars():
        changed = False
        if standup.creator_ref == user_ref:
            standup.creator_ref = None
            changed = True
        if user_ref in (standup.participants or []):
            standup.participants = [p for p in standup.participants if p != user_ref]
            changed = True
        standups_touched += changed
    counts["stand-ups updated"] = standups_touched
    session.flush()
    return counts
