"""The state the Slack listeners share (SlackRuntime): who is an admin (asked of Slack,
cached briefly, or BRIDGEBOT_ADMINS), pooled response_url posts, update locks, work after acks."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import aiohttp
from cachetools import TTLCache
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.router import AdminCheckFailed
from bot.settings import Settings
from handlers.slack.background import BackgroundWork
from handlers.slack.client import retry_handlers

logger = logging.getLogger(__name__)

# A workspace Bolt found an installation for is trusted this long without asking again
# (lookups_in_ack); an uninstall or a revoked token forgets it at once in this process.
AUTHORIZED_SECONDS = 300
AUTHORIZED_WORKSPACES = 10_000
ADMIN_CACHE_SECONDS = 300
# People whose answer is kept at once; the least recently asked make room.
ADMIN_CACHE_SIZE = 10_000
# users.info errors that answer the question (this person is not in the workspace).
NO_SUCH_USER = {"user_not_found", "user_not_visible"}


class AdminDirectory:
    """Answers "is this user a workspace admin?" with one users.info call per 5 minutes.

    Answers are kept in a bounded cache that forgets them after ADMIN_CACHE_SECONDS
    (rights change, people come and go); a failed check is never kept, so the next
    try asks again.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        timer: Callable[[], float] = time.monotonic,
        maxsize: int = ADMIN_CACHE_SIZE,
        ttl: float = ADMIN_CACHE_SECONDS,
    ) -> None:
        self._extra_admins = set(settings.bridgebot_admins)
        self._answers: TTLCache[tuple[str, str], bool] = TTLCache(
            maxsize=maxsize, ttl=ttl, timer=timer
        )
        # cachetools caches are not thread-safe; `known` may be read from any thread.
        self._lock = threading.Lock()

    def known(self, team_id: str, user_id: str) -> bool | None:
        """The answer at hand without asking Slack (listed, or asked lately), else None."""
        if user_id in self._extra_admins:
            return True
        with self._lock:
            return self._answers.get((team_id, user_id))

    async def is_admin(self, client: AsyncWebClient, team_id: str, user_id: str) -> bool:
        known = self.known(team_id, user_id)
        if known is not None:
            return known
        try:
            response = await client.users_info(user=user_id)
        except SlackApiError as exc:
            error = exc.response.get("error")
            logger.warning("users.info failed for admin check: %s", error)
            if error in NO_SUCH_USER:
                return False  # an answer: nobody Slack knows, so no rights
            # Failing closed, and saying so: "only admins can" would be untrue.
            raise AdminCheckFailed("Slack") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            logger.warning("users.info failed for admin check: %r", exc)
            raise AdminCheckFailed("Slack") from None
        profile = response.get("user") or {}
        admin = bool(
            profile.get("is_admin") or profile.get("is_owner") or profile.get("is_primary_owner")
        )
        with self._lock:
            self._answers[(team_id, user_id)] = admin
        return admin


class ResponseUrl:
    """Answers through a request's response_url on the shared connection pool.

    Bolt's own respond() opens a new HTTP session for every answer; under load that
    costs more than the answer itself.
    """

    def __init__(self, url: str, session: aiohttp.ClientSession | None) -> None:
        self._url = url
        self._session = session

    async def __call__(self, **message: Any) -> None:
        client = AsyncWebhookClient(
            url=self._url, session=self._session, retry_handlers=retry_handlers()
        )
        response = await client.send_dict({k: v for k, v in message.items() if v is not None})
        if response.status_code >= 400:
            logger.warning("response_url answered %s", response.status_code)


class AuthorizedWorkspaces:
    """The workspaces (enterprise, team) whose requests Bolt authorized lately (OAuth)."""

    def __init__(self, timer: Callable[[], float] = time.monotonic) -> None:
        self._seen: TTLCache[tuple[str, str], bool] = TTLCache(
            maxsize=AUTHORIZED_WORKSPACES, ttl=AUTHORIZED_SECONDS, timer=timer
        )

    def confirm(self, enterprise_id: str, team_id: str) -> None:
        self._seen[(enterprise_id, team_id)] = True

    def confirmed(self, enterprise_id: str, team_id: str) -> bool:
        return (enterprise_id, team_id) in self._seen

    def forget(self, enterprise_id: str, team_id: str) -> None:
        """An uninstall or revocation: the workspace, or every workspace of an
        organisation-wide install (no team), must go through Bolt again."""
        for enterprise, team in list(self._seen):
            if (team == team_id) if team_id else (enterprise == enterprise_id):
                self._seen.pop((enterprise, team), None)


class SlackRuntime:
    """Per-app state shared by the listeners: admin cache, update locks, work after acks."""

    def __init__(
        self,
        settings: Settings,
        session: aiohttp.ClientSession | None = None,
        background: BackgroundWork | None = None,
        *,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.http_session = session
        self.background = background or BackgroundWork()
        # Runs the scheduler at once, so the posts a command queued go out now.
        self.wake = wake
        self.admins = AdminDirectory(settings)
        # One lock per board message, so updates from concurrent clicks go out in order
        # and each re-reads the latest state.
        self.refresh_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        # Messages with an update queued behind the one in flight: more clicks meanwhile
        # need no update of their own, so a burst of clicks costs two updates, not one each.
        self.refresh_waiting: set[str] = set()
        # The bot token's workspace, once Bolt has confirmed it (single-workspace mode).
        self.own_team_id: str | None = None
        # With OAuth, the workspaces Bolt found an installation for lately.
        self.authorized = AuthorizedWorkspaces()

    def serves(self, enterprise_id: str, team_id: str) -> bool:
        """Whether Bolt has confirmed lately that this workspace is one bridgebot serves:
        the bot token's own, or one with an installation (OAuth)."""
        if self.own_team_id is not None:
            return team_id == self.own_team_id
        return self.authorized.confirmed(enterprise_id, team_id)

    def responder(self, body: dict[str, Any], fallback: Any) -> Any:
        """A respond() for this request: pooled when it has a response_url."""
        url = body.get("response_url") or ((body.get("response_urls") or [{}])[0]).get(
            "response_url"
        )
        return ResponseUrl(url, self.http_session) if url else fallback
