"""Workspaces and their settings; the first command from a new workspace creates both."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from bot.db import insert_ignoring_conflicts
from bot.models import Side, Workspace, WorkspaceSettings
from bot.services import change_feed


@dataclass(frozen=True)
class WorkspaceView:
    """A workspace's settings as the domain reads them."""

    workspace_id: str
    timezone: str
    shared_channel_ref: str | None
    labels: dict[Side, str]
    anonymity_threshold: int

    def label(self, side: Side | str | None) -> str:
        if side is None:
            return "no side"
        return self.labels[Side(side)]


def ensure_workspace(*, session: Session, workspace_id: str, platform: str, timezone: str) -> bool:
    """Create the workspace and its default settings if this is its first visit.

    Args:
        session: the caller's unit of work.
        workspace_id: Slack team id or Teams tenant id.
        platform: "slack", "teams" or "console".
        timezone: default IANA time zone for a new workspace.

    Returns:
        True if this call created the workspace (so it may be seeded).
    """
    if session.get(Workspace, workspace_id) is not None:
        return False
    created = insert_ignoring_conflicts(
        session, Workspace, {"id": workspace_id, "platform": platform}, ["id"]
    )
    insert_ignoring_conflicts(
        session,
        WorkspaceSettings,
        {"workspace_id": workspace_id, "timezone": timezone},
        ["workspace_id"],
    )
    return created


def get_workspace(*, session: Session, workspace_id: str) -> WorkspaceView:
    """The workspace's settings: as kept since they were last read, while the change feed
    heard no change to them (every glossary card shows them), else read.

    Raises:
        LookupError: the workspace was never created (ensure_workspace first).
    """
    feed = change_feed.feed_of(session)
    # A row this session holds may carry its own changes, not yet flushed: use that.
    if feed is not None and not _held_by(session, workspace_id):
        kept: WorkspaceView | None = feed.recall(change_feed.SETTINGS, workspace_id)
        if kept is not None:
            return kept
    stamp = feed.stamp(change_feed.SETTINGS, workspace_id) if feed is not None else None
    row = session.get(WorkspaceSettings, workspace_id)
    if row is None:
        raise LookupError(f"unknown workspace {workspace_id}")
    view = _view(row)
    if feed is not None and not change_feed.announcing(session, change_feed.SETTINGS, workspace_id):
        feed.remember(change_feed.SETTINGS, workspace_id, stamp, view)
    return view


def _held_by(session: Session, workspace_id: str) -> bool:
    return identity_key(WorkspaceSettings, workspace_id) in session.identity_map


def settings_row(*, session: Session, workspace_id: str) -> WorkspaceSettings:
    """The workspace's settings row, for commands that change settings."""
    return session.execute(
        select(WorkspaceSettings).where(WorkspaceSettings.workspace_id == workspace_id)
    ).scalar_one()


def set_shared_channel(*, session: Session, workspace_id: str, channel_ref: str) -> WorkspaceView:
    """Choose the channel for wins, challenges and digests."""
    row = session.execute(
        select(WorkspaceSettings).where(WorkspaceSettings.workspace_id == workspace_id)
    ).scalar_one()
    row.shared_channel_ref = channel_ref
    session.flush()
    return _view(row)


def _view(row: WorkspaceSettings) -> WorkspaceView:
    return WorkspaceView(
        workspace_id=row.workspace_id,
        timezone=row.timezone,
        shared_channel_ref=row.shared_channel_ref,
        labels={
            Side.MARKETING: row.label_marketing,
            Side.IT: row.label_it,
            Side.OTHER: row.label_other,
        },
        anonymity_threshold=row.anonymity_threshold,
    )
