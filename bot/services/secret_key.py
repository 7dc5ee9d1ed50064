"""The process-wide secret that keys pulse hashes and calendar URLs."""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from bot.db import insert_ignoring_conflicts
from bot.models import AppSecret

SECRET_KEY_NAME = "secret_key"


def ensure_secret_key(*, session: Session, configured: str | None) -> str:
    """The configured key, or the one stored on first run (generated then).

    Every instance on one database ends up with the same key, because the first
    writer wins and the others read what it stored.
    """
    if configured:
        return configured
    insert_ignoring_conflicts(
        session,
        AppSecret,
        {"name": SECRET_KEY_NAME, "value": secrets.token_urlsafe(48)},
        ["name"],
    )
    stored = session.get(AppSecret, SECRET_KEY_NAME)
    assert stored is not None
    return stored.value
