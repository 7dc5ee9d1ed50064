"""The port through which scheduled jobs and services send messages to any platform."""

from __future__ import annotations

from typing import Protocol

from bot.replies import Reply


class Notifier(Protocol):
    """Sends a reply to a conversation: a channel, or a person (a direct message)."""

    async def post(self, workspace_id: str, conversation_ref: str, reply: Reply) -> str | None:
        """Post `reply`; returns the platform's message reference when it has one."""
        ...


class MessageUpdater(Protocol):
    """Replaces a posted message in place; notifiers whose platform can, implement it.

    Raises MessageGone when the message is no longer there (deleted by someone).
    """

    async def update(
        self, workspace_id: str, conversation_ref: str, message_ref: str, reply: Reply
    ) -> None: ...


class Permalinks(Protocol):
    """A link to a posted message; notifiers whose platform has them implement it."""

    async def permalink(
        self, workspace_id: str, conversation_ref: str, message_ref: str
    ) -> str | None: ...


class Directory(Protocol):
    """Who is in a platform user group (side sync); notifiers that can, implement it."""

    async def group_members(self, workspace_id: str, group_ref: str) -> list[str]: ...


class DeliveryDeferred(Exception):
    """Not now, through nobody's fault (the conversation is busy): try again later.

    The scheduler puts the delivery back without counting an attempt.
    """

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DeliveryError(Exception):
    """The platform refused a message for a reason retrying will not fix."""


class ConversationRefused(DeliveryError):
    """bridgebot may not post in that conversation until a person acts (invites it there).

    `remedy` says what to do, in the platform's words, to whoever's post it was.
    """

    def __init__(self, message: str, remedy: str) -> None:
        super().__init__(message)
        self.remedy = remedy


class MessageGone(DeliveryError):
    """The message to update is no longer there (someone deleted it)."""


class WorkspaceUninstalled(DeliveryError):
    """bridgebot is no longer installed in the workspace, or its token was revoked.

    Nothing reaches the workspace until it is reinstalled: the scheduler records the
    delivery as not delivered at once and does not retry it.
    """
