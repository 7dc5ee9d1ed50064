"""Glossary entries and edits by a person: exported, or kept for the team without the name."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.models import GlossaryEdit, GlossaryTerm
from bot.services import glossary
from bot.services.privacy import Forgotten, PrivacyHooks, rowcount, rows


def export_person(*, session: Session, workspace_id: str, user_ref: str) -> dict[str, Any]:
    return {
        "glossary_terms_added": rows(
            session,
            select(GlossaryTerm.name, GlossaryTerm.created_at).where(
                GlossaryTerm.workspace_id == workspace_id, GlossaryTerm.author_ref == user_ref
            ),
            ["name", "created_at"],
        ),
        "glossary_edits": rows(
            session,
            select(GlossaryEdit.term_name, GlossaryEdit.action, GlossaryEdit.at).where(
                GlossaryEdit.workspace_id == workspace_id, GlossaryEdit.editor_ref == user_ref
            ),
            ["term", "action", "at"],
        ),
    }


def forget_person(
    *, session: Session, workspace_id: str, user_ref: str, now: datetime
) -> Forgotten:
    """The team relies on the entries: they stay, without the person's name (and every
    process's kept cards are read again: the glossary revision moves on for them)."""
    authored = session.scalars(
        update(GlossaryTerm)
        .where(GlossaryTerm.workspace_id == workspace_id, GlossaryTerm.author_ref == user_ref)
        .values(author_ref=None)
        .returning(GlossaryTerm.id)
    ).all()
    edited = session.scalars(
        update(GlossaryTerm)
        .where(GlossaryTerm.workspace_id == workspace_id, GlossaryTerm.updated_by == user_ref)
        .values(updated_by=None)
        .returning(GlossaryTerm.id)
    ).all()
    if authored or edited:
        glossary.bump_revision(session, workspace_id, sorted({*authored, *edited}))
    terms = len(authored)
    edits = rowcount(
        session,
        update(GlossaryEdit)
        .where(GlossaryEdit.workspace_id == workspace_id, GlossaryEdit.editor_ref == user_ref)
        .values(editor_ref=None),
    )
    return Forgotten({"glossary terms anonymised": terms, "glossary edits anonymised": edits})


HOOKS = PrivacyHooks("glossary", export=export_person, forget=forget_person)
