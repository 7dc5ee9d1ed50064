"""Teams conversation references and card files in the database.

A reference says where bridgebot can reach a person, channel or group chat without
being asked first (reminders, pulses, digests). Every query is scoped to a workspace
(a Microsoft 365 tenant), so nothing is ever looked up across tenants.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.models import Person
from bot.services.privacy import Forgotten, rowcount, rows
from handlers.teams.models import TeamsConversation, TeamsFile

PERSON = "person"
CHANNEL = "channel"
CHAT = "chat"


@dataclass(frozen=True)
class Reference:
    ref: str
    kind: str
    conversation_id: str | None
    member_id: str | None
    service_url: str
    tenant_id: str
    team_id: str | None
    name: str | None


def _view(row: TeamsConversation) -> Reference:
    return Reference(
        ref=row.ref, kind=row.kind, conversation_id=row.conversation_id, member_id=row.member_id,
        service_url=row.service_url, tenant_id=row.tenant_id, team_id=row.team_id, name=row.name,
    )  # fmt: skip


def _row(session: Session, workspace_id: str, ref: str) -> TeamsConversation | None:
    return session.execute(
        select(TeamsConversation).where(
            TeamsConversation.workspace_id == workspace_id, TeamsConversation.ref == ref
        )
    ).scalar_one_or_none()


def remember(
    *,
    session: Session,
    workspace_id: str,
    ref: str,
    kind: str,
    service_url: str,
    tenant_id: str,
    conversation_id: str | None = None,
    member_id: str | None = None,
    team_id: str | None = None,
    name: str | None = None,
) -> None:
    """Store or refresh a reference; values not given keep what was stored."""
    known = {
        "conversation_id": conversation_id, "member_id": member_id, "team_id": team_id,
        "name": name[:200] if name else None,
    }  # fmt: skip
    row = _row(session, workspace_id, ref)
    if row is None:
        try:
            with session.begin_nested():
                session.add(
                    TeamsConversation(
                        workspace_id=workspace_id,
                        ref=ref,
                        kind=kind,
                        service_url=service_url,
                        tenant_id=tenant_id,
                        **known,
                    )  # fmt: skip
                )
            return
        except IntegrityError:
            # Another request stored it a moment ago; update that one instead.
            row = _row(session, workspace_id, ref)
            if row is None:
                raise
    row.service_url = service_url
    row.tenant_id = tenant_id
    for column, value in known.items():
        if value is not None and getattr(row, column) != value:
            setattr(row, column, value)


def find(*, session: Session, workspace_id: str, ref: str) -> Reference | None:
    row = _row(session, workspace_id, ref)
    return _view(row) if row else None


def set_personal_conversation(
    *, session: Session, workspace_id: str, ref: str, conversation_id: str
) -> None:
    """Remember a person's 1:1 chat with the bot once it exists."""
    row = _row(session, workspace_id, ref)
    if row is not None:
        row.conversation_id = conversation_id


def forget_team(*, session: Session, workspace_id: str, team_id: str) -> None:
    """bridgebot left the team (or it was deleted): its channels can no longer be used."""
    session.execute(
        delete(TeamsConversation).where(
            TeamsConversation.workspace_id == workspace_id,
            TeamsConversation.team_id == team_id,
            TeamsConversation.kind == CHANNEL,
        )
    )


def forget_channel(*, session: Session, workspace_id: str, ref: str) -> None:
    """A channel was deleted: no longer offered, no longer accepted."""
    session.execute(
        delete(TeamsConversation).where(
            TeamsConversation.workspace_id == workspace_id,
            TeamsConversation.ref == ref,
            TeamsConversation.kind == CHANNEL,
        )
    )


def forget_chat(*, session: Session, workspace_id: str, ref: str) -> None:
    """bridgebot was removed from a group chat (or uninstalled there): no more posts to it."""
    session.execute(
        delete(TeamsConversation).where(
            TeamsConversation.workspace_id == workspace_id,
            TeamsConversation.ref == ref,
            TeamsConversation.kind == CHAT,
        )
    )


def forget_personal_chat(*, session: Session, workspace_id: str, user_ref: str) -> None:
    """The person uninstalled bridgebot's personal app: their 1:1 chat is gone. Their
    member id stays, so a 1:1 chat can be opened again where Teams allows it (a team
    that has bridgebot and them)."""
    session.execute(
        update(TeamsConversation)
        .where(_persons_reference(workspace_id, user_ref))
        .values(conversation_id=None)
    )


