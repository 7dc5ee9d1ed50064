"""A person's wins, challenges, celebrations and offers of help, for export-me and forget-me."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from bot.models import BoardPost, Celebration, ChallengeHelper
from bot.services.privacy import rowcount, rows


def export_person(*, session: Session, workspace_id: str, user_ref: str) -> dict[str, Any]:
    return {
        "posts": rows(
            session,
            select(BoardPost.kind, BoardPost.text, BoardPost.status, BoardPost.created_at).where(
                BoardPost.workspace_id == workspace_id, BoardPost.author_ref == user_ref
            ),
            ["kind", "text", "status", "created_at"],
        ),
        "celebrations": rows(
            session,
            select(Celebration.post_id, Celebration.created_at).where(
                Celebration.workspace_id == workspace_id, Celebration.user_ref == user_ref
            ),
            ["post_id", "created_at"],
        ),
        "challenges_helped": rows(
            session,
            select(ChallengeHelper.post_id, ChallengeHelper.created_at).where(
                ChallengeHelper.workspace_id == workspace_id,
                ChallengeHelper.helper_ref == user_ref,
            ),
            ["post_id", "created_at"],
        ),
        "challenges_resolved": rows(
            session,
            select(BoardPost.id, BoardPost.resolved_at).where(
                BoardPost.workspace_id == workspace_id, BoardPost.resolved_by == user_ref
            ),
            ["post_id", "resolved_at"],  # others' posts by id only, as celebrations
        ),
    }


def posts_naming(*, session: Session, workspace_id: str, user_ref: str) -> list[int]:
    """Wins and challenges whose posted message shows the person (author, celebrating,
    helping, resolved by): read before forgetting, to show them again without the person."""
    queries = (
        select(BoardPost.id).where(
            BoardPost.workspace_id == workspace_id,
            or_(BoardPost.author_ref == user_ref, BoardPost.resolved_by == user_ref),
        ),
        select(Celebration.post_id).where(
            Celebration.workspace_id == workspace_id, Celebration.user_ref == user_ref
        ),
        select(ChallengeHelper.post_id).where(
            ChallengeHelper.workspace_id == workspace_id, ChallengeHelper.helper_ref == user_ref
        ),
    )
    return sorted({post_id for query in queries for post_id in session.execute(query).scalars()})


def forget_person(*, session: Session, workspace_id: str, user_ref: str) -> dict[str, int]:
    """Celebrations and offers of help go; posts stay for the team without the name."""
    counts = {
        "celebrations": rowcount(
            session,
            delete(Celebration).where(
                Celebration.workspace_id == workspace_id, Celebration.user_ref == user_ref
            ),
        ),
        "helper records": rowcount(
            session,
            delete(ChallengeHelper).where(
                ChallengeHelper.workspace_id == workspace_id,
                ChallengeHelper.helper_ref == user_ref,
            ),
        ),
        "posts anonymised": rowcount(
            session,
            update(BoardPost)
            .where(BoardPost.workspace_id == workspace_id, BoardPost.author_ref == user_ref)
            .values(author_ref=None),
        ),
    }
    session.execute(
        update(BoardPost)
        .where(BoardPost.workspace_id == workspace_id, BoardPost.resolved_by == user_ref)
        .values(resolved_by=None)
    )
    return counts
