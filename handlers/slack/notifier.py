"""Scheduled messages to Slack, through the Notifier port.

chat.postMessage, the call a fan-out makes thousands of times, goes out on a lean path
of its own: a POST of the message's JSON, rendered and encoded once per reply (a
stand-up's DMs share one), on the process's shared aiohttp session. slack_sdk's
AsyncWebClient cost about three times the CPU of a bare aiohttp POST per message
(building the request from keyword arguments, URL joining, header building, its retry
machinery and response object), most of the bot's CPU in a fan-out (bench.fanout
prints the figures side by side). The lean path keeps what the client did for this
call: the retries of 500/503 answers and of dropped connections, three at most, with
the same backoff, counted in bridgebot_slack_api_retries_total and logged as before;
every request counted in bridgebot_slack_api_calls_total by the session; a refusal
raised as the same SlackApiError (status, headers, Slack's error). 429s were never the
client's to retry here: the pacer books them. Every other call (chat.update, files,
conversations.open, ...) still goes through slack_sdk.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urljoin

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.web.internal_utils import get_user_agent
from yarl import URL

from bot.metrics import SLACK_API_RETRIES
from bot.notify import (
    ConversationRefused,
    DeliveryDeferred,
    DeliveryError,
    MessageGone,
    WorkspaceUninstalled,
)
from bot.replies import Reply
from bot.settings import Settings
from handlers.slack.client import make_web_client
from handlers.slack.limits import LoopSemaphore
from handlers.slack.pacing import ConversationPacer
from handlers.slack.render import render_message

logger = logging.getLogger(__name__)

TokenLookup = Callable[[str], Awaitable[str | None]]

# Errors that no retry will fix; anything else is left to the tick to try again.
PERMANENT_ERRORS = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "user_not_found",
}
# The token no longer opens the workspace: bridgebot was uninstalled, its token revoked,
# or the workspace is gone. Nothing is sent with that token again.
REVOKED_TOKEN_ERRORS = {
    "token_revoked",
    "invalid_auth",
    "account_inactive",
    "not_authed",
    "token_expired",
    "team_disabled",
}
# chat.update's answers for a message that is no longer there to update.
GONE_ERRORS = {"message_not_found", "cant_update_message"}
# chat.update's answers that no retry changes (the message as rendered is refused).
UPDATE_REFUSED = {"invalid_blocks", "msg_too_long", "invalid_arguments", "edit_window_closed"}
UNINSTALLED = "bridgebot was uninstalled"
# Refusals a person can fix, and how (told to whoever's post it was).
INVITE_IT = "Invite it there with /invite @bridgebot."
REMEDIES = {
    "not_in_channel": f"it is not a member of that channel. {INVITE_IT}",
    "channel_not_found": f"the channel is private or gone. {INVITE_IT}",
    "is_archived": "that channel is archived; a workspace admin can choose another "
    "with /bridge channel.",
}


# Scheduled messages on their way to Slack at once (others wait for a turn or a slot):
# as many as the shared connection pool holds (aiohttp's default), since with Slack's
# ~100 ms answers these bound the pace (bench.fanout --slack-latency-ms 100).
MAX_IN_FLIGHT = 100
# Request headers kept for posting, one set per bot token (a workspace each).
MAX_CACHED_TOKENS = 1_000
# A message answered 429 this many times is handed back to the scheduler for later.
RATE_LIMITED_ATTEMPTS = 6
# chat.postMessage's own retries, as slack_sdk's handlers made them (see retry_handlers):
# 500 and 503 answers and dropped connections, at most this many retries in all, after
# BACKOFF_FACTOR * 2**retry + up to a second of jitter.
POST_RETRIES = 3
RETRIED_STATUSES = (500, 503)
RETRIED_ERRORS = (aiohttp.ServerConnectionError, aiohttp.ClientOSError)
BACKOFF_FACTOR = 0.5
# Rendered messages kept for reuse (a fan-out posts the same reply to each participant).
RENDERED_CACHE = 256


def _backoff(retry: int) -> float:
    """Seconds before retry number `retry` + 1: slack_sdk's exponential backoff and jitter."""
    return BACKOFF_FACTOR * 2**retry + random.random()


