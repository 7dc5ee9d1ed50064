"""Scheduled messages to Slack, through the Notifier port."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiohttp
from slack_sdk.errors import SlackApiError

from bot.notify import DeliveryError
from bot.replies import Reply
from bot.settings import Settings
from handlers.slack.client import make_web_client
from handlers.slack.render import render_message

TokenLookup = Callable[[str], Awaitable[str | None]]

# Errors that no retry will fix; anything else is left to the tick to try again.
PERMANENT_ERRORS = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "account_inactive",
    "user_not_found",
}


class SlackNotifier:
    """Posts through chat.postMessage with the workspace's bot token."""

    def __init__(
        self, settings: Settings, tokens: TokenLookup, session: aiohttp.ClientSession
    ) -> None:
        self._settings = settings
        self._tokens = tokens
        self._session = session

    async def post(self, workspace_id: str, conversation_ref: str, reply: Reply) -> str | None:
        token = await self._tokens(workspace_id)
        if token is None:
            raise DeliveryError(f"bridgebot is not installed in workspace {workspace_id}")
        client = make_web_client(self._settings, token=token, session=self._session)
        try:
            response = await client.chat_postMessage(
                channel=conversation_ref, **render_message(reply)
            )
        except SlackApiError as exc:
            code = exc.response.get("error")
            if code in PERMANENT_ERRORS:
                raise DeliveryError(f"Slack refused the message: {code}") from exc
            raise
        channel = str(response.get("channel") or conversation_ref)
        for attachment in reply.attachments:
            # Files (a chart) follow the message in the same conversation.
            await client.files_upload_v2(
                channel=channel,
                content=attachment.content,
                filename=attachment.filename,
                title=attachment.title,
            )
        return str(response.get("ts"))

    async def group_members(self, workspace_id: str, group_ref: str) -> list[str]:
        """Members of a Slack user group (usergroups.users.list)."""
        token = await self._tokens(workspace_id)
        if token is None:
            raise DeliveryError(f"bridgebot is not installed in workspace {workspace_id}")
        client = make_web_client(self._settings, token=token, session=self._session)
        try:
            response = await client.usergroups_users_list(usergroup=group_ref)
        except SlackApiError as exc:
            raise DeliveryError(
                f"Slack refused usergroups.users.list: {exc.response.get('error')}"
            ) from exc
        return list(response.get("users") or [])
