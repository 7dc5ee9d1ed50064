"""The Teams adapter's tables: where bridgebot reaches someone in Teams, and card files.

They sit on the domain's `Base` (one metadata, one chain of migrations) but only the
Teams store reads or writes them. Whatever walks the whole schema (migrations/env.py,
the tests) imports this module.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models import PERSON, Base, utcnow


class TeamsConversation(Base):
    """Where bridgebot can reach a person, channel or group chat in Microsoft Teams.

    Stored when the bot is installed or first messaged, so scheduled messages can be sent
    proactively. `ref` is the user_ref or channel_ref the rest of bridgebot uses.
    """

    __tablename__ = "teams_conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    ref: Mapped[str] = mapped_column(String(128), info=PERSON)
    kind: Mapped[str] = mapped_column(String(16))  # person | channel | chat
    # A channel's or chat's id; for a person, their 1:1 chat with the bot once known.
    conversation_id: Mapped[str | None] = mapped_column(String(500))
    member_id: Mapped[str | None] = mapped_column(String(200))  # a person's 29:… id
    service_url: Mapped[str] = mapped_column(String(500))
    tenant_id: Mapped[str] = mapped_column(String(64))
    team_id: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("workspace_id", "ref"),
        CheckConstraint("kind IN ('person', 'channel', 'chat')", name="kind_known"),
    )

    def __repr__(self) -> str:
        return f"TeamsConversation(workspace_id={self.workspace_id!r}, ref={self.ref!r})"


class TeamsFile(Base):
    """A file shown in a Teams card (a chart, a calendar, an export), served by its token."""

    __tablename__ = "teams_files"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    # Whom a private download was made for (their export, their calendar): forget-me
    # deletes it. None for what a channel sees (a chart posted there).
    owner_ref: Mapped[str | None] = mapped_column(String(128), info=PERSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)

    def __repr__(self) -> str:
        return f"TeamsFile(filename={self.filename!r})"
