"""How often a person, and a workspace, may post to shared channels.

Counted from the posts' own rows (wins, challenges, quick polls) inside the transaction
that stores the new post, so every process and instance on the database sees one count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, select, union_all
from sqlalchemy.orm import Session

from bot.errors import NotAllowed
from bot.models import BoardPost, PulsePoll, Workspace

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class PostingLimits:
    """Posts allowed per person per minute and per day, and per workspace per hour."""

    per_person_minute: int = 5
    per_person_day: int = 30
    per_workspace_hour: int = 60


class PostingLimitReached(NotAllowed):
    """Over a limit; `str()` says which one and when posting works again."""

    def __init__(self, message: str, retry_at: datetime) -> None:
        super().__init__(message)
        self.retry_at = retry_at


def _post_times(workspace_id: str, since: datetime, author_ref: str | None) -> Select[tuple]:
    """When each post to a shared channel since `since` was made (by one author if given)."""
    board = select(BoardPost.created_at.label("at")).where(
        BoardPost.workspace_id == workspace_id, BoardPost.created_at > since
    )
    polls = select(PulsePoll.opened_at.label("at")).where(
        PulsePoll.workspace_id == workspace_id,
        PulsePoll.kind == "adhoc",
        PulsePoll.opened_at > since,
    )
    if author_ref is not None:
        board = board.where(BoardPost.author_ref == author_ref)
        polls = polls.where(PulsePoll.author_ref == author_ref)
    both = union_all(board, polls).subquery()
    return select(both.c.at).order_by(both.c.at.desc())


def _recent(
    session: Session, workspace_id: str, since: datetime, author_ref: str | None, limit: int
) -> list[datetime]:
    """The newest `limit` post times since `since`, newest first."""
    query = _post_times(workspace_id, since, author_ref).limit(limit)
    return list(session.execute(query).scalars())


def _free_again(
    times: list[datetime], limit: int, window: timedelta, now: datetime
) -> datetime | None:
    """When a post fits in `window` again, or None if one fits now.

    `times` are the newest first; with `limit` of them inside the window, the oldest of
    those must leave it before another post fits.
    """
    inside = [at for at in times if at > now - window]
    if len(inside) < limit:
        return None
    return inside[limit - 1] + window


def check(
    *, session: Session, workspace_id: str, author_ref: str, now: datetime, limits: PostingLimits
) -> None:
    """Refuse a post over the person's or the workspace's limit; call before storing it.

    The workspace row is locked first, so two posts made at once by any processes are
    counted one after the other (PostgreSQL; SQLite transactions already write one at
    a time) and a limit can never be passed by racing it.

    Raises:
        PostingLimitReached: with a message naming the limit and when posting works again.
    """
    session.execute(
        select(Workspace.id).where(Workspace.id == workspace_id).with_for_update(key_share=True)
    )
    newest = max(limits.per_person_minute, limits.per_person_day)
    mine = _recent(session, workspace_id, now - DAY, author_ref, newest)
    reasons = (
        (
            _free_again(mine, limits.per_person_minute, MINUTE, now),
            f"You have posted {limits.per_person_minute} times in the last minute",
        ),
        (
            _free_again(mine, limits.per_person_day, DAY, now),
            f"You have posted {limits.per_person_day} times in the last 24 hours",
        ),
    )
    for retry_at, reason in reasons:
        if retry_at is not None:
            raise PostingLimitReached(
                f"{reason}, the most bridgebot takes from one person, so this one was not posted. "
                f"You can post again {_in(retry_at - now)}.",
                retry_at,
            )
    everyone = _recent(session, workspace_id, now - HOUR, None, limits.per_workspace_hour)
    retry_at = _free_again(everyone, limits.per_workspace_hour, HOUR, now)
    if retry_at is not None:
        raise PostingLimitReached(
            f"This workspace has had {limits.per_workspace_hour} posts in the last hour, "
            f"the most bridgebot takes from one workspace, so this one was not posted. "
            f"Anyone can post again {_in(retry_at - now)}.",
            retry_at,
        )


def _in(wait: timedelta) -> str:
    """ "in 40 seconds", "in 12 minutes", "in 3 hours 5 minutes" (rounded up)."""
    seconds = max(1, int(-(-wait.total_seconds() // 1)))
    if seconds < 60:
        return f"in {seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    if minutes < 60:
        return f"in {minutes} minute{'s' if minutes != 1 else ''}"
    hours, rest = divmod(minutes, 60)
    return f"in {hours} hour{'s' if hours != 1 else ''}" + (
        f" {rest} minute{'s' if rest != 1 else ''}" if rest else ""
    )
