"""Calls to the Bot Connector service through the Teams SDK, retried when Teams asks.

Every call names the service URL Teams gave with the conversation, so tests point the
activities' serviceUrl at a fake on 127.0.0.1 and no call ever leaves the machine.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
from microsoft_teams.api import Account, ApiClient, ConversationAccount
from microsoft_teams.api.activities.message.message import MessageActivityInput
from microsoft_teams.api.clients.conversation.params import CreateConversationParams
from microsoft_teams.api.models.attachment.attachment import Attachment
from microsoft_teams.api.models.conversation.conversation_reference import ConversationReference
from microsoft_teams.apps.activity_send import send_or_update_activity
from prometheus_client import Counter

from bot.metrics import REGISTRY
from bot.notify import DeliveryDeferred, DeliveryError
from handlers.teams.render import CARD_CONTENT_TYPE

logger = logging.getLogger(__name__)

T = TypeVar("T")

TEAMS_API_RETRIES = Counter(
    "bridgebot_teams_api_retries_total",
    "Bot Connector calls retried, by reason",
    ["reason"],
    registry=REGISTRY,
)

MAX_ATTEMPTS = 4
# Retry-After beyond this is not waited out here; the scheduler tries again later.
MAX_WAIT_SECONDS = 15.0
RETRY_STATUSES = {429, 502, 503, 504}


class StillThrottled(DeliveryDeferred):
    """Teams kept answering 429: a scheduled message is put off, using none of its attempts."""


def _wait(response: httpx.Response, attempt: int) -> float:
    header = response.headers.get("Retry-After", "")
    try:
        return min(float(header), MAX_WAIT_SECONDS)
    except ValueError:
        return min(0.5 * 2**attempt, MAX_WAIT_SECONDS)


async def with_retries(label: str, call: Callable[[], Awaitable[T]]) -> T:
    """Run a Bot Connector call; 429 and 502-504 are retried after Retry-After.

    A refused connection is retried too (nothing was delivered). 4xx answers other than
    429 become DeliveryError: the bot was removed, or the conversation is gone. A 429 to
    the last attempt is StillThrottled: being throttled delays a message, never fails it.
    """
    for attempt in range(MAX_ATTEMPTS):
        last = attempt == MAX_ATTEMPTS - 1
        try:
            return await call()
        except httpx.HTTPStatusError as exc:
            status = exc.response.status_code
            if status in RETRY_STATUSES and not last:
                reason = "rate_limited" if status == 429 else "server_error"
                TEAMS_API_RETRIES.labels(reason=reason).inc()
                logger.info("retrying Teams %s after %s", label, status)
                await asyncio.sleep(_wait(exc.response, attempt))
                continue
            if status == 429:
                raise StillThrottled(
                    f"Teams throttled {label} {MAX_ATTEMPTS} times in a row",
                    retry_after=_wait(exc.response, attempt),
                ) from exc
            if 400 <= status < 500:
                raise DeliveryError(f"Teams refused {label}: HTTP {status}") from exc
            raise
        except httpx.ConnectError:
            if last:
                raise
            TEAMS_API_RETRIES.labels(reason="connection_error").inc()
            await asyncio.sleep(0.5 * 2**attempt)
    raise AssertionError("unreachable")


def card_activity(card: dict[str, Any], summary: str) -> MessageActivityInput:
    """A message carrying one Adaptive Card; `summary` is the notification text."""
    attachment = Attachment(content_type=CARD_CONTENT_TYPE, content=card)
    # `summary` (the notification text) is not in the SDK's model; it passes through as extra.
    extra: dict[str, Any] = {"summary": summary or "bridgebot"}
    return MessageActivityInput(attachments=[attachment], **extra)


class Connector:
    """The Bot Connector calls bridgebot makes: post, update, open a 1:1 chat, look up."""

    def __init__(self, api: ApiClient, app_id: str) -> None:
        self._api = api
        self.bot_id = f"28:{app_id}"

    def _ref(self, service_url: str, conversation_id: str) -> ConversationReference:
        return ConversationReference(
            channel_id="msteams",
            service_url=service_url,
            bot=Account(id=self.bot_id),
            conversation=ConversationAccount(id=conversation_id),
        )

    async def send(
        self, service_url: str, conversation_id: str, card: dict[str, Any], summary: str
    ) -> str:
        """Post a card; returns the new message's id."""
        activity = card_activity(card, summary)
        sent = await with_retries(
            "message",
            lambda: send_or_update_activity(
                self._api, activity.model_copy(), self._ref(service_url, conversation_id)
            ),
        )
        return str(sent.id)

    async def update(
        self,
        service_url: str,
        conversation_id: str,
        activity_id: str,
        card: dict[str, Any],
        summary: str,
    ) -> None:
        """Replace a message's card in place (everyone sees the new one)."""
        activity = card_activity(card, summary)
        activity.id = activity_id
        await with_retries(
            "update",
            lambda: send_or_update_activity(
                self._api, activity.model_copy(), self._ref(service_url, conversation_id)
            ),
        )

    async def open_personal(self, service_url: str, tenant_id: str, member_id: str) -> str:
        """The 1:1 chat between the bot and a person (created, or found, by Teams)."""
        # Fields the SDK's model leaves out; Teams needs them to open a 1:1 chat.
        extra: dict[str, Any] = {"isGroup": False, "bot": Account(id=self.bot_id)}
        params = CreateConversationParams(
            members=[Account(id=member_id)],
            tenant_id=tenant_id,
            channel_data={"tenant": {"id": tenant_id}},
            **extra,
        )
        api = self._api.clone(service_url=service_url)
        resource = await with_retries(
            "create conversation", lambda: api.conversations.create(params)
        )
        return resource.id

    async def member_id(self, service_url: str, conversation_id: str, user_ref: str) -> str | None:
        """A person's 29:… id from a team or chat they are in (user_ref may be an Entra id)."""
        api = self._api.clone(service_url=service_url)
        try:
            member = await with_retries(
                "member lookup",
                lambda: api.conversations.get_member_by_id(conversation_id, user_ref),
            )
        except DeliveryError:
            return None
        return member.id

    async def team_channels(self, service_url: str, team_id: str) -> list[tuple[str, str]]:
        """(channel id, name) of a team's channels; the General channel has no name."""
        api = self._api.clone(service_url=service_url)
        channels = await with_retries("channel list", lambda: api.teams.get_conversations(team_id))
        return [(channel.id, channel.name or "General") for channel in channels if channel.id]
