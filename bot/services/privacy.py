"""What bridgebot stores about a person: export it, or forget it."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, tuple_, update
from sqlalchemy.orm import Session

from bot.models import (
    BoardPost,
    Celebration,
    ChallengeHelper,
    GlossaryEdit,
    GlossaryTerm,
    Occurrence,
    Person,
    PulseAnswer,
    PulseAudience,
    PulseComment,
    PulsePoll,
    PulseRespondent,
    SideChange,
    Standup,
    StandupAnswer,
)
from bot.services.pulse import voter_hash
from bot.services.voter_unlinking import untie_voters


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

    Pulse answers are not included: they are stored under a keyed hash, not the
    person's id, and stay anonymous even to an export.
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
        "side_changes": _rows(
            session,
            select(SideChange.changed_at, SideChange.source)
            .where(SideChange.workspace_id == workspace_id, SideChange.user_ref == user_ref)
            .order_by(SideChange.changed_at),
            ["changed_at", "by"],
        ),
        "pulses_asked": _rows(
            session,
            select(PulsePoll.opened_at, PulseAudience.side)
            .join(PulsePoll, PulsePoll.id == PulseAudience.poll_id)
            .where(PulseAudience.workspace_id == workspace_id, PulseAudience.user_ref == user_ref)
            .order_by(PulsePoll.opened_at),
            ["opened_at", "your_side_then"],
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
        "standups_taking_part": [
            {"number": number, "name": name}
            for number, name, people in session.execute(
                select(Standup.number, Standup.name, Standup.participants).where(
                    Standup.workspace_id == workspace_id
                )
            )
            if user_ref in (people or [])
        ],
        "challenges_resolved": _rows(
            session,
            select(BoardPost.id, BoardPost.resolved_at).where(
                BoardPost.workspace_id == workspace_id, BoardPost.resolved_by == user_ref
            ),
            ["post_id", "resolved_at"],  # others' posts by id only, as celebrations
        ),
        "polls_asked": _rows(
            session,
            select(PulsePoll.questions, PulsePoll.options, PulsePoll.opened_at).where(
                PulsePoll.workspace_id == workspace_id, PulsePoll.author_ref == user_ref
            ),
            ["questions", "options", "opened_at"],
        ),
        "requests": _rows(
            session,
            select(Occurrence.kind, Occurrence.due_at, Occurrence.status).where(
                Occurrence.workspace_id == workspace_id, _requested_by(user_ref)
            ),
            ["kind", "due_at", "status"],
        ),
    }


def _requested_by(user_ref: str) -> Any:
    """Jobs a person asked for (a side sync): they carry the id to report back to."""
    return Occurrence.payload["requested_by"].as_string() == user_ref


def forget(
    *, session: Session, workspace_id: str, user_ref: str, secret_key: str
) -> dict[str, int]:
    """Delete the person's records and remove their name from what others still need.

    Wins, challenges and glossary entries stay (the team relies on them) but lose
    their author; pulse answers lose the hash that tied them to the person.
    """
    counts = _forget_pulse_answers(session, workspace_id, user_ref, secret_key)

    def run(label: str, statement: Any) -> None:
        counts[label] = _rowcount(session, statement)

    in_ws = workspace_id
    run("person", delete(Person).where(Person.workspace_id == in_ws, Person.user_ref == user_ref))
    run(
        "side changes",
        delete(SideChange).where(SideChange.workspace_id == in_ws, SideChange.user_ref == user_ref),
    )
    # Out of every pulse's audience too: an open one no longer takes their answers.
    run(
        "pulses you were asked",
        delete(PulseAudience).where(
            PulseAudience.workspace_id == in_ws, PulseAudience.user_ref == user_ref
        ),
    )
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
            Occurrence.workspace_id == in_ws,
            or_(Occurrence.recipient_ref == user_ref, _requested_by(user_ref)),
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


def _forget_pulse_answers(
    session: Session, workspace_id: str, user_ref: str, secret_key: str
) -> dict[str, int]:
    """Untie the person from their pulse answers: the keyed hash (person, poll) finds them.

    In an open poll their answers and comments go (and so does the person, from its
    audience). A closed poll's rows were untied from every hash when it closed, so
    nothing finds them any more; should one still carry the keyed hash, its comment
    goes and its answers stay for the totals everyone has seen, untied the same way.
    """
    polls = session.execute(
        select(PulsePoll.id, PulsePoll.status).where(PulsePoll.workspace_id == workspace_id)
    ).all()
    if not polls:
        return {}
    mine = {
        poll_id: voter_hash(secret_key, workspace_id, poll_id, user_ref) for poll_id, _ in polls
    }

    def theirs(model: Any, poll_ids: list[int]) -> Any:
        pairs = [(poll_id, mine[poll_id]) for poll_id in poll_ids]
        return and_(
            model.workspace_id == workspace_id,
            tuple_(model.poll_id, model.voter_hash).in_(pairs),
        )

    every = [poll_id for poll_id, _ in polls]
    still_open = [poll_id for poll_id, status in polls if status == "open"]
    comments = _rowcount(session, delete(PulseComment).where(theirs(PulseComment, every)))
    answers = 0
    if still_open:
        answers += _rowcount(session, delete(PulseAnswer).where(theirs(PulseAnswer, still_open)))
        session.execute(delete(PulseRespondent).where(theirs(PulseRespondent, still_open)))
    closed = [poll_id for poll_id, status in polls if status != "open"]
    answered = session.execute(
        select(PulseRespondent.poll_id).where(theirs(PulseRespondent, closed))
    ).scalars()
    for poll_id in list(answered):
        answers += (
            session.scalar(
                select(func.count()).select_from(PulseAnswer).where(theirs(PulseAnswer, [poll_id]))
            )
            or 0
        )
        untie_voters(
            session=session, workspace_id=workspace_id, poll_id=poll_id, hashes=[mine[poll_id]]
        )
    return {"pulse answers untied from you": answers, "pulse comments": comments}


def _rowcount(session: Session, statement: Any) -> int:
    return int(session.execute(statement).rowcount or 0)  # type: ignore[attr-defined]


def board_posts_naming(*, session: Session, workspace_id: str, user_ref: str) -> list[int]:
    """Wins and challenges whose posted message shows the person (author, celebrating,
    helping, resolved by): read before forget-me, to show them again without the person."""
    in_ws = workspace_id
    queries = (
        select(BoardPost.id).where(
            BoardPost.workspace_id == in_ws,
            or_(BoardPost.author_ref == user_ref, BoardPost.resolved_by == user_ref),
        ),
        select(Celebration.post_id).where(
            Celebration.workspace_id == in_ws, Celebration.user_ref == user_ref
        ),
        select(ChallengeHelper.post_id).where(
            ChallengeHelper.workspace_id == in_ws, ChallengeHelper.helper_ref == user_ref
        ),
    )
    return sorted({post_id for query in queries for post_id in session.execute(query).scalars()})
