"""Remembering which platform requests were handled, so retries are acknowledged but skipped."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot.db import insert_ignoring_conflicts
from bot.models import ProcessedRequest

KEEP_FOR = timedelta(days=1)


def first_time(*, session: Session, key: str, now: datetime) -> bool:
    """True the first time `key` is seen (by any instance sharing the database)."""
    return insert_ignoring_conflicts(
        session, ProcessedRequest, {"key": key[:200], "received_at": now}, ["key"]
    )


def forget_old(session: Session, now: datetime) -> None:
    """Drop ids older than a day; Slack stops retrying long before that."""
    session.execute(delete(ProcessedRequest).where(ProcessedRequest.received_at < now - KEEP_FOR))
