"""Delivering a neutral Reply in answer to a Slack request: respond, modal or post."""

from __future__ import annotations

import json
import logging

from slack_bolt.async_app import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.replies import Reply, Visibility
from handlers.slack.render import render_message, render_modal

logger = logging.getLogger(__name__)


def modal_metadata(form_metadata: str, channel_ref: str | None) -> str:
    """The modal's private_metadata: the form's own state plus where to answer."""
    return json.dumps({"m": form_metadata, "c": channel_ref or ""})


def read_modal_metadata(private_metadata: str) -> tuple[str, str | None]:
    try:
        data = json.loads(private_metadata or "{}")
    except ValueError:
        return "", None
    return str(data.get("m", "")), (data.get("c") or None)


async def send_reply(
    reply: Reply,
    *,
    respond: AsyncRespond,
    client: AsyncWebClient,
    trigger_id: str | None,
    channel_ref: str | None,
    user_ref: str,
) -> None:
    """Answer a command or a click: open the form, post publicly, or reply privately."""
    if reply.form is not None:
        if trigger_id is None:
            raise ValueError("a form can only be opened in answer to a person's action")
        await client.views_open(
            trigger_id=trigger_id, view=render_modal(reply.form, modal_metadata(reply.form.metadata, channel_ref))
        )
        return
    if reply.visibility is Visibility.CHANNEL:
        await respond(response_type="in_channel", replace_original=False, **render_message(reply))
    else:
        await respond(
            response_type="ephemeral", replace_original=reply.replace_original, **render_message(reply)
        )
    if reply.attachments:
        await send_files(reply, client=client, user_ref=user_ref)


async def send_files(reply: Reply, *, client: AsyncWebClient, user_ref: str) -> None:
    """Files go to the person's DM with the bot: ephemeral messages cannot carry files."""
    opened = await client.conversations_open(users=user_ref)
    dm = opened["channel"]["id"]
    for attachment in reply.attachments:
        await client.files_upload_v2(
            channel=dm, content=attachment.content, filename=attachment.filename, title=attachment.title
        )


async def post_private(
    reply: Reply, *, client: AsyncWebClient, channel_ref: str | None, user_ref: str
) -> None:
    """After a modal: an ephemeral message where it was opened, or else a DM."""
    message = render_message(reply)
    if reply.visibility is Visibility.CHANNEL and channel_ref:
        await client.chat_postMessage(channel=channel_ref, **message)
        return
    if channel_ref:
        try:
            await client.chat_postEphemeral(channel=channel_ref, user=user_ref, **message)
            return
        except SlackApiError as exc:
            logger.info("ephemeral reply failed (%s); sending a DM", exc.response.get("error"))
    await client.chat_postMessage(channel=user_ref, **message)