def conversations(*, session: Session, workspace_id: str) -> list[Reference]:
    """The channels and group chats bridgebot knows in this workspace, by name."""
    rows = session.execute(
        select(TeamsConversation)
        .where(
            TeamsConversation.workspace_id == workspace_id,
            TeamsConversation.kind.in_((CHANNEL, CHAT)),
        )
        .order_by(TeamsConversation.name, TeamsConversation.ref)
    ).scalars()
    return [_view(row) for row in rows]


def names(*, session: Session, workspace_id: str, refs: set[str]) -> dict[str, str]:
    """Display names for people and channels (names people set in bridgebot come second)."""
    if not refs:
        return {}
    found: dict[str, str] = {}
    people = session.execute(
        select(Person.user_ref, Person.display_name).where(
            Person.workspace_id == workspace_id, Person.user_ref.in_(refs)
        )
    )
    for ref, name in people:
        if name:
            found[ref] = name
    stored = session.execute(
        select(TeamsConversation.ref, TeamsConversation.name).where(
            TeamsConversation.workspace_id == workspace_id, TeamsConversation.ref.in_(refs)
        )
    )
    for ref, name in stored:
        if name:
            found[ref] = name
    return found


# -- files shown in cards ----------------------------------------------------------------

IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
}
FILE_TYPES = {
    ".ics": "text/calendar; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".json": "application/json",
}
# Images stay while the cards showing them are read; other files are personal downloads.
IMAGE_LIFETIME = timedelta(days=90)
FILE_LIFETIME = timedelta(days=1)


def content_type(filename: str) -> str:
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return IMAGE_TYPES.get(suffix) or FILE_TYPES.get(suffix) or "application/octet-stream"


def is_image(filename: str) -> bool:
    return content_type(filename).startswith("image/")


def save_file(
    *,
    session: Session,
    workspace_id: str,
    filename: str,
    content: bytes,
    now: datetime,
    owner_ref: str | None = None,
) -> str:
    """Store a file for a card; returns its unguessable token. Expired files are dropped.

    `owner_ref` is the person a private download was made for (forget-me deletes it).
    """
    session.execute(delete(TeamsFile).where(TeamsFile.expires_at < now))
    token = secrets.token_urlsafe(24)
    lifetime = IMAGE_LIFETIME if is_image(filename) else FILE_LIFETIME
    session.add(
        TeamsFile(
            token=token,
            workspace_id=workspace_id,
            filename=filename[:200],
            content_type=content_type(filename),
            content=content,
            owner_ref=owner_ref,
            created_at=now,
            expires_at=now + lifetime,
        )  # fmt: skip
    )
    return token


@dataclass(frozen=True)
class StoredFile:
    filename: str
    content_type: str
    content: bytes


def load_file(*, session: Session, token: str, now: datetime) -> StoredFile | None:
    row = session.get(TeamsFile, token)
    if row is None or row.expires_at < now:
        return None
    return StoredFile(row.filename, row.content_type, row.content)


# -- what forget-me and export-me do here ----------------------------------------------


def _persons_reference(workspace_id: str, user_ref: str) -> ColumnElement[bool]:
    return and_(
        TeamsConversation.workspace_id == workspace_id,
        TeamsConversation.ref == user_ref,
        TeamsConversation.kind == PERSON,
    )


def _persons_files(workspace_id: str, user_ref: str) -> ColumnElement[bool]:
    return and_(TeamsFile.workspace_id == workspace_id, TeamsFile.owner_ref == user_ref)


def export_person(*, session: Session, workspace_id: str, user_ref: str) -> dict[str, Any]:
    """Where Teams reaches the person, and the files made for them (named, not copied)."""
    return {
        "teams_contact": rows(
            session,
            select(
                TeamsConversation.name,
                TeamsConversation.member_id,
                TeamsConversation.conversation_id,
                TeamsConversation.tenant_id,
                TeamsConversation.service_url,
                TeamsConversation.updated_at,
            ).where(_persons_reference(workspace_id, user_ref)),
            ["name", "member_id", "chat_id", "tenant_id", "service_url", "updated_at"],
        ),
        "teams_files": rows(
            session,
            select(TeamsFile.filename, TeamsFile.created_at, TeamsFile.expires_at)
            .where(_persons_files(workspace_id, user_ref))
            .order_by(TeamsFile.created_at),
            ["filename", "created_at", "expires_at"],
        ),
    }


def forget_person(
    *, session: Session, workspace_id: str, user_ref: str, now: datetime
) -> Forgotten:
    """Drop where the person can be reached, and the files made for them."""
    reference = delete(TeamsConversation).where(_persons_reference(workspace_id, user_ref))
    files = delete(TeamsFile).where(_persons_files(workspace_id, user_ref))
    return Forgotten(
        {
            "where Teams reaches you": rowcount(session, reference),
            "your files": rowcount(session, files),
        }
    )
