"""One notifier for a process serving Slack and Teams: each workspace's platform decides."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.models import Workspace
from bot.notify import DeliveryError, MessageGone, Notifier
from bot.replies import Reply


class PlatformNotifier:
    """Routes each scheduled message by the `platform` column of its workspace."""

    def __init__(
        self, session_factory: sessionmaker[Session], notifiers: dict[str, Notifier]
    ) -> None:
        self._session_factory = session_factory
        self._notifiers = notifiers
        # A workspace never changes platform, so its answer is kept.
        self._platforms: dict[str, str] = {}

    async def _notifier(self, workspace_id: str) -> Notifier:
        platform = self._platforms.get(workspace_id)
        if platform is None:
            platform = await asyncio.to_thread(self._platform, workspace_id)
            if platform is not None:
                self._platforms[workspace_id] = platform
        notifier = self._notifiers.get(platform or "")
        if notifier is None:
            raise DeliveryError(f"no chat platform serves workspace {workspace_id} ({platform})")
        return notifier

    def _platform(self, workspace_id: str) -> str | None:
        with self._session_factory() as session:
            return session.execute(
                select(Workspace.platform).where(Workspace.id == workspace_id)
            ).scalar_one_or_none()

    async def post(self, workspace_id: str, conversation_ref: str, reply: Reply) -> str | None:
        notifier = await self._notifier(workspace_id)
        return await notifier.post(workspace_id, conversation_ref, reply)

    async def update(
        self, workspace_id: str, conversation_ref: str, message_ref: str, reply: Reply
    ) -> None:
        """Update a posted message in place (MessageGone where the platform cannot, so
        the caller posts it anew)."""
        notifier = await self._notifier(workspace_id)
        update = getattr(notifier, "update", None)
        if update is None:
            raise MessageGone("this platform cannot update a message")
        await update(workspace_id, conversation_ref, message_ref, reply)

    async def permalink(
        self, workspace_id: str, conversation_ref: str, message_ref: str
    ) -> str | None:
        """The platform's link to a posted message, where it has them (Slack)."""
        notifier = await self._notifier(workspace_id)
        permalink = getattr(notifier, "permalink", None)
        if permalink is None:
            return None
        link: str | None = await permalink(workspace_id, conversation_ref, message_ref)
        return link

    async def open_group(self, workspace_id: str, user_refs: list[str]) -> str:
        """A conversation with several people (Slack's group DM); a platform without them
        gets each message in each person's own chat (see schedules/pairs.py)."""
        notifier = await self._notifier(workspace_id)
        open_group = getattr(notifier, "open_group", None)
        if open_group is None:
            raise DeliveryError("this platform has no group conversations")
        conversation: str = await open_group(workspace_id, user_refs)
        return conversation

    async def group_members(self, workspace_id: str, group_ref: str) -> list[str]:
        """User groups exist on Slack only; elsewhere side sync reports it cannot run."""
        notifier = await self._notifier(workspace_id)
        group_members = getattr(notifier, "group_members", None)
        if group_members is None:
            raise DeliveryError("side sync needs Slack user groups; set sides with bridge side")
        members: list[str] = await group_members(workspace_id, group_ref)
        return members
