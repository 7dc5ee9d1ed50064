"""Who is calling: admin status from Slack (cached briefly) or BRIDGEBOT_ADMINS."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Settings

logger = logging.getLogger(__name__)

ADMIN_CACHE_SECONDS = 300


class AdminDirectory:
    """Answers "is this user a workspace admin?" with one users.info call per 5 minutes."""

    def __init__(self, settings: Settings) -> None:
        self._extra_admins = set(settings.bridgebot_admins)
        self._cache: dict[tuple[str, str], tuple[float, bool]] = {}

    async def is_admin(self, client: AsyncWebClient, team_id: str, user_id: str) -> bool:
        if user_id in self._extra_admins:
            return True
        key = (team_id, user_id)
        cached = self._cache.get(key)
        if cached and time.monotonic() - cached[0] < ADMIN_CACHE_SECONDS:
            return cached[1]
        try:
            response = await client.users_info(user=user_id)
        except SlackApiError as exc:
            # Failing closed: without an answer from Slack nobody gets admin rights.
            logger.warning("users.info failed for admin check: %s", exc.response.get("error"))
            return False
        profile = response.get("user") or {}
        admin = bool(
            profile.get("is_admin") or profile.get("is_owner") or profile.get("is_primary_owner")
        )
        self._cache[key] = (time.monotonic(), admin)
        return admin


class SlackRuntime:
    """Per-app state shared by the listeners: the admin cache and per-message update locks."""

    def __init__(self, settings: Settings) -> None:
        self.admins = AdminDirectory(settings)
        # One lock per board message, so updates from concurrent clicks go out in order
        # and each re-reads the latest state.
        self.refresh_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
