"""The wins & challenges board: posts, celebrations, helpers, and the weekly numbers."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bot.db import insert_ignoring_conflicts
from bot.errors import Invalid, NotAllowed, NotFound
from bot.models import BoardPost, Celebration, ChallengeHelper, Person, Side

KINDS = ("win", "challenge")
MAX_TEXT = 2000
LIST_LIMIT = 10
OPEN, IN_PROGRESS, RESOLVED = "open", "in_progress", "resolved"


class PostNotFound(NotFound):
    """Deleted (forget-me, the workspace's removal), or another workspace's post."""

    def __init__(self, post_id: int) -> None:
        super().__init__("That post no longer exists.")
        self.post_id = post_id


class BoardRefused(NotAllowed):
    """Not allowed or not possible (resolve by a stranger, help with one's own challenge)."""


@dataclass(frozen=True)
class PostView:
    id: int
    workspace_id: str
    kind: str
    author_ref: str | None
    author_side: Side | None
    text: str
    status: str
    source: str
    channel_ref: str
    message_ref: str | None
    permalink: str | None
    created_at: datetime
    celebrators: tuple[str, ...]
    helpers: tuple[tuple[str, Side | None], ...]


@dataclass(frozen=True)
class WeekNumbers:
    """What the weekly digest reports."""

    start: datetime
    end: datetime
    wins_by_side: dict[str, int]
    challenges_by_side: dict[str, int]
    helped_across: int
    helped_across_examples: list[PostView]
    stale_open: list[PostView]
    top_wins: list[PostView]


def validate_text(kind: str, text: str) -> str:
    """The text to post, or Invalid with a clear message."""
    cleaned = text.strip()
    if not cleaned:
        example = (
            "shipped the new pricing page with IT"
            if kind == "win"
            else "our campaign data arrives a day late"
        )
        raise Invalid(f"Write your {kind} after the command, e.g. /{kind} {example}.")
    if len(cleaned) > MAX_TEXT:
        raise Invalid(
            f"That {kind} is {len(cleaned):,} characters; keep it under {MAX_TEXT:,} so people read it."
        )
    return cleaned


def _side_of(session: Session, workspace_id: str, user_ref: str) -> str | None:
    return session.execute(
        select(Person.side).where(Person.workspace_id == workspace_id, Person.user_ref == user_ref)
    ).scalar_one_or_none()


def create_post(
    *,
    session: Session,
    workspace_id: str,
    kind: str,
    author_ref: str,
    text: str,
    channel_ref: str,
    now: datetime,
    source: str = "command",
) -> PostView:
    """Store a win or challenge; the adapter posts it and records the message.

    Raises:
        Invalid: empty or over-long text.
    """
    if kind not in KINDS:
        raise ValueError(kind)
    post = BoardPost(
        workspace_id=workspace_id,
        kind=kind,
        author_ref=author_ref,
        author_side=_side_of(session, workspace_id, author_ref),
        text=validate_text(kind, text),
        status=OPEN,
        source=source,
        channel_ref=channel_ref,
        created_at=now,
    )
    session.add(post)
    session.flush()
    return get_post(session=session, workspace_id=workspace_id, post_id=post.id)


def record_message(
    *,
    session: Session,
    workspace_id: str,
    post_id: int,
    channel_ref: str,
    message_ref: str,
    permalink: str | None,
) -> None:
    session.execute(
        update(BoardPost)
        .where(BoardPost.workspace_id == workspace_id, BoardPost.id == post_id)
        .values(channel_ref=channel_ref, message_ref=message_ref, permalink=permalink)
    )


def _row(session: Session, workspace_id: str, post_id: int) -> BoardPost:
    row = session.execute(
        select(BoardPost).where(BoardPost.workspace_id == workspace_id, BoardPost.id == post_id)
    ).scalar_one_or_none()
    if row is None:
        raise PostNotFound(post_id)
    return row


def get_post(*, session: Session, workspace_id: str, post_id: int) -> PostView:
    row = _row(session, workspace_id, post_id)
    return _views(session, [row])[0]


def toggle_celebration(
    *, session: Session, workspace_id: str, post_id: int, user_ref: str, now: datetime
) -> bool:
    """Celebrate a win, or take the celebration back; True if now celebrating.

    Insert-or-delete on a unique (post, person) row keeps the count right under
    concurrent clicks from many people.
    """
    row = _row(session, workspace_id, post_id)
    if row.kind != "win":
        raise BoardRefused("Only wins can be celebrated.")
    inserted = insert_ignoring_conflicts(
        session,
        Celebration,
        {"workspace_id": workspace_id, "post_id": post_id, "user_ref": user_ref, "created_at": now},
        ["post_id", "user_ref"],
    )
    if inserted:
        return True
    session.execute(
        delete(Celebration).where(Celebration.post_id == post_id, Celebration.user_ref == user_ref)
    )
    return False


def offer_help(
    *, session: Session, workspace_id: str, post_id: int, helper_ref: str, now: datetime
) -> PostView:
    """Record a helper; the challenge moves to in progress.

    Raises:
        BoardRefused: one's own challenge, a resolved one, or not a challenge.
    """
    row = _row(session, workspace_id, post_id)
    if row.kind != "challenge":
        raise BoardRefused("Only challenges take helpers.")
    if row.status == RESOLVED:
        raise BoardRefused("That challenge is already resolved.")
    if row.author_ref == helper_ref:
        raise BoardRefused("That is your own challenge; others can offer help.")
    inserted = insert_ignoring_conflicts(
        session,
        ChallengeHelper,
        {
            "workspace_id": workspace_id,
            "post_id": post_id,
            "helper_ref": helper_ref,
            "helper_side": _side_of(session, workspace_id, helper_ref),
            "created_at": now,
        },
        ["post_id", "helper_ref"],
    )
    if not inserted:
        raise BoardRefused("You are already helping with this challenge.")
    if row.status == OPEN:
        row.status = IN_PROGRESS
    session.flush()
    return get_post(session=session, workspace_id=workspace_id, post_id=post_id)


def help_offer_id(*, session: Session, workspace_id: str, post_id: int, helper_ref: str) -> int:
    """The id of a recorded offer of help (what its note to the author is queued under)."""
    return session.execute(
        select(ChallengeHelper.id).where(
            ChallengeHelper.workspace_id == workspace_id,
            ChallengeHelper.post_id == post_id,
            ChallengeHelper.helper_ref == helper_ref,
        )
    ).scalar_one()


def get_help_offer(
    *, session: Session, workspace_id: str, offer_id: int
) -> tuple[PostView, str, Side | None] | None:
    """The challenge, the helper and their side for an offer; None once it is gone
    (the helper asked to be forgotten, or the challenge was deleted)."""
    row = session.execute(
        select(ChallengeHelper).where(
            ChallengeHelper.workspace_id == workspace_id, ChallengeHelper.id == offer_id
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    view = get_post(session=session, workspace_id=workspace_id, post_id=row.post_id)
    side = Side(row.helper_side) if row.helper_side else None
    return view, row.helper_ref, side


def resolve(
    *, session: Session, workspace_id: str, post_id: int, user_ref: str, now: datetime
) -> PostView:
    """Close a challenge (its author or a helper only).

    Raises:
        BoardRefused: anyone else, or already resolved.
    """
    row = _row(session, workspace_id, post_id)
    view = _views(session, [row])[0]
    if row.kind != "challenge":
        raise BoardRefused("Only challenges are resolved.")
    if user_ref != row.author_ref and user_ref not in {h for h, _ in view.helpers}:
        raise BoardRefused("Only the author or someone helping can mark this challenge resolved.")
    if row.status == RESOLVED:
        raise BoardRefused("That challenge is already resolved.")
    row.status = RESOLVED
    row.resolved_at = now
    row.resolved_by = user_ref
    session.flush()
    return get_post(session=session, workspace_id=workspace_id, post_id=post_id)


def recent(
    *,
    session: Session,
    workspace_id: str,
    kind: str,
    only_open: bool = False,
    limit: int = LIST_LIMIT,
) -> list[PostView]:
    query = select(BoardPost).where(BoardPost.workspace_id == workspace_id, BoardPost.kind == kind)
    if only_open:
        query = query.where(BoardPost.status != RESOLVED)
    rows = (
        session.execute(
            query.order_by(BoardPost.created_at.desc(), BoardPost.id.desc()).limit(limit)
        )
        .scalars()
        .all()
    )
    return _views(session, list(rows))


def week_numbers(
    *, session: Session, workspace_id: str, end: datetime, start: datetime | None = None
) -> WeekNumbers:
    """The week [start, end) (by default the 7 days before `end`): counts by side, help
    across sides, challenges open since before it, top wins."""
    start = start or end - timedelta(days=7)
    rows = (
        session.execute(
            select(BoardPost).where(
                BoardPost.workspace_id == workspace_id,
                BoardPost.created_at >= start,
                BoardPost.created_at < end,
            )
        )
        .scalars()
        .all()
    )
    week = _views(session, list(rows))
    wins = Counter(str(p.author_side or "none") for p in week if p.kind == "win")
    challenges = Counter(str(p.author_side or "none") for p in week if p.kind == "challenge")
    helpers = session.execute(
        select(BoardPost.id, BoardPost.author_side, ChallengeHelper.helper_side)
        .join(ChallengeHelper, ChallengeHelper.post_id == BoardPost.id)
        .where(
            BoardPost.workspace_id == workspace_id,
            ChallengeHelper.created_at >= start,
            ChallengeHelper.created_at < end,
        )
    ).all()
    sides = {Side.MARKETING.value, Side.IT.value}
    across_ids = sorted(
        {
            pid
            for pid, author, helper in helpers
            if author in sides and helper in sides and author != helper
        }
    )
    across = (
        _views(
            session,
            list(session.execute(select(BoardPost).where(BoardPost.id.in_(across_ids))).scalars()),
        )
        if across_ids
        else []
    )
    stale_rows = (
        session.execute(
            select(BoardPost)
            .where(
                BoardPost.workspace_id == workspace_id,
                BoardPost.kind == "challenge",
                BoardPost.status != RESOLVED,
                BoardPost.created_at < start,
            )
            .order_by(BoardPost.created_at)
            .limit(10)
        )
        .scalars()
        .all()
    )
    top = sorted(
        (p for p in week if p.kind == "win" and p.celebrators),
        key=lambda p: (-len(p.celebrators), p.created_at),
    )
    return WeekNumbers(
        start=start,
        end=end,
        wins_by_side=dict(wins),
        challenges_by_side=dict(challenges),
        helped_across=len(across_ids),
        helped_across_examples=across[:3],
        stale_open=_views(session, list(stale_rows)),
        top_wins=top[:3],
    )


def _views(session: Session, rows: list[BoardPost]) -> list[PostView]:
    if not rows:
        return []
    ids = [row.id for row in rows]
    celebrators: dict[int, list[str]] = {}
    for post_id, user in session.execute(
        select(Celebration.post_id, Celebration.user_ref)
        .where(Celebration.post_id.in_(ids))
        .order_by(Celebration.id)
    ):
        celebrators.setdefault(post_id, []).append(user)
    helpers: dict[int, list[tuple[str, Side | None]]] = {}
    for post_id, helper, side in session.execute(
        select(ChallengeHelper.post_id, ChallengeHelper.helper_ref, ChallengeHelper.helper_side)
        .where(ChallengeHelper.post_id.in_(ids))
        .order_by(ChallengeHelper.id)
    ):
        helpers.setdefault(post_id, []).append((helper, Side(side) if side else None))
    return [
        PostView(
            id=row.id,
            workspace_id=row.workspace_id,
            kind=row.kind,
            author_ref=row.author_ref,
            author_side=Side(row.author_side) if row.author_side else None,
            text=row.text,
            status=row.status,
            source=row.source,
            channel_ref=row.channel_ref,
            message_ref=row.message_ref,
            permalink=row.permalink,
            created_at=row.created_at,
            celebrators=tuple(celebrators.get(row.id, ())),
            helpers=tuple(helpers.get(row.id, ())),
        )
        for row in rows
    ]


def celebration_count(*, session: Session, post_id: int) -> int:
    return session.execute(
        select(func.count()).select_from(Celebration).where(Celebration.post_id == post_id)
    ).scalar_one()
