"""Deleting a workspace's data for good, when an admin asks (an uninstall keeps it)."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot.models import InboxCommand, Workspace
from bot.services import change_feed


def delete_workspace(*, session: Session, workspace_id: str) -> bool:
    """Delete the workspace and every row it owns; False if there was no such workspace.

    Every tenant table references workspaces with ON DELETE CASCADE, so one statement
    removes people, glossary, stand-ups, board, pulses and scheduled deliveries alike.
    Stored commands have no such reference (a workspace's first arrives before it):
    deleted here, so none is run again into a recreated workspace.
    """
    session.execute(delete(InboxCommand).where(InboxCommand.workspace_id == workspace_id))
    deleted = session.execute(
        delete(Workspace).where(Workspace.id == workspace_id),
        execution_options={"preserve_rowcount": True},
    ).rowcount  # type: ignore[attr-defined]
    # Every process's caches let go of what they kept of it.
    for topic in (change_feed.GLOSSARY, change_feed.SETTINGS):
        change_feed.announce(session, topic, workspace_id)
    return bool(deleted)
