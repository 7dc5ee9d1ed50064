"""Calls to the Bot Connector service through the Teams SDK: paced, retried, size-checked.

Every call names the service URL Teams gave with the conversation, so tests point the
activities' serviceUrl at a fake on 127.0.0.1 and no call ever leaves the machine.

Calls are paced per conversation and per tenant (handlers/teams/pacing.py). Teams asks
for retries on 429, 412, 502 and 504, with exponential backoff and jitter. How a retry
waits depends on who is waiting:

- a scheduled message (inside `delivering_queued()`) waits for short holds and is put
  off, back into the delivery table, for long ones: a Retry-After of two minutes puts
  it off two minutes, and nothing is sent to that conversation meanwhile;
- anything else answers a person's message or click while Teams holds their request
  open: it is tried once, and its retries go on in the background after the request has
  been answered. A lookup whose result the answer needs cannot wait in the background:
  it fails at once with TeamsBusy, saying to try again in a moment.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from typing import Any, TypeVar

import httpx
from microsoft_teams.api import Account, ApiClient, ConversationAccount, SentActivity
from microsoft_teams.api.activities.message.message import MessageActivityInput
from microsoft_teams.api.clients.conversation.params import CreateConversationParams
from microsoft_teams.api.models.attachment.attachment import Attachment
from microsoft_teams.api.models.conversation.conversation_reference import ConversationReference
from microsoft_teams.apps.activity_send import send_or_update_activity
from prometheus_client import Counter

from bot.metrics import REGISTRY
from bot.notify import DeliveryDeferred, DeliveryError
from handlers.teams.pacing import (
    INBOUND_WAIT_SECONDS,
    LONGEST_WAIT_SECONDS,
    ConversationBusy,
    TeamsPacer,
)
from handlers.teams.render import CARD_CONTENT_TYPE
from handlers.teams.size import fit_card

logger = logging.getLogger(__name__)

T = TypeVar("T")

TEAMS_API_RETRIES = Counter(
    "bridgebot_teams_api_retries_total",
    "Bot Connector calls retried, by reason",
    ["reason"],
    registry=REGISTRY,
)

MAX_ATTEMPTS = 4
# An answer retried in the background is put off at most this many times, then given up.
BACKGROUND_ROUNDS = 3
# Teams' list: 429 throttled, 412 a conflicting update, 502/504 its gateway; 503 as well.
RETRY_STATUSES = {412, 429, 502, 503, 504}
# Scheduled deliveries set this, for the duration of one delivery (see the docstring).
_QUEUED: ContextVar[bool] = ContextVar("teams_queued_delivery", default=False)


@contextmanager
def delivering_queued() -> Iterator[None]:
    """Mark the calls made inside as a scheduled delivery's: their retries may wait."""
    token = _QUEUED.set(True)
    try:
        yield
    finally:
        _QUEUED.reset(token)


class StillThrottled(DeliveryDeferred):
    """Teams kept answering 429: a scheduled message is put off, using none of its attempts."""


class TeamsBusy(DeliveryError):
    """Teams asked to slow down while someone waited for an answer that needed the call."""


class _Retry(Exception):
    """One attempt failed in a way worth retrying; `wait` seconds are held back."""

    def __init__(self, wait: float, throttled: bool) -> None:
        super().__init__(f"retry in {wait:.1f} s")
        self.wait = wait
        self.throttled = throttled


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


def card_activity(card: dict[str, Any], summary: str) -> MessageActivityInput:
    """A message carrying one Adaptive Card; `summary` is the notification text."""
    attachment = Attachment(content_type=CARD_CONTENT_TYPE, content=card)
    # `summary` (the notification text) is not in the SDK's model; it passes through as extra.
    extra: dict[str, Any] = {"summary": summary or "bridgebot"}
    return MessageActivityInput(attachments=[attachment], **extra)


