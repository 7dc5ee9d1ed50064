"""A person's part in pulses, for export-me and forget-me: the pulses that asked them, the
quick polls they asked, their answers (found only through the keyed hash), and whether
they get the gap alert."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, select, tuple_, update
from sqlalchemy.orm import Session

from bot.models import (
    PulseAlertRecipient,
    PulseAnswer,
    PulseAudience,
    PulseComment,
    PulsePoll,
    PulseRespondent,
)
from bot.services.privacy import Forgotten, PrivacyHooks, rowcount, rows
from bot.services.pulse import voter_hash
from bot.services.voter_unlinking import untie_voters


def export_person(*, session: Session, workspace_id: str, user_ref: str) -> dict[str, Any]:
    """Answers are not included: stored under a keyed hash, they stay anonymous even here."""
    return {
        "pulses_asked": rows(
            session,
            select(PulsePoll.opened_at, PulseAudience.side)
            .join(PulsePoll, PulsePoll.id == PulseAudience.poll_id)
            .where(PulseAudience.workspace_id == workspace_id, PulseAudience.user_ref == user_ref)
            .order_by(PulsePoll.opened_at),
            ["opened_at", "your_side_then"],
        ),
        "polls_asked": rows(
            session,
            select(PulsePoll.questions, PulsePoll.options, PulsePoll.opened_at).where(
                PulsePoll.workspace_id == workspace_id, PulsePoll.author_ref == user_ref
            ),
            ["questions", "options", "opened_at"],
        ),
        "gap_alerts_since": rows(
            session,
            select(PulseAlertRecipient.created_at).where(
                PulseAlertRecipient.workspace_id == workspace_id,
                PulseAlertRecipient.user_ref == user_ref,
            ),
            ["you_get_the_pulse_gap_alert_since"],
        ),
    }


def forget_person(
    *, session: Session, workspace_id: str, user_ref: str, secret_key: str
) -> Forgotten:
    counts = _forget_answers(session, workspace_id, user_ref, secret_key)
    # Out of every pulse's audience too: an open one no longer takes their answers.
    counts["pulses you were asked"] = rowcount(
        session,
        delete(PulseAudience).where(
            PulseAudience.workspace_id == workspace_id, PulseAudience.user_ref == user_ref
        ),
    )
    session.execute(
        update(PulsePoll)
        .where(PulsePoll.workspace_id == workspace_id, PulsePoll.author_ref == user_ref)
        .values(author_ref=None)
    )
    counts["pulse gap alert sign-ups"] = rowcount(
        session,
        delete(PulseAlertRecipient).where(
            PulseAlertRecipient.workspace_id == workspace_id,
            PulseAlertRecipient.user_ref == user_ref,
        ),
    )
    return Forgotten(counts)


def _forget_answers(
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

    def theirs(
        model: type[PulseAnswer | PulseComment | PulseRespondent], poll_ids: list[int]
    ) -> ColumnElement[bool]:
        pairs = [(poll_id, mine[poll_id]) for poll_id in poll_ids]
        return and_(
            model.workspace_id == workspace_id,
            tuple_(model.poll_id, model.voter_hash).in_(pairs),
        )

    every = [poll_id for poll_id, _ in polls]
    still_open = [poll_id for poll_id, status in polls if status == "open"]
    comments = rowcount(session, delete(PulseComment).where(theirs(PulseComment, every)))
    answers = 0
    if still_open:
        answers += rowcount(session, delete(PulseAnswer).where(theirs(PulseAnswer, still_open)))
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


def hooks(secret_key: str) -> PrivacyHooks:
    """The pulse's hooks; answers are found with the key that hashed them."""

    def forget(*, session: Session, workspace_id: str, user_ref: str, now: datetime) -> Forgotten:
        return forget_person(
            session=session, workspace_id=workspace_id, user_ref=user_ref, secret_key=secret_key
        )

    return PrivacyHooks("pulse", export=export_person, forget=forget)
