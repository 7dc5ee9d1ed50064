"""Delivering a neutral Reply in answer to a Slack request: respond, modal, files, outbox."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from slack_bolt.async_app import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.home import HOME_CONVERSATION
from bot.replies import Outgoing, Reply, Visibility
from bot.router import RequestScope, run_refresh
from handlers.slack.render import render_blocks, render_message, render_modal
from handlers.slack.request_scope import run_resolving_admin
from handlers.slack.runtime import SlackRuntime

logger = logging.getLogger(__name__)


@dataclass
class Answering:
    """Everything needed to answer one Slack request."""

    client: AsyncWebClient
    runtime: SlackRuntime
    scope: RequestScope  # the request's scope, for refreshing what it changed
    user_ref: str
    channel_ref: str | None
    trigger_id: str | None = None
    respond: AsyncRespond | None = None
    wake: Callable[[], None] = lambda: None


def modal_metadata(form_metadata: str, channel_ref: str | None) -> str:
    """The modal's private_metadata: the form's own state plus where to answer."""
    return json.dumps({"m": form_metadata, "c": channel_ref or ""})


def read_modal_metadata(private_metadata: str) -> tuple[str, str | None]:
    try:
        data = json.loads(private_metadata or "{}")
    except ValueError:
        return "", None
    return str(data.get("m", "")), (data.get("c") or None)


async def send_reply(reply: Reply, answering: Answering) -> None:
    """Answer a command or a click: open the form, post, or reply privately; then the outbox."""
    client = answering.client
    if reply.form is not None:
        if answering.trigger_id is None:
            raise ValueError("a form can only be opened in answer to a person's action")
        await client.views_open(
            trigger_id=answering.trigger_id,
            view=render_modal(
                reply.form, modal_metadata(reply.form.metadata, answering.channel_ref)
            ),
        )
    elif reply.blocks and answering.respond is not None:
        if reply.visibility is Visibility.CHANNEL:
            await answering.respond(
                response_type="in_channel", replace_original=False, **render_message(reply)
            )
        else:
            await answering.respond(
                response_type="ephemeral",
                replace_original=reply.replace_original,
                **render_message(reply),
            )
    elif reply.blocks:
        await post_private(reply, answering)
    if reply.attachments:
        await send_files(reply, answering)
    if reply.wake_scheduler:
        # New posts were queued with the command's work: the scheduler sends them now.
        answering.wake()
    for outgoing in reply.outbox:
        await refresh_message(outgoing, answering)


async def send_files(reply: Reply, answering: Answering) -> None:
    """Files go to the person's DM with the bot: ephemeral messages cannot carry files."""
    opened = await answering.client.conversations_open(users=answering.user_ref)
    dm = opened["channel"]["id"]
    for attachment in reply.attachments:
        await answering.client.files_upload_v2(
            channel=dm,
            content=attachment.content,
            filename=attachment.filename,
            title=attachment.title,
        )


async def refresh_message(outgoing: Outgoing, answering: Answering) -> None:
    """Update an item's message in place with how it stands now."""
    client = answering.client
    key = outgoing.refresh_key
    waiting = answering.runtime.refresh_waiting
    if key in waiting:
        # An update of this message is already queued; it will read this change too.
        return
    waiting.add(key)
    # Re-render inside the lock so the last update to go out shows the latest state.
    async with answering.runtime.refresh_locks[key]:
        waiting.discard(key)
        fresh, answering.scope = await run_resolving_admin(
            answering.scope,
            lambda scope: run_refresh(scope, key),
            client=client,
            runtime=answering.runtime,
        )
        if fresh is not None:
            where, message = fresh
            if where.conversation_ref == HOME_CONVERSATION:
                await publish_home(client, where.message_ref, message)
            else:
                await client.chat_update(
                    channel=where.conversation_ref,
                    ts=where.message_ref,
                    **render_message(message),
                )


async def publish_home(client: AsyncWebClient, user_ref: str, reply: Reply) -> None:
    await client.views_publish(
        user_id=user_ref, view={"type": "home", "blocks": render_blocks(reply)}
    )


async def post_private(reply: Reply, answering: Answering) -> None:
    """With no response_url (after a modal): ephemeral where it was opened, else a DM."""
    client, channel_ref, user_ref = answering.client, answering.channel_ref, answering.user_ref
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
