"""Scheduled messages to Teams (reminders, stand-up questions, digests, pulses), proactively."""

from __future__ import annotations

from bot.replies import Reply
from handlers.teams.connector import delivering_queued
from handlers.teams.runtime import TeamsRuntime


class TeamsNotifier:
    """Posts through the Bot Connector to a stored conversation reference.

    A channel_ref posts in that channel or group chat; a user_ref posts in the person's
    1:1 chat with bridgebot, opened the first time it is needed. A person or channel
    bridgebot has no reference for raises DeliveryError, which the scheduler records.
    """

    def __init__(self, runtime: TeamsRuntime) -> None:
        self._runtime = runtime

    async def post(self, workspace_id: str, conversation_ref: str, reply: Reply) -> str | None:
        # A scheduled message: its retries may wait, and long ones put it off.
        with delivering_queued():
            return await self._runtime.post(workspace_id, conversation_ref, reply)

    async def update(
        self, workspace_id: str, conversation_ref: str, message_ref: str, reply: Reply
    ) -> None:
        """Replace a posted message's card (MessageGone if Teams no longer has it)."""
        with delivering_queued():  # as a scheduled post: long waits put it off
            await self._runtime.update(workspace_id, conversation_ref, message_ref, reply)
