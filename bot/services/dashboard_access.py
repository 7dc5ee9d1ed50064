"""Dashboard sign-in: single-use links that start a session for one workspace.

A link's token and a session's id are random; only their SHA-256 hashes are stored, so
a copy of the database signs nobody in. A link is redeemed by one UPDATE that also
checks it is unused and unexpired, so it works once even with several processes on one
database. The session id travels in a cookie signed by the adapter (handlers/dashboard).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.errors import NotAllowed, NotFound
from bot.models import DashboardSession, Workspace
from bot.services.privacy import Forgotten, PrivacyHooks, rowcount, rows

LINK_LIFETIME = timedelta(minutes=10)
SESSION_LIFETIME = timedelta(hours=8)
SIGN_IN_PATH = "/dashboard/sign-in"


class LinkRefused(NotAllowed):
    """A sign-in link that is unknown, used already or expired."""


@dataclass(frozen=True)
class Viewer:
    """Who a dashboard session belongs to, and what it may see."""

    workspace_id: str
    user_ref: str
    is_admin: bool
    expires_at: datetime


@dataclass(frozen=True)
class StartedSession:
    session_id: str  # goes in the signed cookie; only its hash is stored
    viewer: Viewer


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_link(
    *, session: Session, workspace_id: str, user_ref: str, is_admin: bool, now: datetime
) -> str:
    """A new single-use sign-in token for the person, valid for LINK_LIFETIME.

    Raises:
        NotFound: no such workspace.
    """
    if session.get(Workspace, workspace_id) is None:
        raise NotFound(f"There is no workspace {workspace_id!r} in this database.")
    token = secrets.token_urlsafe(32)
    session.add(
        DashboardSession(
            workspace_id=workspace_id,
            user_ref=user_ref,
            is_admin=is_admin,
            link_hash=_hash(token),
            link_expires_at=now + LINK_LIFETIME,
            created_at=now,
        )
    )
    session.flush()
    return token


def sign_in_url(public_url: str, token: str) -> str:
    return f"{public_url}{SIGN_IN_PATH}/{token}"


def check_link(*, session: Session, token: str, now: datetime) -> None:
    """Raise LinkRefused unless the link may still be used (without using it)."""
    row = session.execute(
        select(DashboardSession.used_at, DashboardSession.link_expires_at).where(
            DashboardSession.link_hash == _hash(token)
        )
    ).one_or_none()
    _refuse_unless_usable(row, now)


def _refuse_unless_usable(row: Any, now: datetime) -> None:
    if row is None:
        raise LinkRefused(
            "This sign-in link is not valid. Ask for a new one with /bridge dashboard."
        )
    if row.used_at is not None:
        raise LinkRefused(
            "This sign-in link was used already; each link works once. "
            "Ask for a new one with /bridge dashboard."
        )
    if row.link_expires_at <= now:
        raise LinkRefused(
            "This sign-in link expired (links last 10 minutes). "
            "Ask for a new one with /bridge dashboard."
        )


def redeem(*, session: Session, token: str, now: datetime) -> StartedSession:
    """Use the link once and start a session.

    Raises:
        LinkRefused: unknown, used already (here or by another process) or expired.
    """
    session_id = secrets.token_urlsafe(32)
    expires = now + SESSION_LIFETIME
    # One statement checks and uses the link: of two processes redeeming it at once,
    # exactly one updates the row.
    used = session.execute(
        update(DashboardSession)
        .where(
            DashboardSession.link_hash == _hash(token),
            DashboardSession.used_at.is_(None),
            DashboardSession.link_expires_at > now,
        )
        .values(used_at=now, session_hash=_hash(session_id), session_expires_at=expires)
        .returning(
            DashboardSession.workspace_id, DashboardSession.user_ref, DashboardSession.is_admin
        )
    ).one_or_none()
    if used is None:
        check_link(session=session, token=token, now=now)
        raise LinkRefused("This sign-in link is not valid.")  # pragma: no cover - raced
    return StartedSession(
        session_id=session_id,
        viewer=Viewer(
            workspace_id=used.workspace_id,
            user_ref=used.user_ref,
            is_admin=used.is_admin,
            expires_at=expires,
        ),
    )


def viewer_for(*, session: Session, session_id: str, now: datetime) -> Viewer | None:
    """The session's viewer, or None when it is unknown, expired or signed out."""
    row = session.execute(
        select(
            DashboardSession.workspace_id,
            DashboardSession.user_ref,
            DashboardSession.is_admin,
            DashboardSession.session_expires_at,
        ).where(
            DashboardSession.session_hash == _hash(session_id),
            DashboardSession.ended_at.is_(None),
            DashboardSession.session_expires_at > now,
        )
    ).one_or_none()
    if row is None:
        return None
    return Viewer(row.workspace_id, row.user_ref, row.is_admin, row.session_expires_at)


def sign_out(*, session: Session, session_id: str, now: datetime) -> bool:
    """End the session everywhere (a copied cookie stops working too)."""
    ended = session.execute(
        update(DashboardSession)
        .where(
            DashboardSession.session_hash == _hash(session_id),
            DashboardSession.ended_at.is_(None),
        )
        .values(ended_at=now)
        .returning(DashboardSession.id)
    ).all()
    return bool(ended)


def export_person(*, session: Session, workspace_id: str, user_ref: str) -> dict[str, Any]:
    return {
        "dashboard_sign_ins": rows(
            session,
            select(
                DashboardSession.created_at,
                DashboardSession.used_at,
                DashboardSession.is_admin,
                DashboardSession.ended_at,
            ).where(
                DashboardSession.workspace_id == workspace_id,
                DashboardSession.user_ref == user_ref,
            ),
            ["asked_at", "signed_in_at", "as_admin", "signed_out_at"],
        )
    }


def forget_person(
    *, session: Session, workspace_id: str, user_ref: str, now: datetime
) -> Forgotten:
    """Delete the person's links and sessions: they are signed out of the dashboard."""
    count = rowcount(
        session,
        delete(DashboardSession).where(
            DashboardSession.workspace_id == workspace_id, DashboardSession.user_ref == user_ref
        ),
    )
    return Forgotten(counts={"dashboard sign-ins": count} if count else {})


HOOKS = PrivacyHooks("dashboard", export_person, forget_person)