class Connector:
    """The Bot Connector calls bridgebot makes: post, update, open a 1:1 chat, look up."""

    def __init__(self, api: ApiClient, app_id: str, pacer: TeamsPacer | None = None) -> None:
        self._api = api
        self.bot_id = f"28:{app_id}"
        self.pacer = pacer or TeamsPacer()
        # Retries going on after the request they answer (kept so none is collected).
        self._background: set[asyncio.Task[Any]] = set()
        # The last of them per conversation, so the next answer there goes after it.
        self._waiting: dict[str, asyncio.Task[Any]] = {}

    def _ref(self, service_url: str, conversation_id: str) -> ConversationReference:
        return ConversationReference(
            channel_id="msteams",
            service_url=service_url,
            bot=Account(id=self.bot_id),
            conversation=ConversationAccount(id=conversation_id),
        )

    # -- pacing and retries ------------------------------------------------------------

    async def _attempt(
        self,
        label: str,
        tenant: str,
        conversation: str | None,
        call: Callable[[], Awaitable[T]],
        attempt: int,
        longest_wait: float,
    ) -> T:
        """One paced attempt; a failure worth retrying becomes _Retry (already held back)."""
        await self.pacer.turn(tenant, conversation, longest_wait=longest_wait)
        try:
            result = await call()
        except httpx.HTTPStatusError as exc:
            status = exc.response.status_code
            if status not in RETRY_STATUSES:
                if 400 <= status < 500:
                    raise DeliveryError(f"Teams refused {label}: HTTP {status}") from exc
                raise
            throttled = status == 429
            TEAMS_API_RETRIES.labels(reason="rate_limited" if throttled else "server_error").inc()
            after = _retry_after(exc.response) if throttled else None
            wait = self.pacer.refused(tenant, conversation, attempt, after)
            logger.info("Teams answered %s to %s: retrying in %.1f s", status, label, wait)
            raise _Retry(wait, throttled) from exc
        except httpx.ConnectError as exc:  # nothing was delivered
            TEAMS_API_RETRIES.labels(reason="connection_error").inc()
            wait = self.pacer.refused(tenant, conversation, attempt, None)
            raise _Retry(wait, False) from exc
        self.pacer.answered(tenant)
        return result

    async def _retried(
        self,
        label: str,
        tenant: str,
        conversation: str | None,
        call: Callable[[], Awaitable[T]],
        first: int = 0,
    ) -> T:
        """Attempts `first`.. MAX_ATTEMPTS-1, each waiting its (held back) turn.

        A turn further off than LONGEST_WAIT_SECONDS is ConversationBusy, and a 429 to
        the last attempt StillThrottled: both put a scheduled message off for as long
        as Teams asked, without using one of its attempts.
        """
        for attempt in range(first, MAX_ATTEMPTS):
            try:
                return await self._attempt(
                    label, tenant, conversation, call, attempt, LONGEST_WAIT_SECONDS
                )
            except _Retry as retry:
                if attempt < MAX_ATTEMPTS - 1:
                    continue
                if retry.throttled:
                    raise StillThrottled(
                        f"Teams throttled {label} {MAX_ATTEMPTS} times in a row",
                        retry_after=retry.wait,
                    ) from retry.__cause__
                cause = retry.__cause__
                assert isinstance(cause, Exception)
                raise cause from None  # the platform's own error, as the scheduler records it
        raise AssertionError("unreachable")

    async def _call(
        self,
        label: str,
        tenant: str,
        conversation: str | None,
        call: Callable[[], Awaitable[T]],
        *,
        can_wait_in_background: bool = False,
    ) -> T | None:
        """Run a Bot Connector call paced and retried; see the module docstring.

        Returns None only when an answer's call went on in the background.
        """
        if _QUEUED.get():
            return await self._retried(label, tenant, conversation, call)
        behind = self._waiting.get(conversation) if conversation else None
        if behind is not None and can_wait_in_background:
            # An earlier answer to this conversation is still being retried: this one
            # goes after it, not before.
            self._later(label, tenant, conversation, call, 0)
            return None
        try:
            return await self._attempt(label, tenant, conversation, call, 0, INBOUND_WAIT_SECONDS)
        except (_Retry, ConversationBusy) as exc:
            if not can_wait_in_background:
                raise TeamsBusy("Teams is busy just now; try again in a moment") from exc
            self._later(label, tenant, conversation, call, 1 if isinstance(exc, _Retry) else 0)
            return None

    def _later(
        self,
        label: str,
        tenant: str,
        conversation: str | None,
        call: Callable[[], Awaitable[T]],
        first: int,
    ) -> None:
        """Go on with an answer's call in the background, after the conversation's others."""
        behind = self._waiting.get(conversation) if conversation else None
        task = asyncio.create_task(
            self._in_background(label, tenant, conversation, call, first, behind)
        )
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        if conversation:
            self._waiting[conversation] = task

            def done(finished: asyncio.Task[Any]) -> None:
                if self._waiting.get(conversation) is finished:
                    del self._waiting[conversation]

            task.add_done_callback(done)

    async def _in_background(
        self,
        label: str,
        tenant: str,
        conversation: str | None,
        call: Callable[[], Awaitable[T]],
        first: int,
        behind: asyncio.Task[Any] | None,
    ) -> None:
        """An answer's remaining attempts, after the request it answers has returned."""
        if behind is not None:
            await asyncio.gather(behind, return_exceptions=True)
        with delivering_queued():
            try:
                for _ in range(BACKGROUND_ROUNDS):
                    try:
                        await self._retried(label, tenant, conversation, call, first)
                        return
                    except DeliveryDeferred as exc:  # nobody waits on it: wait here
                        await self.pacer.sleep(exc.retry_after)
                        first = 0
                logger.warning("Teams kept refusing %s after its answer; given up", label)
            except Exception:  # noqa: BLE001 - nobody is left to tell; logged
                logger.exception("Teams %s could not be delivered after its answer", label)

    async def settle(self) -> None:
        """Wait for the answers still being retried in the background (tests, shutdown)."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    # -- the calls -----------------------------------------------------------------------

    async def send(
        self,
        service_url: str,
        conversation_id: str,
        card: dict[str, Any],
        summary: str,
        *,
        tenant_id: str = "",
    ) -> str | None:
        """Post a card (split in several messages if it is over Teams' size budget);
        returns the (first) new message's id, None if it is still being retried."""
        first: str | None = None
        for index, part in enumerate(fit_card(card)):
            activity = card_activity(part, summary)
            sent = await self._call(
                "message",
                tenant_id or service_url,
                conversation_id,
                partial(self._put, activity, service_url, conversation_id),
                can_wait_in_background=True,
            )
            if index == 0 and sent is not None:
                first = str(sent.id)
        return first

    async def update(
        self,
        service_url: str,
        conversation_id: str,
        activity_id: str,
        card: dict[str, Any],
        summary: str,
        *,
        tenant_id: str = "",
    ) -> None:
        """Replace a message's card in place (everyone sees the new one); a card over
        the size budget is shortened, since one message can only be replaced by one."""
        activity = card_activity(fit_card(card, split=False)[0], summary)
        activity.id = activity_id
        await self._call(
            "update",
            tenant_id or service_url,
            conversation_id,
            partial(self._put, activity, service_url, conversation_id),
            can_wait_in_background=True,
        )

    async def _put(
        self, activity: MessageActivityInput, service_url: str, conversation_id: str
    ) -> SentActivity:
        # A copy each time: the SDK fills in fields of the activity it is given.
        return await send_or_update_activity(
            self._api, activity.model_copy(), self._ref(service_url, conversation_id)
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
        resource = await self._call(
            "create conversation", tenant_id, None, lambda: api.conversations.create(params)
        )
        assert resource is not None
        return resource.id

    async def member_id(
        self, service_url: str, conversation_id: str, user_ref: str, *, tenant_id: str = ""
    ) -> str | None:
        """A person's 29:… id from a team or chat they are in (user_ref may be an Entra id)."""
        api = self._api.clone(service_url=service_url)
        try:
            member = await self._call(
                "member lookup",
                tenant_id or service_url,
                None,
                lambda: api.conversations.get_member_by_id(conversation_id, user_ref),
            )
        except TeamsBusy:
            raise
        except DeliveryError:
            return None
        assert member is not None
        return member.id

    async def team_channels(
        self, service_url: str, team_id: str, *, tenant_id: str = ""
    ) -> list[tuple[str, str]]:
        """(channel id, name) of a team's channels; the General channel has no name."""
        api = self._api.clone(service_url=service_url)
        channels = await self._call(
            "channel list",
            tenant_id or service_url,
            None,
            lambda: api.teams.get_conversations(team_id),
        )
        assert channels is not None
        return [(channel.id, channel.name or "General") for channel in channels if channel.id]
