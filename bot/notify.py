"""The port through which scheduled jobs and services send messages to any platform."""

from __future__ import annotations

from typing import Protocol

from bot.replies import Reply


class Notifier(Protocol):
    """Sends a reply to a conversation: a channel, or a person (a direct message)."""

    async def post(self, workspace_id: str, conversation_ref: str, reply: Reply) -> str | None:
        """Post `reply`; returns the platform's message reference when it has one."""
        ...


class DeliveryError(Exception):
    """The platform refused a message for a reason retrying will not fix."""