def _answer_data(
    content_type: str, raw: bytes, url: URL, answer: aiohttp.ClientResponse
) -> dict[str, Any]:
    """Slack's answer as slack_sdk reads it: JSON, or nothing for another content type."""
    if content_type != "application/json" or not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise SlackApiError(
            f"Received a response in a non-JSON format: {raw[:100]!r} (url: {url})", answer
        ) from exc
    return data if isinstance(data, dict) else {}


class StillRateLimited(DeliveryDeferred):
    """Slack kept answering 429: not a failure, so the retry costs no attempt.

    Sustained 429s (Slack's workspace-wide posting limit, say) only delay a message;
    if they last beyond the grace period the scheduler records it as missed.
    """


def _rate_limit_wait(error: SlackApiError) -> float | None:
    """Retry-After of a 429 answer, in seconds; None for any other error."""
    if error.response.status_code != 429:
        return None
    return float(error.response.headers.get("Retry-After", 1))


class SlackNotifier:
    """Posts through chat.postMessage with the workspace's bot token.

    Messages to one conversation are spaced as Slack allows (see pacing); at most
    MAX_IN_FLIGHT are sent at once, so a message waiting for its conversation's turn
    holds up nothing else.
    """

    def __init__(
        self,
        settings: Settings,
        tokens: TokenLookup,
        session: aiohttp.ClientSession,
        *,
        pacer: ConversationPacer | None = None,
    ) -> None:
        self._settings = settings
        self._tokens = tokens
        self._session = session
        self._pacer = pacer or ConversationPacer()
        self._in_flight = LoopSemaphore(MAX_IN_FLIGHT)
        self._post_url = URL(urljoin(settings.slack_api_url, "chat.postMessage"))
        self._user_agent = get_user_agent()
        self._headers: dict[str, dict[str, str]] = {}  # per token
        # By the reply's identity (kept alive here, so its id is not reused meanwhile):
        # the reply, and its message's JSON without the opening brace.
        self._rendered: dict[int, tuple[Reply, bytes]] = {}
        # Tokens Slack called revoked: a revoked token never works again, so a fan-out
        # to a whole workspace asks Slack once, not once per message.
        self._revoked_tokens: set[str] = set()
        # Token lookups under way, by loop and workspace: a fan-out's messages ask for
        # the same token at the same moment, and one lookup (in OAuth mode a database
        # query) answers all of them; nothing is kept once it has answered.
        self._lookups: dict[tuple[asyncio.AbstractEventLoop, str], asyncio.Future[str | None]] = {}

    async def _token(self, workspace_id: str) -> str:
        key = (asyncio.get_running_loop(), workspace_id)
        lookup = self._lookups.get(key)
        if lookup is None:
            lookup = self._lookups[key] = asyncio.ensure_future(self._tokens(workspace_id))
            lookup.add_done_callback(lambda _: self._lookups.pop(key, None))
        # Shielded: one waiter cancelled does not cancel the lookup the others wait on.
        token = await asyncio.shield(lookup)
        if token is None or token in self._revoked_tokens:
            raise WorkspaceUninstalled(UNINSTALLED)
        return token

    def _refused(self, token: str, exc: SlackApiError) -> DeliveryError | None:
        """The DeliveryError a Slack error means, if no retry can fix it."""
        code = exc.response.get("error")
        if code in REVOKED_TOKEN_ERRORS:
            self._revoked_tokens.add(token)
            return WorkspaceUninstalled(f"{UNINSTALLED} (Slack: {code})")
        if code in REMEDIES:
            return ConversationRefused(f"Slack refused the message: {code}", REMEDIES[code])
        if code in PERMANENT_ERRORS:
            return DeliveryError(f"Slack refused the message: {code}")
        return None

    async def post(self, workspace_id: str, conversation_ref: str, reply: Reply) -> str | None:
        token = await self._token(workspace_id)
        body = b'{"channel":' + json.dumps(conversation_ref).encode() + self._rendered_json(reply)
        try:
            response = await self._post_paced(token, workspace_id, conversation_ref, body)
        except SlackApiError as exc:
            if refusal := self._refused(token, exc):
                raise refusal from exc
            raise
        channel = str(response.get("channel") or conversation_ref)
        if reply.attachments:
            client = make_web_client(self._settings, token=token, session=self._session)
        for attachment in reply.attachments:
            # Files (a chart) follow the message in the same conversation.
            await client.files_upload_v2(
                channel=channel,
                content=attachment.content,
                filename=attachment.filename,
                title=attachment.title,
            )
        return str(response.get("ts"))

    async def update(
        self, workspace_id: str, conversation_ref: str, message_ref: str, reply: Reply
    ) -> None:
        """chat.update: the message shows `reply` in place of what it showed.

        A 429 is handed back to the scheduler for after Retry-After (no attempt spent); a
        deleted message raises MessageGone, for the caller to post it again.
        """
        token = await self._token(workspace_id)
        client = make_web_client(
            self._settings, token=token, session=self._session, retry_rate_limits=False
        )
        try:
            async with self._request_slot(workspace_id):
                await client.chat_update(
                    channel=conversation_ref, ts=message_ref, **render_message(reply)
                )
        except SlackApiError as exc:
            if (retry_after := _rate_limit_wait(exc)) is not None:
                raise StillRateLimited("Slack answered 429 to chat.update", retry_after) from exc
            code = exc.response.get("error")
            if code in GONE_ERRORS:
                raise MessageGone(f"Slack: {code}") from exc
            if code in UPDATE_REFUSED:
                raise DeliveryError(f"Slack refused the update: {code}") from exc
            if refusal := self._refused(token, exc):
                raise refusal from exc
            raise

    def _rendered_json(self, reply: Reply) -> bytes:
        """The message's JSON without its opening brace: what follows the channel."""
        found = self._rendered.get(id(reply))
        if found is not None and found[0] is reply:
            return found[1]
        encoded = json.dumps(render_message(reply), separators=(",", ":")).encode()
        rendered = b"," + encoded[1:] if encoded != b"{}" else b"}"
        if len(self._rendered) >= RENDERED_CACHE:
            del self._rendered[next(iter(self._rendered))]  # the oldest
        self._rendered[id(reply)] = (reply, rendered)
        return rendered

    def _headers_for(self, token: str) -> dict[str, str]:
        headers = self._headers.get(token)
        if headers is None:
            if len(self._headers) >= MAX_CACHED_TOKENS:  # rotated tokens pile up
                self._headers.clear()
            headers = self._headers[token] = {
                "Content-Type": "application/json;charset=utf-8",
                "Authorization": f"Bearer {token}",
                "User-Agent": self._user_agent,
            }
        return headers

    async def _post_message(self, token: str, body: bytes) -> dict[str, Any]:
        """chat.postMessage with `body`, retried as slack_sdk's handlers did; Slack's answer.

        Raises SlackApiError as slack_sdk does for an answer that is not ok (a 429, a
        refusal, a 5xx past the retries), and the connection error past the retries.
        """
        retries = 0
        while True:
            try:
                async with self._session.post(
                    self._post_url, data=body, headers=self._headers_for(token)
                ) as answer:
                    status, headers = answer.status, answer.headers
                    raw = await answer.read()
            except RETRIED_ERRORS:
                if retries >= POST_RETRIES:
                    raise
                reason = "connection_error"
            else:
                data = _answer_data(answer.content_type, raw, self._post_url, answer)
                if status in RETRIED_STATUSES and retries < POST_RETRIES:
                    reason = "server_error"
                elif status == 200 and data.get("ok", False):
                    return data
                else:
                    raise SlackApiError(
                        f"The request to the Slack API failed. (url: {self._post_url}, "
                        f"status: {status})",
                        AsyncSlackResponse(
                            client=None,
                            http_verb="POST",
                            api_url=str(self._post_url),
                            req_args={},
                            data=data,
                            # Case-insensitive, as slack_sdk passes them (Retry-After).
                            headers=headers,  # type: ignore[arg-type]
                            status_code=status,
                        ),
                    )
            SLACK_API_RETRIES.labels(reason=reason).inc()
            logger.info("retrying Slack call chat.postMessage (%s)", reason)
            await asyncio.sleep(_backoff(retries))
            retries += 1

    async def _post_paced(
        self, token: str, workspace_id: str, conversation_ref: str, body: bytes
    ) -> dict[str, Any]:
        """chat.postMessage in the conversation's next turn; a 429 books a later turn."""
        for attempt in range(1, RATE_LIMITED_ATTEMPTS + 1):
            await self._pacer.wait_turn(workspace_id, conversation_ref)
            # Within the workspace's per-minute limit; waiting for it holds no request slot.
            await self._pacer.workspace_turn(workspace_id)
            sent = False
            try:
                async with self._request_slot(workspace_id):
                    await self._pacer.keep_pace(workspace_id, conversation_ref)
                    sent = True
                    limited_for = None
                    try:
                        if token in self._revoked_tokens:  # found out while this one waited
                            raise WorkspaceUninstalled(UNINSTALLED)
                        return await self._post_message(token, body)
                    except SlackApiError as exc:
                        limited_for = _rate_limit_wait(exc)
                        raise
                    finally:
                        self._pacer.answered(
                            workspace_id, conversation_ref, retry_after=limited_for
                        )
            except SlackApiError as exc:
                retry_after = _rate_limit_wait(exc)
                if retry_after is None:
                    raise
                self._pacer.hold_back(workspace_id, conversation_ref, retry_after)
                if attempt == RATE_LIMITED_ATTEMPTS:
                    raise StillRateLimited(
                        f"Slack answered 429 {attempt} times in a row", retry_after
                    ) from exc
                SLACK_API_RETRIES.labels(reason="rate_limited").inc()
            finally:
                if not sent:  # held back or cancelled before its request: not counted
                    self._pacer.not_sent(workspace_id)
        raise AssertionError("unreachable")

    @asynccontextmanager
    async def _request_slot(self, workspace_id: str) -> AsyncIterator[None]:
        """One of MAX_IN_FLIGHT, used only while the workspace is not held back.

        The check is made again once a slot is had: the hold may have begun while
        this message queued for one, and it must not spend a request to find out.
        """
        while True:
            await self._pacer.wait_for_workspace(workspace_id)
            async with self._in_flight.get():
                if not self._pacer.workspace_held(workspace_id):
                    yield
                    return

    async def permalink(
        self, workspace_id: str, conversation_ref: str, message_ref: str
    ) -> str | None:
        """chat.getPermalink; None if Slack has none to give (a list shows no link then)."""
        token = await self._token(workspace_id)
        client = make_web_client(self._settings, token=token, session=self._session)
        try:
            found = await client.chat_getPermalink(channel=conversation_ref, message_ts=message_ref)
        except SlackApiError as exc:
            logger.info("no permalink for %s: %s", message_ref, exc.response.get("error"))
            return None
        link = found.get("permalink")
        return str(link) if link else None

    async def open_group(self, workspace_id: str, user_refs: list[str]) -> str:
        """conversations.open with these people: their group DM with bridgebot (bridge
        pairs' introductions); the same people always get the same conversation."""
        token = await self._token(workspace_id)
        client = make_web_client(self._settings, token=token, session=self._session)
        try:
            async with self._request_slot(workspace_id):
                response = await client.conversations_open(users=",".join(user_refs))
        except SlackApiError as exc:
            if refusal := self._refused(token, exc):
                raise refusal from exc
            raise
        return str(response["channel"]["id"])

    async def group_members(self, workspace_id: str, group_ref: str) -> list[str]:
        """Members of a Slack user group (usergroups.users.list)."""
        token = await self._token(workspace_id)
        client = make_web_client(self._settings, token=token, session=self._session)
        try:
            response = await client.usergroups_users_list(usergroup=group_ref)
        except SlackApiError as exc:
            raise DeliveryError(
                f"Slack refused usergroups.users.list: {exc.response.get('error')}"
            ) from exc
        return list(response.get("users") or [])
