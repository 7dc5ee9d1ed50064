"""Posts queued in the delivery table, in the same transaction that stored what they show.

A command that stores a win, a challenge or a quick poll queues its post here before it
commits: the item and its delivery exist together or not at all, so a crash or a run of
rate limits can delay a post but never lose it (schedules/channel_posts.py delivers).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.services import occurrences

# Occurrence kinds: the post itself, and the note to its author if it cannot be posted.
CHANNEL_POST = "channel_post"
POST_REFUSED = "channel_post.refused"


def queue_post(*, session: Session, workspace_id: str, key: str, now: datetime) -> None:
    """Queue the first post of the outbox item `key` (e.g. "board:42"), due now.

    The message is rendered when it is delivered, from the item as it stands then, so
    nothing a person typed is copied into the delivery table.
    """
    occurrences.schedule(
        session=session, workspace_id=workspace_id, kind=CHANNEL_POST, subject_ref=key, due_at=now
    )
